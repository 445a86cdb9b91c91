/*
 * git.c - libgit2's errors as ours, in one place. See gfs_git.h.
 */
#include <errno.h>
#include <git2.h>

#include "gfs_common.h"
#include "gfs_git.h"

int gfs_git_error(int gerr, const char *what)
{
	const git_error *e = git_error_last();
	int rc = gerr == GIT_ENOTFOUND ? -ENOENT : gerr == GIT_EEXISTS ? -EEXIST : -EIO;
	return gfs_error_set(rc, "%s: %s", what,
			     e && e->message ? e->message : "git error");
}
