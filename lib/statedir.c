/*
 * statedir.c - making the state directory private, whatever was there.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_statedir.h"

/* nftw has no payload: the walk runs once, at start-up, on one thread. */
static int statedir_err;
static unsigned statedir_fixed;

static int statedir_entry(const char *path, const struct stat *st, int type,
			  struct FTW *ftw)
{
	if (type == FTW_SL || type == FTW_SLN)
		return 0; /* a link's own mode means nothing; never followed */
	if (type == FTW_NS || type == FTW_DNR) {
		statedir_err =
		    gfs_error_set(-EACCES, "cannot read %s in the state directory", path);
		return 1;
	}
	if (st->st_uid != geteuid()) {
		statedir_err = gfs_error_set(
		    -EPERM,
		    "%s in the state directory belongs to uid %u, not to you; "
		    "remove it or pass another --state-dir",
		    path, (unsigned)st->st_uid);
		return 1;
	}
	mode_t want = st->st_mode & (S_ISDIR(st->st_mode) ? 07700 : 0700);
	if (ftw->level == 0)
		want = (st->st_mode & 07000) | 0700;
	if ((st->st_mode & 07777) == want)
		return 0;
	if (chmod(path, want) < 0) {
		statedir_err = gfs_error_set(-errno, "cannot make %s private: %s", path,
					     strerror(errno));
		return 1;
	}
	statedir_fixed++;
	return 0;
}

int gfs_statedir_secure(const char *dir)
{
	struct stat st;
	umask(077);
	int rc = gfs_mkdir_p(dir, 0700);
	if (rc < 0)
		return gfs_error_set(rc, "cannot create state directory %s: %s", dir,
				     strerror(-rc));
	if (lstat(dir, &st) < 0)
		return gfs_error_set(-errno, "state directory %s: %s", dir,
				     strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return gfs_error_set(-ENOTDIR,
				     "state directory %s is not a directory (a symbolic "
				     "link?); pass the real path with --state-dir",
				     dir);
	statedir_err = 0;
	statedir_fixed = 0;
	if (nftw(dir, statedir_entry, 32, FTW_PHYS) < 0 && !statedir_err)
		statedir_err = gfs_error_set(-errno, "cannot walk state directory %s: %s",
					     dir, strerror(errno));
	if (statedir_err)
		return statedir_err;
	if (statedir_fixed)
		gfs_warn("state directory %s: made %u entr%s private (group and other "
			 "permissions removed)",
			 dir, statedir_fixed, statedir_fixed == 1 ? "y" : "ies");
	return 0;
}
