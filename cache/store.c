/*
 * store.c - the object cache and the directory tree derived from it.
 * See gfs_store.h for the contract: the tree's helpers are at the top, the
 * informer callbacks below; queries and filter changes are in
 * store_query.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_path.h"
#include "gfs_render.h"
#include "gfs_store.h"
#include "store_internal.h"

#define GFS_RENDER_LIMIT (64u << 20)

/* Changes collected under the lock and delivered after it. */
struct gfs_pending {
	struct {
		char *path;
		enum gfs_entry_type type;
		enum gfs_change change;
	} items[8];
	int n;
};

/* ---- nodes ---------------------------------------------------------------- */

static struct gfs_node *gfs_node_new(struct gfs_node *parent, const char *name,
				     bool is_dir, const char *path)
{
	struct gfs_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	n->parent = parent;
	n->is_dir = is_dir;
	n->ino = gfs_hash64(path, strlen(path)) | 2; /* never 0 or 1 (root) */
	n->version = 1; /* 0 means "no version" to readers of gfs_entry_attr */
	n->mode = is_dir ? 0755 : 0644;
	if (is_dir)
		n->children = gfs_map_new();
	if (!n->name || (is_dir && !n->children)) {
		free(n->name);
		gfs_map_free(n->children);
		free(n);
		return NULL;
	}
	return n;
}

static int gfs_node_free_cb(const char *key, void *value, void *payload);

static void gfs_node_free(struct gfs_node *n)
{
	if (!n)
		return;
	if (n->children) {
		gfs_map_foreach(n->children, gfs_node_free_cb, NULL);
		gfs_map_free(n->children);
	}
	gfs_blob_unref(n->content);
	gfs_blob_unref(n->live);
	free(n->name);
	free(n);
}

static int gfs_node_free_cb(const char *key, void *value, void *payload)
{
	gfs_node_free(value);
	return 0;
}

struct gfs_node *gfs_node_walk(struct gfs_node *root, const char *path)
{
	struct gfs_node *n = root;
	char part[GFS_PATH_MAX];
	const char *p = path;
	while (*p && n) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= sizeof(part) || !n->is_dir)
			return NULL;
		memcpy(part, p, len);
		part[len] = '\0';
		n = gfs_map_get(n->children, part);
		p = slash ? slash + 1 : p + len;
	}
	return n;
}

/* gfs_node_walk for queries: hidden files do not exist. */
struct gfs_node *gfs_node_find(struct gfs_node *root, const char *path)
{
	struct gfs_node *n = gfs_node_walk(root, path);
	return n && n->hidden ? NULL : n;
}

void gfs_node_attr(const struct gfs_node *n, struct gfs_entry_attr *a)
{
	a->type = n->is_dir ? GFS_ENTRY_DIR : GFS_ENTRY_FILE;
	a->ino = n->parent ? n->ino : 1;
	a->size = n->is_dir ? 0 : n->content->len;
	a->mtime_ns = n->mtime_ns;
	a->mode = n->mode;
	a->version = n->version;
	a->implied = false;
}

static void gfs_pending_add(struct gfs_pending *p, const char *path,
			    enum gfs_entry_type type, enum gfs_change change)
{
	if (p->n >= (int)GFS_ARRAY_SIZE(p->items))
		return; /* at most a file and its few parents per change */
	p->items[p->n].path = strdup(path);
	if (!p->items[p->n].path)
		return;
	p->items[p->n].type = type;
	p->items[p->n].change = change;
	p->n++;
}

static void gfs_pending_deliver(struct gfs_store *s, struct gfs_pending *p)
{
	for (int i = 0; i < p->n; i++) {
		for (int j = 0; j < s->n_subs; j++)
			s->subs[j].cb(s->subs[j].payload, p->items[i].path,
				      p->items[i].type, p->items[i].change);
		free(p->items[i].path);
	}
	p->n = 0;
}

/* Finds or creates the directory chain "a/b"; records new directories in
 * pending. Returns NULL on out-of-memory. */
static struct gfs_node *gfs_store_mkdirs(struct gfs_store *s, const char *a,
					 const char *b, int64_t mtime,
					 struct gfs_pending *pending)
{
	const char *parts[2] = {a, b};
	struct gfs_node *dir = s->root;
	char path[GFS_PATH_MAX] = "";
	for (int i = 0; i < 2; i++) {
		size_t used = strlen(path);
		snprintf(path + used, sizeof(path) - used, "%s%s", i ? "/" : "",
			 parts[i]);
		struct gfs_node *child = gfs_map_get(dir->children, parts[i]);
		if (!child) {
			int err = 0;
			child = gfs_node_new(dir, parts[i], true, path);
			if (!child)
				return NULL;
			gfs_map_put(dir->children, parts[i], child, &err);
			if (err) {
				gfs_node_free(child);
				return NULL;
			}
			child->mtime_ns = mtime;
			dir->version++;
			gfs_pending_add(pending, path, GFS_ENTRY_DIR, GFS_CHANGE_ADDED);
		}
		dir = child;
	}
	return dir;
}

/* Removes a file node and every directory left empty above it. */
static void gfs_store_unlink(struct gfs_store *s, struct gfs_node *n, const char *path,
			     struct gfs_pending *pending)
{
	char p[GFS_PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	int64_t now = gfs_now_ns();
	gfs_pending_add(pending, p, GFS_ENTRY_FILE, GFS_CHANGE_REMOVED);
	s->objects--;
	while (n->parent) {
		struct gfs_node *parent = n->parent;
		gfs_map_del(parent->children, n->name);
		gfs_node_free(n);
		parent->version++;
		parent->mtime_ns = now;
		if (!parent->parent || gfs_map_count(parent->children) > 0)
			break;
		char *slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		gfs_pending_add(pending, p, GFS_ENTRY_DIR, GFS_CHANGE_REMOVED);
		n = parent;
	}
}

/* ---- creation -------------------------------------------------------------- */

int gfs_store_new(struct gfs_store **out, const struct gfs_store_opts *opts)
{
	struct gfs_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_rwlock_init(&s->lock, NULL);
	atomic_init(&s->filter, opts->filter);
	s->root = gfs_node_new(NULL, "", true, "");
	s->resources = gfs_map_new();
	s->served = gfs_map_new();
	if (!s->root || !s->resources || !s->served)
		goto fail;
	s->root->mtime_ns = gfs_now_ns();
	if (opts->namespaces) {
		size_t n = 0;
		while (opts->namespaces[n])
			n++;
		s->namespaces = calloc(n + 1, sizeof(char *));
		if (!s->namespaces)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (!(s->namespaces[i] = strdup(opts->namespaces[i])))
				goto fail;
	}
	*out = s;
	return 0;
fail:
	gfs_store_free(s);
	return gfs_error_set(-ENOMEM, "out of memory creating the cache");
}

static int gfs_free_value_cb(const char *key, void *value, void *payload)
{
	free(value);
	return 0;
}

void gfs_store_free(struct gfs_store *s)
{
	if (!s)
		return;
	gfs_node_free(s->root);
	if (s->resources) {
		gfs_map_foreach(s->resources, gfs_free_value_cb, NULL);
		gfs_map_free(s->resources);
	}
	if (s->served) {
		gfs_map_foreach(s->served, gfs_free_value_cb, NULL);
		gfs_map_free(s->served);
	}
	if (s->namespaces)
		for (char **p = s->namespaces; *p; p++)
			free(*p);
	free(s->namespaces);
	for (size_t i = 0; i < s->n_owned_filters; i++)
		gfs_filter_free(s->owned_filters[i]);
	free(s->owned_filters);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

int gfs_store_subscribe(struct gfs_store *s, gfs_store_change_cb cb, void *payload)
{
	if (s->n_subs >= GFS_STORE_MAX_SUBSCRIBERS)
		return -ENOSPC;
	s->subs[s->n_subs].cb = cb;
	s->subs[s->n_subs].payload = payload;
	s->n_subs++;
	return 0;
}

bool gfs_store_resource_shown(struct gfs_store *s, const char *dirname, bool namespaced)
{
	/* With a namespace filter, cluster-scoped objects are left out. */
	if (s->namespaces && !namespaced)
		return false;
	return gfs_filter_resource_wanted(gfs_store_filter(s), dirname);
}

/* Records that discovery reports r (takes the lock). */
static void gfs_store_note_served(struct gfs_store *s, const struct gfs_resource *r)
{
	pthread_rwlock_wrlock(&s->lock);
	struct gfs_served_resource *v = gfs_map_get(s->served, r->dirname);
	if (!v) {
		int err = 0;
		v = calloc(1, sizeof(*v));
		if (v)
			gfs_map_put(s->served, r->dirname, v, &err);
		if (err) {
			free(v);
			v = NULL;
		}
	}
	if (v)
		v->namespaced = r->namespaced;
	pthread_rwlock_unlock(&s->lock);
}

bool gfs_store_want_resource(void *payload, const struct gfs_resource *r)
{
	struct gfs_store *s = payload;
	gfs_store_note_served(s, r);
	return gfs_store_resource_shown(s, r->dirname, r->namespaced);
}

/* ---- informer callbacks ----------------------------------------------------- */

static int64_t gfs_parse_time(const char *s)
{
	struct tm tm = {0};
	if (!s)
		return 0;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	return (int64_t)timegm(&tm) * 1000000000;
}

/* The object's last change according to its metadata: the newest
 * managedFields time, else creationTimestamp. Stable across remounts. */
static int64_t gfs_object_mtime(const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	int64_t t =
	    gfs_parse_time(json_string_value(json_object_get(md, "creationTimestamp")));
	size_t i;
	const json_t *mf;
	json_array_foreach(json_object_get(md, "managedFields"), i, mf)
	{
		int64_t m =
		    gfs_parse_time(json_string_value(json_object_get(mf, "time")));
		if (m > t)
			t = m;
	}
	return t ? t : gfs_now_ns();
}

bool gfs_store_ns_allowed(const struct gfs_store *s, const char *ns)
{
	if (!s->namespaces)
		return true;
	if (!ns)
		return false;
	for (char **p = s->namespaces; *p; p++)
		if (strcmp(*p, ns) == 0)
			return true;
	return false;
}

static void gfs_store_list_begin(void *payload, const struct gfs_resource *r,
				 const char *ns)
{
	struct gfs_store *s = payload;
	gfs_store_note_served(s, r);
	pthread_rwlock_wrlock(&s->lock);
	struct gfs_known_resource *k = gfs_map_get(s->resources, r->dirname);
	if (!k) {
		int err = 0;
		k = calloc(1, sizeof(*k));
		if (k)
			gfs_map_put(s->resources, r->dirname, k, &err);
		if (err) {
			free(k);
			k = NULL;
		}
	}
	if (k) {
		k->namespaced = r->namespaced;
		k->list_start = ++s->mark;
	}
	pthread_rwlock_unlock(&s->lock);
}

/* Removes a file at path if present (lock held). */
static void gfs_store_remove_path(struct gfs_store *s, const char *path,
				  struct gfs_pending *pending)
{
	struct gfs_node *n = gfs_node_walk(s->root, path);
	if (n && !n->is_dir) {
		gfs_store_unlink(s, n, path, pending);
		s->last_change_ns = gfs_now_ns();
	}
}

static int gfs_object_path(char *out, size_t outsz, const struct gfs_resource *r,
			   const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	if (!name || !gfs_path_name_valid(name) || (r->namespaced && !ns) ||
	    (ns && !gfs_path_name_valid(ns)))
		return -EINVAL;
	return gfs_path_format(out, outsz, r->namespaced ? ns : NULL, r->dirname, name);
}

/* Puts rendered bytes at path (lock held). Unchanged bytes change nothing
 * but the live copy, so status-only updates are invisible. */
static int gfs_store_put(struct gfs_store *s, const struct gfs_resource *r,
			 const json_t *obj, const char *path, struct gfs_blob *content,
			 struct gfs_blob *live, struct gfs_pending *pending)
{
	struct gfs_node *n = gfs_node_walk(s->root, path);
	int64_t now = gfs_now_ns();
	if (n && n->is_dir)
		return -EISDIR;
	if (n) {
		n->seen = ++s->mark;
		gfs_blob_unref(n->live);
		n->live = gfs_blob_ref(live);
		if (n->content->len == content->len &&
		    memcmp(n->content->data, content->data, content->len) == 0)
			return 0;
		gfs_blob_unref(n->content);
		n->content = gfs_blob_ref(content);
		n->mtime_ns = now > n->mtime_ns ? now : n->mtime_ns + 1;
		n->version++;
		s->last_change_ns = now;
		gfs_pending_add(pending, path, GFS_ENTRY_FILE, GFS_CHANGE_MODIFIED);
		return 0;
	}
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = strrchr(path, '/') + 1;
	int64_t mtime = gfs_object_mtime(obj);
	struct gfs_node *dir = gfs_store_mkdirs(s, r->namespaced ? ns : GFS_CLUSTER_DIR,
						r->dirname, mtime, pending);
	if (!dir)
		return -ENOMEM;
	n = gfs_node_new(dir, name, false, path);
	if (!n)
		return -ENOMEM;
	int err = 0;
	gfs_map_put(dir->children, name, n, &err);
	if (err) {
		gfs_node_free(n);
		return err;
	}
	n->content = gfs_blob_ref(content);
	n->live = gfs_blob_ref(live);
	n->mtime_ns = mtime;
	n->seen = ++s->mark;
	if (gfs_store_filter(s)->secrets == GFS_SECRETS_SHOW && gfs_render_is_secret(obj))
		n->mode = 0600;
	s->objects++;
	s->last_change_ns = now;
	/* A directory's mtime follows its newest entry so that it too is
	 * stable across remounts. */
	for (struct gfs_node *d = dir; d; d = d->parent) {
		if (d->mtime_ns < mtime)
			d->mtime_ns = mtime;
	}
	dir->version++;
	gfs_pending_add(pending, path, GFS_ENTRY_FILE, GFS_CHANGE_ADDED);
	return 0;
}

void gfs_store_upsert(void *payload, const struct gfs_resource *r, json_t *obj)
{
	struct gfs_store *s = payload;
	char path[GFS_PATH_MAX];
	struct gfs_pending pending = {.n = 0};
	struct gfs_buf out = GFS_BUF_INIT(GFS_RENDER_LIMIT);
	struct gfs_blob *content = NULL, *live = NULL;
	char *compact = NULL;

	if (gfs_object_path(path, sizeof(path), r, obj) < 0)
		return; /* a name that cannot be a file; nothing to show */
	const char *ns = json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "namespace"));
	bool wanted = gfs_store_ns_allowed(s, r->namespaced ? ns : NULL) &&
		      gfs_filter_object_wanted(gfs_store_filter(s), r->dirname, obj);
	if (wanted) {
		struct gfs_render_opts ro = {.secrets = gfs_store_filter(s)->secrets};
		/* What the file shows: without the server's defaults in what
		 * gitopsfs applied, and without the config's ignored fields. */
		json_t *shown =
		    s->prepare ? s->prepare(s->prepare_payload, path, obj) : NULL;
		json_t *kept = gfs_filter_ignore_strip(gfs_store_filter(s), r->dirname,
						       shown ? shown : obj);
		compact = json_dumps(obj, JSON_COMPACT);
		int rrc = gfs_render_object(&out, kept ? kept : shown ? shown : obj, &ro);
		json_decref(kept);
		json_decref(shown);
		if (rrc < 0 || !compact) {
			gfs_warn("cannot render %s: %s", path, gfs_error_last());
			goto out;
		}
		content = gfs_blob_new(out.data, out.len);
		live = gfs_blob_new(compact, strlen(compact));
		if (!content || !live)
			goto out;
	}
	pthread_rwlock_wrlock(&s->lock);
	if (wanted) {
		int rc = gfs_store_put(s, r, obj, path, content, live, &pending);
		if (rc < 0)
			gfs_warn("cannot cache %s: %s", path, strerror(-rc));
	} else {
		/* E.g. an object that became owned by a controller. */
		gfs_store_remove_path(s, path, &pending);
	}
	pthread_rwlock_unlock(&s->lock);
	gfs_pending_deliver(s, &pending);
out:
	gfs_blob_unref(content);
	gfs_blob_unref(live);
	free(compact);
	gfs_buf_release(&out);
}

static void gfs_store_remove(void *payload, const struct gfs_resource *r, json_t *obj)
{
	struct gfs_store *s = payload;
	char path[GFS_PATH_MAX];
	struct gfs_pending pending = {.n = 0};
	if (gfs_object_path(path, sizeof(path), r, obj) < 0)
		return;
	pthread_rwlock_wrlock(&s->lock);
	gfs_store_remove_path(s, path, &pending);
	pthread_rwlock_unlock(&s->lock);
	gfs_pending_deliver(s, &pending);
}

/* Sweeping a resource: collect the victims' paths under the lock, then
 * remove them one by one (a map must not change during its walk). */
struct gfs_sweep_ctx {
	const char *dirname;
	const char *ns;  /* only this namespace, or NULL for all */
	uint64_t before; /* files marked before this go; UINT64_MAX: all */
	const char *top; /* the namespace (or _cluster) being walked */
	char **victims;
	size_t n, cap;
};

static int gfs_sweep_file(const char *name, void *value, void *payload)
{
	struct gfs_sweep_ctx *ctx = payload;
	struct gfs_node *file = value;
	if (file->is_dir || file->seen >= ctx->before)
		return 0;
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 64;
		char **v = realloc(ctx->victims, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ctx->victims = v;
		ctx->cap = cap;
	}
	char path[GFS_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s/%s", ctx->top, ctx->dirname, name);
	if (!(ctx->victims[ctx->n] = strdup(path)))
		return -ENOMEM;
	ctx->n++;
	return 0;
}

static int gfs_sweep_top(const char *top, void *value, void *payload)
{
	struct gfs_sweep_ctx *ctx = payload;
	struct gfs_node *topdir = value;
	if (ctx->ns && strcmp(ctx->ns, top) != 0)
		return 0;
	struct gfs_node *resdir =
	    topdir->is_dir ? gfs_map_get(topdir->children, ctx->dirname) : NULL;
	if (!resdir || !resdir->is_dir)
		return 0;
	ctx->top = top;
	return gfs_map_foreach(resdir->children, gfs_sweep_file, ctx);
}

static void gfs_store_sweep(struct gfs_store *s, const char *dirname, const char *ns,
			    uint64_t before)
{
	struct gfs_sweep_ctx ctx = {.dirname = dirname, .ns = ns, .before = before};
	pthread_rwlock_rdlock(&s->lock);
	if (gfs_map_foreach(s->root->children, gfs_sweep_top, &ctx) < 0)
		gfs_warn("out of memory while re-listing %s", dirname);
	pthread_rwlock_unlock(&s->lock);
	for (size_t i = 0; i < ctx.n; i++) {
		struct gfs_pending pending = {.n = 0};
		pthread_rwlock_wrlock(&s->lock);
		struct gfs_node *n = gfs_node_walk(s->root, ctx.victims[i]);
		/* Re-check: an upsert may have refreshed it meanwhile. */
		if (n && !n->is_dir && n->seen < before)
			gfs_store_remove_path(s, ctx.victims[i], &pending);
		pthread_rwlock_unlock(&s->lock);
		gfs_pending_deliver(s, &pending);
		free(ctx.victims[i]);
	}
	free(ctx.victims);
}

static void gfs_store_list_end(void *payload, const struct gfs_resource *r,
			       const char *ns)
{
	struct gfs_store *s = payload;
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_known_resource *k = gfs_map_get(s->resources, r->dirname);
	uint64_t start = k ? k->list_start : 0;
	pthread_rwlock_unlock(&s->lock);
	if (start)
		gfs_store_sweep(s, r->dirname, r->namespaced ? ns : NULL, start);
}

static void gfs_store_resource_gone(void *payload, const struct gfs_resource *r)
{
	struct gfs_store *s = payload;
	gfs_store_sweep(s, r->dirname, NULL, UINT64_MAX);
	pthread_rwlock_wrlock(&s->lock);
	free(gfs_map_del(s->resources, r->dirname));
	/* A resource the filter still wants went away from discovery (its
	 * CRD was deleted); one the filter stopped wanting is still served. */
	if (gfs_store_resource_shown(s, r->dirname, r->namespaced))
		free(gfs_map_del(s->served, r->dirname));
	pthread_rwlock_unlock(&s->lock);
}

static void gfs_store_health(void *payload, const struct gfs_resource *r, bool ok,
			     const char *message)
{
	struct gfs_store *s = payload;
	pthread_rwlock_wrlock(&s->lock);
	if (ok) {
		if (s->unhealthy > 0)
			s->unhealthy--;
	} else {
		s->unhealthy++;
		snprintf(s->last_error, sizeof(s->last_error), "%s: %s", r->dirname,
			 message ? message : "failing");
	}
	pthread_rwlock_unlock(&s->lock);
	if (ok)
		gfs_info("%s: watching again", r->dirname);
	else
		gfs_error("%s: %s", r->dirname, message ? message : "failing");
}

const struct gfs_informer_ops gfs_store_informer_ops = {
    .list_begin = gfs_store_list_begin,
    .upsert = gfs_store_upsert,
    .remove = gfs_store_remove,
    .list_end = gfs_store_list_end,
    .resource_gone = gfs_store_resource_gone,
    .health = gfs_store_health,
};

void gfs_store_set_prepare(struct gfs_store *s, gfs_store_prepare_cb cb, void *payload)
{
	s->prepare = cb;
	s->prepare_payload = payload;
}

int gfs_store_set_hidden(struct gfs_store *s, const char *path, bool hidden)
{
	struct gfs_pending pending = {.n = 0};
	int rc = -ENOENT;
	pthread_rwlock_wrlock(&s->lock);
	struct gfs_node *n = gfs_node_walk(s->root, path);
	if (n && !n->is_dir) {
		rc = 0;
		if (n->hidden != hidden) {
			n->hidden = hidden;
			n->parent->version++;
			gfs_pending_add(&pending, path, GFS_ENTRY_FILE,
					hidden ? GFS_CHANGE_REMOVED : GFS_CHANGE_ADDED);
		}
	}
	pthread_rwlock_unlock(&s->lock);
	gfs_pending_deliver(s, &pending);
	return rc;
}
