/*
 * render.c - a live object to the bytes of its file (SPEC section 4):
 * leave out what the server owns, redact Secrets, write canonical YAML.
 *
 * Everything works on a deep copy: the caller's object (often shared by
 * the cache) is never modified.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_object.h"
#include "gfs_render.h"
#include "gfs_yaml.h"
#include "redact_internal.h"

/* Walking deeper than this for nested metadata maps is not worth it:
 * templates sit a few levels down, and jansson caps parsing at 2048. */
#define GFS_RENDER_MAX_DEPTH 512

static const char *const gfs_render_annotations[] = {
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    NULL,
};

/* Deletes the listed keys (NULL-terminated) from object; true when any
 * was there. */
static bool gfs_render_keys_drop(json_t *object, const char *const *keys)
{
	bool dropped = false;
	for (; *keys; keys++)
		dropped |= json_object_del(object, *keys) == 0;
	return dropped;
}

/* The server fills "creationTimestamp: null" into every embedded object
 * metadata (pod templates, volume claim templates); it is noise. Returns
 * true when `value` is a map that this left empty, for the caller to
 * remove. Maps inside lists stay, even when emptied: removing a list
 * element would change the list. */
static bool gfs_render_templates_strip(json_t *value, int depth)
{
	const char *key;
	json_t *child;
	void *tmp;
	bool dropped = false;

	if (depth > GFS_RENDER_MAX_DEPTH)
		return false;
	if (json_is_array(value)) {
		for (size_t k = 0; k < json_array_size(value); k++)
			gfs_render_templates_strip(json_array_get(value, k), depth + 1);
		return false;
	}
	if (!json_is_object(value))
		return false;
	json_object_foreach_safe(value, tmp, key, child)
	{
		bool emptied = gfs_render_templates_strip(child, depth + 1);
		if (strcmp(key, "metadata") == 0 && json_is_object(child) &&
		    json_is_null(json_object_get(child, "creationTimestamp"))) {
			json_object_del(child, "creationTimestamp");
			emptied = json_object_size(child) == 0;
		}
		if (emptied) {
			json_object_del(value, key);
			dropped = true;
		}
	}
	return dropped && json_object_size(value) == 0;
}

/* metadata's server-owned fields and annotations. */
static void gfs_render_metadata_strip(json_t *obj)
{
	json_t *metadata = json_object_get(obj, "metadata");
	json_t *annotations = json_object_get(metadata, "annotations");
	bool dropped;

	if (!json_is_object(metadata))
		return;
	dropped = gfs_render_keys_drop(metadata, gfs_server_metadata_fields);
	if (json_is_object(annotations) &&
	    gfs_render_keys_drop(annotations, gfs_render_annotations) &&
	    json_object_size(annotations) == 0) {
		json_object_del(metadata, "annotations");
		dropped = true;
	}
	if (dropped && json_object_size(metadata) == 0)
		json_object_del(obj, "metadata");
}

/* A value that is already in redacted form (a file written back, a
 * manifest from Git) is kept as it is, so redacting is idempotent. */
static bool gfs_render_is_redacted(const json_t *value)
{
	const char *s = json_string_value(value);
	return s && strncmp(s, GFS_REDACTED_PREFIX, strlen(GFS_REDACTED_PREFIX)) == 0;
}

/* Which Secret and key a value belongs to, for its digest. */
struct gfs_redact_ctx {
	const struct gfs_redact_key *key;
	const char *ns, *name;
	bool base64; /* a `data` value: digested decoded */
};

static json_t *gfs_render_value_redact(const struct gfs_redact_ctx *c, const char *key,
				       const json_t *value)
{
	char text[GFS_REDACTED_SIZE];
	char *dumped = NULL;
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	int rc;

	if (gfs_render_is_redacted(value))
		return json_string(json_string_value(value));
	const char *s = json_string_value(value);
	size_t len = json_string_length(value);
	if (!s) {
		/* Not a string (never from the server): compact JSON. */
		dumped =
		    json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
		if (!dumped)
			return NULL;
		s = dumped;
		len = strlen(dumped);
	} else if (c->base64 &&
		   (rc = gfs_render_base64_decode(&raw, &raw_len, s, len)) == -ENOMEM) {
		return NULL;
	}
	rc = raw ? gfs_render_redacted_form(text, c->key, c->ns, c->name, key, raw,
					    raw_len)
		 : gfs_render_redacted_form(text, c->key, c->ns, c->name, key, s, len);
	if (raw) {
		explicit_bzero(raw, raw_len);
		free(raw);
	}
	free(dumped);
	return rc == -ENOMEM ? NULL : json_string(text);
}

/* Replaces every value of data and stringData; -ENOMEM leaves some
 * values unredacted, so the caller must then drop the copy. */
static int gfs_render_secret_redact(json_t *secret, const struct gfs_redact_key *k)
{
	static const char *const fields[] = {"data", "stringData"};
	const json_t *md = json_object_get(secret, "metadata");
	struct gfs_redact_ctx c = {
	    .key = k,
	    .ns = json_string_value(json_object_get(md, "namespace")),
	    .name = json_string_value(json_object_get(md, "name")),
	};

	for (size_t f = 0; f < GFS_ARRAY_SIZE(fields); f++) {
		json_t *map = json_object_get(secret, fields[f]);
		c.base64 = f == 0;
		if (!json_is_object(map))
			continue;
		for (void *it = json_object_iter(map); it;
		     it = json_object_iter_next(map, it)) {
			json_t *redacted = gfs_render_value_redact(
			    &c, json_object_iter_key(it), json_object_iter_value(it));
			if (!redacted || json_object_iter_set_new(map, it, redacted) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

json_t *gfs_render_strip(const json_t *obj, const struct gfs_render_opts *opts)
{
	enum gfs_secrets_mode mode = opts ? opts->secrets : GFS_SECRETS_REDACT;
	json_t *copy = json_deep_copy(obj);

	if (!copy || !json_is_object(copy))
		return copy;
	json_object_del(copy, "status");
	gfs_render_metadata_strip(copy);
	gfs_render_templates_strip(copy, 0);
	if (mode == GFS_SECRETS_REDACT && gfs_json_is_secret(copy) &&
	    gfs_render_secret_redact(copy, opts ? opts->key : NULL) < 0) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

int gfs_render_object(struct gfs_buf *out, const json_t *obj,
		      const struct gfs_render_opts *opts)
{
	json_t *stripped = NULL;
	int rc;

	if (opts && opts->secrets == GFS_SECRETS_SOPS && gfs_json_is_secret(obj)) {
		rc = gfs_error_set(-EINVAL, "a Secret in secrets: sops mode is rendered "
					    "encrypted, by gfs_sops_render");
		goto out;
	}
	stripped = gfs_render_strip(obj, opts);
	if (!stripped) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto out;
	}
	rc = gfs_yaml_emit(out, stripped);
out:
	json_decref(stripped);
	return rc;
}
