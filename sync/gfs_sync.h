/*
 * gfs_sync.h - the sync thread (SPEC section 6): keeps Git and the
 * cluster together in one direction, without a person.
 *
 * commit: every change the store reports (never status-only ones: the
 *   store reports only changed bytes) is collected for a short while and
 *   committed to --branch in one commit whose message names each object
 *   and, from managedFields, the manager and time of its change; with
 *   --push, each commit is pushed (retried while the remote is down). At
 *   start the difference between the live cluster and the branch is
 *   committed first, so a change made while gitopsfs was down is kept.
 *   The user's index is updated with the same entries, so `git status`
 *   in the mount stays clean.
 *
 * apply: every interval, origin is fetched; what changed between the last
 *   applied commit (kept in STATE/sync-applied) and the new one is applied
 *   (Namespaces and CRDs first), and with --prune objects that gitopsfs
 *   applied and Git no longer has are deleted. Drift (a live object whose
 *   file differs from Git's) is put back (heal) or only reported.
 *   Failures and recoveries are alerted once per change of state.
 *
 * The thread owns its own git_repository (libgit2: one thread each).
 */
#ifndef GFS_SYNC_H
#define GFS_SYNC_H

#include <stdbool.h>

#include "gfs_apply.h"
#include "gfs_store.h"

enum gfs_sync_direction { GFS_SYNC_OFF, GFS_SYNC_COMMIT, GFS_SYNC_APPLY };

struct gfs_alerter;
struct gfs_monitor;

struct gfs_sync_opts {
	enum gfs_sync_direction direction;
	const char *gitdir;    /* STATE/git */
	const char *state_dir; /* for STATE/sync-applied */
	const char *cluster;   /* the API server's URL: commit authors' addresses */
	const char *branch;    /* NULL: the branch HEAD points at */
	unsigned interval;     /* apply: seconds between fetches; commit: unused */
	bool push, prune, heal;
	struct gfs_store *store;     /* borrowed */
	struct gfs_applier *applier; /* borrowed; apply mode */
	struct gfs_alerter *alerter; /* borrowed; may be NULL */
	/* Borrowed; may be NULL. apply: each object applied is followed until
	 * healthy (a failed rollout alerts), every object of the applied
	 * commit is watched for later degradation (gfs_monitor.h). */
	struct gfs_monitor *monitor;
	/* The branch's .gitopsfs.yaml changed (its new text; len 0 when it
	 * was removed): return 0 once it is in force, or -EINVAL with the
	 * per-thread error (file, line, reason) to keep the old config - the
	 * failure is alerted, and retried with the next commit. */
	int (*config_changed)(void *payload, const char *text, size_t len);
	void *config_payload;
};

struct gfs_sync;

/* Subscribes to the store (call before the informers start) and starts
 * the thread, which waits for gfs_sync_ready before doing anything. */
int gfs_sync_new(struct gfs_sync **out, const struct gfs_sync_opts *opts);
/* The first list is complete: the thread may compare and act; apply mode
 * applies through `applier` (borrowed; may be NULL in commit mode). */
void gfs_sync_ready(struct gfs_sync *s, struct gfs_applier *applier);
/* Stops the thread after the work in hand (a pending commit is made). The
 * store may still report changes to it until freed: stop the informers
 * between gfs_sync_stop and gfs_sync_free. */
void gfs_sync_stop(struct gfs_sync *s);
void gfs_sync_free(struct gfs_sync *s);

struct gfs_sync_status {
	char last_sync[32];   /* RFC 3339 time of the last commit or apply, or "" */
	char last_commit[41]; /* the commit made or applied last, or "" */
	char last_error[512]; /* "" when the last round went well */
	unsigned long commits, applied, failing;
};
void gfs_sync_get_status(struct gfs_sync_status *out, struct gfs_sync *s);

#endif
