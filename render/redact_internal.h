/*
 * redact_internal.h - what render.c takes from redact.c.
 */
#ifndef GFS_REDACT_INTERNAL_H
#define GFS_REDACT_INTERNAL_H

#include <stddef.h>

/* Strict base64 (with padding, as the API server writes data values) into
 * *out (malloc'ed, the caller frees). Returns 0, -EINVAL or -ENOMEM. */
int gfs_render_base64_decode(unsigned char **out, size_t *out_len, const char *in,
			     size_t len);

#endif
