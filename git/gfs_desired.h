/*
 * gfs_desired.h - the desired state as `gitopsfs diff` reads it: the
 * tracked branch's tree of a Git repository, or a directory in the
 * layout of SPEC section 3 - and its comparison with the live cluster.
 *
 * Nothing here writes anywhere but a temporary directory: a local
 * repository is opened, not changed; a remote one is cloned (bare, with
 * the credentials of gfs_gitcred.h) into a directory of its own under
 * $TMPDIR that gfs_desired_free removes.
 *
 * Paths are relative to `subdir` (--path): "shop/configmaps/app.yaml"
 * is the file at <subdir>/shop/configmaps/app.yaml of the tree. A
 * gfs_desired is used by one thread (it holds a git_repository).
 */
#ifndef GFS_DESIRED_H
#define GFS_DESIRED_H

#include <stdbool.h>
#include <stdio.h>

#include "gfs_common.h"
#include "gfs_store.h"

struct gfs_desired;

/*
 * Opens `source`: a path to a Git repository (bare or not: the branch's
 * committed tree, not its work tree), another existing directory (its
 * files as they are; .git and .gitopsfs are skipped), or else a Git URL
 * (cloned). `branch` NULL: the repository's HEAD (a clone's: the remote's
 * default branch); a branch that exists only as origin/<branch> is found
 * too. `subdir` NULL or "": the whole tree; a subdir missing from the
 * tree is an empty desired state. Returns 0, or -errno with a message
 * saying what to fix (no such branch, cannot clone, not readable).
 */
int gfs_desired_open(struct gfs_desired **out, const char *source, const char *branch,
		     const char *subdir);
void gfs_desired_free(struct gfs_desired *d);

/* "branch main of REPO (commit 1a2b3c4)" or "directory DIR": for
 * messages. Borrowed. */
const char *gfs_desired_describe(const struct gfs_desired *d);
/* The subdir given to gfs_desired_open ("" for none). Borrowed. */
const char *gfs_desired_subdir(const struct gfs_desired *d);
/* Was `subdir` found in the tree (or directory)? */
bool gfs_desired_has_subdir(const struct gfs_desired *d);

/* The number of files and, sorted, their paths (borrowed). */
size_t gfs_desired_count(const struct gfs_desired *d);
const char *gfs_desired_path(const struct gfs_desired *d, size_t i);

/* Reads the file at `path` into out (reset first; its limit holds):
 * 0, -ENOENT when there is no such file, -EFBIG past the limit, or
 * another -errno; the message names the file. */
int gfs_desired_read(struct gfs_desired *d, const char *path, struct gfs_buf *out);

/*
 * Compares every object file of the desired state with the live files of
 * the store, each side as the mount would show it (the manifest rendered
 * by gfs_store_render_manifest; ordinary files such as README are not
 * compared), and writes a unified diff of each difference to `out`, Git
 * before live, as `git diff` in a mount would: a file only live is a new
 * file, one only in Git a deleted one. Paths in the diff are relative to
 * the tree's root (subdir in front). A manifest that cannot be rendered
 * (invalid YAML) is compared as it is, with a warning on stderr.
 * *differ: the number of files that differ. 0 or -errno.
 */
int gfs_desired_diff(FILE *out, size_t *differ, struct gfs_desired *d,
		     struct gfs_store *store);

#endif
