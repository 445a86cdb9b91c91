/*
 * agent.h - what `mount` and `sync` share around the cluster: the Git
 * clone, the config, the record of what was applied, the applier, the
 * alerter and the sync thread, started and stopped in the right order.
 */
#ifndef GFS_CLI_AGENT_H
#define GFS_CLI_AGENT_H

#include <limits.h>

#include "cluster.h"
#include "gfs_alert.h"
#include "gfs_apply.h"
#include "gfs_gitstate.h"
#include "gfs_monitor.h"
#include "gfs_sync.h"

struct gfs_agent {
	const struct gfs_cli *cli;
	struct gfs_cluster cluster;
	struct gfs_gitstate *git;
	struct gfs_applied *applied;
	struct gfs_journal *journal;  /* deletions promised, on disk */
	struct gfs_applier_view view; /* the store's prepare hook's payload */
	struct gfs_applier *applier;
	struct gfs_alerter *alerter;
	struct gfs_monitor *monitor; /* health of objects, alerts of rollouts */
	struct gfs_sync *sync;
	char repo[PATH_MAX];
	char *state_dir;
	char *worktree;
	bool webhook_warned;
	struct gfs_cli_metrics *metrics; /* --metrics-addr; cli/metrics.c */
};

/* Clone/open REPO, read the config, connect, create the store, the
 * applied-state record, the alerter, the health monitor and (with --sync)
 * the sync thread.
 * Nothing is watched yet: the caller may subscribe to the store now. */
int gfs_agent_open(struct gfs_agent *a, const struct gfs_cli *cli, const char *worktree);
/* Starts the informers, waits for the first lists, creates the applier,
 * prepares the Git state and lets the sync thread begin. */
int gfs_agent_start(struct gfs_agent *a);
/* Stops in order: pending deletions, informers, sync thread. */
void gfs_agent_stop(struct gfs_agent *a);
void gfs_agent_release(struct gfs_agent *a);

/* The sync direction named on the command line. */
enum gfs_sync_direction gfs_agent_direction(const struct gfs_cli *cli);

#endif
