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

/* A block: large enough to be given back to the system when freed (above
 * malloc's mmap threshold, fixed by the mount at 128 KiB). */
#define GFS_STRPACK_BLOCK (256u << 10)

const char *gfs_strpack_add(struct gfs_strpack *p, const char *s, size_t len)
{
	if (len + 1 > p->left) {
		size_t size = len + 1 > GFS_STRPACK_BLOCK ? len + 1 : GFS_STRPACK_BLOCK;
		char **blocks = realloc(p->blocks, (p->n_blocks + 1) * sizeof(*blocks));
		if (!blocks)
			return NULL;
		p->blocks = blocks;
		char *block = malloc(size);
		if (!block)
			return NULL;
		p->blocks[p->n_blocks++] = p->at = block;
		p->left = size;
	}
	char *copy = p->at;
	memcpy(copy, s, len);
	copy[len] = '\0';
	p->at += len + 1;
	p->left -= len + 1;
	return copy;
}

void gfs_strpack_release(struct gfs_strpack *p)
{
	for (size_t i = 0; i < p->n_blocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	memset(p, 0, sizeof(*p));
}
