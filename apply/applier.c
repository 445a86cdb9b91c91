/*
 * applier.c - parse, check and apply one manifest; deferred deletes.
 * See gfs_apply.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_apply.h"
#include "gfs_errlog.h"
#include "gfs_path.h"
#include "gfs_render.h"
#include "gfs_yaml.h"

#define GFS_POOL_MAX 4

struct gfs_pending_delete {
	struct gfs_pending_delete *next;
	int64_t due_ms;
	char path[];
};

struct gfs_applier {
	struct gfs_applier_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Guarded by lock: */
	struct gfs_kube_conn *pool[GFS_POOL_MAX]; /* idle connections */
	int n_pool;
	struct gfs_pending_delete *deletes; /* in due order */
	bool stop;
	pthread_t thread;
};

/* ---- connections ------------------------------------------------------------- */

static int gfs_applier_conn(struct gfs_applier *a, struct gfs_kube_conn **out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->n_pool ? a->pool[--a->n_pool] : NULL;
	pthread_mutex_unlock(&a->lock);
	return *out ? 0 : gfs_kube_conn_open(out, a->opts.client);
}

static void gfs_applier_conn_put(struct gfs_applier *a, struct gfs_kube_conn *c)
{
	pthread_mutex_lock(&a->lock);
	if (a->n_pool < GFS_POOL_MAX) {
		a->pool[a->n_pool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	gfs_kube_conn_close(c);
}

/* ---- resources ----------------------------------------------------------------- */

/* Finds the resource of apiVersion/kind, waiting a while for one that a
 * CRD created just before (discovery follows CRD changes). -ENOENT (no
 * message set) when none comes. */
static int gfs_applier_resource(struct gfs_applier *a, struct gfs_resource *out,
				const char *api_version, const char *kind)
{
	int64_t deadline =
	    gfs_monotonic_ms() + (a->opts.wait_ms ? a->opts.wait_ms : 10000);
	for (;;) {
		struct gfs_resource_list *l = NULL;
		int rc = gfs_informers_resources(&l, a->opts.informers);
		if (rc < 0)
			return rc;
		const struct gfs_resource *r =
		    gfs_resource_list_find_kind(l, api_version, kind);
		rc = r ? gfs_resource_copy(out, r) : -ENOENT;
		gfs_resource_list_free(l);
		if (rc != -ENOENT || gfs_monotonic_ms() > deadline)
			return rc;
		gfs_sleep_ms(200, NULL);
	}
}

/* Why apiVersion/kind cannot be applied at path: a file in a directory for
 * a resource the cluster does not serve at all (its CRD never came) is
 * told so by the resource's name. */
static int gfs_applier_no_kind(struct gfs_applier *a, const char *path,
			       const struct gfs_path_parts *p, const char *api_version,
			       const char *kind)
{
	if (gfs_store_is_object_path(a->opts.store, path) &&
	    !gfs_store_is_managed_path(a->opts.store, path))
		return gfs_error_set(-EINVAL,
				     "the cluster serves no resource %s; install its CRD "
				     "first (no kind %s in %s)",
				     p->dirname, kind, api_version);
	return gfs_error_set(-EINVAL,
			     "the cluster has no kind %s in %s (is its CRD installed?)",
			     kind, api_version);
}

/* The URL of a collection or of one object (name != NULL). */
static void gfs_resource_url(char *out, size_t outsz, const struct gfs_resource *r,
			     const char *ns, const char *name)
{
	int n = snprintf(out, outsz, "%s", r->api_path);
	if (r->namespaced)
		n += snprintf(out + n, outsz - (size_t)n, "/namespaces/%s", ns);
	n += snprintf(out + n, outsz - (size_t)n, "/%s", r->resource);
	if (name)
		snprintf(out + n, outsz - (size_t)n, "/%s", name);
}

/* ---- checking a manifest --------------------------------------------------------- */

static const char *gfs_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The manifest must be an object of the resource the path names, with the
 * path's namespace and name (filled in where missing). */
static int gfs_manifest_check(json_t *m, const struct gfs_path_parts *p,
			      const struct gfs_resource *r)
{
	if (strcmp(r->dirname, p->dirname) != 0)
		return gfs_error_set(-EINVAL, "kind %s (%s) belongs in %s/, not %s/",
				     r->kind, gfs_json_str(m, "apiVersion"), r->dirname,
				     p->dirname);
	if (!!r->namespaced != !!p->ns)
		return gfs_error_set(
		    -EINVAL, "%s is %s: its file belongs under %s", r->kind,
		    r->namespaced ? "namespaced" : "cluster-scoped",
		    r->namespaced ? "<namespace>/" : GFS_CLUSTER_DIR "/");
	json_t *md = json_object_get(m, "metadata");
	if (!md) {
		md = json_object();
		if (!md || json_object_set_new(m, "metadata", md) < 0)
			return -ENOMEM;
	}
	if (!json_is_object(md))
		return gfs_error_set(-EINVAL, "metadata must be a mapping");
	const char *name = gfs_json_str(md, "name");
	if (!name)
		json_object_set_new(md, "name", json_string(p->name));
	else if (strcmp(name, p->name) != 0)
		return gfs_error_set(-EINVAL,
				     "metadata.name is \"%s\" but the file is %s.yaml; "
				     "rename the file or fix the name",
				     name, p->name);
	const char *ns = gfs_json_str(md, "namespace");
	if (r->namespaced && !ns)
		json_object_set_new(md, "namespace", json_string(p->ns));
	else if (r->namespaced && strcmp(ns, p->ns) != 0)
		return gfs_error_set(
		    -EINVAL, "metadata.namespace is \"%s\" but the file is under %s/", ns,
		    p->ns);
	else if (!r->namespaced && ns)
		return gfs_error_set(
		    -EINVAL, "%s is cluster-scoped: remove metadata.namespace", r->kind);
	/* Fields the server owns never go back to it from a file. */
	json_object_del(md, "resourceVersion");
	json_object_del(md, "uid");
	json_object_del(md, "managedFields");
	json_object_del(md, "creationTimestamp");
	json_object_del(md, "selfLink");
	json_object_del(md, "generation");
	return 0;
}

/* Puts the live value back wherever the file holds the redacted form of
 * it: writing back a redacted Secret keeps its values. */
static int gfs_secret_restore(json_t *m, const json_t *live)
{
	static const char *const fields[] = {"data", "stringData"};
	for (size_t f = 0; f < 2; f++) {
		json_t *data = json_object_get(m, fields[f]);
		const json_t *live_data = json_object_get(live, "data");
		const char *key;
		json_t *v;
		json_object_foreach(data, key, v)
		{
			const char *s = json_string_value(v);
			if (!s || strncmp(s, GFS_REDACTED_PREFIX,
					  strlen(GFS_REDACTED_PREFIX)) != 0)
				continue;
			const char *lv = gfs_json_str(live_data, key);
			char form[GFS_REDACTED_SIZE];
			if (lv)
				gfs_render_redacted_form(form, lv, strlen(lv));
			if (!lv || strcmp(form, s) != 0)
				return gfs_error_set(
				    -EINVAL,
				    "%s.%s is a redacted value that does not match "
				    "the live Secret; write the real value instead",
				    fields[f], key);
			if (f == 1) {
				/* stringData holds plain text: move the live
				 * (base64) value to data instead. */
				json_t *d = json_object_get(m, "data");
				if (!d) {
					d = json_object();
					json_object_set_new(m, "data", d);
				}
				json_object_set_new(d, key, json_string(lv));
				json_object_del(data, key);
				return gfs_secret_restore(m, live);
			}
			json_object_set_new(data, key, json_string(lv));
		}
	}
	return 0;
}

/* ---- applying ------------------------------------------------------------------- */

/* Sends the manifest: PUT over the live object, or POST when there is
 * none. On success *answer is the server's object. */
/* Did the object change only in what the server owns (status,
 * resourceVersion, managedFields) between `seen` and `fresh`? Then a
 * conflict on it is no conflict with anyone's edit: a controller wrote
 * its status, and the write may be retried on the fresh version. */
static bool gfs_only_server_fields_changed(const json_t *seen, const json_t *fresh)
{
	struct gfs_render_opts ro = {.secrets = GFS_SECRETS_SHOW};
	json_t *a = gfs_render_strip(seen, &ro), *b = gfs_render_strip(fresh, &ro);
	bool same = a && b && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

static int gfs_applier_send(struct gfs_applier *a, json_t **answer, const json_t *m,
			    const struct gfs_resource *r, const struct gfs_path_parts *p,
			    const json_t *live)
{
	const char *live_rv =
	    gfs_json_str(json_object_get(live, "metadata"), "resourceVersion");
	json_t *fresh = NULL;
	int conflicts = 0;
	char url[GFS_PATH_MAX + 256];
	struct gfs_kube_conn *conn = NULL;
	json_t *body = json_deep_copy(m);
	char *text = NULL;
	int rc = body ? 0 : -ENOMEM;
	if (rc == 0 && live_rv)
		json_object_set_new(json_object_get(body, "metadata"), "resourceVersion",
				    json_string(live_rv));
	if (rc == 0 && !(text = json_dumps(body, JSON_COMPACT)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = gfs_applier_conn(a, &conn);
	int64_t deadline =
	    gfs_monotonic_ms() + (a->opts.wait_ms ? a->opts.wait_ms : 10000);
	while (rc == 0) {
		gfs_resource_url(url, sizeof(url) - 32, r, p->ns,
				 live_rv ? p->name : NULL);
		strcat(url, "?fieldManager=" GFS_APPLY_FIELD_MANAGER);
		long status = 0;
		json_t *resp = NULL;
		rc = gfs_kube_request(conn, &resp, &status, live_rv ? "PUT" : "POST", url,
				      "application/json", text, strlen(text));
		if (rc == 0) {
			*answer = resp;
			break;
		}
		json_decref(resp);
		if (rc == -EBUSY && live && conflicts++ < 3) {
			/* Re-read: retry only if nobody but the server changed it. */
			json_t *now = NULL;
			gfs_resource_url(url, sizeof(url), r, p->ns, p->name);
			char msg[1024];
			snprintf(msg, sizeof(msg), "%s", gfs_error_last());
			if (gfs_kube_request(conn, &now, NULL, "GET", url, NULL, NULL,
					     0) == 0 &&
			    gfs_only_server_fields_changed(live, now)) {
				json_decref(fresh);
				fresh = now;
				live_rv = gfs_json_str(json_object_get(fresh, "metadata"),
						       "resourceVersion");
				json_object_set_new(json_object_get(body, "metadata"),
						    "resourceVersion",
						    json_string(live_rv));
				free(text);
				text = json_dumps(body, JSON_COMPACT);
				rc = text ? 0 : -ENOMEM;
				continue;
			}
			json_decref(now);
			rc = gfs_error_set(
			    -EBUSY,
			    "someone changed the object in the cluster meanwhile; "
			    "re-read the file and apply your change again (%s)",
			    msg);
			break;
		}
		/* A namespace that the same checkout is creating: wait for it
		 * a little, as the SPEC asks, instead of failing. */
		if (rc == -ENOENT && !live_rv && strstr(gfs_error_last(), "namespaces") &&
		    gfs_monotonic_ms() < deadline) {
			gfs_sleep_ms(250, NULL);
			rc = 0;
			continue;
		}
		break;
	}
	if (conn)
		gfs_applier_conn_put(a, conn);
	json_decref(fresh);
	free(text);
	json_decref(body);
	return rc;
}

static void gfs_applier_cancel_delete(struct gfs_applier *a, const char *path)
{
	bool found = false;
	pthread_mutex_lock(&a->lock);
	for (struct gfs_pending_delete **pp = &a->deletes; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->path, path) == 0) {
			struct gfs_pending_delete *d = *pp;
			*pp = d->next;
			free(d);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	if (found)
		gfs_store_set_hidden(a->opts.store, path, false);
}

static int gfs_applier_apply_parsed(struct gfs_applier *a, json_t *m, const char *path,
				    const struct gfs_path_parts *p,
				    uint64_t expect_version)
{
	struct gfs_resource r = {0};
	struct gfs_blob *live_text = NULL;
	json_t *live = NULL, *answer = NULL;
	const char *api_version = gfs_json_str(m, "apiVersion"),
		   *kind = gfs_json_str(m, "kind");
	int rc;
	if (!api_version || !kind)
		return gfs_error_set(-EINVAL, "apiVersion and kind are required");
	rc = gfs_applier_resource(a, &r, api_version, kind);
	if (rc == -ENOENT)
		rc = gfs_applier_no_kind(a, path, p, api_version, kind);
	if (rc == 0)
		rc = gfs_manifest_check(m, p, &r);
	if (rc < 0)
		goto out;
	/* The writer's view must still be the live one: no lost update. */
	struct gfs_entry_attr attr;
	if (gfs_store_stat(a->opts.store, path, &attr) == 0 && expect_version &&
	    attr.version != expect_version) {
		rc = gfs_error_set(
		    -EBUSY, "the object changed in the cluster since you read this file; "
			    "re-read it and apply your change again");
		goto out;
	}
	if (gfs_store_live(a->opts.store, path, &live_text) == 0)
		live = json_loadb(live_text->data, live_text->len, 0, NULL);
	if (live && gfs_render_is_secret(m) && (rc = gfs_secret_restore(m, live)) < 0)
		goto out;
	/* Ignored fields are never applied: they keep their live value. */
	gfs_filter_ignore_keep(gfs_store_filter(a->opts.store), r.dirname, m, live);
	bool existed = live != NULL;
	rc = gfs_applier_send(a, &answer, m, &r, p, live);
	if (rc < 0)
		goto out;
	rc = gfs_applied_set(a->opts.applied, path, m, answer);
	if (rc < 0)
		gfs_warn("%s: applied, but its record was not saved: %s", path,
			 gfs_error_last());
	/* Show the answer now rather than when the watch brings it. */
	gfs_store_informer_ops.upsert(a->opts.store, &r, answer);
	gfs_info("%s: applied (%s)", path, existed ? "updated" : "created");
	rc = 0;
out:
	json_decref(answer);
	json_decref(live);
	gfs_blob_unref(live_text);
	gfs_resource_release(&r);
	return rc;
}

int gfs_applier_apply(struct gfs_applier *a, const char *path, const char *data,
		      size_t len, uint64_t expect_version)
{
	struct gfs_path_parts p;
	struct gfs_yaml_error yerr = {0};
	json_t *m = NULL;
	int rc = gfs_path_parse(&p, path);
	if (rc < 0) {
		rc = gfs_error_set(-EINVAL, "not an object path");
		goto out;
	}
	/* Any write to a path whose deletion is pending (git's unlink and
	 * re-create) keeps the object, whatever becomes of the write. */
	gfs_applier_cancel_delete(a, path);
	if (len > GFS_MANIFEST_LIMIT) {
		rc = gfs_error_set(-EFBIG, "manifest larger than %u bytes",
				   GFS_MANIFEST_LIMIT);
		goto out;
	}
	rc = gfs_yaml_parse(&m, data, len, &yerr);
	if (rc < 0) {
		rc = gfs_error_set(-EINVAL, "invalid YAML at line %d, column %d: %s",
				   yerr.line, yerr.column, yerr.reason);
		goto out;
	}
	if (!json_is_object(m)) {
		rc = gfs_error_set(-EINVAL,
				   "%s: write one Kubernetes object as a YAML mapping "
				   "(to delete the object, rm the file)",
				   json_is_null(m) ? "the file is empty"
						   : "not a mapping");
		goto out;
	}
	rc = gfs_applier_apply_parsed(a, m, path, &p, expect_version);
out:
	if (rc < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		gfs_errlog_add("%s: not applied: %s", path, msg);
		gfs_error_set(rc, "%s", msg);
	}
	json_decref(m);
	return rc;
}

/* ---- deleting ------------------------------------------------------------------- */

static int gfs_applier_send_delete(struct gfs_applier *a, const char *path)
{
	struct gfs_path_parts p;
	struct gfs_resource_list *l = NULL;
	struct gfs_kube_conn *conn = NULL;
	char url[GFS_PATH_MAX + 256];
	int rc = gfs_path_parse(&p, path);
	if (rc == 0)
		rc = gfs_informers_resources(&l, a->opts.informers);
	const struct gfs_resource *r =
	    rc == 0 ? gfs_resource_list_find(l, p.dirname) : NULL;
	if (rc == 0 && !r)
		rc = gfs_error_set(-ENOENT, "resource %s is no longer served", p.dirname);
	if (rc == 0)
		rc = gfs_applier_conn(a, &conn);
	if (rc == 0) {
		gfs_resource_url(url, sizeof(url), r, p.ns, p.name);
		rc = gfs_kube_request(conn, NULL, NULL, "DELETE", url, NULL, NULL, 0);
		gfs_applier_conn_put(a, conn);
		if (rc == -ENOENT)
			rc = 0; /* already gone: what we wanted */
	}
	gfs_resource_list_free(l);
	if (rc == 0) {
		gfs_applied_forget(a->opts.applied, path);
		gfs_info("%s: deleted", path);
	}
	return rc;
}

static void gfs_applier_run_delete(struct gfs_applier *a, struct gfs_pending_delete *d)
{
	if (gfs_applier_send_delete(a, d->path) < 0) {
		gfs_errlog_add("%s: not deleted: %s", d->path, gfs_error_last());
		gfs_store_set_hidden(a->opts.store, d->path, false);
	}
	free(d);
}

static void *gfs_applier_main(void *arg)
{
	struct gfs_applier *a = arg;
	pthread_mutex_lock(&a->lock);
	while (!a->stop || a->deletes) {
		struct gfs_pending_delete *d = a->deletes;
		int64_t now = gfs_monotonic_ms();
		if (d && (d->due_ms <= now || a->stop)) {
			a->deletes = d->next;
			pthread_mutex_unlock(&a->lock);
			gfs_applier_run_delete(a, d);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		gfs_cond_wait_ms(&a->cond, &a->lock, 100);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int gfs_applier_delete(struct gfs_applier *a, const char *path)
{
	struct gfs_blob *live_text = NULL;
	int rc = gfs_store_live(a->opts.store, path, &live_text);
	if (rc < 0)
		return rc;
	json_t *live = json_loadb(live_text->data, live_text->len, 0, NULL);
	const char *kind = gfs_json_str(live, "kind");
	gfs_blob_unref(live_text);
	if (kind && !a->opts.allow_cascade_delete &&
	    (strcmp(kind, "Namespace") == 0 ||
	     strcmp(kind, "CustomResourceDefinition") == 0)) {
		rc = gfs_error_set(-EPERM,
				   "deleting a %s deletes everything in it; mount with "
				   "--allow-cascade-delete to allow this",
				   kind);
		gfs_errlog_add("%s: not deleted: %s", path, gfs_error_last());
		json_decref(live);
		return rc;
	}
	json_decref(live);
	size_t n = strlen(path);
	struct gfs_pending_delete *d = malloc(sizeof(*d) + n + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d->path, path, n + 1);
	d->next = NULL;
	d->due_ms = gfs_monotonic_ms() +
		    (a->opts.delete_grace_ms ? a->opts.delete_grace_ms : 1000);
	gfs_store_set_hidden(a->opts.store, path, true);
	pthread_mutex_lock(&a->lock);
	struct gfs_pending_delete **pp = &a->deletes;
	while (*pp)
		pp = &(*pp)->next;
	*pp = d;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* ---- life cycle ------------------------------------------------------------------ */

json_t *gfs_applier_prepare(void *payload, const char *path, const json_t *obj)
{
	json_t *m = NULL, *answer = NULL;
	if (gfs_applied_get(payload, path, &m, &answer) < 0)
		return NULL;
	json_t *out = gfs_applied_prune(obj, m, answer);
	json_decref(m);
	json_decref(answer);
	return out;
}

int gfs_applier_new(struct gfs_applier **out, const struct gfs_applier_opts *opts)
{
	struct gfs_applier *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->opts = *opts;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	int rc = pthread_create(&a->thread, NULL, gfs_applier_main, a);
	if (rc) {
		free(a);
		return -rc;
	}
	*out = a;
	return 0;
}

void gfs_applier_free(struct gfs_applier *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true; /* the thread first carries out what is pending */
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (int i = 0; i < a->n_pool; i++)
		gfs_kube_conn_close(a->pool[i]);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

bool gfs_applier_owns(struct gfs_applier *a, const char *path)
{
	json_t *m = NULL, *answer = NULL;
	bool owns = gfs_applied_get(a->opts.applied, path, &m, &answer) == 0;
	json_decref(m);
	json_decref(answer);
	return owns;
}
