/*
 * gfs_render.h - a live Kubernetes object to the bytes of its file.
 *
 * SPEC section 4: one object per file; fields the server owns are left
 * out (status; metadata.uid, resourceVersion, generation,
 * creationTimestamp, managedFields, selfLink; the annotations
 * kubectl.kubernetes.io/last-applied-configuration and
 * deployment.kubernetes.io/revision; and any map left empty by that);
 * Secrets follow the secrets policy. The output is gfs_yaml_emit's
 * canonical YAML, so equal objects always render to equal bytes.
 */
#ifndef GFS_RENDER_H
#define GFS_RENDER_H

#include <jansson.h>

#include "gfs_common.h"

enum gfs_secrets_mode {
	GFS_SECRETS_REDACT = 0, /* values shown as a stable digest */
	GFS_SECRETS_SHOW,       /* values shown; files get mode 0600 */
	GFS_SECRETS_EXCLUDE,    /* Secrets are not shown at all */
};

/* Prefix of a redacted value: "gitopsfs-redacted:sha256:<first 16 hex
 * digits of SHA-256 of the value string as the API returns it>". The digest is stable, so
 * an unchanged Secret renders the same bytes; it is truncated so that it identifies a
 * change without being a usable fingerprint of the value. */
#define GFS_REDACTED_PREFIX "gitopsfs-redacted:sha256:"
#define GFS_REDACTED_SIZE   (sizeof(GFS_REDACTED_PREFIX) + 16) /* with the NUL */

/* Writes the redacted form of a value (prefix + 16 hex digits). A value
 * already in that form is shown as it is by the renderer. */
void gfs_render_redacted_form(char out[GFS_REDACTED_SIZE], const char *value, size_t len);

struct gfs_render_opts {
	enum gfs_secrets_mode secrets;
};

/* Returns a new object (caller owns the reference) that is `obj` without
 * the server-owned fields listed above and with Secret values redacted
 * when opts->secrets is GFS_SECRETS_REDACT. `obj` is not modified.
 * Returns NULL on out-of-memory. */
json_t *gfs_render_strip(const json_t *obj, const struct gfs_render_opts *opts);

/* Appends the file bytes of `obj` (strip + canonical YAML) to out.
 * Returns 0 or -errno. */
int gfs_render_object(struct gfs_buf *out, const json_t *obj,
		      const struct gfs_render_opts *opts);

/* SHA-256 of data into 32 bytes of digest (no external library). */
void gfs_sha256(unsigned char digest[32], const void *data, size_t len);

#endif
