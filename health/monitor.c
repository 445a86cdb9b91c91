/*
 * monitor.c - the index of pods and their owners, the informer tee, and
 * health queries (gfs_monitor.h). Following and alerts: follow.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_path.h"
#include "monitor_internal.h"

/* The resources whose objects the monitor indexes: the links from a pod
 * up to the workload a person applied (Pod -> ReplicaSet -> Deployment,
 * Pod -> Job -> CronJob, Pod -> StatefulSet/DaemonSet). */
static bool mon_indexed(const char *dirname)
{
	return strcmp(dirname, "pods") == 0 || strcmp(dirname, "replicasets.apps") == 0 ||
	       strcmp(dirname, "jobs.batch") == 0;
}

static void mon_obj_free(struct mon_obj *o)
{
	if (!o)
		return;
	free(o->owner);
	free(o->dirname);
	free(o->ns);
	json_decref(o->pod);
	free(o);
}

/* The uid of the controller that owns obj, borrowed, or NULL. */
static const char *mon_controller_uid(const json_t *obj)
{
	const json_t *refs =
	    json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
	const json_t *ref;
	size_t i;
	json_array_foreach(refs, i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return json_string_value(json_object_get(ref, "uid"));
	}
	return NULL;
}

static const char *mon_uid(const json_t *obj)
{
	return json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "uid"));
}

int mon_paths_push(struct mon_paths *p, const char *s)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		const char **v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	const char *copy = gfs_strpack_add(&p->strings, s, strlen(s));
	if (!copy)
		return -ENOMEM;
	p->v[p->n++] = copy;
	return 0;
}

void mon_paths_release(struct mon_paths *p)
{
	gfs_strpack_release(&p->strings);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ---- the index (lock held) ------------------------------------------------------- */

static void mon_unlink_child(struct gfs_monitor *m, const char *owner, const char *uid)
{
	struct gfs_map *kids = owner ? gfs_map_get(m->children, owner) : NULL;
	if (!kids)
		return;
	gfs_map_del(kids, uid);
	if (gfs_map_count(kids) == 0)
		gfs_map_free(gfs_map_del(m->children, owner));
}

static void mon_index_del(struct gfs_monitor *m, const char *uid)
{
	struct mon_obj *o = gfs_map_del(m->objs, uid);
	if (o)
		mon_unlink_child(m, o->owner, uid);
	mon_obj_free(o);
}

static int mon_index_put(struct gfs_monitor *m, const char *dirname, const json_t *obj)
{
	const char *uid = mon_uid(obj), *owner = mon_controller_uid(obj);
	const char *ns = json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "namespace"));
	if (!uid)
		return 0;
	struct mon_obj *o = calloc(1, sizeof(*o));
	int err = 0;
	if (!o || (owner && !(o->owner = strdup(owner))) ||
	    !(o->dirname = strdup(dirname)) || (ns && !(o->ns = strdup(ns)))) {
		mon_obj_free(o);
		return -ENOMEM;
	}
	if (strcmp(dirname, "pods") == 0)
		o->pod = json_incref((json_t *)obj);
	o->seen = m->mark;
	mon_index_del(m, uid); /* its owner may have changed */
	gfs_map_put(m->objs, uid, o, &err);
	if (err) {
		mon_obj_free(o);
		return err;
	}
	if (!owner)
		return 0;
	struct gfs_map *kids = gfs_map_get(m->children, owner);
	if (!kids) {
		if (!(kids = gfs_map_new()))
			return -ENOMEM;
		gfs_map_put(m->children, owner, kids, &err);
		if (err) {
			gfs_map_free(kids);
			return err;
		}
	}
	gfs_map_put(kids, uid, o, &err);
	return err;
}

struct mon_sweep {
	const char *dirname;
	const char *ns;
	uint64_t before;
	struct mon_paths victims;
	int err;
};

static int mon_sweep_cb(const char *uid, void *value, void *payload)
{
	struct mon_sweep *sw = payload;
	const struct mon_obj *o = value;
	if (strcmp(o->dirname, sw->dirname) != 0 || o->seen >= sw->before)
		return 0;
	if (sw->ns && (!o->ns || strcmp(o->ns, sw->ns) != 0))
		return 0;
	sw->err = mon_paths_push(&sw->victims, uid);
	return sw->err;
}

/* Drops the objects of dirname (in ns, or all) not seen since `before`. */
static void mon_sweep(struct gfs_monitor *m, const char *dirname, const char *ns,
		      uint64_t before)
{
	struct mon_sweep sw = {.dirname = dirname, .ns = ns, .before = before};
	gfs_map_foreach(m->objs, mon_sweep_cb, &sw);
	for (size_t i = 0; i < sw.victims.n; i++)
		mon_index_del(m, sw.victims.v[i]);
	mon_paths_release(&sw.victims);
	if (sw.err)
		gfs_warn("health: out of memory re-listing %s", dirname);
}

static void mon_mark_key(char *out, size_t outsz, const struct gfs_resource *r,
			 const char *ns)
{
	snprintf(out, outsz, "%s/%s", r->dirname, ns ? ns : "");
}

/* ---- the informer tee -------------------------------------------------------------- */

static bool mon_store_shows(struct gfs_monitor *m, const struct gfs_resource *r)
{
	return gfs_store_resource_shown(m->opts.store, r->dirname, r->namespaced);
}

bool gfs_monitor_want_resource(void *payload, const struct gfs_resource *r)
{
	struct gfs_monitor *m = payload;
	bool shown = gfs_store_want_resource(m->opts.store, r);
	return shown || mon_indexed(r->dirname);
}

static void mon_list_begin(void *payload, const struct gfs_resource *r, const char *ns)
{
	struct gfs_monitor *m = payload;
	if (mon_store_shows(m, r))
		gfs_store_informer_ops.list_begin(m->opts.store, r, ns);
	if (!mon_indexed(r->dirname))
		return;
	char key[GFS_PATH_MAX];
	mon_mark_key(key, sizeof(key), r, ns);
	pthread_mutex_lock(&m->lock);
	uint64_t *mark = gfs_map_get(m->marks, key);
	int err = 0;
	if (!mark && (mark = malloc(sizeof(*mark)))) {
		gfs_map_put(m->marks, key, mark, &err);
		if (err) {
			free(mark);
			mark = NULL;
		}
	}
	if (mark)
		*mark = ++m->mark;
	pthread_mutex_unlock(&m->lock);
}

static void mon_upsert(void *payload, const struct gfs_resource *r, json_t *obj)
{
	struct gfs_monitor *m = payload;
	if (mon_store_shows(m, r))
		gfs_store_informer_ops.upsert(m->opts.store, r, obj);
	if (!mon_indexed(r->dirname))
		return;
	pthread_mutex_lock(&m->lock);
	int rc = mon_index_put(m, r->dirname, obj);
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		gfs_warn("health: out of memory indexing a %s object", r->dirname);
}

static void mon_remove(void *payload, const struct gfs_resource *r, json_t *obj)
{
	struct gfs_monitor *m = payload;
	if (mon_store_shows(m, r))
		gfs_store_informer_ops.remove(m->opts.store, r, obj);
	const char *uid = mon_uid(obj);
	if (!mon_indexed(r->dirname) || !uid)
		return;
	pthread_mutex_lock(&m->lock);
	mon_index_del(m, uid);
	pthread_mutex_unlock(&m->lock);
}

static void mon_list_end(void *payload, const struct gfs_resource *r, const char *ns)
{
	struct gfs_monitor *m = payload;
	if (mon_store_shows(m, r))
		gfs_store_informer_ops.list_end(m->opts.store, r, ns);
	if (!mon_indexed(r->dirname))
		return;
	char key[GFS_PATH_MAX];
	mon_mark_key(key, sizeof(key), r, ns);
	pthread_mutex_lock(&m->lock);
	uint64_t *mark = gfs_map_get(m->marks, key);
	if (mark)
		mon_sweep(m, r->dirname, r->namespaced ? ns : NULL, *mark);
	pthread_mutex_unlock(&m->lock);
}

static void mon_resource_gone(void *payload, const struct gfs_resource *r)
{
	struct gfs_monitor *m = payload;
	/* The store copes with a resource it never saw. */
	gfs_store_informer_ops.resource_gone(m->opts.store, r);
	if (!mon_indexed(r->dirname))
		return;
	pthread_mutex_lock(&m->lock);
	mon_sweep(m, r->dirname, NULL, UINT64_MAX);
	pthread_mutex_unlock(&m->lock);
}

static void mon_informer_health(void *payload, const struct gfs_resource *r, bool ok,
				const char *message)
{
	struct gfs_monitor *m = payload;
	/* A failing watch of pods makes the view stale like any other. */
	gfs_store_informer_ops.health(m->opts.store, r, ok, message);
}

const struct gfs_informer_ops gfs_monitor_informer_ops = {
    .list_begin = mon_list_begin,
    .upsert = mon_upsert,
    .remove = mon_remove,
    .list_end = mon_list_end,
    .resource_gone = mon_resource_gone,
    .health = mon_informer_health,
};

/* ---- queries ---------------------------------------------------------------------- */

struct mon_pods {
	const json_t **items; /* references */
	size_t n, cap;
	struct gfs_monitor *m;
	int depth;
	int err;
};

static int mon_pods_add(struct mon_pods *p, const json_t *pod)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		const json_t **v = realloc(p->items, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->items = v;
		p->cap = cap;
	}
	p->items[p->n++] = json_incref((json_t *)pod);
	return 0;
}

static int mon_pods_cb(const char *uid, void *value, void *payload)
{
	struct mon_pods *p = payload;
	const struct mon_obj *o = value;
	if (o->pod)
		return mon_pods_add(p, o->pod);
	/* A ReplicaSet or a Job between the workload and its pods. */
	struct gfs_map *kids = gfs_map_get(p->m->children, uid);
	if (!kids || p->depth >= 2)
		return 0;
	p->depth++;
	int rc = gfs_map_foreach(kids, mon_pods_cb, p);
	p->depth--;
	return rc;
}

/* The pods owned by uid, directly or through one level in between:
 * references into p->items (lock taken here). */
static void mon_pods_of(struct mon_pods *p, struct gfs_monitor *m, const char *uid)
{
	p->m = m;
	pthread_mutex_lock(&m->lock);
	struct gfs_map *kids = uid ? gfs_map_get(m->children, uid) : NULL;
	if (kids)
		p->err = gfs_map_foreach(kids, mon_pods_cb, p);
	pthread_mutex_unlock(&m->lock);
}

static void mon_pods_release(struct mon_pods *p)
{
	for (size_t i = 0; i < p->n; i++)
		json_decref((json_t *)p->items[i]);
	free(p->items);
}

int gfs_monitor_health(struct gfs_health *out, struct gfs_monitor *m, const char *path)
{
	struct gfs_object *o = NULL;
	if (gfs_store_live(&o, m->opts.store, path) < 0)
		return -ENOENT;
	/* Most objects of a cluster (ConfigMaps, RBAC) have no status to
	 * read: their verdict needs no parsing. */
	if (gfs_health_of_plain(out, gfs_object_kind(o), gfs_object_has_status(o),
				gfs_object_deleting(o))) {
		gfs_object_unref(o);
		return 0;
	}
	/* What the store kept of it for this (follow.c: mon_keep). */
	json_t *obj = gfs_object_kept(o);
	struct mon_pods p = {0};
	if (!obj) {
		int rc = gfs_object_size(o) ? -ENOMEM : -ENODATA;
		gfs_object_unref(o);
		return rc;
	}
	if (gfs_health_kind_has_pods(gfs_object_kind(o)))
		mon_pods_of(&p, m, gfs_object_uid(o));
	gfs_health_of(out, obj, p.items, p.n);
	mon_pods_release(&p);
	json_decref(obj);
	gfs_object_unref(o);
	return 0;
}

/* Every object file's path, sorted. */
static int mon_collect_path(const char *path, const struct gfs_blob *content,
			    const struct gfs_entry_attr *attr, void *payload)
{
	return mon_paths_push(payload, path);
}

static int mon_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int mon_all_paths(struct gfs_monitor *m, struct mon_paths *out)
{
	int rc = gfs_store_foreach_file(m->opts.store, mon_collect_path, out);
	if (rc < 0) {
		mon_paths_release(out);
		return rc;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(char *), mon_strcmp);
	return 0;
}

/* One pass over every object file: the counts, the list and the text of
 * the objects that are not Current. */
static int mon_summary(struct gfs_monitor *m, json_t **status, struct gfs_blob **text)
{
	struct mon_paths paths = {0};
	struct gfs_buf b = GFS_BUF_INIT(64u << 20);
	size_t counts[GFS_HEALTH_NSTATES] = {0};
	json_t *j = json_object(), *counts_j = json_object(), *list = json_array();
	int rc = (j && counts_j && list) ? mon_all_paths(m, &paths) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < paths.n; i++) {
		struct gfs_health h;
		int hrc = gfs_monitor_health(&h, m, paths.v[i]);
		if (hrc == -ENOENT)
			continue; /* deleted since the paths were collected */
		if (hrc < 0) {
			rc = hrc; /* not counted silently as fewer objects */
			break;
		}
		counts[h.state]++;
		if (h.state == GFS_HEALTH_CURRENT)
			continue;
		const char *word = gfs_health_state_name(h.state);
		rc = gfs_buf_addf(&b, "%s\t%s: %s\n", paths.v[i], word, h.reason);
		if (rc == 0 &&
		    json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "object",
							  paths.v[i], "health", word,
							  "reason", h.reason)) < 0)
			rc = -ENOMEM;
	}
	for (int s = 0; rc == 0 && s < GFS_HEALTH_NSTATES; s++)
		if (json_object_set_new(counts_j, gfs_health_state_name(s),
					json_integer((json_int_t)counts[s])) < 0)
			rc = -ENOMEM;
	if (rc == 0 && (json_object_set(j, "counts", counts_j) < 0 ||
			json_object_set(j, "not_current", list) < 0 ||
			!(*text = gfs_blob_new(b.data, b.len))))
		rc = -ENOMEM;
	mon_paths_release(&paths);
	gfs_buf_release(&b);
	json_decref(counts_j);
	json_decref(list);
	if (rc < 0) {
		json_decref(j);
		return rc;
	}
	*status = j;
	return 0;
}

/* The current summary: the snapshot if it is young enough, else a new one
 * (new references for the caller). */
static int mon_snapshot(struct gfs_monitor *m, json_t **status, struct gfs_blob **text)
{
	int64_t now = gfs_monotonic_ms();
	pthread_mutex_lock(&m->snap_lock);
	bool fresh = m->snap_ms && now - m->snap_ms < MON_SNAPSHOT_MS;
	if (fresh) {
		*status = json_incref(m->snap_status);
		*text = gfs_blob_ref(m->snap_text);
	}
	pthread_mutex_unlock(&m->snap_lock);
	if (fresh)
		return 0;
	int rc = mon_summary(m, status, text);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&m->snap_lock);
	json_decref(m->snap_status);
	gfs_blob_unref(m->snap_text);
	m->snap_status = json_incref(*status);
	m->snap_text = gfs_blob_ref(*text);
	m->snap_ms = now;
	pthread_mutex_unlock(&m->snap_lock);
	return 0;
}

int gfs_monitor_health_text(struct gfs_monitor *m, struct gfs_buf *out)
{
	json_t *status = NULL;
	struct gfs_blob *text = NULL;
	int rc = mon_snapshot(m, &status, &text);
	if (rc == 0)
		rc = gfs_buf_add(out, text->data, text->len);
	json_decref(status);
	gfs_blob_unref(text);
	return rc;
}

json_t *gfs_monitor_status_json(struct gfs_monitor *m)
{
	json_t *status = NULL;
	struct gfs_blob *text = NULL;
	if (mon_snapshot(m, &status, &text) < 0)
		return NULL;
	gfs_blob_unref(text);
	/* A copy: the snapshot is shared and the caller may change its own. */
	json_t *copy = json_deep_copy(status);
	json_decref(status);
	return copy;
}
