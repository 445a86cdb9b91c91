/*
 * gfs_gitstate.h - the Git side of a mount: gitopsfs's own clone of REPO
 * in the state directory (libgit2), set up so that the stock git CLI
 * works inside the mount through the gitfile MOUNTPOINT/.git.
 *
 * Layout of a state directory:
 *   STATE/git/      the git directory: origin = REPO, core.worktree =
 *                   MOUNTPOINT, info/exclude hides /.gitopsfs/
 *   STATE/files/    ordinary (unmanaged) files of the work tree
 *   STATE/log       the daemon's log when running in the background
 *
 * A gfs_gitstate is used by one thread at a time (libgit2 rule).
 */
#ifndef GFS_GITSTATE_H
#define GFS_GITSTATE_H

#include <stdbool.h>

#include "gfs_store.h"

struct gfs_gitstate;

/* The default state directory for a mount point:
 * $XDG_STATE_HOME (or ~/.local/state)/gitopsfs/<basename>-<hash8>, the
 * hash of the absolute mount point keeping two mounts apart. Returns a
 * malloc'ed string or NULL. */
char *gfs_gitstate_default_dir(const char *abs_mountpoint);

/* Clones REPO (a URL or a path) into STATE/git on first use, or opens the
 * existing clone (refusing one whose origin is another repository), and
 * points its work tree at `worktree`. `branch` NULL = REPO's default. */
int gfs_gitstate_open(struct gfs_gitstate **out, const char *repo, const char *state_dir,
		      const char *worktree, const char *branch);
void gfs_gitstate_free(struct gfs_gitstate *gs);

const char *gfs_gitstate_gitdir(const struct gfs_gitstate *gs); /* borrowed */
const char *gfs_gitstate_local_dir(const struct gfs_gitstate *gs);
/* The checked-out commit ("" when the branch has no commit yet). */
const char *gfs_gitstate_head(const struct gfs_gitstate *gs);

/* Reads a file of the checked-out commit (e.g. ".gitopsfs.yaml") into
 * *out (malloc'ed, NUL-terminated; caller frees). -ENOENT when the commit
 * has no such file or there is no commit yet. */
int gfs_gitstate_read_file(struct gfs_gitstate *gs, const char *path, char **out,
			   size_t *len);

/* Calls fn for every file of the checked-out commit whose path `want`
 * accepts (paths relative to the repository root), with its bytes
 * (borrowed for the call). Stops at fn's first negative return and
 * returns it; 0 when there is no commit yet. */
int gfs_gitstate_foreach_file(struct gfs_gitstate *gs, bool (*want)(const char *path),
			      int (*fn)(void *payload, const char *path, const char *data,
					size_t len),
			      void *payload);

/* First mount only: writes the unmanaged files of the checked-out commit
 * into STATE/files, so they start as their version in Git; and creates
 * the index: from HEAD's tree, or - when the branch has no commit yet -
 * from the live objects in the store, so that the first `git commit` in
 * the mount imports the cluster. Later mounts change nothing. */
int gfs_gitstate_prepare(struct gfs_gitstate *gs, struct gfs_store *store);

#endif
