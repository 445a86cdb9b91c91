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
	struct gfs_map *followed;   /* path -> struct mon_follow * */
	struct gfs_map *last_apply; /* paths of the last apply (values unused) */
	int64_t last_apply_ms;      /* monotonic time of its newest write */
	bool new_batch;             /* gfs_monitor_begin_apply was called */
	bool stop;

	pthread_t thread;
	bool has_thread;

	/* The whole-store summary (.gitopsfs/status and health), reused for
	 * MON_SNAPSHOT_MS: one `cat` makes the kernel ask for it three or
	 * four times (lookup, getattr, open, read), and a pass over 100,000
	 * objects is not free. Guarded by snap_lock, taken alone; the pass
	 * itself runs without it. */
	pthread_mutex_t snap_lock;
	int64_t snap_ms;            /* monotonic time it was made; 0: none */
	json_t *snap_status;        /* gfs_monitor_status_json's answer */
	struct gfs_blob *snap_text; /* .gitopsfs/health */
};

#define MON_SNAPSHOT_MS 250

/* A growable list of strings (gfs_strv_push walks the whole vector on
 * each push: quadratic for the store's 100,000 paths), the strings
 * packed (a health summary lists every path). */
struct mon_paths {
	const char **v; /* n entries, pointing into strings */
	size_t n, cap;
	struct gfs_strpack strings;
};
int mon_paths_push(struct mon_paths *p, const char *s); /* 0 or -ENOMEM */
void mon_paths_release(struct mon_paths *p);

/* follow.c: the following thread's body. */
void *gfs_monitor_main(void *payload);
void gfs_monitor_follow_free(struct mon_follow *f);

#endif
