/*
 * discovery.c - which resources the server serves: /api, /api/v1, /apis
 * and each group's preferred version, kept when they can be listed and
 * watched (subresources such as pods/log are skipped).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_kube.h"
#include "kube_private.h"

/* A growable resource list and the groups that did not answer. */
struct disco {
	struct gfs_resource_list *list;
	size_t cap;
	char **failed; /* NULL-terminated */
	size_t nfailed;
};

/* ---- string vectors ------------------------------------------------------- */

void gfs_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

bool gfs_strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int disco_failed_add(struct disco *d, const char *group)
{
	char **v = realloc(d->failed, (d->nfailed + 2) * sizeof(*v));
	if (!v)
		return gfs_error_set(-ENOMEM, "out of memory");
	d->failed = v;
	if (!(v[d->nfailed] = strdup(group)))
		return gfs_error_set(-ENOMEM, "out of memory");
	v[++d->nfailed] = NULL;
	return 0;
}

/* ---- resources ----------------------------------------------------------- */

void gfs_resource_release(struct gfs_resource *r)
{
	if (!r)
		return;
	free(r->group);
	free(r->version);
	free(r->resource);
	free(r->kind);
	free(r->dirname);
	free(r->api_path);
	memset(r, 0, sizeof(*r));
}

int gfs_resource_copy(struct gfs_resource *dst, const struct gfs_resource *src)
{
	struct gfs_resource r = {
	    .group = gfs_strdup(src->group),
	    .version = gfs_strdup(src->version),
	    .resource = gfs_strdup(src->resource),
	    .kind = gfs_strdup(src->kind),
	    .namespaced = src->namespaced,
	    .dirname = gfs_strdup(src->dirname),
	    .api_path = gfs_strdup(src->api_path),
	};
	if (!r.group || !r.version || !r.resource || !r.kind || !r.dirname ||
	    !r.api_path) {
		gfs_resource_release(&r);
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	*dst = r;
	return 0;
}

void gfs_resource_list_free(struct gfs_resource_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		gfs_resource_release(&l->items[i]);
	free(l->items);
	free(l);
}

static int resource_cmp(const void *a, const void *b)
{
	const struct gfs_resource *x = a, *y = b;
	return strcmp(x->dirname, y->dirname);
}

const struct gfs_resource *gfs_resource_list_find(const struct gfs_resource_list *l,
						  const char *dirname)
{
	struct gfs_resource key = {.dirname = (char *)dirname};
	if (!l || !l->count)
		return NULL;
	return bsearch(&key, l->items, l->count, sizeof(key), resource_cmp);
}

const struct gfs_resource *gfs_resource_list_find_kind(const struct gfs_resource_list *l,
						       const char *api_version,
						       const char *kind)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	if (!l || !api_version || !kind)
		return NULL;
	for (size_t i = 0; i < l->count; i++) {
		const struct gfs_resource *r = &l->items[i];
		if (strcmp(r->kind, kind) == 0 && strlen(r->group) == glen &&
		    strncmp(r->group, api_version, glen) == 0)
			return r;
	}
	return NULL;
}

static bool verbs_allow_list_watch(const json_t *verbs)
{
	bool list = false, watch = false;
	size_t i;
	const json_t *v;
	json_array_foreach(verbs, i, v)
	{
		const char *s = json_string_value(v);
		list = list || (s && strcmp(s, "list") == 0);
		watch = watch || (s && strcmp(s, "watch") == 0);
	}
	return list && watch;
}

static int disco_add(struct disco *d, const char *group, const char *version,
		     const char *api_path, const json_t *res)
{
	const char *name = json_string_value(json_object_get(res, "name"));
	const char *kind = json_string_value(json_object_get(res, "kind"));
	struct gfs_resource_list *l = d->list;
	if (!name || !kind || strchr(name, '/') ||
	    !verbs_allow_list_watch(json_object_get(res, "verbs")))
		return 0;
	if (l->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct gfs_resource *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return gfs_error_set(-ENOMEM, "out of memory");
		l->items = items;
		d->cap = cap;
	}
	struct gfs_resource *r = &l->items[l->count];
	memset(r, 0, sizeof(*r));
	r->group = strdup(group);
	r->version = strdup(version);
	r->resource = strdup(name);
	r->kind = strdup(kind);
	r->namespaced = json_is_true(json_object_get(res, "namespaced"));
	r->api_path = strdup(api_path);
	if (*group) {
		if (asprintf(&r->dirname, "%s.%s", name, group) < 0)
			r->dirname = NULL;
	} else {
		r->dirname = strdup(name);
	}
	l->count++; /* counted even when half-built, so that free sees it */
	if (!r->group || !r->version || !r->resource || !r->kind || !r->api_path ||
	    !r->dirname)
		return gfs_error_set(-ENOMEM, "out of memory");
	return 0;
}

/* Adds the resources of one group version ("/api/v1", "/apis/apps/v1"). */
static int disco_group_version(struct disco *d, struct gfs_kube_conn *conn,
			       const char *group, const char *version,
			       const char *api_path)
{
	json_t *doc = NULL;
	size_t i;
	const json_t *res;
	int rc = gfs_kube_request(conn, &doc, NULL, "GET", api_path, NULL, NULL, 0);
	if (rc < 0)
		goto out;
	json_array_foreach(json_object_get(doc, "resources"), i, res)
	{
		rc = disco_add(d, group, version, api_path, res);
		if (rc < 0)
			goto out;
	}
out:
	json_decref(doc);
	return rc;
}

static int disco_core(struct disco *d, struct gfs_kube_conn *conn)
{
	json_t *doc = NULL;
	int rc = gfs_kube_request(conn, &doc, NULL, "GET", "/api", NULL, NULL, 0);
	if (rc < 0)
		goto out;
	/* The core group has only ever had v1; take what the server lists. */
	const char *v =
	    json_string_value(json_array_get(json_object_get(doc, "versions"), 0));
	char path[128];
	snprintf(path, sizeof(path), "/api/%s", v ? v : "v1");
	rc = disco_group_version(d, conn, "", v ? v : "v1", path);
out:
	json_decref(doc);
	return rc;
}

/* One group of /apis at its preferred version. A group that fails is
 * skipped with a warning (an aggregated API whose backend is down must not
 * take everything with it); only cancellation and memory errors stop. */
static int disco_group(struct disco *d, struct gfs_kube_conn *conn, const json_t *g)
{
	const char *name = json_string_value(json_object_get(g, "name"));
	const json_t *pv = json_object_get(g, "preferredVersion");
	const char *gv = json_string_value(json_object_get(pv, "groupVersion"));
	const char *v = json_string_value(json_object_get(pv, "version"));
	if (!gv || !v) {
		const json_t *first = json_array_get(json_object_get(g, "versions"), 0);
		gv = json_string_value(json_object_get(first, "groupVersion"));
		v = json_string_value(json_object_get(first, "version"));
	}
	if (!name || !gv || !v)
		return 0;
	char path[512];
	snprintf(path, sizeof(path), "/apis/%s", gv);
	int rc = disco_group_version(d, conn, name, v, path);
	if (rc == -ECANCELED || rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		gfs_warn("discovery: skipping API group %s: %s", name, gfs_error_last());
		return disco_failed_add(d, name);
	}
	return 0;
}

static int disco_groups(struct disco *d, struct gfs_kube_conn *conn)
{
	json_t *doc = NULL;
	size_t i;
	const json_t *g;
	int rc = gfs_kube_request(conn, &doc, NULL, "GET", "/apis", NULL, NULL, 0);
	if (rc < 0)
		goto out;
	json_array_foreach(json_object_get(doc, "groups"), i, g)
	{
		rc = disco_group(d, conn, g);
		if (rc < 0)
			goto out;
	}
out:
	json_decref(doc);
	return rc;
}

int gfs_discovery_run_ex(struct gfs_resource_list **out, char ***failed_groups,
			 struct gfs_kube_conn *conn)
{
	struct disco d = {0};
	int rc;
	d.list = calloc(1, sizeof(*d.list));
	if (!d.list)
		return gfs_error_set(-ENOMEM, "out of memory");
	rc = disco_core(&d, conn);
	if (rc == 0)
		rc = disco_groups(&d, conn);
	if (rc < 0)
		goto out;
	if (d.list->count)
		qsort(d.list->items, d.list->count, sizeof(*d.list->items), resource_cmp);
	*out = d.list;
	d.list = NULL;
	if (failed_groups) {
		*failed_groups = d.failed;
		d.failed = NULL;
	}
out:
	gfs_resource_list_free(d.list);
	gfs_strv_free(d.failed);
	return rc;
}

int gfs_discovery_run(struct gfs_resource_list **out, struct gfs_kube_conn *conn)
{
	return gfs_discovery_run_ex(out, NULL, conn);
}
