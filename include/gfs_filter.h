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

struct gfs_filter {
	struct gfs_filter_rule *exclude;
	size_t n_exclude;
	struct gfs_filter_rule *include;
	size_t n_include;
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

#endif
