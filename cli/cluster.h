/*
 * cluster.h - what mount and export share: credentials, the API client,
 * the filter, the store and the informers that fill it.
 */
#ifndef GFS_CLI_CLUSTER_H
#define GFS_CLI_CLUSTER_H

#include "cli.h"
#include "gfs_config.h"
#include "gfs_informer.h"
#include "gfs_kube.h"
#include "gfs_monitor.h"
#include "gfs_store.h"

struct gfs_cluster {
	struct gfs_kube_client *client;
	struct gfs_filter *filter;
	struct gfs_store *store;
	struct gfs_informers *informers;
	/* Borrowed, may be NULL: when set (mount, sync) the informers feed
	 * the health monitor, which forwards to the store (gfs_monitor.h). */
	struct gfs_monitor *monitor;
	char *server; /* for messages */
	/* Write nothing to the cluster, not even the redaction key (diff);
	 * set between open and start. */
	bool no_writes;
};

/* Loads the kubeconfig and creates the client and an empty store that
 * shows what `filter` lets through (the cluster takes it over). Errors
 * say which file or option to fix. */
int gfs_cluster_open(struct gfs_cluster *c, const struct gfs_cli *cli,
		     struct gfs_filter *filter);

/* The config: --config FILE, else `repo_text` (the tracked branch's
 * .gitopsfs.yaml, NULL when it has none), else the defaults; --secrets on
 * the command line wins over the file. */
int gfs_cli_config(struct gfs_config **out, const struct gfs_cli *cli,
		   const char *repo_text, size_t repo_len);
/* In secrets: sops mode (`mode`), sets up the keys (the identity from SOPS' own
 * environment, the recipients from cfg or else the .sops.yaml text
 * `rules`, NULL when none) and hands them to the store; a no-op in other
 * modes. Refuses to start without an identity or recipients, saying how
 * to provide them. */
int gfs_cluster_sops(struct gfs_cluster *c, enum gfs_secrets_mode mode,
		     const struct gfs_config *cfg, const char *rules, size_t rules_len);
/* Starts the informers and waits for every first list. */
int gfs_cluster_start(struct gfs_cluster *c, const struct gfs_cli *cli);
/* Stops informers first (nothing reaches the store afterwards). */
void gfs_cluster_stop(struct gfs_cluster *c);
void gfs_cluster_release(struct gfs_cluster *c);

#endif
