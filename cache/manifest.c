/*
 * manifest.c - a manifest from Git rendered the way a live object is, so
 * that "does the cluster match Git?" compares like with like: apply
 * mode's drift check and `gitopsfs diff` both ask it here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gfs_path.h"
#include "gfs_render.h"
#include "gfs_sops.h"
#include "gfs_store.h"
#include "gfs_yaml.h"

int gfs_store_render_manifest(struct gfs_buf *out, struct gfs_store *s, const char *path,
			      const char *data, size_t len)
{
	struct gfs_path_parts p;
	struct gfs_yaml_error yerr = {0};
	json_t *m = NULL;
	const char *rel = gfs_store_cluster_path(s, path);
	int rc = rel ? gfs_path_parse(&p, rel) : -EINVAL;
	if (rc < 0)
		return gfs_error_set(rc, "%s is not an object's path", path);
	rc = gfs_yaml_parse(&m, data, len, &yerr);
	if (rc < 0)
		return gfs_error_set(-EINVAL,
				     "%s: invalid YAML at line %d, column %d: %s", path,
				     yerr.line, yerr.column, yerr.reason);
	if (!json_is_object(m)) {
		json_decref(m);
		return gfs_error_set(-EINVAL, "%s: not a Kubernetes object manifest",
				     path);
	}
	/* A SOPS-encrypted Secret is compared by its plaintext. */
	struct gfs_sops *sops = gfs_store_sops(s);
	if (gfs_sops_is_encrypted(m)) {
		json_t *plain = NULL;
		rc = sops ? gfs_sops_decrypt(&plain, sops, m)
			  : gfs_error_set(-EACCES, "the file is SOPS-encrypted; run with "
						   "--secrets sops and an age identity");
		json_decref(m);
		if (rc < 0) {
			char why[512]; /* the message is rewritten from itself */
			snprintf(why, sizeof(why), "%s", gfs_error_last());
			return gfs_error_set(-EACCES, "%s: SOPS: %s", path, why);
		}
		m = plain;
	}
	/* A manifest may leave out what its path says. */
	json_t *md = json_object_get(m, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(m, "metadata", md);
	}
	if (!json_object_get(md, "name"))
		json_object_set_new(md, "name", json_string(p.name));
	if (p.ns && !json_object_get(md, "namespace"))
		json_object_set_new(md, "namespace", json_string(p.ns));
	/* The server moves stringData into data: compare like with like,
	 * or a Secret written with stringData would differ forever. */
	if (gfs_json_is_secret(m) && gfs_render_secret_fold(m) < 0) {
		json_decref(m);
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	const struct gfs_filter *filter = gfs_store_filter(s);
	json_t *kept = gfs_filter_ignore_strip(filter, p.dirname, m);
	struct gfs_render_opts ro = {.secrets = filter->secrets,
				     .key = gfs_store_redaction_key(s)};
	if (filter->secrets == GFS_SECRETS_SOPS && gfs_json_is_secret(m)) {
		/* Encrypted as the mount shows it, reusing its ciphertexts: the
		 * same bytes exactly when the plaintext is the same. */
		json_t *plain = gfs_render_strip(kept ? kept : m, &ro);
		rc = !plain ? -ENOMEM
		     : sops ? gfs_sops_render(out, sops, path, plain, false)
			    : gfs_error_set(-EACCES, "secrets: sops has no keys set up");
		json_decref(plain);
	} else {
		rc = gfs_render_object(out, kept ? kept : m, &ro);
	}
	json_decref(kept);
	json_decref(m);
	return rc < 0 ? gfs_error_set(rc, "%s: cannot render it: %s", path, strerror(-rc))
		      : 0;
}
