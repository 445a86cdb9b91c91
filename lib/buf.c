/*
 * buf.c - the size-limited growable buffer and the refcounted blob.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"

char gfs_buf_empty[1];

void gfs_buf_init(struct gfs_buf *b, size_t limit)
{
	b->data = gfs_buf_empty;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

/* Makes room for `extra` more bytes plus the terminating NUL. */
static int gfs_buf_grow(struct gfs_buf *b, size_t extra)
{
	if (extra > b->limit || b->len > b->limit - extra)
		return gfs_error_set(-EFBIG, "data exceeds the limit of %zu bytes",
				     b->limit);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->cap ? b->data : NULL, cap);
	if (!p)
		return gfs_error_set(-ENOMEM, "out of memory");
	if (!b->cap)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int gfs_buf_add(struct gfs_buf *b, const void *data, size_t len)
{
	int rc = gfs_buf_grow(b, len);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int gfs_buf_adds(struct gfs_buf *b, const char *s)
{
	return gfs_buf_add(b, s, strlen(s));
}

int gfs_buf_addf(struct gfs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return gfs_error_set(-EINVAL, "bad format");
	int rc = gfs_buf_grow(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void gfs_buf_reset(struct gfs_buf *b)
{
	gfs_buf_setlen(b, 0);
}

void gfs_buf_setlen(struct gfs_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0'; /* len < old len: data is ours, not the shared "" */
}

char *gfs_buf_detach(struct gfs_buf *b, size_t *len_out)
{
	char *p = b->cap ? b->data : calloc(1, 1);
	if (len_out)
		*len_out = b->len;
	gfs_buf_init(b, b->limit);
	return p;
}

void gfs_buf_release(struct gfs_buf *b)
{
	if (!b)
		return;
	if (b->cap)
		free(b->data);
	gfs_buf_init(b, b->limit);
}

struct gfs_blob *gfs_blob_new(const void *data, size_t len)
{
	if (len >= UINT32_MAX)
		return NULL;
	struct gfs_blob *b = malloc(sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = (uint32_t)len;
	if (len)
		memcpy(b->data, data, len);
	b->data[len] = '\0';
	return b;
}

struct gfs_blob *gfs_blob_ref(struct gfs_blob *b)
{
	if (b)
		atomic_fetch_add(&b->refs, 1);
	return b;
}

void gfs_blob_unref(struct gfs_blob *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}
