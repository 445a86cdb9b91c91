/*
 * cluster.h - what mount and export share: credentials, the API client,
 * the filter, the store and the informers that fill it.
 */
#ifndef GFS_CLI_CLUSTER_H
#define GFS_CLI_CLUSTER_H

#include "cli.h"
#include "gfs_informer.h"
#include "gfs_kube.h"
#include "gfs_store.h"

struct gfs_cluster {
	struct gfs_kube_client *client;
	struct gfs_filter *filter;
	struct gfs_store *store;
	struct gfs_informers *informers;
	char *server; /* for messages */
};

/* Loads the kubeconfig and creates client, filter and an empty store.
 * Errors say which file or option to fix. */
int gfs_cluster_open(struct gfs_cluster *c, const struct gfs_cli *cli);
/* Starts the informers and waits for every first list. */
int gfs_cluster_start(struct gfs_cluster *c, const struct gfs_cli *cli);
/* Stops informers first (nothing reaches the store afterwards). */
void gfs_cluster_stop(struct gfs_cluster *c);
void gfs_cluster_release(struct gfs_cluster *c);

#endif
