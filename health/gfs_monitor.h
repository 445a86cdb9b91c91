/*
 * gfs_monitor.h - the health of the mount's objects, kept current from
 * what the informers already see, and the alerts of a failed deployment
 * (SPEC sections 4 and 6).
 *
 * Pods and ReplicaSets: a workload's health names the pod and container at
 * fault, so the monitor watches pods, ReplicaSets and Jobs whatever the
 * filter says, but never shows them: it sits between the informers and
 * the store (gfs_monitor_informer_ops forwards to the store only the
 * resources the store shows, gfs_monitor_want_resource watches the union)
 * and keeps, of those three resources only, each object's controller
 * owner (ownerReferences with controller: true) and each pod's document.
 * Everything else is read from the store's live objects when asked: a read
 * of a health never makes an API request.
 *
 * Following: after an apply, gfs_monitor_follow(path, commit) has the
 * monitor's thread look at the object every half second until it is
 * Current (recovered, if it had failed), Failed (one alert through the
 * alerter, naming the object, the commit and the reason) or the health
 * timeout passes while it is still InProgress (one alert: "InProgress
 * after 300 s: ..."). With `monitor_after` (sync apply) a settled object
 * stays watched: if it degrades to Failed later, that alerts too, and its
 * recovery. The alerter says each change of state once (gfs_alert.h).
 *
 * The last apply: writes closer than two seconds apart (a `git pull` in
 * the mount writes its files one after another) and each sync-apply
 * round are one apply; gfs_monitor_last_apply_text lists its objects,
 * which `gitopsfs wait` waits for by default.
 *
 * Locking: one mutex guards the index, the followed set and the last
 * apply. It is taken alone: never while holding the store's lock (the
 * monitor reads the store first and locks after), and released before
 * calling the store, the alerter or the log.
 */
#ifndef GFS_MONITOR_H
#define GFS_MONITOR_H

#include <jansson.h>
#include <stdbool.h>

#include "gfs_alert.h"
#include "gfs_common.h"
#include "gfs_health.h"
#include "gfs_informer.h"
#include "gfs_store.h"

struct gfs_monitor;

struct gfs_monitor_opts {
	struct gfs_store *store;     /* borrowed; outlives the monitor */
	struct gfs_alerter *alerter; /* borrowed, may be NULL: no alerts */
	unsigned timeout_s;          /* health timeout; 0: 300 */
	bool monitor_after;          /* keep watching settled objects (apply) */
	unsigned tick_ms;            /* how often followed objects are looked at;
					0: 500 */
};

/* Creates the monitor and starts its thread. 0 or -errno. */
int gfs_monitor_new(struct gfs_monitor **out, const struct gfs_monitor_opts *opts);
/* Stops the thread and frees; accepts NULL. Stop the informers first. */
void gfs_monitor_free(struct gfs_monitor *m);

/* The informers' receiver: pass the monitor as payload. Forwards to the
 * store (gfs_store_informer_ops) what the store shows, indexes pods,
 * ReplicaSets and Jobs. */
extern const struct gfs_informer_ops gfs_monitor_informer_ops;
/* A gfs_informer_opts.want (payload = monitor): what the store wants,
 * and pods, ReplicaSets and Jobs. */
bool gfs_monitor_want_resource(void *payload, const struct gfs_resource *r);

/* The health of the object file at path, from the store and the pods the
 * monitor knows. 0, -ENOENT when there is no such object file, or -ENOMEM
 * when its document cannot be read back (out of memory). */
int gfs_monitor_health(struct gfs_health *out, struct gfs_monitor *m, const char *path);

/* .gitopsfs/health: "PATH\tSTATE: REASON\n" for each object file that is
 * not Current, sorted by path. */
int gfs_monitor_health_text(struct gfs_monitor *m, struct gfs_buf *out);
/* For .gitopsfs/status: {"counts": {"Current": n, ...}, "not_current":
 * [{"object", "health", "reason"}...]} (a new reference, or NULL when out
 * of memory). */
json_t *gfs_monitor_status_json(struct gfs_monitor *m);

/* An apply of path (commit: the commit applied, or NULL for a write in
 * the mount) succeeded: follow the object's health. Copies its strings. */
void gfs_monitor_follow(struct gfs_monitor *m, const char *path, const char *commit);
/* A sync-apply round begins: the objects it applies are the new "last
 * apply" (even if it was less than two seconds after the previous). */
void gfs_monitor_begin_apply(struct gfs_monitor *m);
/* Sync apply: path of the applied commit exists in the cluster; watch it
 * for later degradation if it is not watched yet (after a restart). */
void gfs_monitor_watch(struct gfs_monitor *m, const char *path, const char *commit);

/* The objects of the last apply, one path per line. */
int gfs_monitor_last_apply_text(struct gfs_monitor *m, struct gfs_buf *out);

#endif
