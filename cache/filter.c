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

void gfs_filter_free(struct gfs_filter *f)
{
	if (!f)
		return;
	gfs_filter_rules_free(f->exclude, f->n_exclude);
	gfs_filter_rules_free(f->include, f->n_include);
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

static bool gfs_default_resource_excluded(const struct gfs_filter *f,
					  const char *dirname)
{
	if (f->no_defaults)
		return false;
	for (size_t i = 0; i < GFS_ARRAY_SIZE(default_excluded_resources); i++)
		if (strcmp(default_excluded_resources[i], dirname) == 0)
			return true;
	return f->secrets == GFS_SECRETS_EXCLUDE && strcmp(dirname, "secrets") == 0;
}

static bool gfs_include_mentions_resource(const struct gfs_filter *f,
					  const char *dirname)
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

static bool gfs_owned_by_controller(const json_t *obj)
{
	const json_t *refs = json_object_get(json_object_get(obj, "metadata"),
					     "ownerReferences");
	size_t i;
	const json_t *ref;
	json_array_foreach(refs, i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return true;
	}
	return false;
}

bool gfs_filter_object_wanted(const struct gfs_filter *f, const char *dirname,
			      const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	if (!name)
		return false;
	if (gfs_rules_match(f->include, f->n_include, dirname, ns, name))
		return true;
	if (!gfs_filter_path_wanted(f, dirname, ns, name))
		return false;
	if (f->no_defaults)
		return true;
	if (gfs_owned_by_controller(obj))
		return false;
	if (strcmp(dirname, "configmaps") == 0 && strcmp(name, "kube-root-ca.crt") == 0)
		return false;
	return true;
}
