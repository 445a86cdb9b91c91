/*
 * strv.c - the NULL-terminated string vector. See gfs_strv.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_strv.h"

size_t gfs_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

bool gfs_strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int gfs_strv_dup(char ***out, const char *const *v)
{
	size_t n = gfs_strv_len((char *const *)v);
	char **r = NULL;
	*out = NULL;
	if (!v)
		return 0;
	if (!(r = calloc(n + 1, sizeof(*r))))
		return gfs_error_set(-ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!(r[i] = strdup(v[i]))) {
			gfs_strv_free_secret(r); /* v may hold secrets */
			return gfs_error_set(-ENOMEM, "out of memory");
		}
	}
	*out = r;
	return 0;
}

int gfs_strv_push(char ***v, const char *s)
{
	size_t n = gfs_strv_len(*v);
	char *copy = strdup(s);
	char **r = copy ? realloc(*v, (n + 2) * sizeof(*r)) : NULL;
	if (!r) {
		free(copy);
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	r[n] = copy;
	r[n + 1] = NULL;
	*v = r;
	return 0;
}

void gfs_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void gfs_strv_free_secret(char **v)
{
	for (size_t i = 0; v && v[i]; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}
