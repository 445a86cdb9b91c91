/*
 * gfs_git.h - what every user of libgit2 in gitopsfs shares: the one
 * mapping of libgit2's errors to ours. (libgit2's process-wide
 * initialisation is gfs_global_git_init, gfs_common.h.)
 */
#ifndef GFS_GIT_H
#define GFS_GIT_H

/*
 * Turns libgit2's result `gerr` (negative) into -errno, with the
 * per-thread message "WHAT: <libgit2's message>": GIT_ENOTFOUND is
 * -ENOENT, GIT_EEXISTS -EEXIST, anything else -EIO. Call it right after
 * the failing libgit2 call, on the same thread (libgit2's message is
 * per-thread too). Returns the -errno, so that
 * `return gfs_git_error(rc, "cannot read HEAD");` reads naturally.
 */
int gfs_git_error(int gerr, const char *what);

#endif
