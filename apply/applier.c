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
#include "gfs_edit.h"
#include "gfs_errlog.h"
#include "gfs_journal.h"
#include "gfs_metrics.h"
#include "gfs_object.h"
#include "gfs_path.h"
#include "gfs_queue.h"
#include "gfs_render.h"
#include "gfs_yaml.h"

#define GFS_POOL_MAX 4

struct gfs_pending_delete {
	struct gfs_queue_node node;
	int64_t due_ms;
	unsigned attempts;
	char uid[64]; /* of the object the rm meant ("" unknown) */
	char path[];
};

#define GFS_DELETE_RETRY_MAX_MS 30000

struct gfs_applier {
	struct gfs_applier_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Guarded by lock: */
	struct gfs_kube_conn *pool[GFS_POOL_MAX]; /* idle connections */
	int n_pool;
	/* Of struct gfs_pending_delete, sorted by due_ms (ties in the order
	 * they came): only ever filled by gfs_applier_queue. */
	struct gfs_queue deletes;
	/* The path whose DELETE is in flight ("" none): a write to it waits
	 * for the answer, so that it creates the object anew instead of
	 * racing the delete (AlreadyExists). Signalled on cond. */
	char deleting[GFS_PATH_MAX];
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

/* The version part of an apiVersion ("apps/v1" -> "v1", "v1" -> "v1"). */
static const char *gfs_api_version_version(const char *api_version)
{
	const char *slash = strrchr(api_version, '/');
	return slash ? slash + 1 : api_version;
}

/* A lookup among the watched resources (under the informers' lock): the
 * one of apiVersion/kind, or of dirname, copied into *out. */
struct gfs_lookup {
	const char *api_version, *kind, *dirname;
	struct gfs_resource *out;
};

static int gfs_lookup_cb(const struct gfs_resource_list *l, void *payload)
{
	struct gfs_lookup *q = payload;
	if (q->dirname) {
		const struct gfs_resource *r = gfs_resource_list_find(l, q->dirname);
		return r ? gfs_resource_copy(q->out, r) : -ENOENT;
	}
	const struct gfs_resource *r =
	    gfs_resource_list_find_kind(l, q->api_version, q->kind);
	if (r)
		return gfs_resource_copy(q->out, r);
	const struct gfs_resource *other =
	    gfs_resource_list_find_group_kind(l, q->api_version, q->kind);
	if (!other)
		return -ENOENT;
	char served[256] = "";
	for (char **v = other->versions; v && *v; v++)
		snprintf(served + strlen(served), sizeof(served) - strlen(served), "%s%s",
			 v == other->versions ? "" : ", ", *v);
	return gfs_error_set(-EINVAL,
			     "%s is not served at %s; the cluster serves it at %s "
			     "(versions: %s)",
			     q->kind, q->api_version, other->version, served);
}

/* Finds the resource of apiVersion/kind, waiting a while for one that a
 * CRD created just before (discovery follows CRD changes). A kind that is
 * served, but not at the manifest's version, is refused at once; -ENOENT
 * (no message set) when none comes. */
static int gfs_applier_resource(struct gfs_applier *a, struct gfs_resource *out,
				const char *api_version, const char *kind)
{
	int64_t deadline =
	    gfs_monotonic_ms() + (a->opts.wait_ms ? a->opts.wait_ms : 10000);
	struct gfs_lookup q = {.api_version = api_version, .kind = kind, .out = out};
	for (;;) {
		int rc =
		    gfs_informers_with_resources(a->opts.informers, gfs_lookup_cb, &q);
		if (rc != -ENOENT || gfs_monotonic_ms() > deadline)
			return rc;
		gfs_sleep_ms(200, NULL);
	}
}

/* gfs_path_parse of a path of the mount: inside the cluster's tree
 * (--path) only. */
static int gfs_applier_path_parse(struct gfs_applier *a, struct gfs_path_parts *p,
				  const char *path)
{
	const char *rel = gfs_store_cluster_path(a->opts.store, path);
	return rel ? gfs_path_parse(p, rel) : -EINVAL;
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

/* The URL of a collection or of one object (name != NULL), at `version`
 * of the resource. */
static int gfs_resource_url(char *out, size_t outsz, const struct gfs_resource *r,
			    const char *version, const char *ns, const char *name)
{
	int rc = gfs_resource_api_path(out, outsz, r, version);
	if (rc < 0)
		return rc;
	size_t n = strlen(out);
	if (r->namespaced)
		n += (size_t)snprintf(out + n, outsz - n, "/namespaces/%s", ns);
	n += (size_t)snprintf(out + n, outsz - n, "/%s", r->resource);
	if (name)
		snprintf(out + n, outsz - n, "/%s", name);
	return 0;
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
	gfs_json_strip_server_metadata(m);
	return 0;
}

/* A redacted Secret value still in the document about to be sent: the
 * writer put a digest where a value goes (one that is not the value shown
 * there, which the edit would have kept). It cannot be turned back into
 * a value: refuse. */
static int gfs_secret_check(const json_t *body)
{
	static const char *const fields[] = {"data", "stringData"};
	for (size_t f = 0; f < GFS_ARRAY_SIZE(fields); f++) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(body, fields[f]), key, v)
		{
			const char *s = json_string_value(v);
			if (s && strncmp(s, GFS_REDACTED_PREFIX,
					 strlen(GFS_REDACTED_PREFIX)) == 0)
				return gfs_error_set(
				    -EINVAL,
				    "%s.%s is a redacted value that does not match "
				    "the live Secret; write the real value instead",
				    fields[f], key);
		}
	}
	return 0;
}

/* A SOPS-encrypted document (gfs_sops.h) in *doc is verified and
 * replaced by its plaintext; the encrypted one goes to *sealed (when not
 * NULL) for the caller to remember once applied. Anything else is left
 * as it is. -EINVAL (the reason set) for a file that does not verify or
 * when the mount has no keys to open it. */
static int gfs_applier_unseal(struct gfs_applier *a, json_t **doc, json_t **sealed)
{
	struct gfs_sops *sops = gfs_store_sops(a->opts.store);
	json_t *plain = NULL;
	if (!gfs_sops_is_encrypted(*doc))
		return 0;
	if (!sops)
		return gfs_error_set(
		    -EINVAL, "the file is SOPS-encrypted, but this mount is not in "
			     "secrets: sops mode and has no age identity to decrypt "
			     "it (mount with --secrets sops and SOPS_AGE_KEY_FILE)");
	int rc = gfs_sops_decrypt(&plain, sops, *doc);
	if (rc < 0) {
		char why[512]; /* the message is rewritten from itself */
		snprintf(why, sizeof(why), "%s", gfs_error_last());
		return gfs_error_set(-EINVAL, "SOPS: %s", why);
	}
	if (sealed)
		*sealed = *doc;
	else
		json_decref(*doc);
	*doc = plain;
	return 0;
}

/* ---- applying ------------------------------------------------------------------- */

/* What a write asks of the server, worked out before anything is sent. */
struct gfs_write {
	const char *path;
	const struct gfs_path_parts *p;
	const struct gfs_resource *r;
	const char *version;    /* of the resource, as the manifest names it */
	json_t *written;        /* the manifest as written (checked) */
	json_t *shown;          /* what the writer was shown; NULL: a create */
	struct gfs_blob *bytes; /* the same, as the file's bytes */
	json_t *live;           /* the live object it shows, at `version` */
};

/* The document to PUT over `live`: the writer's edit carried onto it
 * (gfs_edit.h), with ignored fields kept at their live value. Returns 1
 * when that changes nothing (no request to make), 0 with *out set, or
 * -errno. */
static int gfs_write_body(struct gfs_applier *a, json_t **out, const struct gfs_write *w,
			  const json_t *live)
{
	json_t *body = gfs_edit_carry(w->shown, w->written, live);
	if (!body)
		return -ENOMEM;
	gfs_filter_ignore_keep(gfs_store_filter(a->opts.store), w->r->dirname, body,
			       live);
	int rc = gfs_json_is_secret(body) ? gfs_secret_check(body) : 0;
	if (rc == 0 && json_equal(body, (json_t *)live))
		rc = 1;
	/* The server keeps its own field ownership when none is sent. */
	json_object_del(json_object_get(body, "metadata"), "managedFields");
	if (rc != 0) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return 0;
}

/* Sends one request; on success *answer is the server's object. A 404 for
 * the namespace of a create (one the same checkout is creating) is waited
 * out a little, as the SPEC asks, instead of failing. */
static int gfs_applier_send(struct gfs_applier *a, json_t **answer,
			    struct gfs_kube_conn *conn, const char *method,
			    const struct gfs_write *w, const json_t *body)
{
	char url[GFS_PATH_MAX + 256];
	char *text = json_dumps(body, JSON_COMPACT);
	int64_t deadline =
	    gfs_monotonic_ms() + (a->opts.wait_ms ? a->opts.wait_ms : 10000);
	bool create = strcmp(method, "POST") == 0;
	int rc = text ? 0 : -ENOMEM;
	if (rc == 0)
		rc = gfs_resource_url(url, sizeof(url) - 32, w->r, w->version, w->p->ns,
				      create ? NULL : w->p->name);
	if (rc == 0)
		strcat(url, "?fieldManager=" GFS_APPLY_FIELD_MANAGER);
	while (rc == 0) {
		json_t *resp = NULL;
		rc = gfs_kube_request(conn, &resp, NULL, method, url, "application/json",
				      text, strlen(text));
		if (rc == 0) {
			*answer = resp;
			break;
		}
		const char *missing =
		    gfs_json_str(json_object_get(resp, "details"), "kind");
		bool no_ns = create && rc == -ENOENT && missing &&
			     strcmp(missing, "namespaces") == 0;
		json_decref(resp);
		if (!no_ns || gfs_monotonic_ms() >= deadline)
			break;
		gfs_sleep_ms(250, NULL);
		rc = 0;
	}
	free(text);
	return rc;
}

/* Does fresh (the object as the API server has it now) still render to
 * the bytes the writer was shown? Then what changed since is nothing the
 * file shows (a status, a hidden field) and the edit may go onto it;
 * otherwise it is someone else's edit: -EBUSY (with `why` in the
 * message), rather than overwrite it. */
static int gfs_write_still_shown(struct gfs_applier *a, const struct gfs_write *w,
				 const json_t *fresh, const char *why)
{
	struct gfs_blob *now = NULL;
	int rc = gfs_store_render(&now, a->opts.store, w->path, w->r->dirname, fresh);
	bool same = rc == 0 && now->len == w->bytes->len &&
		    memcmp(now->data, w->bytes->data, now->len) == 0;
	gfs_blob_unref(now);
	if (rc == 0 && !same)
		rc = gfs_error_set(-EBUSY,
				   "someone changed the object in the cluster meanwhile; "
				   "re-read the file and apply your change again%s%s%s",
				   why ? " (" : "", why ? why : "", why ? ")" : "");
	return rc;
}

/* PUT over the live object, carrying the live resourceVersion. On a 409
 * the object is read again: if what the writer was shown is still what it
 * would show (a controller wrote status, someone changed a hidden field),
 * the edit is carried onto the fresh object and sent again; if what it
 * shows changed, that is someone else's edit, and the write is refused
 * rather than overwrite it. Returns 1 when there was nothing to send. */
static int gfs_applier_update(struct gfs_applier *a, json_t **answer,
			      struct gfs_kube_conn *conn, const struct gfs_write *w)
{
	json_t *fresh = NULL, *body = NULL;
	int rc = gfs_write_body(a, &body, w, w->live);
	for (int tries = 0; rc == 0; tries++) {
		rc = gfs_applier_send(a, answer, conn, "PUT", w, body);
		if (rc != -EBUSY || tries == 3)
			break;
		char msg[1024], url[GFS_PATH_MAX + 256];
		snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		json_decref(fresh);
		fresh = NULL;
		rc = gfs_resource_url(url, sizeof(url), w->r, w->version, w->p->ns,
				      w->p->name);
		if (rc == 0)
			rc = gfs_kube_request(conn, &fresh, NULL, "GET", url, NULL, NULL,
					      0);
		if (rc == 0)
			rc = gfs_write_still_shown(a, w, fresh, msg);
		/* Not read, or not rendered: the conflict stands as it is. */
		if (rc < 0 && rc != -EBUSY)
			rc = gfs_error_set(-EBUSY,
					   "someone changed the object in the cluster "
					   "meanwhile; re-read the file and apply your "
					   "change again (%s)",
					   msg);
		if (rc < 0)
			break;
		json_decref(body);
		body = NULL;
		rc = gfs_write_body(a, &body, w, fresh);
	}
	json_decref(fresh);
	json_decref(body);
	return rc;
}

static struct gfs_pending_delete *gfs_pending_delete_of(struct gfs_queue_node *n)
{
	return n ? GFS_QUEUE_ENTRY(n, struct gfs_pending_delete, node) : NULL;
}

static bool gfs_pending_delete_is(const struct gfs_queue_node *n, const void *path)
{
	return strcmp(GFS_QUEUE_ENTRY(n, struct gfs_pending_delete, node)->path, path) ==
	       0;
}

/* A write to a path whose deletion is pending (git's unlink and
 * re-create) holds the deletion: it is taken off the queue while the write
 * is applied, so that it cannot run meanwhile, and the path is shown again
 * so that the write updates the object rather than creating it. Returns
 * the held deletion or NULL. */
static struct gfs_pending_delete *gfs_applier_hold_delete(struct gfs_applier *a,
							  const char *path)
{
	pthread_mutex_lock(&a->lock);
	while (strcmp(a->deleting, path) == 0)
		pthread_cond_wait(&a->cond, &a->lock);
	struct gfs_pending_delete *d = gfs_pending_delete_of(
	    gfs_queue_take(&a->deletes, gfs_pending_delete_is, path));
	pthread_mutex_unlock(&a->lock);
	if (d)
		gfs_store_set_hidden(a->opts.store, path, false);
	return d;
}

static void gfs_applier_queue(struct gfs_applier *a, struct gfs_pending_delete *d);

/* After the write: an applied write replaces the deletion (the object
 * stays, with what was written); a refused or failed one must change
 * nothing, so the acknowledged rm goes ahead, still due when it was. */
static void gfs_applier_release_delete(struct gfs_applier *a,
				       struct gfs_pending_delete *d, bool written)
{
	if (!d)
		return;
	if (written) {
		if (a->opts.journal)
			gfs_journal_remove(a->opts.journal, d->path);
		free(d);
		return;
	}
	gfs_store_set_hidden(a->opts.store, d->path, true);
	pthread_mutex_lock(&a->lock);
	gfs_applier_queue(a, d);
	pthread_mutex_unlock(&a->lock);
}

/* What the writer was shown: the file's bytes at the version it read (or,
 * for a writer that read nothing, at the moment it wrote), parsed the
 * same way as what it wrote. A manifest in another served version than
 * the one watched is compared with the object read, and rendered, at its
 * own version (w->live is then that object): a diff across versions would
 * mean nothing. -EBUSY when the object changed since it was read. */
static int gfs_write_base(struct gfs_applier *a, struct gfs_write *w,
			  struct gfs_kube_conn *conn, const struct gfs_store_file *f,
			  uint64_t expect_version)
{
	struct gfs_yaml_error yerr = {0};
	char url[GFS_PATH_MAX + 256];
	int rc = 0;
	if (expect_version && f->attr.version != expect_version)
		return gfs_error_set(-EBUSY,
				     "the object changed in the cluster since you read "
				     "this file; re-read it and apply your change again");
	const char *want = gfs_json_str(w->written, "apiVersion");
	if (strcmp(want, gfs_object_api_version(f->live)) == 0) {
		w->bytes = gfs_blob_ref(f->content);
	} else {
		rc = gfs_resource_url(url, sizeof(url), w->r, w->version, w->p->ns,
				      w->p->name);
		if (rc == 0)
			rc = gfs_kube_request(conn, &w->live, NULL, "GET", url, NULL,
					      NULL, 0);
		if (rc == 0)
			rc = gfs_store_render(&w->bytes, a->opts.store, w->path,
					      w->r->dirname, w->live);
		if (rc < 0)
			return rc;
	}
	if (gfs_yaml_parse(&w->shown, w->bytes->data, w->bytes->len, &yerr) < 0 ||
	    !json_is_object(w->shown))
		return gfs_error_set(
		    -EIO, "cannot read back the file's own rendering: %s", yerr.reason);
	/* secrets: sops - the edit is worked out on plaintext, from what
	 * the file showed, decrypted. */
	return gfs_applier_unseal(a, &w->shown, NULL);
}

static const char *gfs_doc_rv(const json_t *doc)
{
	return gfs_json_str(json_object_get(doc, "metadata"), "resourceVersion");
}

/* The live object the edit goes onto, once there is an edit to send (an
 * unchanged file sends nothing, not even this): the store's whole
 * document where it kept one, else read from the API server (most objects
 * keep none: gfs_object.h). A read that finds a newer object than the file
 * showed goes on only if that object still shows what the writer was
 * shown (a controller wrote its status, someone changed a hidden field);
 * otherwise it is someone else's edit: -EBUSY rather than overwrite it. */
static int gfs_write_live(struct gfs_applier *a, struct gfs_write *w,
			  struct gfs_kube_conn *conn, const struct gfs_store_file *f)
{
	char url[GFS_PATH_MAX + 256];
	if (w->live)
		return 0; /* read at the manifest's version already */
	if (gfs_object_whole(f->live))
		return (w->live = gfs_object_doc(f->live)) ? 0 : -ENOMEM;
	json_t *fresh = NULL;
	int rc =
	    gfs_resource_url(url, sizeof(url), w->r, w->version, w->p->ns, w->p->name);
	if (rc == 0)
		rc = gfs_kube_request(conn, &fresh, NULL, "GET", url, NULL, NULL, 0);
	if (rc == -ENOENT) {
		json_decref(fresh);
		return gfs_error_set(-EBUSY,
				     "the object was deleted in the cluster since "
				     "you read this file");
	}
	if (rc == 0 && !json_is_object(fresh))
		rc = gfs_error_set(
		    -EIO, "the API server's answer to GET %s is not an object", url);
	const char *rv = gfs_object_resource_version(f->live),
		   *fresh_rv = gfs_doc_rv(fresh);
	if (rc == 0 && !(rv && fresh_rv && strcmp(rv, fresh_rv) == 0))
		rc = gfs_write_still_shown(a, w, fresh, NULL);
	if (rc < 0) {
		json_decref(fresh);
		return rc;
	}
	w->live = fresh;
	return 0;
}

/* Renders path again now that what gitopsfs applied there changed (its
 * record keeps the server's defaults out of the file). The store may hold
 * a newer version than the answer (the watch was first) and keep no
 * document of it: then the object is read and handed to the store. */
static void gfs_applier_refresh(struct gfs_applier *a, struct gfs_kube_conn *conn,
				const struct gfs_write *w, const json_t *answer)
{
	char url[GFS_PATH_MAX + 256];
	int rc = gfs_store_refresh(a->opts.store, w->path, answer);
	for (int tries = 0; rc == -ENODATA && tries < 3; tries++) {
		struct gfs_object *held = NULL;
		json_t *fresh = NULL;
		rc = gfs_store_live(&held, a->opts.store, w->path);
		if (rc == 0)
			rc = gfs_resource_url(
			    url, sizeof(url), w->r,
			    gfs_api_version_version(gfs_object_api_version(held)),
			    w->p->ns, w->p->name);
		gfs_object_unref(held);
		if (rc == 0)
			rc = gfs_kube_request(conn, &fresh, NULL, "GET", url, NULL, NULL,
					      0);
		if (rc == 0) {
			gfs_store_informer_ops.upsert(a->opts.store, w->r, fresh);
			rc = gfs_store_refresh(a->opts.store, w->path, fresh);
		}
		json_decref(fresh);
	}
	/* Gone meanwhile: nothing to show. Otherwise the next event of the
	 * object renders it with the record. */
	if (rc < 0 && rc != -ENOENT)
		gfs_warn("%s: applied, but not shown again yet: %s", w->path,
			 gfs_error_last());
}

static int gfs_applier_apply_parsed(struct gfs_applier *a, json_t *m, const char *path,
				    const struct gfs_path_parts *p,
				    uint64_t expect_version)
{
	struct gfs_resource r = {0};
	struct gfs_store_file f = {0};
	struct gfs_kube_conn *conn = NULL;
	struct gfs_write w = {.path = path, .p = p, .r = &r, .written = m};
	json_t *answer = NULL;
	const char *api_version = gfs_json_str(m, "apiVersion"),
		   *kind = gfs_json_str(m, "kind");
	int rc;
	if (!api_version || !kind)
		return gfs_error_set(-EINVAL, "apiVersion and kind are required");
	w.version = gfs_api_version_version(api_version);
	rc = gfs_applier_resource(a, &r, api_version, kind);
	if (rc == -ENOENT)
		rc = gfs_applier_no_kind(a, path, p, api_version, kind);
	if (rc == 0)
		rc = gfs_manifest_check(m, p, &r);
	if (rc == 0)
		rc = gfs_applier_conn(a, &conn);
	if (rc < 0)
		goto out;
	bool exists = gfs_store_get(&f, a->opts.store, path) == 0;
	if (exists)
		rc = gfs_write_base(a, &w, conn, &f, expect_version);
	else if (expect_version)
		rc = gfs_error_set(-EBUSY, "the object was deleted in the cluster since "
					   "you read this file");
	if (rc < 0)
		goto out;
	if (exists) {
		/* Unchanged bytes (or an unchanged document) send nothing. */
		rc = json_equal(w.shown, m) ? 1 : gfs_write_live(a, &w, conn, &f);
		if (rc == 0)
			rc = gfs_applier_update(a, &answer, conn, &w);
	} else {
		gfs_filter_ignore_keep(gfs_store_filter(a->opts.store), r.dirname, m,
				       NULL);
		rc = gfs_json_is_secret(m) ? gfs_secret_check(m) : 0;
		if (rc == 0)
			rc = gfs_applier_send(a, &answer, conn, "POST", &w, m);
	}
	if (rc == 1) {
		gfs_debug("%s: no change to apply", path);
		rc = 0;
	}
	if (rc < 0 || !answer)
		goto out;
	if (gfs_applied_set(a->opts.applied, path, m, answer) < 0)
		gfs_warn("%s: applied, but its record was not saved: %s", path,
			 gfs_error_last());
	/* Show the answer now rather than when the watch brings it (the
	 * store orders the two by resourceVersion). The watch may have been
	 * first, with newer events rendered before the record above existed:
	 * render what the store holds again, now without the defaults. */
	gfs_store_informer_ops.upsert(a->opts.store, &r, answer);
	gfs_applier_refresh(a, conn, &w, answer);
	gfs_info("%s: applied (%s)", path, exists ? "updated" : "created");
out:
	if (conn)
		gfs_applier_conn_put(a, conn);
	json_decref(answer);
	json_decref(w.shown);
	json_decref(w.live);
	gfs_blob_unref(w.bytes);
	gfs_store_file_release(&f);
	gfs_resource_release(&r);
	return rc;
}

int gfs_applier_apply(struct gfs_applier *a, const char *path, const char *data,
		      size_t len, uint64_t expect_version)
{
	struct gfs_path_parts p;
	struct gfs_yaml_error yerr = {0};
	struct gfs_pending_delete *held = NULL;
	json_t *m = NULL, *sealed = NULL;
	int rc = gfs_applier_path_parse(a, &p, path);
	if (rc < 0) {
		rc = gfs_error_set(-EINVAL, "not an object path");
		goto out;
	}
	held = gfs_applier_hold_delete(a, path);
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
	rc = gfs_applier_unseal(a, &m, &sealed);
	/* The file shows again with the ciphertext it was written with
	 * (wherever a value is the one applied: gfs_sops.h), so that writing
	 * Git's version back (git checkout) leaves no difference. Done
	 * before applying, which renders the file anew. */
	if (rc == 0 && sealed)
		rc = gfs_sops_remember(gfs_store_sops(a->opts.store), path, sealed);
	if (rc == 0)
		rc = gfs_applier_apply_parsed(a, m, path, &p, expect_version);
	/* Also when nothing needed applying (the same values, other
	 * ciphertext): show the file as written. */
	if (rc == 0 && sealed && gfs_store_refresh(a->opts.store, path, NULL) < 0)
		gfs_warn("%s: not shown again as written: %s", path, gfs_error_last());
out:
	gfs_applier_release_delete(a, held, rc == 0);
	gfs_metrics_apply(false, rc);
	if (rc < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		gfs_errlog_add("%s: not applied: %s", path, msg);
		gfs_error_set(rc, "%s", msg);
	}
	json_decref(m);
	json_decref(sealed);
	return rc;
}

/* ---- deleting ------------------------------------------------------------------- */

/* DELETE with the uid the rm meant as a precondition: a replay after a
 * restart never deletes a new object created at the path meanwhile. 0
 * when the object is gone (or was never that one). */
static int gfs_applier_send_delete(struct gfs_applier *a,
				   const struct gfs_pending_delete *d)
{
	struct gfs_path_parts p;
	struct gfs_resource res = {0};
	const struct gfs_resource *r = &res;
	struct gfs_kube_conn *conn = NULL;
	char url[GFS_PATH_MAX + 256];
	char *body = NULL;
	int rc = gfs_applier_path_parse(a, &p, d->path);
	if (rc == 0) {
		struct gfs_lookup q = {.dirname = p.dirname, .out = &res};
		rc = gfs_informers_with_resources(a->opts.informers, gfs_lookup_cb, &q);
		if (rc == -ENOENT)
			rc = gfs_error_set(-ENOENT, "resource %s is no longer served",
					   p.dirname);
	}
	if (rc == 0 && d->uid[0]) {
		json_t *opts =
		    json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
			      "DeleteOptions", "preconditions", "uid", d->uid);
		body = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
		json_decref(opts);
		if (!body)
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = gfs_applier_conn(a, &conn);
	if (rc == 0) {
		rc = gfs_resource_url(url, sizeof(url), r, NULL, p.ns, p.name);
		if (rc == 0)
			rc = gfs_kube_request(conn, NULL, NULL, "DELETE", url,
					      body ? "application/json" : NULL, body,
					      body ? strlen(body) : 0);
		gfs_applier_conn_put(a, conn);
		if (rc == -ENOENT)
			rc = 0; /* already gone: what we wanted */
		else if (rc == -EBUSY || rc == -EEXIST) {
			gfs_info("%s: not deleted: it is another object now (%s)",
				 d->path, gfs_error_last());
			rc = 0;
		}
	} else if (rc == -ENOENT) {
		rc = 0; /* its resource is gone, and the object with it */
	}
	gfs_resource_release(&res);
	free(body);
	if (rc == 0) {
		gfs_applied_forget(a->opts.applied, d->path);
		gfs_info("%s: deleted", d->path);
	}
	return rc;
}

/* Errors worth another try: the server or the network, not the request. */
static bool gfs_delete_transient(int rc)
{
	return rc == -EIO || rc == -EAGAIN || rc == -ECONNREFUSED || rc == -ETIMEDOUT ||
	       rc == -EHOSTUNREACH || rc == -ECONNRESET;
}

static int gfs_pending_delete_cmp(const struct gfs_queue_node *x,
				  const struct gfs_queue_node *y)
{
	int64_t dx = GFS_QUEUE_ENTRY(x, struct gfs_pending_delete, node)->due_ms,
		dy = GFS_QUEUE_ENTRY(y, struct gfs_pending_delete, node)->due_ms;
	return dx < dy ? -1 : dx > dy;
}

/* Queues d in due order, after those due at the same time (lock held). A
 * retry is due later than a fresh rm, so a plain FIFO would not do. */
static void gfs_applier_queue(struct gfs_applier *a, struct gfs_pending_delete *d)
{
	gfs_queue_insert_sorted(&a->deletes, &d->node, gfs_pending_delete_cmp);
	pthread_cond_broadcast(&a->cond);
}

static void gfs_applier_run_delete(struct gfs_applier *a, struct gfs_pending_delete *d,
				   bool stopping)
{
	int rc = gfs_applier_send_delete(a, d);
	gfs_metrics_apply(true, rc);
	if (rc < 0 && gfs_delete_transient(rc)) {
		/* The promise stands: tried again with back-off, and after a
		 * restart from the journal if gitopsfs stops meanwhile. */
		if (d->attempts++ == 0)
			gfs_errlog_add("%s: not deleted yet, retrying: %s", d->path,
				       gfs_error_last());
		if (!stopping) {
			unsigned delay = 1000u << (d->attempts < 5 ? d->attempts : 5);
			d->due_ms = gfs_monotonic_ms() + (delay < GFS_DELETE_RETRY_MAX_MS
							      ? delay
							      : GFS_DELETE_RETRY_MAX_MS);
			pthread_mutex_lock(&a->lock);
			gfs_applier_queue(a, d);
			pthread_mutex_unlock(&a->lock);
			return;
		}
		free(d);
		return;
	}
	if (rc < 0) {
		gfs_errlog_add("%s: not deleted: %s", d->path, gfs_error_last());
		gfs_store_set_hidden(a->opts.store, d->path, false);
	}
	if (a->opts.journal)
		gfs_journal_remove(a->opts.journal, d->path);
	free(d);
}

static void *gfs_applier_main(void *arg)
{
	struct gfs_applier *a = arg;
	pthread_mutex_lock(&a->lock);
	while (!a->stop || !gfs_queue_empty(&a->deletes)) {
		struct gfs_pending_delete *d =
		    gfs_pending_delete_of(gfs_queue_peek(&a->deletes));
		int64_t now = gfs_monotonic_ms();
		if (d && (d->due_ms <= now || a->stop)) {
			gfs_queue_pop(&a->deletes);
			bool stopping = a->stop;
			snprintf(a->deleting, sizeof(a->deleting), "%s", d->path);
			pthread_mutex_unlock(&a->lock);
			gfs_applier_run_delete(a, d, stopping);
			pthread_mutex_lock(&a->lock);
			a->deleting[0] = '\0';
			pthread_cond_broadcast(&a->cond);
			continue;
		}
		gfs_cond_wait_ms(&a->cond, &a->lock, 100);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Hides path and queues its deletion, due in delay_ms. */
static int gfs_applier_schedule(struct gfs_applier *a, const char *path, const char *uid,
				unsigned delay_ms)
{
	size_t n = strlen(path);
	struct gfs_pending_delete *d = calloc(1, sizeof(*d) + n + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d->path, path, n + 1);
	if (uid && strlen(uid) < sizeof(d->uid))
		memcpy(d->uid, uid, strlen(uid) + 1);
	d->due_ms = gfs_monotonic_ms() + delay_ms;
	gfs_store_set_hidden(a->opts.store, path, true);
	pthread_mutex_lock(&a->lock);
	gfs_applier_queue(a, d);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int gfs_applier_delete(struct gfs_applier *a, const char *path)
{
	struct gfs_object *live = NULL;
	int rc = gfs_store_live(&live, a->opts.store, path);
	if (rc < 0)
		return rc;
	const char *kind = gfs_object_kind(live);
	if (kind && !a->opts.allow_cascade_delete &&
	    (strcmp(kind, "Namespace") == 0 ||
	     strcmp(kind, "CustomResourceDefinition") == 0)) {
		rc = gfs_error_set(-EPERM,
				   "deleting a %s deletes everything in it; mount with "
				   "--allow-cascade-delete to allow this",
				   kind);
		gfs_errlog_add("%s: not deleted: %s", path, gfs_error_last());
		gfs_object_unref(live);
		return rc;
	}
	/* On disk before the rm returns: a crash in the grace period does
	 * not lose it. */
	if (a->opts.journal)
		rc = gfs_journal_add(a->opts.journal, path, gfs_object_uid(live));
	if (rc == 0)
		rc = gfs_applier_schedule(
		    a, path, gfs_object_uid(live),
		    a->opts.delete_grace_ms ? a->opts.delete_grace_ms : 1000);
	if (rc < 0)
		gfs_errlog_add("%s: not deleted: %s", path, gfs_error_last());
	gfs_object_unref(live);
	return rc;
}

/* A deletion promised by an earlier run that did not get to it. */
static void gfs_applier_replay(void *payload, const char *path, const char *uid)
{
	struct gfs_applier *a = payload;
	gfs_info("%s: carrying out a deletion acknowledged before a restart", path);
	if (gfs_applier_schedule(a, path, uid, 0) < 0)
		gfs_warn("%s: cannot queue the deletion: out of memory", path);
}

/* ---- life cycle ------------------------------------------------------------------ */

/* The object at path read at apiVersion `api_version` (a new reference),
 * or NULL. The path names the resource ("widgets.example.com" = plural
 * and group), the apiVersion the group and version. */
static json_t *gfs_read_at_version(struct gfs_kube_client *client, const char *path,
				   const char *api_version)
{
	struct gfs_path_parts p;
	struct gfs_kube_conn *conn = NULL;
	char url[GFS_PATH_MAX + 256];
	json_t *obj = NULL;
	/* The prepare hook knows no --path: an object's path ends in
	 * <top>/<dirname>/<name>.yaml whatever lies above. */
	const char *tail = path + strlen(path);
	for (int slashes = 0; tail > path; tail--)
		if (tail[-1] == '/' && ++slashes == 3)
			break;
	if (gfs_path_parse(&p, tail) < 0)
		return NULL;
	const char *dot = strchr(p.dirname, '.'), *slash = strchr(api_version, '/');
	size_t plural = dot ? (size_t)(dot - p.dirname) : strlen(p.dirname);
	/* Only another version of the same group: never another resource. */
	if (!dot != !slash ||
	    (dot && (strlen(dot + 1) != (size_t)(slash - api_version) ||
		     strncmp(dot + 1, api_version, strlen(dot + 1)) != 0)))
		return NULL;
	int n = snprintf(url, sizeof(url), "/%s/%s", slash ? "apis" : "api", api_version);
	if (p.ns)
		n += snprintf(url + n, sizeof(url) - (size_t)n, "/namespaces/%s", p.ns);
	snprintf(url + n, sizeof(url) - (size_t)n, "/%.*s/%s", (int)plural, p.dirname,
		 p.name);
	if (gfs_kube_conn_open(&conn, client) == 0 &&
	    gfs_kube_request(conn, &obj, NULL, "GET", url, NULL, NULL, 0) < 0) {
		gfs_warn("%s: cannot read it at %s, the version it was applied in: %s",
			 path, api_version, gfs_error_last());
		json_decref(obj);
		obj = NULL;
	}
	gfs_kube_conn_close(conn);
	return obj;
}

json_t *gfs_applier_prepare(void *payload, const char *path, const json_t *obj)
{
	struct gfs_applier_view *v = payload;
	json_t *m = NULL, *answer = NULL, *at = NULL;
	if (gfs_applied_get(v->applied, path, &m, &answer) < 0)
		return NULL;
	/* An object applied in another served version than the one watched
	 * reads back in that version (a repository that pins an older one
	 * shows no drift): read it there. Only such objects cost a request. */
	const char *want = gfs_json_str(m, "apiVersion"),
		   *have = gfs_json_str(obj, "apiVersion");
	if (v->client && want && have && strcmp(want, have) != 0)
		at = gfs_read_at_version(v->client, path, want);
	json_t *out = gfs_applied_prune(at ? at : obj, m, answer);
	json_decref(at);
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
	int rc = gfs_cond_init_monotonic(&a->cond);
	if (rc == 0)
		rc = -pthread_create(&a->thread, NULL, gfs_applier_main, a);
	if (rc < 0) {
		free(a);
		return rc;
	}
	if (a->opts.journal)
		gfs_journal_foreach(a->opts.journal, gfs_applier_replay, a);
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
