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
	GFS_SECRETS_SOPS,       /* values encrypted to age recipients (gfs_sops.h) */
};

/* A redacted value: GFS_REDACTED_HMAC_PREFIX and the first 32 hex digits
 * of HMAC-SHA256, keyed with the cluster's redaction key (never in Git:
 * gfs_redaction.h says where it lives), of the Secret's namespace, name,
 * the data key and the value's bytes (a `data` value decoded from
 * base64, a `stringData` value as it is: the same value gives the same
 * digest in either). Without the key the digest cannot be brute-forced
 * from the repository, even for a 6-digit PIN; bound to the Secret and
 * key, equal values in two Secrets do not match; with one key per
 * cluster, every mount of the cluster shows the same bytes.
 *
 * GFS_REDACTED_PREFIX is what every redacted form starts with, of this
 * version or an older one ("gitopsfs-redacted:sha256:..."): a value that
 * starts with it is never sent to the cluster as a value. */
#define GFS_REDACTED_PREFIX      "gitopsfs-redacted:"
#define GFS_REDACTED_HMAC_PREFIX "gitopsfs-redacted:hmac-sha256:"
#define GFS_REDACTED_DIGITS      32
#define GFS_REDACTED_SIZE        (sizeof(GFS_REDACTED_HMAC_PREFIX) + GFS_REDACTED_DIGITS)
/* Shown when no key could be had (nothing about the value is shown). */
#define GFS_REDACTED_NO_KEY "gitopsfs-redacted:no-key"

/* The key of the digest: bytes, 16 to GFS_REDACT_KEY_MAX of them. */
#define GFS_REDACT_KEY_MIN 16
#define GFS_REDACT_KEY_MAX 256
struct gfs_redact_key {
	unsigned char bytes[GFS_REDACT_KEY_MAX];
	size_t len; /* 0: no key */
};

/* Writes the redacted form of `value` (len bytes) of data key `key` in the
 * Secret `ns`/`name` (ns NULL or "" for none). Returns 0, or -ENOMEM /
 * -EIO when the digest cannot be computed (out then holds the no-key
 * form, which shows nothing). */
int gfs_render_redacted_form(char out[GFS_REDACTED_SIZE], const struct gfs_redact_key *k,
			     const char *ns, const char *name, const char *key,
			     const void *value, size_t len);

/* A Secret manifest as the server stores it: each stringData value moved
 * into data, base64-encoded (stringData wins over data, as on the
 * server), stringData removed. A value already in redacted form moves as
 * it is. For comparing a manifest from Git with the live object.
 * Returns 0 or -ENOMEM. */
int gfs_render_secret_fold(json_t *secret);

struct gfs_render_opts {
	enum gfs_secrets_mode secrets;
	/* The redaction key (borrowed); NULL or empty: redacted values show
	 * GFS_REDACTED_NO_KEY. */
	const struct gfs_redact_key *key;
};

/* Returns a new object (caller owns the reference) that is `obj` without
 * the server-owned fields listed above and with Secret values redacted
 * when opts->secrets is GFS_SECRETS_REDACT (GFS_SECRETS_SOPS leaves them
 * in clear, for gfs_sops_render to encrypt). `obj` is not modified.
 * Returns NULL on out-of-memory. */
json_t *gfs_render_strip(const json_t *obj, const struct gfs_render_opts *opts);

/* Appends the file bytes of `obj` (strip + canonical YAML) to out.
 * Returns 0 or -errno; -EINVAL for a Secret in GFS_SECRETS_SOPS mode,
 * whose bytes only gfs_sops_render makes (so that no caller can write
 * its values in clear by mistake). */
int gfs_render_object(struct gfs_buf *out, const json_t *obj,
		      const struct gfs_render_opts *opts);

#endif
