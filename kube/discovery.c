/*
 * discovery.c - which resources the server serves: /api, /api/v1, /apis
 * and every version of each group, kept when they can be listed and
 * watched (subresources such as pods/log are skipped). Each resource
 * (group + plural) is kept once, at the group's preferred version when
 * that serves it, else at the highest-priority version that does, with
 * the list of every version that serves it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_kube.h"
#include "gfs_strv.h"
#include "kube_private.h"

/* A growable resource list and the groups that did not answer. */
struct disco {
	struct gfs_resource_list *list;
	size_t cap;
	char **failed;        /* gfs_strv.h */
	size_t group_start;   /* index in list of the current group's first resource */
	bool group_uncertain; /* a version of the current group did not answer */
};

static int disco_failed_add(struct disco *d, const char *group)
{
	return gfs_strv_push(&d->failed, group);
}

/* ---- version priority -------------------------------------------------- */

/* A version of the form v<major>[(alpha|beta)<minor>]. */
struct kver {
	int stage; /* 3 GA, 2 beta, 1 alpha */
	long long major, minor;
};

/* Reads 1 to 18 digits at *p (more would overflow: such a name is then
 * simply not of the Kubernetes form, as for kube-apiserver's Atoi). */
static bool kver_num(long long *out, const char **p)
{
	const char *s = *p;
	long long n = 0;
	while (*s >= '0' && *s <= '9' && s - *p < 18)
		n = n * 10 + (*s++ - '0');
	if (s == *p || (*s >= '0' && *s <= '9'))
		return false;
	*out = n;
	*p = s;
	return true;
}

static bool kver_parse(struct kver *out, const char *s)
{
	struct kver k = {.stage = 3};
	if (*s++ != 'v' || !kver_num(&k.major, &s))
		return false;
	if (strncmp(s, "alpha", 5) == 0 || strncmp(s, "beta", 4) == 0) {
		k.stage = *s == 'a' ? 1 : 2;
		s += k.stage == 1 ? 5 : 4;
		if (!kver_num(&k.minor, &s))
			return false;
	}
	if (*s)
		return false;
	*out = k;
	return true;
}

int gfs_kube_version_cmp(const char *a, const char *b)
{
	struct kver x, y;
	bool kx = kver_parse(&x, a), ky = kver_parse(&y, b);
	if (kx != ky)
		return kx ? -1 : 1;
	if (kx && x.stage != y.stage)
		return y.stage - x.stage;
	if (kx && x.major != y.major)
		return x.major > y.major ? -1 : 1;
	if (kx && x.minor != y.minor)
		return x.minor > y.minor ? -1 : 1;
	return strcmp(a, b); /* alphabetical; or "v01" against "v1" */
}

/* qsort comparator for an array of version strings. */
static int version_ptr_cmp(const void *a, const void *b)
{
	return gfs_kube_version_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- resources ----------------------------------------------------------- */

void gfs_resource_release(struct gfs_resource *r)
{
	if (!r)
		return;
	free(r->group);
	free(r->version);
	gfs_strv_free(r->versions);
	free(r->resource);
	free(r->kind);
	free(r->dirname);
	free(r->api_path);
	memset(r, 0, sizeof(*r));
}

/* A copy of the NULL-terminated v, or {version} when v is NULL; NULL when
 * out of memory. */
static char **versions_dup(char *const *v, const char *version)
{
	char **out = NULL;
	if (v)
		gfs_strv_dup(&out, (const char *const *)v); /* NULL on failure */
	else if (version)
		gfs_strv_push(&out, version);
	return out;
}

int gfs_resource_copy(struct gfs_resource *dst, const struct gfs_resource *src)
{
	struct gfs_resource r = {
	    .group = gfs_strdup(src->group),
	    .version = gfs_strdup(src->version),
	    .versions = versions_dup(src->versions, src->version),
	    .resource = gfs_strdup(src->resource),
	    .kind = gfs_strdup(src->kind),
	    .namespaced = src->namespaced,
	    .dirname = gfs_strdup(src->dirname),
	    .api_path = gfs_strdup(src->api_path),
	};
	if (!r.group || !r.version || !r.versions || !r.resource || !r.kind ||
	    !r.dirname || !r.api_path) {
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

bool gfs_resource_serves(const struct gfs_resource *r, const char *version)
{
	if (!r || !version)
		return false;
	if (!r->versions) /* built by hand, not by discovery */
		return r->version && strcmp(r->version, version) == 0;
	return gfs_strv_has(r->versions, version);
}

/* "/apis/<group>/<version>", or "/api/<version>" for the core group: the
 * one place that knows the form. Returns what snprintf returns. */
static int api_path_format(char *out, size_t outsz, const char *group,
			   const char *version)
{
	return *group ? snprintf(out, outsz, "/apis/%s/%s", group, version)
		      : snprintf(out, outsz, "/api/%s", version);
}

int gfs_resource_api_path(char *out, size_t outsz, const struct gfs_resource *r,
			  const char *version)
{
	if (outsz)
		*out = '\0';
	if (!version)
		version = r->version;
	if (!gfs_resource_serves(r, version))
		return gfs_error_set(-ENOENT, "%s is not served at version %s",
				     r->dirname, version ? version : "(none)");
	int n = api_path_format(out, outsz, r->group, version);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz)
			*out = '\0';
		return gfs_error_set(-ENAMETOOLONG, "API path of %s at %s is too long",
				     r->dirname, version);
	}
	return 0;
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

/* The resource of kind in api_version's group; with `any_version` false,
 * only one that api_version's version serves. */
static const struct gfs_resource *find_kind(const struct gfs_resource_list *l,
					    const char *api_version, const char *kind,
					    bool any_version)
{
	if (!l || !api_version || !kind)
		return NULL;
	/* "apps/v1": group "apps", version "v1"; "v1": the core group. */
	const char *slash = strrchr(api_version, '/');
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	const char *version = slash ? slash + 1 : api_version;
	for (size_t i = 0; i < l->count; i++) {
		const struct gfs_resource *r = &l->items[i];
		if (strcmp(r->kind, kind) == 0 && strlen(r->group) == glen &&
		    strncmp(r->group, api_version, glen) == 0 &&
		    (any_version || gfs_resource_serves(r, version)))
			return r;
	}
	return NULL;
}

const struct gfs_resource *gfs_resource_list_find_kind(const struct gfs_resource_list *l,
						       const char *api_version,
						       const char *kind)
{
	return find_kind(l, api_version, kind, false);
}

const struct gfs_resource *
gfs_resource_list_find_group_kind(const struct gfs_resource_list *l,
				  const char *api_version, const char *kind)
{
	return find_kind(l, api_version, kind, true);
}

/* ---- names a server may send ------------------------------------------------ */

/* Discovery's names become directory names ("deployments.apps") and URL
 * path segments ("/apis/apps/v1"): a broken or hostile server must not
 * reach outside the mount or the export folder with "../" or "/". The API
 * server itself only serves DNS names there: a group is a DNS-1123
 * subdomain, a resource (plural) and a version DNS-1123 labels, a kind
 * an alphanumeric identifier. Anything else is skipped with a warning. */
static bool disco_label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool disco_name_ok(const char *s)
{
	return s && disco_label_ok(s, strlen(s));
}

static bool disco_group_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!disco_label_ok(p, len))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

static bool disco_kind_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* A name from the server made safe to print: printable ASCII, at most 64
 * bytes, anything else as '?'. */
static const char *disco_printable(char out[72], const char *s)
{
	size_t k = 0;
	for (; s && s[k] && k < 64; k++)
		out[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	strcpy(out + k, s && s[k] ? "..." : "");
	return out;
}

/* ---- one group version ---------------------------------------------------- */

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

/* Adds `version` to r's versions (kept sorted when the group is done). */
static int resource_add_version(struct gfs_resource *r, const char *version)
{
	return gfs_strv_has(r->versions, version) ? 0
						  : gfs_strv_push(&r->versions, version);
}

/* The current group's resource named `name`, or NULL. */
static struct gfs_resource *disco_group_find(struct disco *d, const char *name)
{
	for (size_t i = d->group_start; i < d->list->count; i++)
		if (strcmp(d->list->items[i].resource, name) == 0)
			return &d->list->items[i];
	return NULL;
}

static struct gfs_resource *disco_slot(struct disco *d)
{
	struct gfs_resource_list *l = d->list;
	if (l->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct gfs_resource *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return NULL;
		l->items = items;
		d->cap = cap;
	}
	struct gfs_resource *r = &l->items[l->count++];
	memset(r, 0, sizeof(*r)); /* counted even when half-built, so that free sees it */
	return r;
}

/* One entry of a group version's resource list. The group's versions come
 * preferred first, then by priority: the first version that lists a
 * resource is the one it is watched at. */
static int disco_add(struct disco *d, const char *group, const char *version,
		     const char *api_path, const json_t *res)
{
	const char *name = json_string_value(json_object_get(res, "name"));
	const char *kind = json_string_value(json_object_get(res, "kind"));
	if (!name || !kind || strchr(name, '/') ||
	    !verbs_allow_list_watch(json_object_get(res, "verbs")))
		return 0;
	if (!disco_name_ok(name) || !disco_kind_ok(kind)) {
		char n[72], k[72];
		gfs_warn("discovery: skipping resource \"%s\" (kind \"%s\") of API "
			 "group \"%s\": not a valid Kubernetes name",
			 disco_printable(n, name), disco_printable(k, kind), group);
		return 0;
	}
	struct gfs_resource *r = disco_group_find(d, name);
	if (r)
		return resource_add_version(r, version);
	if (d->group_uncertain) /* a failed version might have been its own */
		return 0;
	if (!(r = disco_slot(d)))
		return gfs_error_set(-ENOMEM, "out of memory");
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
	if (!r->group || !r->version || !r->resource || !r->kind || !r->api_path ||
	    !r->dirname)
		return gfs_error_set(-ENOMEM, "out of memory");
	return resource_add_version(r, version);
}

/* Adds the resources of one group version ("/api/v1", "/apis/apps/v1"). */
static int disco_group_version(struct disco *d, struct gfs_kube_conn *conn,
			       const char *group, const char *version)
{
	json_t *doc = NULL;
	size_t i;
	const json_t *res;
	char path[512];
	int n = api_path_format(path, sizeof(path), group, version);
	if (n < 0 || (size_t)n >= sizeof(path))
		return gfs_error_set(-ENAMETOOLONG,
				     "API group %s: version %s is too long", group,
				     version);
	int rc = gfs_kube_request(conn, &doc, NULL, "GET", path, NULL, NULL, 0);
	if (rc < 0)
		goto out;
	json_array_foreach(json_object_get(doc, "resources"), i, res)
	{
		rc = disco_add(d, group, version, path, res);
		if (rc < 0)
			goto out;
	}
out:
	json_decref(doc);
	return rc;
}

/* Sorts the versions of the current group's resources by priority. */
static void disco_group_done(struct disco *d)
{
	for (size_t i = d->group_start; i < d->list->count; i++) {
		char **v = d->list->items[i].versions;
		size_t n = 0;
		while (v && v[n])
			n++;
		if (n > 1)
			qsort(v, n, sizeof(*v), version_ptr_cmp);
	}
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
	d->group_start = d->list->count;
	d->group_uncertain = false;
	rc = disco_group_version(d, conn, "", v && disco_name_ok(v) ? v : "v1");
	disco_group_done(d);
out:
	json_decref(doc);
	return rc;
}

/* ---- one group of /apis ------------------------------------------------------ */

/* The versions of group g (an APIGroup of /apis) in the order they are
 * queried: the preferred one first, then the others by priority. Borrowed
 * from g; *out is NULL-terminated and freed by the caller (not its
 * strings). Without a usable preferredVersion, the highest priority one
 * comes first, as kube-apiserver would prefer it. */
static int group_versions(const char ***out, const json_t *g)
{
	const json_t *vs = json_object_get(g, "versions"), *e;
	const char *pref = json_string_value(
	    json_object_get(json_object_get(g, "preferredVersion"), "version"));
	size_t i, n = 0;
	const char **v = calloc(json_array_size(vs) + 1, sizeof(*v));
	if (!v)
		return gfs_error_set(-ENOMEM, "out of memory");
	json_array_foreach(vs, i, e)
	{
		const char *s = json_string_value(json_object_get(e, "version"));
		bool dup = false;
		for (size_t k = 0; s && k < n && !dup; k++)
			dup = strcmp(v[k], s) == 0;
		if (s && !dup && disco_name_ok(s))
			v[n++] = s;
	}
	if (n)
		qsort(v, n, sizeof(*v), version_ptr_cmp);
	for (size_t k = 1; pref && k < n; k++) {
		if (strcmp(v[k], pref) == 0) {
			memmove(v + 1, v, k * sizeof(*v));
			v[0] = pref;
			break;
		}
	}
	*out = v;
	return 0;
}

/* One version of group `name` did not answer. The preferred one (i == 0):
 * the group is skipped. Another: what it could have served is left out,
 * the group counts as failed (its informers are kept) and the rest goes
 * on. Only cancellation and memory errors stop everything. */
static int disco_version_failed(struct disco *d, const char *name, const char *version,
				size_t i, int rc)
{
	if (rc == -ECANCELED || rc == -ENOMEM)
		return rc;
	if (i == 0)
		gfs_warn("discovery: skipping API group %s: %s", name, gfs_error_last());
	else
		gfs_warn("discovery: API group %s: skipping version %s and the "
			 "resources only older versions serve: %s",
			 name, version, gfs_error_last());
	d->group_uncertain = true;
	return gfs_strv_has(d->failed, name) ? 0 : disco_failed_add(d, name);
}

static int disco_group(struct disco *d, struct gfs_kube_conn *conn, const json_t *g)
{
	const char *name = json_string_value(json_object_get(g, "name"));
	const char **versions = NULL;
	if (!name || !*name)
		return 0;
	if (!disco_group_ok(name)) {
		char n[72];
		gfs_warn("discovery: skipping API group \"%s\": not a valid group name",
			 disco_printable(n, name));
		return 0;
	}
	int rc = group_versions(&versions, g);
	d->group_start = d->list->count;
	d->group_uncertain = false;
	for (size_t i = 0; rc == 0 && versions[i]; i++) {
		rc = disco_group_version(d, conn, name, versions[i]);
		if (rc < 0)
			rc = disco_version_failed(d, name, versions[i], i, rc);
		if (rc == 0 && i == 0 && d->group_uncertain)
			break; /* without its preferred version, skip the group */
	}
	disco_group_done(d);
	free(versions);
	return rc;
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
