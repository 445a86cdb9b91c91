/*
 * store_query.c - the store's queries (all under the shared lock, none
 * ever reaching the network) and the change of filter. See gfs_store.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_path.h"
#include "store_internal.h"

/* ---- implied directories (lock held) ------------------------------------------ */

/* Does the mount show namespace ns (its Namespace object, else objects in
 * it)? Sets *mtime to that of the one found. */
static bool gfs_store_ns_shown(struct gfs_store *s, const char *ns, int64_t *mtime)
{
	char path[GFS_PATH_MAX];
	if (strcmp(ns, GFS_CLUSTER_DIR) == 0 || !gfs_path_name_valid(ns) ||
	    !gfs_store_ns_allowed(s, ns))
		return false;
	struct gfs_node *n = NULL, *croot = gfs_store_cluster_root(s);
	if (!croot)
		return false;
	if (gfs_path_format(path, sizeof(path), NULL, "namespaces", ns) == 0)
		n = gfs_node_find(croot, path);
	if (!n || n->is_dir)
		n = gfs_map_get(croot->children, ns);
	if (!n)
		return false;
	*mtime = n->mtime_ns;
	return true;
}

/* The attributes of `path` if it is an implied directory (gfs_store.h):
 * "<ns>" with a Namespace object, "<ns>/<dirname>" or "_cluster/<dirname>"
 * for a watched resource of that scope that the filter does not exclude
 * there. Only called for paths that have no node. */
static bool gfs_store_implied(struct gfs_store *s, const char *full,
			      struct gfs_entry_attr *out)
{
	char buf[GFS_PATH_MAX];
	const char *path = gfs_store_cluster_path(s, full);
	if (!path || !*path)
		return false;
	snprintf(buf, sizeof(buf), "%s", path);
	char *slash = strchr(buf, '/');
	if (slash && strchr(slash + 1, '/'))
		return false;
	if (slash)
		*slash = '\0';
	const char *top = buf, *dirname = slash ? slash + 1 : NULL;
	bool cluster = strcmp(top, GFS_CLUSTER_DIR) == 0;
	int64_t mtime = 0;
	if (cluster) {
		struct gfs_node *croot = gfs_store_cluster_root(s);
		struct gfs_node *c = croot ? gfs_map_get(croot->children, top) : NULL;
		if (!dirname || !c || !c->is_dir || !gfs_store_ns_allowed(s, NULL))
			return false;
		mtime = c->mtime_ns;
	} else if (!gfs_store_ns_shown(s, top, &mtime)) {
		return false;
	}
	if (dirname) {
		const struct gfs_known_resource *k = gfs_map_get(s->resources, dirname);
		if (!k || k->namespaced == cluster ||
		    !gfs_filter_path_wanted(gfs_store_filter(s), dirname,
					    cluster ? NULL : top, NULL))
			return false;
	}
	memset(out, 0, sizeof(*out));
	out->type = GFS_ENTRY_DIR;
	out->ino = gfs_path_ino(full);
	out->mtime_ns = mtime;
	out->mode = 0755;
	out->version = 1;
	out->implied = true;
	return true;
}

/* ---- queries ------------------------------------------------------------------ */

int gfs_store_stat(struct gfs_entry_attr *out, struct gfs_store *s, const char *path)
{
	int rc = -ENOENT;
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_node *n = gfs_node_find(s->root, path);
	if (n) {
		gfs_node_attr(n, out);
		rc = 0;
	} else if (gfs_store_implied(s, path, out)) {
		rc = 0;
	}
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

int gfs_store_read(struct gfs_blob **out, struct gfs_entry_attr *attr,
		   struct gfs_store *s, const char *path)
{
	int rc = -ENOENT;
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_node *n = gfs_node_find(s->root, path);
	if (n && n->is_dir) {
		rc = -EISDIR;
	} else if (n) {
		*out = gfs_blob_ref(n->content);
		if (attr)
			gfs_node_attr(n, attr);
		rc = 0;
	}
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

int gfs_store_live(struct gfs_object **out, struct gfs_store *s, const char *path)
{
	struct gfs_store_file f;
	int rc = gfs_store_get(&f, s, path);
	if (rc == 0) {
		*out = gfs_object_ref(f.live);
		gfs_store_file_release(&f);
	}
	return rc;
}

int gfs_store_get(struct gfs_store_file *out, struct gfs_store *s, const char *path)
{
	int rc = -ENOENT;
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_node *n = gfs_node_find(s->root, path);
	if (n && n->is_dir) {
		rc = -EISDIR;
	} else if (n) {
		out->content = gfs_blob_ref(n->content);
		out->live = gfs_object_ref(n->live);
		gfs_node_attr(n, &out->attr);
		rc = 0;
	}
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

int gfs_store_refresh(struct gfs_store *s, const char *path, const json_t *doc)
{
	struct gfs_path_parts p;
	struct gfs_object *live = NULL;
	const char *rel = gfs_store_cluster_path(s, path);
	int rc = rel ? gfs_path_parse(&p, rel) : -ENOENT;
	atomic_fetch_add(&s->render_gen, 1);
	if (rc == 0)
		rc = gfs_store_live(&live, s, path);
	if (rc == 0) {
		/* doc is the version held when the resourceVersions match. */
		const char *rv = gfs_object_resource_version(live),
			   *doc_rv = json_string_value(json_object_get(
			       json_object_get(doc, "metadata"), "resourceVersion"));
		bool same = doc && rv && doc_rv && strcmp(rv, doc_rv) == 0;
		rc = gfs_store_upsert_object(s, p.dirname, p.ns != NULL, live,
					     same ? doc : NULL);
	}
	gfs_object_unref(live);
	return rc;
}

void gfs_store_file_release(struct gfs_store_file *f)
{
	gfs_blob_unref(f->content);
	gfs_object_unref(f->live);
	f->content = NULL;
	f->live = NULL;
}

struct gfs_list_ctx {
	gfs_store_list_cb cb;
	void *payload;
};

static int gfs_store_list_one(const char *name, void *value, void *payload)
{
	struct gfs_list_ctx *ctx = payload;
	struct gfs_entry_attr a;
	if (((struct gfs_node *)value)->hidden)
		return 0;
	gfs_node_attr(value, &a);
	return ctx->cb(name, &a, ctx->payload);
}

int gfs_store_list(struct gfs_store *s, const char *path, gfs_store_list_cb cb,
		   void *payload)
{
	int rc;
	struct gfs_list_ctx ctx = {cb, payload};
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_node *n = gfs_node_find(s->root, path);
	struct gfs_entry_attr implied;
	if (!n)
		rc = gfs_store_implied(s, path, &implied) ? 0 : -ENOENT;
	else if (!n->is_dir)
		rc = -ENOTDIR;
	else
		rc = gfs_map_foreach(n->children, gfs_store_list_one, &ctx);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

struct gfs_foreach_ctx {
	gfs_store_file_cb cb;
	void *payload;
	char path[GFS_PATH_MAX];
};

static int gfs_store_foreach_node(struct gfs_foreach_ctx *ctx, struct gfs_node *n);

static int gfs_store_foreach_child(const char *name, void *value, void *payload)
{
	struct gfs_foreach_ctx *ctx = payload;
	size_t used = strlen(ctx->path);
	snprintf(ctx->path + used, sizeof(ctx->path) - used, "%s%s", used ? "/" : "",
		 name);
	int rc = gfs_store_foreach_node(ctx, value);
	ctx->path[used] = '\0';
	return rc;
}

static int gfs_store_foreach_node(struct gfs_foreach_ctx *ctx, struct gfs_node *n)
{
	if (n->is_dir)
		return gfs_map_foreach(n->children, gfs_store_foreach_child, ctx);
	if (n->hidden)
		return 0;
	struct gfs_entry_attr a;
	gfs_node_attr(n, &a);
	return ctx->cb(ctx->path, n->content, &a, ctx->payload);
}

int gfs_store_foreach_file(struct gfs_store *s, gfs_store_file_cb cb, void *payload)
{
	struct gfs_foreach_ctx ctx = {.cb = cb, .payload = payload, .path = ""};
	pthread_rwlock_rdlock(&s->lock);
	int rc = gfs_store_foreach_node(&ctx, s->root);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

bool gfs_store_is_managed_dir(struct gfs_store *s, const char *full)
{
	char buf[GFS_PATH_MAX];
	const char *dirpath = gfs_store_cluster_path(s, full);
	if (!dirpath)
		return false;
	snprintf(buf, sizeof(buf), "%s", dirpath);
	char *slash = strchr(buf, '/');
	if (!slash || strchr(slash + 1, '/'))
		return false;
	*slash = '\0';
	const char *top = buf, *dirname = slash + 1;
	bool cluster = strcmp(top, GFS_CLUSTER_DIR) == 0;
	if (!cluster && !gfs_path_name_valid(top))
		return false;
	const char *ns = cluster ? NULL : top;
	if (!gfs_store_ns_allowed(s, ns))
		return false;
	pthread_rwlock_rdlock(&s->lock);
	struct gfs_known_resource *k = gfs_map_get(s->resources, dirname);
	bool known = k && k->namespaced == !cluster;
	pthread_rwlock_unlock(&s->lock);
	return known && gfs_filter_path_wanted(gfs_store_filter(s), dirname, ns, NULL);
}

bool gfs_store_is_managed_path(struct gfs_store *s, const char *full)
{
	struct gfs_path_parts parts;
	const char *path = gfs_store_cluster_path(s, full);
	if (!path || gfs_path_parse(&parts, path) < 0)
		return false;
	char dir[GFS_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s%s%s/%s", s->prefix, s->prefix_len ? "/" : "",
		 parts.ns ? parts.ns : GFS_CLUSTER_DIR, parts.dirname);
	return gfs_store_is_managed_dir(s, dir) &&
	       gfs_filter_path_wanted(gfs_store_filter(s), parts.dirname, parts.ns,
				      parts.name);
}

bool gfs_store_is_object_path(struct gfs_store *s, const char *full)
{
	struct gfs_path_parts p;
	const char *path = gfs_store_cluster_path(s, full);
	if (!path || gfs_path_parse(&p, path) < 0 || !gfs_store_ns_allowed(s, p.ns) ||
	    !gfs_filter_path_wanted(gfs_store_filter(s), p.dirname, p.ns, p.name))
		return false;
	bool object;
	pthread_rwlock_rdlock(&s->lock);
	const struct gfs_known_resource *k = gfs_map_get(s->resources, p.dirname);
	const struct gfs_served_resource *v = gfs_map_get(s->served, p.dirname);
	if (k) /* watched: gfs_store_is_managed_path */
		object = k->namespaced == (p.ns != NULL);
	else if (v) /* served: shown unless excluded (or about to be watched) */
		object = v->namespaced == (p.ns != NULL) &&
			 gfs_store_resource_shown(s, p.dirname, v->namespaced);
	else /* not served (yet): waits for its CRD */
		object = gfs_path_crd_dirname(p.dirname) &&
			 (!p.ns || gfs_path_label_valid(p.ns));
	pthread_rwlock_unlock(&s->lock);
	return object;
}

void gfs_store_get_stats(struct gfs_store_stats *out, struct gfs_store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	out->objects = s->objects;
	out->rendered_bytes = s->rendered_bytes;
	out->resources = gfs_map_count(s->resources);
	out->unhealthy = s->unhealthy;
	out->last_change_ns = s->last_change_ns;
	snprintf(out->last_error, sizeof(out->last_error), "%s", s->last_error);
	pthread_rwlock_unlock(&s->lock);
}

const struct gfs_filter *gfs_store_filter(struct gfs_store *s)
{
	return atomic_load(&s->filter);
}

/* Re-rendering: the live copy of every file, collected under the lock. */
struct gfs_rerender {
	char **paths;
	struct gfs_object **lives;
	size_t n, cap;
	int err;
	char path[GFS_PATH_MAX];
};

static int gfs_rerender_collect(struct gfs_rerender *c, struct gfs_node *n);

static int gfs_rerender_child(const char *name, void *value, void *payload)
{
	struct gfs_rerender *c = payload;
	size_t used = strlen(c->path);
	snprintf(c->path + used, sizeof(c->path) - used, "%s%s", used ? "/" : "", name);
	int rc = gfs_rerender_collect(c, value);
	c->path[used] = '\0';
	return rc;
}

static int gfs_rerender_collect(struct gfs_rerender *c, struct gfs_node *n)
{
	if (n->is_dir)
		return gfs_map_foreach(n->children, gfs_rerender_child, c);
	if (!n->live)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		char **p = realloc(c->paths, cap * sizeof(*p));
		if (p)
			c->paths = p;
		struct gfs_object **l = p ? realloc(c->lives, cap * sizeof(*l)) : NULL;
		if (!l)
			return -ENOMEM;
		c->lives = l;
		c->cap = cap;
	}
	if (!(c->paths[c->n] = strdup(c->path)))
		return -ENOMEM;
	c->lives[c->n++] = gfs_object_ref(n->live);
	return 0;
}

int gfs_store_set_filter(struct gfs_store *s, struct gfs_filter *f)
{
	struct gfs_rerender c = {.path = ""};
	struct gfs_filter **owned =
	    realloc(s->owned_filters, (s->n_owned_filters + 1) * sizeof(*owned));
	if (!owned)
		return -ENOMEM;
	s->owned_filters = owned;
	s->owned_filters[s->n_owned_filters++] = f;
	pthread_rwlock_wrlock(&s->lock);
	atomic_store(&s->filter, f);
	int rc = gfs_rerender_collect(&c, s->root);
	pthread_rwlock_unlock(&s->lock);
	/* Each object again, as if the informer had just sent it: one the
	 * filter no longer wants goes now; one that kept no document
	 * (most: gfs_object.h) is rendered again by the list that the
	 * caller asks the informers for (gfs_informers_refresh). */
	for (size_t i = 0; i < c.n; i++) {
		struct gfs_path_parts p;
		const char *rel = gfs_store_cluster_path(s, c.paths[i]);
		if (rel && gfs_path_parse(&p, rel) == 0)
			(void)gfs_store_upsert_object(s, p.dirname, p.ns != NULL,
						      c.lives[i], NULL);
		gfs_object_unref(c.lives[i]);
		free(c.paths[i]);
	}
	free(c.paths);
	free(c.lives);
	return rc;
}
