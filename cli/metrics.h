/*
 * metrics.h - --metrics-addr for mount and sync: the families that read
 * the agent's state at scrape time, and the HTTP endpoint's life.
 */
#ifndef GFS_CLI_METRICS_H
#define GFS_CLI_METRICS_H

struct gfs_agent;

/* With --metrics-addr: registers the agent's families (objects and bytes
 * per resource, watches, sync status), says what /readyz waits for and
 * starts serving. Call after gfs_agent_open, before gfs_agent_start (the
 * probes answer during the first list), and after any fork. A no-op
 * without the option. */
int gfs_cli_metrics_start(struct gfs_agent *a);
/* Stops serving and unregisters, before the agent's parts are freed.
 * Idempotent. */
void gfs_cli_metrics_stop(struct gfs_agent *a);

#endif
