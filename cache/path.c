/*
 * path.c - mapping between objects and their paths in the mount.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_path.h"

uint64_t gfs_path_ino(const char *path)
{
	return *path ? gfs_hash64(path, strlen(path)) | 2 : 1;
}

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

bool gfs_path_label_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* A DNS-1123 subdomain: dot-separated labels, 1..253 bytes. */
static bool gfs_path_subdomain_valid(const char *s)
{
	char label[64];
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len >= sizeof(label))
			return false;
		memcpy(label, p, len);
		label[len] = '\0';
		if (!gfs_path_label_valid(label))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

bool gfs_path_crd_dirname(const char *dirname)
{
	const char *dot = strchr(dirname, '.');
	char plural[64];
	if (!dot || (size_t)(dot - dirname) >= sizeof(plural) || !strchr(dot + 1, '.'))
		return false;
	memcpy(plural, dirname, (size_t)(dot - dirname));
	plural[dot - dirname] = '\0';
	return gfs_path_label_valid(plural) && gfs_path_subdomain_valid(dot + 1);
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
