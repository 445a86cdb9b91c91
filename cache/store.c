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
#include "gfs_strv.h"
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
	size_t len = strlen(name) + 1;
	struct gfs_node *n = calloc(1, sizeof(*n) + len);
	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->parent = parent;
	n->is_dir = is_dir;
	n->ino = gfs_path_ino(path);
	n->version = 1; /* 0 means "no version" to readers of gfs_entry_attr */
	n->mode = is_dir ? 0755 : 0644;
	if (is_dir)
		n->children = gfs_map_new_borrowed();
	if (is_dir && !n->children) {
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
	if (n->is_dir) {
		gfs_map_foreach(n->children, gfs_node_free_cb, NULL);
		gfs_map_free(n->children);
	} else {
		gfs_blob_unref(n->content);
		gfs_object_unref(n->live);
	}
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
	a->ino = n->ino;
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

/* Finds or creates the directory chain `dirpath` ("shop/configmaps", or
 * below the prefix); records new directories in pending. Returns NULL on
 * out-of-memory. */
static struct gfs_node *gfs_store_mkdirs(struct gfs_store *s, const char *dirpath,
					 int64_t mtime, struct gfs_pending *pending)
{
	struct gfs_node *dir = s->root;
	char path[GFS_PATH_MAX];
	snprintf(path, sizeof(path), "%s", dirpath);
	for (char *name = path, *end; dir && *name;
	     name = end ? end + 1 : name + strlen(name)) {
		end = strchr(name, '/');
		if (end)
			*end = '\0';
		struct gfs_node *child = gfs_map_get(dir->children, name);
		if (child && !child->is_dir)
			return NULL; /* a file where a directory must be */
		if (!child) {
			int err = 0;
			child = gfs_node_new(dir, name, true, path);
			if (!child)
				return NULL;
			gfs_map_put(dir->children, child->name, child, &err);
			if (err) {
				gfs_node_free(child);
				return NULL;
			}
			child->mtime_ns = mtime;
			dir->version++;
			gfs_pending_add(pending, path, GFS_ENTRY_DIR, GFS_CHANGE_ADDED);
		}
		if (end)
			*end = '/';
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
	s->rendered_bytes -= n->content ? n->content->len : 0;
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
	s->tombstones = gfs_map_new();
	s->served = gfs_map_new();
	if (!s->root || !s->resources || !s->tombstones || !s->served)
		goto fail;
	s->root->mtime_ns = gfs_now_ns();
	if (gfs_strv_dup(&s->namespaces, opts->namespaces) < 0)
		goto fail;
	if (!(s->prefix = strdup(opts->root ? opts->root : "")))
		goto fail;
	s->prefix_len = strlen(s->prefix);
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
	gfs_sops_free(s->sops);
	if (s->resources) {
		gfs_map_foreach(s->resources, gfs_free_value_cb, NULL);
		gfs_map_free(s->resources);
	}
	if (s->tombstones) {
		gfs_map_foreach(s->tombstones, gfs_free_value_cb, NULL);
		gfs_map_free(s->tombstones);
	}
	if (s->served) {
		gfs_map_foreach(s->served, gfs_free_value_cb, NULL);
		gfs_map_free(s->served);
	}
	gfs_strv_free(s->namespaces);
	free(s->prefix);
	for (size_t i = 0; i < s->n_owned_filters; i++)
		gfs_filter_free(s->owned_filters[i]);
	free(s->owned_filters);
	pthread_rwlock_destroy(&s->lock);
	explicit_bzero(&s->redact_key, sizeof(s->redact_key));
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

struct gfs_node *gfs_store_cluster_root(struct gfs_store *s)
{
	struct gfs_node *n = s->prefix_len ? gfs_node_walk(s->root, s->prefix) : s->root;
	return n && n->is_dir ? n : NULL;
}

const char *gfs_store_root(const struct gfs_store *s)
{
	return s->prefix;
}

const char *gfs_store_cluster_path(const struct gfs_store *s, const char *path)
{
	if (!s->prefix_len)
		return path;
	if (strncmp(path, s->prefix, s->prefix_len) != 0)
		return NULL;
	if (path[s->prefix_len] == '\0')
		return path + s->prefix_len;
	return path[s->prefix_len] == '/' ? path + s->prefix_len + 1 : NULL;
}

bool gfs_store_ns_allowed(const struct gfs_store *s, const char *ns)
{
	if (!s->namespaces)
		return true;
	return ns && gfs_strv_has(s->namespaces, ns);
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

static int gfs_object_path(const struct gfs_store *s, char *out, size_t outsz,
			   const char *dirname, bool namespaced,
			   const struct gfs_object *o)
{
	const char *name = gfs_object_name(o), *ns = gfs_object_namespace(o);
	/* A namespace is a DNS label: never "_cluster", "..", or a path. */
	if (!name || !gfs_path_name_valid(name) || (namespaced && !ns) ||
	    (ns && !gfs_path_label_valid(ns)))
		return -EINVAL;
	if (!s->prefix_len)
		return gfs_path_format(out, outsz, namespaced ? ns : NULL, dirname, name);
	/* Below --path: "<prefix>/<ns>/<dirname>/<name>.yaml". */
	int n = snprintf(out, outsz, "%s/", s->prefix);
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	return gfs_path_format(out + n, outsz - (size_t)n, namespaced ? ns : NULL,
			       dirname, name);
}

/* ---- ordering ------------------------------------------------------------------ */

struct gfs_tombstone {
	int64_t at_ms;
	char rv[32];
};

#define GFS_TOMBSTONE_MS  60000
#define GFS_TOMBSTONE_MAX 4096

static int gfs_tombstone_expired(const char *key, void *value, void *payload)
{
	struct gfs_tombstone *t = value;
	char ***victims = payload;
	if (gfs_monotonic_ms() - t->at_ms > GFS_TOMBSTONE_MS) {
		**victims = strdup(key);
		if (**victims)
			(*victims)++;
	}
	return 0;
}

/* Drops tombstones older than a minute once there are many (lock held):
 * a stale copy arrives within seconds of the deletion, not minutes. */
static void gfs_tombstones_trim(struct gfs_store *s)
{
	size_t n = gfs_map_count(s->tombstones);
	if (n < GFS_TOMBSTONE_MAX)
		return;
	char **victims = calloc(n, sizeof(*victims)), **end = victims;
	if (!victims)
		return;
	gfs_map_foreach(s->tombstones, gfs_tombstone_expired, &end);
	for (char **v = victims; v < end; v++) {
		free(gfs_map_del(s->tombstones, *v));
		free(*v);
	}
	free(victims);
}

/* Records that path was deleted at resourceVersion rv (lock held). */
static void gfs_tombstone_add(struct gfs_store *s, const char *path, const char *rv)
{
	struct gfs_tombstone *t = calloc(1, sizeof(*t));
	int err = 0;
	if (!t || !rv || strlen(rv) >= sizeof(t->rv)) {
		free(t);
		return;
	}
	t->at_ms = gfs_monotonic_ms();
	memcpy(t->rv, rv, strlen(rv) + 1);
	gfs_tombstones_trim(s);
	free(gfs_map_put(s->tombstones, path, t, &err));
	if (err)
		free(t);
}

/* Is o older than what the store knows of its path (lock held)? Then
 * showing it would take the file back in time: the one rule every writer
 * into the store follows, whoever delivers the object. */
static bool gfs_store_is_stale(struct gfs_store *s, const struct gfs_node *n,
			       const char *path, const struct gfs_object *o)
{
	const char *rv = gfs_object_resource_version(o);
	/* resourceVersions are cluster-wide: an object deleted and created
	 * again (a new uid) has a newer one too. */
	if (n && !n->is_dir && n->live)
		return gfs_rv_cmp(rv, gfs_object_resource_version(n->live)) < 0;
	const struct gfs_tombstone *t = gfs_map_get(s->tombstones, path);
	return t && gfs_rv_cmp(rv, t->rv) <= 0;
}

/* Puts the rendered bytes of live object o at path (lock held).
 * Unchanged bytes change nothing but the live object, so status-only
 * updates are invisible. */
static int gfs_store_put(struct gfs_store *s, const char *dirname, bool namespaced,
			 struct gfs_object *o, const char *path, struct gfs_blob *content,
			 struct gfs_pending *pending)
{
	struct gfs_node *n = gfs_node_walk(s->root, path);
	int64_t now = gfs_now_ns();
	if (n && n->is_dir)
		return -EISDIR;
	if (gfs_store_is_stale(s, n, path, o))
		return 0;
	free(gfs_map_del(s->tombstones, path));
	if (n) {
		n->seen = ++s->mark;
		/* A hidden file waits for the deletion of the object it showed;
		 * one created anew at its path (another uid) is not that one. */
		if (n->hidden && n->live &&
		    strcmp(gfs_object_uid(o) ? gfs_object_uid(o) : "",
			   gfs_object_uid(n->live) ? gfs_object_uid(n->live) : "") != 0) {
			n->hidden = false;
			n->parent->version++;
			gfs_pending_add(pending, path, GFS_ENTRY_FILE, GFS_CHANGE_ADDED);
		}
		gfs_object_unref(n->live);
		n->live = gfs_object_ref(o);
		if (n->content->len == content->len &&
		    memcmp(n->content->data, content->data, content->len) == 0)
			return 0;
		s->rendered_bytes = s->rendered_bytes - n->content->len + content->len;
		gfs_blob_unref(n->content);
		n->content = gfs_blob_ref(content);
		n->mtime_ns = now > n->mtime_ns ? now : n->mtime_ns + 1;
		n->version++;
		s->last_change_ns = now;
		gfs_pending_add(pending, path, GFS_ENTRY_FILE, GFS_CHANGE_MODIFIED);
		return 0;
	}
	const char *name = strrchr(path, '/') + 1;
	int64_t mtime = gfs_object_change_time(o);
	if (!mtime)
		mtime = now;
	char dirpath[GFS_PATH_MAX];
	snprintf(dirpath, sizeof(dirpath), "%.*s", (int)(name - 1 - path), path);
	struct gfs_node *dir = gfs_store_mkdirs(s, dirpath, mtime, pending);
	if (!dir)
		return -ENOMEM;
	n = gfs_node_new(dir, name, false, path);
	if (!n)
		return -ENOMEM;
	int err = 0;
	gfs_map_put(dir->children, n->name, n, &err);
	if (err) {
		gfs_node_free(n);
		return err;
	}
	n->content = gfs_blob_ref(content);
	n->live = gfs_object_ref(o);
	n->mtime_ns = mtime;
	n->seen = ++s->mark;
	if (gfs_store_filter(s)->secrets == GFS_SECRETS_SHOW && gfs_object_is_secret(o))
		n->mode = 0600;
	s->objects++;
	s->rendered_bytes += content->len;
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

/* A Secret in secrets: sops mode: encrypted, reusing what this path
 * showed last (gfs_sops.h), and remembered for next time. */
static int gfs_store_render_sops(struct gfs_buf *out, struct gfs_store *s,
				 const char *path, const json_t *obj)
{
	struct gfs_render_opts ro = {.secrets = GFS_SECRETS_SOPS};
	if (!s->sops)
		return gfs_error_set(-EINVAL, "secrets: sops has no keys set up");
	json_t *plain = gfs_render_strip(obj, &ro);
	int rc = plain ? gfs_sops_render(out, s->sops, path, plain, true)
		       : gfs_error_set(-ENOMEM, "out of memory");
	json_decref(plain);
	return rc;
}

/* Is obj shown encrypted (secrets: sops)? */
static bool gfs_store_sealed(const struct gfs_filter *f, const json_t *obj)
{
	return f->secrets == GFS_SECRETS_SOPS && gfs_json_is_secret(obj);
}

int gfs_store_render(struct gfs_blob **out, struct gfs_store *s, const char *path,
		     const char *dirname, const json_t *obj)
{
	const struct gfs_filter *f = gfs_store_filter(s);
	struct gfs_render_opts ro = {.secrets = f->secrets,
				     .key = gfs_store_redaction_key(s)};
	struct gfs_buf buf = GFS_BUF_INIT(GFS_RENDER_LIMIT);
	/* What the file shows: without the server's defaults in what
	 * gitopsfs applied, and without the config's ignored fields. */
	json_t *shown = s->prepare ? s->prepare(s->prepare_payload, path, obj) : NULL;
	json_t *kept = gfs_filter_ignore_strip(f, dirname, shown ? shown : obj);
	const json_t *what = kept ? kept : shown ? shown : obj;
	int rc = gfs_store_sealed(f, what) ? gfs_store_render_sops(&buf, s, path, what)
					   : gfs_render_object(&buf, what, &ro);
	json_decref(kept);
	json_decref(shown);
	if (rc == 0 && !(*out = gfs_blob_new(buf.data, buf.len)))
		rc = gfs_error_set(-ENOMEM, "out of memory rendering %s", path);
	gfs_buf_release(&buf);
	return rc;
}

int gfs_store_upsert_object(struct gfs_store *s, const char *dirname, bool namespaced,
			    struct gfs_object *o, const json_t *doc)
{
	char path[GFS_PATH_MAX];
	struct gfs_pending pending = {.n = 0};
	struct gfs_blob *content = NULL;
	json_t *parsed = NULL;

	if (gfs_object_path(s, path, sizeof(path), dirname, namespaced, o) < 0)
		return 0; /* a name that cannot be a file; nothing to show */
	bool wanted =
	    gfs_store_ns_allowed(s, namespaced ? gfs_object_namespace(o) : NULL) &&
	    gfs_filter_facts_wanted(gfs_store_filter(s), dirname, gfs_object_namespace(o),
				    gfs_object_name(o), gfs_object_controller_owned(o));
	/* Without the document (most objects keep none: gfs_object.h) it
	 * cannot be rendered again here; the caller fetches it. */
	if (wanted && !doc && !(doc = parsed = gfs_object_doc(o)))
		return -ENODATA;
	const json_t *obj = doc;
	/* Rendering runs without the lock. If what the prepare hook reads
	 * changed meanwhile (gfs_store_refresh: gitopsfs applied an object),
	 * this rendering may predate it: render again rather than put it over
	 * the refreshed one (both carry the same resourceVersion). */
	for (;;) {
		uint64_t gen = atomic_load(&s->render_gen);
		if (wanted && gfs_store_render(&content, s, path, dirname, obj) < 0) {
			gfs_warn("cannot render %s: %s", path, gfs_error_last());
			json_decref(parsed);
			return 0;
		}
		pthread_rwlock_wrlock(&s->lock);
		if (gen == atomic_load(&s->render_gen))
			break;
		pthread_rwlock_unlock(&s->lock);
		gfs_blob_unref(content);
		content = NULL;
	}
	if (wanted) {
		int rc =
		    gfs_store_put(s, dirname, namespaced, o, path, content, &pending);
		if (rc < 0)
			gfs_warn("cannot cache %s: %s", path, strerror(-rc));
	} else {
		/* E.g. an object that became owned by a controller. */
		gfs_store_remove_path(s, path, &pending);
	}
	pthread_rwlock_unlock(&s->lock);
	gfs_pending_deliver(s, &pending);
	gfs_blob_unref(content);
	json_decref(parsed);
	return 0;
}

static int gfs_store_object_new(struct gfs_object **out, struct gfs_store *s, json_t *obj)
{
	/* A Secret shown encrypted (secrets: sops) is rendered again when a
	 * write changes what its path remembers (gfs_store_refresh), with
	 * no answer to render: it keeps its whole document. Anything else
	 * keeps what the keep hook asks for (the monitor: what health reads). */
	if (gfs_store_sealed(gfs_store_filter(s), obj))
		return gfs_object_new(out, json_incref(obj), obj);
	json_t *keep = s->keep ? s->keep(s->keep_payload, obj) : NULL;
	int rc = gfs_object_new(out, json_incref(obj), keep);
	json_decref(keep);
	return rc;
}

/* An object the store could not take in (out of memory): said, not
 * dropped in silence - its file shows the older state, or none. */
static void gfs_store_warn_dropped(const struct gfs_resource *r, json_t *obj,
				   const char *what)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	gfs_warn("a %s of %s %s%s%s is not shown in the mount: out of memory", what,
		 r->dirname, ns ? ns : "", ns ? "/" : "", name ? name : "(no name)");
}

static void gfs_store_upsert(void *payload, const struct gfs_resource *r, json_t *obj)
{
	struct gfs_object *o = NULL;
	if (gfs_store_object_new(&o, payload, obj) < 0) {
		gfs_store_warn_dropped(r, obj, "change");
		return;
	}
	gfs_store_upsert_object(payload, r->dirname, r->namespaced, o, obj);
	gfs_object_unref(o);
}

static void gfs_store_remove(void *payload, const struct gfs_resource *r, json_t *obj)
{
	struct gfs_store *s = payload;
	char path[GFS_PATH_MAX];
	struct gfs_pending pending = {.n = 0};
	struct gfs_object *o = NULL;
	if (gfs_object_new(&o, json_incref(obj), NULL) < 0) {
		gfs_store_warn_dropped(r, obj, "deletion");
		return;
	}
	if (gfs_object_path(s, path, sizeof(path), r->dirname, r->namespaced, o) == 0) {
		pthread_rwlock_wrlock(&s->lock);
		struct gfs_node *n = gfs_node_walk(s->root, path);
		/* A deletion older than the object shown is of an earlier
		 * incarnation of it (the apply that created it again was
		 * answered before the watch told of the deletion). */
		if (!gfs_store_is_stale(s, n, path, o)) {
			gfs_store_remove_path(s, path, &pending);
			gfs_tombstone_add(s, path, gfs_object_resource_version(o));
		}
		pthread_rwlock_unlock(&s->lock);
		gfs_pending_deliver(s, &pending);
	}
	gfs_object_unref(o);
}

/* Sweeping a resource: collect the victims' paths under the lock, then
 * remove them one by one (a map must not change during its walk). */
struct gfs_sweep_ctx {
	const char *dirname;
	const char *ns;  /* only this namespace, or NULL for all */
	uint64_t before; /* files marked before this go; UINT64_MAX: all */
	const char *top; /* the namespace (or _cluster) being walked */
	const char *prefix;
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
	snprintf(path, sizeof(path), "%s%s%s/%s/%s", ctx->prefix, *ctx->prefix ? "/" : "",
		 ctx->top, ctx->dirname, name);
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
	struct gfs_sweep_ctx ctx = {
	    .dirname = dirname, .ns = ns, .before = before, .prefix = s->prefix};
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_node *croot = gfs_store_cluster_root(s);
	if (croot && gfs_map_foreach(croot->children, gfs_sweep_top, &ctx) < 0)
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

void gfs_store_set_keep(struct gfs_store *s, gfs_store_keep_cb cb, void *payload)
{
	s->keep = cb;
	s->keep_payload = payload;
}

void gfs_store_set_redaction_key(struct gfs_store *s, const struct gfs_redact_key *k)
{
	s->redact_key = *k;
}

void gfs_store_set_sops(struct gfs_store *s, struct gfs_sops *sops)
{
	gfs_sops_free(s->sops);
	s->sops = sops;
}

struct gfs_sops *gfs_store_sops(const struct gfs_store *s)
{
	return s->sops;
}

const struct gfs_redact_key *gfs_store_redaction_key(const struct gfs_store *s)
{
	return s->redact_key.len ? &s->redact_key : NULL;
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
