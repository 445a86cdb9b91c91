/*
 * applied.c - the per-object record of what gitopsfs applied, and the
 * rendering of a live object against it. See gfs_applied.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_applied.h"
#include "gfs_common.h"
#include "gfs_object.h"

struct gfs_applied_rec {
	json_t *manifest;
	json_t *answer;
};

struct gfs_applied {
	pthread_mutex_t lock;
	struct gfs_map *recs; /* path -> struct gfs_applied_rec*; guarded by lock */
	char *dir;
};

/* ---- pruning ------------------------------------------------------------------ */

static json_t *gfs_prune_value(const json_t *live, const json_t *manifest,
			       const json_t *answer);

static json_t *gfs_prune_object(const json_t *live, const json_t *manifest,
				const json_t *answer)
{
	json_t *out = json_object();
	const char *key;
	json_t *lv;
	if (!out)
		return NULL;
	json_object_foreach((json_t *)live, key, lv)
	{
		const json_t *mv = json_object_get(manifest, key);
		const json_t *av = json_object_get(answer, key);
		json_t *kept;
		if (!mv) {
			/* Not in the manifest: the server filled it in. Show
			 * it only if it changed since the server's answer. */
			if (av && json_equal(lv, (json_t *)av))
				continue;
			kept = json_incref(lv);
		} else {
			kept = gfs_prune_value(lv, mv, av);
		}
		if (!kept || json_object_set_new(out, key, kept) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *gfs_prune_array(const json_t *live, const json_t *manifest,
			       const json_t *answer)
{
	/* Element by element only when the lists line up; otherwise the
	 * list changed shape and is shown whole. */
	if (json_array_size(live) != json_array_size(manifest))
		return json_incref((json_t *)live);
	json_t *out = json_array();
	size_t i;
	json_t *lv;
	if (!out)
		return NULL;
	json_array_foreach((json_t *)live, i, lv)
	{
		const json_t *av = json_array_size(answer) == json_array_size(live)
				       ? json_array_get(answer, i)
				       : NULL;
		json_t *kept = gfs_prune_value(lv, json_array_get(manifest, i), av);
		if (!kept || json_array_append_new(out, kept) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *gfs_prune_value(const json_t *live, const json_t *manifest,
			       const json_t *answer)
{
	if (json_is_object(live) && json_is_object(manifest))
		return gfs_prune_object(live, manifest,
					json_is_object(answer) ? answer : NULL);
	if (json_is_array(live) && json_is_array(manifest))
		return gfs_prune_array(live, manifest,
				       json_is_array(answer) ? answer : NULL);
	return json_incref((json_t *)live);
}

json_t *gfs_applied_prune(const json_t *live, const json_t *manifest,
			  const json_t *answer)
{
	return gfs_prune_value(live, manifest, answer);
}

/* ---- records ------------------------------------------------------------------- */

static void gfs_rec_free(struct gfs_applied_rec *r)
{
	if (!r)
		return;
	json_decref(r->manifest);
	json_decref(r->answer);
	free(r);
}

static int gfs_rec_free_cb(const char *key, void *value, void *payload)
{
	gfs_rec_free(value);
	return 0;
}

/* The file of a path: a hash keeps names short and free of '/'. */
static void gfs_applied_file(const struct gfs_applied *a, const char *path, char *out,
			     size_t outsz)
{
	snprintf(out, outsz, "%s/%016" PRIx64 ".json", a->dir,
		 gfs_hash64(path, strlen(path)));
}

/* A copy fit for disk: Secret values never leave memory. */
static json_t *gfs_applied_disk_copy(const json_t *obj)
{
	json_t *copy = json_deep_copy(obj);
	if (copy && gfs_json_is_secret(copy)) {
		json_object_del(copy, "data");
		json_object_del(copy, "stringData");
	}
	return copy;
}

static int gfs_applied_put(struct gfs_applied *a, const char *path, json_t *manifest,
			   json_t *answer)
{
	struct gfs_applied_rec *r = calloc(1, sizeof(*r));
	int err = 0;
	if (!r)
		return -ENOMEM;
	r->manifest = manifest;
	r->answer = answer;
	pthread_mutex_lock(&a->lock);
	struct gfs_applied_rec *old = gfs_map_put(a->recs, path, r, &err);
	pthread_mutex_unlock(&a->lock);
	if (err) {
		r->manifest = r->answer = NULL;
		gfs_rec_free(r);
		return err;
	}
	gfs_rec_free(old);
	return 0;
}

static int gfs_applied_load_one(struct gfs_applied *a, const char *file)
{
	json_error_t jerr;
	json_t *doc = json_load_file(file, 0, &jerr);
	const char *path = json_string_value(json_object_get(doc, "path"));
	json_t *m = json_object_get(doc, "manifest"),
	       *ans = json_object_get(doc, "answer");
	int rc = 0;
	if (!path || !json_is_object(m) || !json_is_object(ans)) {
		gfs_warn("ignoring unreadable applied-state file %s", file);
	} else {
		rc = gfs_applied_put(a, path, json_incref(m), json_incref(ans));
		if (rc < 0) {
			json_decref(m);
			json_decref(ans);
		}
	}
	json_decref(doc);
	return rc;
}

int gfs_applied_open(struct gfs_applied **out, const char *dir)
{
	struct gfs_applied *a = calloc(1, sizeof(*a));
	int rc = 0;
	if (!a || !(a->recs = gfs_map_new()) || !(a->dir = strdup(dir))) {
		rc = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	rc = gfs_mkdir_p(dir, 0700);
	if (rc < 0) {
		gfs_error_set(rc, "cannot create %s: %s", dir, strerror(-rc));
		goto fail;
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) && rc == 0) {
		char file[4096];
		if (!strstr(de->d_name, ".json"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		rc = gfs_applied_load_one(a, file);
	}
	if (d)
		closedir(d);
	if (rc < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	gfs_applied_free(a);
	return rc;
}

void gfs_applied_free(struct gfs_applied *a)
{
	if (!a)
		return;
	if (a->recs) {
		gfs_map_foreach(a->recs, gfs_rec_free_cb, NULL);
		gfs_map_free(a->recs);
		pthread_mutex_destroy(&a->lock);
	}
	free(a->dir);
	free(a);
}

int gfs_applied_set(struct gfs_applied *a, const char *path, const json_t *manifest,
		    const json_t *answer)
{
	char file[4096], tmp[4200];
	json_t *m = gfs_applied_disk_copy(manifest), *ans = gfs_applied_disk_copy(answer);
	json_t *doc =
	    json_pack("{s:s, s:O, s:O}", "path", path, "manifest", m, "answer", ans);
	int rc = (!m || !ans || !doc) ? -ENOMEM : 0;
	if (rc == 0) {
		/* Write then rename: a crash leaves the old record or the new
		 * one, never half of one. */
		gfs_applied_file(a, path, file, sizeof(file));
		snprintf(tmp, sizeof(tmp), "%s.tmp", file);
		if (json_dump_file(doc, tmp, JSON_COMPACT) < 0 || rename(tmp, file) < 0)
			rc = gfs_error_set(-EIO, "cannot save applied state in %s",
					   a->dir);
	}
	json_decref(doc);
	json_decref(m);
	json_decref(ans);
	if (rc < 0)
		return rc;
	/* In memory the Secret values stay out too: pruning never needs them. */
	m = gfs_applied_disk_copy(manifest);
	ans = gfs_applied_disk_copy(answer);
	if (!m || !ans) {
		json_decref(m);
		json_decref(ans);
		return -ENOMEM;
	}
	rc = gfs_applied_put(a, path, m, ans);
	if (rc < 0) {
		json_decref(m);
		json_decref(ans);
	}
	return rc;
}

void gfs_applied_forget(struct gfs_applied *a, const char *path)
{
	char file[4096];
	pthread_mutex_lock(&a->lock);
	gfs_rec_free(gfs_map_del(a->recs, path));
	pthread_mutex_unlock(&a->lock);
	gfs_applied_file(a, path, file, sizeof(file));
	unlink(file);
}

int gfs_applied_get(struct gfs_applied *a, const char *path, json_t **manifest,
		    json_t **answer)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&a->lock);
	struct gfs_applied_rec *r = gfs_map_get(a->recs, path);
	if (r) {
		*manifest = json_incref(r->manifest);
		*answer = json_incref(r->answer);
		rc = 0;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}
