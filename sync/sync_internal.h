/*
 * sync_internal.h - what the files of the sync thread share.
 */
#ifndef GFS_SYNC_INTERNAL_H
#define GFS_SYNC_INTERNAL_H

#include <git2.h>
#include <pthread.h>
#include <stdatomic.h>

#include "gfs_git.h"
#include "gfs_gitcred.h"
#include "gfs_sync.h"

struct gfs_sync {
	struct gfs_sync_opts opts;
	char *branch_ref; /* "refs/heads/<branch>" */
	char *branch;
	git_repository *repo; /* the thread's own */
	pthread_t thread;
	atomic_bool stop;
	bool joined; /* owner thread only */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Guarded by lock: */
	struct gfs_map *changed; /* paths the store reported since the last round */
	bool ready;
	bool push_pending;
	struct gfs_sync_status status;
	/* Owned by the sync thread: the .gitopsfs.yaml blob in force. */
	git_oid config_id; /* zero: none */
	bool config_known;
	unsigned long drifted; /* sync thread: drifted objects in this round's check */
};

/* Reloads the config when `tree` holds another .gitopsfs.yaml than the
 * one in force (sync thread only). */
void gfs_sync_check_config(struct gfs_sync *s, git_tree *tree, const char *commit);

/* One round of each direction; called on the sync thread. */
int gfs_sync_commit_round(struct gfs_sync *s, bool full);
int gfs_sync_apply_round(struct gfs_sync *s, bool fetch);
/* Takes the set of changed paths (the caller frees it with
 * gfs_sync_paths_free). */
struct gfs_map *gfs_sync_take_changes(struct gfs_sync *s);
void gfs_sync_paths_free(struct gfs_map *m);
/* Records a round's outcome in the status: `commits` commits made. */
void gfs_sync_note(struct gfs_sync *s, const char *commit, const char *error,
		   unsigned long commits);
/* Callbacks for fetch and push with the credentials of the environment,
 * for origin's scheme, host and port only; `cred` is their payload and
 * must live as long as the operation. Returns 0, or -errno (message set)
 * when a token would go in clear text. */
int gfs_sync_remote_callbacks(git_remote_callbacks *cb, struct gfs_gitcred *cred,
			      const git_remote *origin);

#endif
