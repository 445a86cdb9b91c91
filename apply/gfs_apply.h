/*
 * gfs_apply.h - the one path by which objects reach the cluster.
 *
 * The FUSE write path (and the sync thread) hand a manifest and the path
 * it was written to; the applier parses and checks it, restores redacted
 * Secret values from the live object, and creates (POST) or replaces
 * (PUT, carrying the live resourceVersion) the object. The server's answer
 * goes into the store at once, so a file reads back what was applied, and
 * into the applied-state record that keeps server defaults out of sight.
 *
 * Deleting is deferred by a short grace period, so that the unlink and
 * re-create of git checkout/stash/pull becomes an in-place update (same
 * uid, no restart) instead of a delete and a create; the file is hidden
 * meanwhile. A deletion is in the journal (gfs_journal.h) before the rm
 * is acknowledged, so a crash loses none: the next start carries out what
 * is left (with the uid as a precondition). A failure of the server or
 * the network is retried with back-off; a refusal shows the file again.
 * Pending deletions are carried out at once on shutdown.
 *
 * Errors: -EINVAL (invalid YAML, a path mismatch, a rejection by the
 * server), -EACCES, -EEXIST, -EBUSY (conflict: someone changed the object
 * since the writer read it), -EPERM (a cascading delete without
 * --allow-cascade-delete), -EIO; the per-thread error says what and what
 * to do, and every failure is also added to .gitopsfs/errors.
 *
 * Thread-safe: FUSE handlers call it from several threads.
 */
#ifndef GFS_APPLY_H
#define GFS_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gfs_applied.h"
#include "gfs_informer.h"
#include "gfs_journal.h"
#include "gfs_kube.h"
#include "gfs_store.h"

#define GFS_APPLY_FIELD_MANAGER "gitopsfs"
#define GFS_MANIFEST_LIMIT      (8u << 20)

struct gfs_applier_opts {
	struct gfs_kube_client *client;  /* borrowed */
	struct gfs_store *store;         /* borrowed */
	struct gfs_informers *informers; /* borrowed: resources by kind */
	struct gfs_applied *applied;     /* borrowed */
	struct gfs_journal *journal;     /* borrowed; NULL: deletions not kept on disk */
	bool allow_cascade_delete;
	unsigned delete_grace_ms; /* 0: default 1000 */
	unsigned wait_ms;         /* for a namespace or CRD being created; 0: 10000 */
};

struct gfs_applier;

int gfs_applier_new(struct gfs_applier **out, const struct gfs_applier_opts *opts);
/* Carries out pending deletions, stops the timer thread, frees. */
void gfs_applier_free(struct gfs_applier *a);

/* Applies `data` (YAML) as the object at `path`. `expect_version` is the
 * content version (gfs_entry_attr.version) the writer last read, or 0
 * when it read nothing: then no conflict check is made beyond the
 * server's resourceVersion check. */
int gfs_applier_apply(struct gfs_applier *a, const char *path, const char *data,
		      size_t len, uint64_t expect_version);

/* Schedules deletion of the object at path (see above). -ENOENT, with no
 * message, when the store shows no object there (already gone). */
int gfs_applier_delete(struct gfs_applier *a, const char *path);

/* Did gitopsfs apply the object at path (and so may prune it)? */
bool gfs_applier_owns(struct gfs_applier *a, const char *path);

/* The store prepare hook: renders applied objects without the server's
 * defaults, and an object applied in another served version than the
 * watched one in that version (read from the server: only such objects
 * cost a request, made from the informer thread with no lock held).
 * Its payload, borrowed; both must outlive the store's informers. */
struct gfs_applier_view {
	struct gfs_applied *applied;
	struct gfs_kube_client *client;
};
json_t *gfs_applier_prepare(void *payload, const char *path, const json_t *obj);

#endif
