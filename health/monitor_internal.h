/*
 * monitor_internal.h - what monitor.c (the index, the tee, queries) and
 * follow.c (following applied objects, alerts) share. Not for other
 * modules: the contract is gfs_monitor.h.
 */
#ifndef GFS_MONITOR_INTERNAL_H
#define GFS_MONITOR_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "gfs_monitor.h"
#include "gfs_strv.h"

/* One indexed object: a pod, ReplicaSet or Job. */
struct mon_obj {
	char *owner;   /* its controller's uid, or NULL */
	char *dirname; /* "pods", for sweeps */
	char *ns;      /* NULL for none */
	json_t *pod;   /* pods only: the document (a reference), else NULL */
	uint64_t seen; /* m->mark when last listed or changed */
};

/* One object followed after an apply. */
struct mon_follow {
	char *commit;        /* owned, may be NULL (a write in the mount) */
	int64_t deadline_ms; /* monotonic: InProgress past it is a failure */
	bool settled;        /* it was Current or Failed once since the apply */
};

struct gfs_monitor {
	struct gfs_monitor_opts opts; /* defaults filled in; immutable */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* stop */
	/* Guarded by lock: */
	struct gfs_map *objs;     /* uid -> struct mon_obj * */
	struct gfs_map *children; /* owner uid -> struct gfs_map * (uid -> mon_obj *,
				     borrowed from objs) */
	struct gfs_map *marks;    /* "dirname/ns" -> uint64_t *: the mark at its
				     last list_begin */
	uint64_t mark;
	struct gfs_map *followed; /* path -> struct mon_follow * */
	char **last_apply;        /* gfs_strv: paths of the last apply */
	int64_t last_apply_ms;    /* monotonic time of its newest write */
	bool new_batch;           /* gfs_monitor_begin_apply was called */
	bool stop;

	pthread_t thread;
	bool has_thread;
};

/* follow.c: the following thread's body. */
void *gfs_monitor_main(void *payload);
void gfs_monitor_follow_free(struct mon_follow *f);

#endif
