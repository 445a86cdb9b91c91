/*
 * gfs_filter.h - which resources and objects the mount shows.
 *
 * SPEC section 3 and 7: by default events, endpoints, endpointslices,
 * leases, objects owned by a controller (an ownerReferences entry with
 * controller: true) and the kube-root-ca.crt ConfigMaps are left out; the
 * config's `exclude` rules add to that, its `include` rules take an
 * exclusion back (an object matching an include rule is always shown).
 * Rules match with shell globs (fnmatch) on the resource's dirname
 * ("deployments.apps", "configmaps"), the namespace and the name; a field
 * left out of a rule matches anything.
 *
 * A gfs_filter is immutable once built; it may be read from any thread.
 */
#ifndef GFS_FILTER_H
#define GFS_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gfs_render.h"

struct gfs_filter_rule {
	char *resource;  /* glob or NULL */
	char *namespace; /* glob or NULL */
	char *name;      /* glob or NULL */
};

/* Fields that never show as drift and are never applied (JSON pointers,
 * "/spec/replicas"), for the objects a rule matches. */
struct gfs_ignore_rule {
	struct gfs_filter_rule match;
	char **pointers; /* n_pointers entries */
	size_t n_pointers;
};

struct gfs_filter {
	struct gfs_filter_rule *exclude;
	size_t n_exclude;
	struct gfs_filter_rule *include;
	size_t n_include;
	struct gfs_ignore_rule *ignore;
	size_t n_ignore;
	enum gfs_secrets_mode secrets;
	bool no_defaults; /* tests only: start without the default exclusions */
};

/* A filter with the defaults and no config rules. Caller frees. */
struct gfs_filter *gfs_filter_new_default(void);
void gfs_filter_free(struct gfs_filter *f);
/* Appends a rule (fields copied; NULL = any). Returns 0 or -ENOMEM. */
int gfs_filter_add_rule(struct gfs_filter *f, bool include, const char *resource,
			const char *ns, const char *name);

/* Should this resource be watched at all? False only when every object of
 * it is excluded (a rule naming just the resource) and no include rule
 * could take any back. */
bool gfs_filter_resource_wanted(const struct gfs_filter *f, const char *dirname);

/* Is this path's (dirname, namespace, name) shown? `ns` is NULL for
 * cluster-scoped resources, `name` NULL to ask about the whole directory
 * (true unless a rule excludes every name in it). */
bool gfs_filter_path_wanted(const struct gfs_filter *f, const char *dirname,
			    const char *ns, const char *name);

/* The full per-object decision: path rules plus the object-level defaults
 * (controller-owned objects, kube-root-ca.crt, Secrets in exclude mode). */
bool gfs_filter_object_wanted(const struct gfs_filter *f, const char *dirname,
			      const json_t *obj);
/* The same decision from the object's facts (gfs_object.h): its
 * namespace, name and whether a controller owns it. */
bool gfs_filter_facts_wanted(const struct gfs_filter *f, const char *dirname,
			     const char *ns, const char *name, bool controller_owned);

/* Adds an ignore rule (everything copied). Returns 0 or -ENOMEM. */
int gfs_filter_add_ignore(struct gfs_filter *f, const char *resource, const char *ns,
			  const char *name, const char *const *pointers, size_t n);

/* For rendering: a new object without the ignored fields of obj, or NULL
 * when no ignore rule matches it (render obj as is). */
json_t *gfs_filter_ignore_strip(const struct gfs_filter *f, const char *dirname,
				const json_t *obj);

/* For applying: sets, in manifest, every ignored field to its value in
 * live (or removes it where live has none), so an apply never changes
 * them. Modifies manifest; live may be NULL (a create: fields removed). */
void gfs_filter_ignore_keep(const struct gfs_filter *f, const char *dirname,
			    json_t *manifest, const json_t *live);

/* JSON pointers (RFC 6901): the value at ptr (borrowed) or NULL; remove
 * returns 0 or -ENOENT; set creates missing parent objects. */
json_t *gfs_json_pointer_get(const json_t *doc, const char *ptr);
int gfs_json_pointer_remove(json_t *doc, const char *ptr);
int gfs_json_pointer_set(json_t *doc, const char *ptr, json_t *value);

#endif
