/*
 * path.c - mapping between objects and their paths in the mount.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gfs_path.h"

bool gfs_path_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		/* Wider than DNS-1123: RBAC names use ':' and '@', and
		 * some kinds allow upper case. Never '/' or NUL. */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == ':' ||
		      c == '_' || c == '@'))
			return false;
	}
	return true;
}

int gfs_path_parse(struct gfs_path_parts *out, const char *path)
{
	size_t n = strlen(path);
	if (n >= sizeof(out->buf))
		return -EINVAL;
	memcpy(out->buf, path, n + 1);
	char *first = out->buf;
	char *second = strchr(first, '/');
	if (!second)
		return -EINVAL;
	*second++ = '\0';
	char *third = strchr(second, '/');
	if (!third)
		return -EINVAL;
	*third++ = '\0';
	if (strchr(third, '/'))
		return -EINVAL;
	size_t tn = strlen(third), sn = strlen(GFS_FILE_SUFFIX);
	if (tn <= sn || strcmp(third + tn - sn, GFS_FILE_SUFFIX) != 0)
		return -EINVAL;
	third[tn - sn] = '\0';
	if (!*second || second[0] == '.' || !gfs_path_name_valid(third))
		return -EINVAL;
	if (strcmp(first, GFS_CLUSTER_DIR) == 0) {
		out->ns = NULL;
	} else {
		if (!gfs_path_name_valid(first))
			return -EINVAL;
		out->ns = first;
	}
	out->dirname = second;
	out->name = third;
	return 0;
}

int gfs_path_format(char *out, size_t outsz, const char *ns, const char *dirname,
		    const char *name)
{
	int n = snprintf(out, outsz, "%s/%s/%s%s", ns ? ns : GFS_CLUSTER_DIR, dirname,
			 name, GFS_FILE_SUFFIX);
	return (n < 0 || (size_t)n >= outsz) ? -ENAMETOOLONG : 0;
}
