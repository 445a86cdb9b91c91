/*
 * metrics_internal.h - what the server and the registry share.
 */
#ifndef GFS_METRICS_INTERNAL_H
#define GFS_METRICS_INTERNAL_H

/* The server began to listen: the time gitopsfs_start_time_seconds shows
 * (the first call wins). */
void gfs_metrics_mark_started(void);

#endif
