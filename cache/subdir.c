/*
 * subdir.c - the --path DIR of one repository holding many clusters:
 * where, inside the repository, a cluster's tree lives.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_path.h"

int gfs_path_subdir_check(char *out, size_t outsz, const char *dir)
{
	size_t used = 0;
	out[0] = '\0';
	if (!dir || !*dir)
		return 0;
	if (dir[0] == '/')
		return gfs_error_set(-EINVAL,
				     "--path %s: give a directory relative to the "
				     "repository's root (e.g. clusters/prod)",
				     dir);
	/* Component by component; empty ones ("a//b", a trailing '/') and
	 * "." are dropped, so every spelling of one directory is one path. */
	for (const char *p = dir; *p;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 2 && strncmp(p, "..", 2) == 0)
			return gfs_error_set(
			    -EINVAL, "--path %s: '..' would leave the repository", dir);
		if ((n == 4 && strncmp(p, ".git", 4) == 0) ||
		    (n == 9 && strncmp(p, ".gitopsfs", 9) == 0))
			return gfs_error_set(
			    -EINVAL,
			    "--path %s: %.*s belongs to Git or gitopsfs, "
			    "not to a cluster's tree",
			    dir, (int)n, p);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (used + n + 2 > outsz || used + n + 2 > GFS_PATH_MAX / 2)
				return gfs_error_set(-ENAMETOOLONG,
						     "--path %s is too long", dir);
			if (used)
				out[used++] = '/';
			memcpy(out + used, p, n);
			used += n;
			out[used] = '\0';
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}
