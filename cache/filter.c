/*
 * filter.c - the default exclusions of SPEC section 3 and the config's
 * exclude/include rules.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_filter.h"
#include "gfs_object.h"
#include "gfs_redaction.h"

/* Resources that churn without meaning anything as desired state. */
static const char *const default_excluded_resources[] = {
    "events",
    "events.events.k8s.io",
    "endpoints",
    "endpointslices.discovery.k8s.io",
    "leases.coordination.k8s.io",
};

struct gfs_filter *gfs_filter_new_default(void)
{
	return calloc(1, sizeof(struct gfs_filter));
}

static void gfs_filter_rules_free(struct gfs_filter_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].resource);
		free(rules[i].namespace);
		free(rules[i].name);
	}
	free(rules);
}

static void gfs_ignore_rules_free(struct gfs_ignore_rule *rules, size_t n);

void gfs_filter_free(struct gfs_filter *f)
{
	if (!f)
		return;
	gfs_filter_rules_free(f->exclude, f->n_exclude);
	gfs_filter_rules_free(f->include, f->n_include);
	gfs_ignore_rules_free(f->ignore, f->n_ignore);
	free(f);
}

int gfs_filter_add_rule(struct gfs_filter *f, bool include, const char *resource,
			const char *ns, const char *name)
{
	struct gfs_filter_rule **rules = include ? &f->include : &f->exclude;
	size_t *n = include ? &f->n_include : &f->n_exclude;
	struct gfs_filter_rule *grown = realloc(*rules, (*n + 1) * sizeof(**rules));
	if (!grown)
		return -ENOMEM;
	*rules = grown;
	struct gfs_filter_rule *r = &grown[*n];
	r->resource = gfs_strdup(resource);
	r->namespace = gfs_strdup(ns);
	r->name = gfs_strdup(name);
	if ((resource && !r->resource) || (ns && !r->namespace) || (name && !r->name)) {
		free(r->resource);
		free(r->namespace);
		free(r->name);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* A NULL pattern matches anything; a NULL value (cluster-scoped namespace,
 * or "any name") matches only a NULL pattern or "*"-like patterns. */
static bool gfs_glob(const char *pattern, const char *value)
{
	if (!pattern)
		return true;
	if (!value)
		return fnmatch(pattern, "", 0) == 0 || strcmp(pattern, "*") == 0;
	return fnmatch(pattern, value, 0) == 0;
}

static bool gfs_rule_matches(const struct gfs_filter_rule *r, const char *dirname,
			     const char *ns, const char *name)
{
	return gfs_glob(r->resource, dirname) && gfs_glob(r->namespace, ns) &&
	       gfs_glob(r->name, name);
}

static bool gfs_rules_match(const struct gfs_filter_rule *rules, size_t n,
			    const char *dirname, const char *ns, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (gfs_rule_matches(&rules[i], dirname, ns, name))
			return true;
	return false;
}

static bool gfs_default_resource_excluded(const struct gfs_filter *f, const char *dirname)
{
	if (f->no_defaults)
		return false;
	for (size_t i = 0; i < GFS_ARRAY_SIZE(default_excluded_resources); i++)
		if (strcmp(default_excluded_resources[i], dirname) == 0)
			return true;
	return f->secrets == GFS_SECRETS_EXCLUDE && strcmp(dirname, "secrets") == 0;
}

static bool gfs_include_mentions_resource(const struct gfs_filter *f, const char *dirname)
{
	for (size_t i = 0; i < f->n_include; i++)
		if (gfs_glob(f->include[i].resource, dirname))
			return true;
	return false;
}

bool gfs_filter_resource_wanted(const struct gfs_filter *f, const char *dirname)
{
	if (gfs_include_mentions_resource(f, dirname))
		return true;
	if (gfs_default_resource_excluded(f, dirname))
		return false;
	for (size_t i = 0; i < f->n_exclude; i++) {
		const struct gfs_filter_rule *r = &f->exclude[i];
		if (!r->namespace && !r->name && gfs_glob(r->resource, dirname))
			return false;
	}
	return true;
}

bool gfs_filter_path_wanted(const struct gfs_filter *f, const char *dirname,
			    const char *ns, const char *name)
{
	if (gfs_rules_match(f->include, f->n_include, dirname, ns, name))
		return true;
	if (gfs_default_resource_excluded(f, dirname))
		return false;
	for (size_t i = 0; i < f->n_exclude; i++) {
		const struct gfs_filter_rule *r = &f->exclude[i];
		/* For a whole directory, only rules that exclude every
		 * name in it count. */
		if (!name && r->name && strcmp(r->name, "*") != 0)
			continue;
		if (gfs_glob(r->resource, dirname) && gfs_glob(r->namespace, ns) &&
		    (!name || gfs_glob(r->name, name)))
			return false;
	}
	return true;
}

bool gfs_filter_object_wanted(const struct gfs_filter *f, const char *dirname,
			      const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	return gfs_filter_facts_wanted(
	    f, dirname, json_string_value(json_object_get(md, "namespace")),
	    json_string_value(json_object_get(md, "name")),
	    gfs_json_controller_owned(obj));
}

bool gfs_filter_facts_wanted(const struct gfs_filter *f, const char *dirname,
			     const char *ns, const char *name, bool controller_owned)
{
	if (!name)
		return false;
	if (gfs_rules_match(f->include, f->n_include, dirname, ns, name))
		return true;
	if (!gfs_filter_path_wanted(f, dirname, ns, name))
		return false;
	if (f->no_defaults)
		return true;
	if (controller_owned)
		return false;
	if (strcmp(dirname, "configmaps") == 0 && strcmp(name, "kube-root-ca.crt") == 0)
		return false;
	/* gitopsfs's own key of redacted values: never a file, never in Git. */
	if (strcmp(dirname, "secrets") == 0 && ns &&
	    strcmp(ns, GFS_REDACTION_KEY_NAMESPACE) == 0 &&
	    strcmp(name, GFS_REDACTION_KEY_NAME) == 0)
		return false;
	return true;
}

/* ---- ignore rules ----------------------------------------------------------- */

int gfs_filter_add_ignore(struct gfs_filter *f, const char *resource, const char *ns,
			  const char *name, const char *const *pointers, size_t n)
{
	struct gfs_ignore_rule *grown =
	    realloc(f->ignore, (f->n_ignore + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	f->ignore = grown;
	struct gfs_ignore_rule *r = &grown[f->n_ignore];
	memset(r, 0, sizeof(*r));
	r->match.resource = gfs_strdup(resource);
	r->match.namespace = gfs_strdup(ns);
	r->match.name = gfs_strdup(name);
	r->pointers = calloc(n ? n : 1, sizeof(char *));
	bool ok = r->pointers && (!resource || r->match.resource) &&
		  (!ns || r->match.namespace) && (!name || r->match.name);
	for (size_t i = 0; ok && i < n; i++, r->n_pointers++)
		ok = (r->pointers[i] = strdup(pointers[i])) != NULL;
	f->n_ignore++; /* freed with the filter, even when incomplete */
	return ok ? 0 : -ENOMEM;
}

static void gfs_ignore_rules_free(struct gfs_ignore_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].match.resource);
		free(rules[i].match.namespace);
		free(rules[i].match.name);
		for (size_t k = 0; k < rules[i].n_pointers; k++)
			free(rules[i].pointers[k]);
		free(rules[i].pointers);
	}
	free(rules);
}

/* Decodes one reference token of a pointer ("a~1b" -> "a/b"). */
static void gfs_pointer_token(char *out, size_t outsz, const char *start, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < outsz; i++) {
		if (start[i] == '~' && i + 1 < len &&
		    (start[i + 1] == '0' || start[i + 1] == '1')) {
			out[o++] = start[i + 1] == '0' ? '~' : '/';
			i++;
		} else {
			out[o++] = start[i];
		}
	}
	out[o] = '\0';
}

/* Walks to the parent of the pointer's last token; *last gets that token. */
static json_t *gfs_pointer_parent(const json_t *doc, const char *ptr, char *last,
				  size_t lastsz, bool create)
{
	json_t *cur = (json_t *)doc;
	if (!ptr || ptr[0] != '/')
		return NULL;
	const char *p = ptr + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		gfs_pointer_token(last, lastsz, p, len);
		if (!slash)
			return cur;
		json_t *next = NULL;
		if (json_is_object(cur)) {
			next = json_object_get(cur, last);
			if (!next && create) {
				next = json_object();
				if (json_object_set_new(cur, last, next) < 0)
					return NULL;
			}
		} else if (json_is_array(cur)) {
			next = json_array_get(cur, strtoul(last, NULL, 10));
		}
		if (!next)
			return NULL;
		cur = next;
		p = slash + 1;
	}
}

json_t *gfs_json_pointer_get(const json_t *doc, const char *ptr)
{
	char last[256];
	json_t *parent = gfs_pointer_parent(doc, ptr, last, sizeof(last), false);
	if (json_is_object(parent))
		return json_object_get(parent, last);
	if (json_is_array(parent))
		return json_array_get(parent, strtoul(last, NULL, 10));
	return NULL;
}

int gfs_json_pointer_remove(json_t *doc, const char *ptr)
{
	char last[256];
	json_t *parent = gfs_pointer_parent(doc, ptr, last, sizeof(last), false);
	if (json_is_object(parent))
		return json_object_del(parent, last) == 0 ? 0 : -ENOENT;
	if (json_is_array(parent))
		return json_array_remove(parent, strtoul(last, NULL, 10)) == 0 ? 0
									       : -ENOENT;
	return -ENOENT;
}

int gfs_json_pointer_set(json_t *doc, const char *ptr, json_t *value)
{
	char last[256];
	json_t *parent = gfs_pointer_parent(doc, ptr, last, sizeof(last), true);
	if (json_is_object(parent))
		return json_object_set(parent, last, value) == 0 ? 0 : -ENOMEM;
	if (json_is_array(parent))
		return json_array_set(parent, strtoul(last, NULL, 10), value) == 0
			   ? 0
			   : -ENOENT;
	return -ENOENT;
}

static bool gfs_ignore_matches(const struct gfs_ignore_rule *r, const char *dirname,
			       const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	return gfs_rule_matches(&r->match, dirname,
				json_string_value(json_object_get(md, "namespace")),
				json_string_value(json_object_get(md, "name")));
}

json_t *gfs_filter_ignore_strip(const struct gfs_filter *f, const char *dirname,
				const json_t *obj)
{
	json_t *copy = NULL;
	for (size_t i = 0; i < f->n_ignore; i++) {
		const struct gfs_ignore_rule *r = &f->ignore[i];
		if (!gfs_ignore_matches(r, dirname, obj))
			continue;
		if (!copy && !(copy = json_deep_copy(obj)))
			return NULL;
		for (size_t k = 0; k < r->n_pointers; k++)
			gfs_json_pointer_remove(copy, r->pointers[k]);
	}
	return copy;
}

void gfs_filter_ignore_keep(const struct gfs_filter *f, const char *dirname,
			    json_t *manifest, const json_t *live)
{
	for (size_t i = 0; i < f->n_ignore; i++) {
		const struct gfs_ignore_rule *r = &f->ignore[i];
		if (!gfs_ignore_matches(r, dirname, manifest))
			continue;
		for (size_t k = 0; k < r->n_pointers; k++) {
			json_t *lv =
			    live ? gfs_json_pointer_get(live, r->pointers[k]) : NULL;
			if (lv)
				gfs_json_pointer_set(manifest, r->pointers[k], lv);
			else
				gfs_json_pointer_remove(manifest, r->pointers[k]);
		}
	}
}
