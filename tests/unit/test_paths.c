/*
 * test_paths.c - the file layout (SPEC section 3) and the filter rules.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "gfs_filter.h"
#include "gfs_path.h"
#include "tap.h"

static void parses_namespaced_object_paths(void)
{
	struct gfs_path_parts p;
	CHECK_INT(gfs_path_parse(&p, "default/deployments.apps/web.yaml"), 0);
	CHECK_STR(p.ns, "default");
	CHECK_STR(p.dirname, "deployments.apps");
	CHECK_STR(p.name, "web");
}

static void parses_cluster_scoped_paths(void)
{
	struct gfs_path_parts p;
	CHECK_INT(gfs_path_parse(&p, "_cluster/clusterroles.rbac.authorization.k8s.io/"
				     "system:aggregate-to-view.yaml"),
		  0);
	CHECK(p.ns == NULL);
	CHECK_STR(p.dirname, "clusterroles.rbac.authorization.k8s.io");
	CHECK_STR(p.name, "system:aggregate-to-view");
}

static void rejects_paths_that_are_not_objects(void)
{
	struct gfs_path_parts p;
	const char *bad[] = {
	    "README.md",
	    "default/configmaps",
	    "default/configmaps/app.yml",
	    "default/configmaps/.app.yaml.swp",
	    "default/configmaps/.yaml",
	    "default/configmaps/sub/app.yaml",
	    ".git/configmaps/x.yaml",
	    "default/.hidden/x.yaml",
	    "default/configmaps/4913",
	    "default/configmaps/app.yaml~",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gfs_path_parse(&p, bad[i]) == 0) {
			printf("#   accepted %s\n", bad[i]);
			tap_case_failed = 1;
		}
	}
}

static void formats_paths_both_ways(void)
{
	char out[GFS_PATH_MAX];
	CHECK_INT(gfs_path_format(out, sizeof(out), "shop", "widgets.example.com", "w1"),
		  0);
	CHECK_STR(out, "shop/widgets.example.com/w1.yaml");
	CHECK_INT(gfs_path_format(out, sizeof(out), NULL, "namespaces", "default"), 0);
	CHECK_STR(out, "_cluster/namespaces/default.yaml");
	CHECK_INT(gfs_path_format(out, 10, NULL, "namespaces", "default"), -ENAMETOOLONG);
}

static void tells_names_a_crd_could_have(void)
{
	CHECK(gfs_path_crd_dirname("widgets.example.com"));
	CHECK(gfs_path_crd_dirname("alertrules.monitoring.example.com"));
	CHECK(gfs_path_crd_dirname("leases.coordination.k8s.io"));
	const char *no[] = {
	    "configmaps",       /* the core group: always served */
	    "deployments.apps", /* a group without a dot: no CRD's */
	    "guide",
	    "v1.2",
	    "Widgets.example.com",
	    "widgets..example.com",
	    "widgets.example.com.",
	    "-w.example.com",
	    ".example.com",
	    "widgets.exa_mple.com",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (gfs_path_crd_dirname(no[i])) {
			printf("#   accepted %s\n", no[i]);
			tap_case_failed = 1;
		}
	}
	CHECK(gfs_path_label_valid("kube-system"));
	CHECK(!gfs_path_label_valid("_cluster"));
	CHECK(!gfs_path_label_valid("Shop"));
	CHECK(!gfs_path_label_valid("a.b"));
	CHECK(!gfs_path_label_valid("-a"));
}

static json_t *object(const char *ns, const char *name, bool owned)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Thing",
			      "metadata", "name", name);
	if (ns)
		json_object_set_new(json_object_get(o, "metadata"), "namespace",
				    json_string(ns));
	if (owned)
		json_object_set_new(json_object_get(o, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:b}]", "kind", "ReplicaSet",
					      "name", "web-1", "controller", 1));
	return o;
}

static void default_exclusions(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	CHECK(!gfs_filter_resource_wanted(f, "events"));
	CHECK(!gfs_filter_resource_wanted(f, "endpoints"));
	CHECK(!gfs_filter_resource_wanted(f, "endpointslices.discovery.k8s.io"));
	CHECK(!gfs_filter_resource_wanted(f, "leases.coordination.k8s.io"));
	CHECK(gfs_filter_resource_wanted(f, "configmaps"));
	CHECK(gfs_filter_resource_wanted(f, "pods"));

	json_t *pod = object("default", "web-1-abcde", true);
	json_t *bare_pod = object("default", "debug", false);
	json_t *ca = object("default", "kube-root-ca.crt", false);
	CHECK(!gfs_filter_object_wanted(f, "pods", pod));
	CHECK(gfs_filter_object_wanted(f, "pods", bare_pod));
	CHECK(!gfs_filter_object_wanted(f, "configmaps", ca));
	CHECK(gfs_filter_object_wanted(f, "secrets", ca)); /* only the ConfigMap */
	json_decref(pod);
	json_decref(bare_pod);
	json_decref(ca);
	gfs_filter_free(f);
}

static void config_rules_exclude_and_include(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	CHECK_INT(gfs_filter_add_rule(f, false, "configmaps", "kube-system", NULL), 0);
	CHECK_INT(gfs_filter_add_rule(f, false, "widgets.example.com", NULL, "scratch-*"),
		  0);
	CHECK_INT(gfs_filter_add_rule(f, true, "endpoints", NULL, NULL), 0);

	CHECK(gfs_filter_resource_wanted(f, "endpoints"));
	CHECK(gfs_filter_resource_wanted(f, "configmaps"));
	CHECK(!gfs_filter_path_wanted(f, "configmaps", "kube-system", NULL));
	CHECK(gfs_filter_path_wanted(f, "configmaps", "default", NULL));
	CHECK(gfs_filter_path_wanted(f, "widgets.example.com", "shop", NULL));
	CHECK(!gfs_filter_path_wanted(f, "widgets.example.com", "shop", "scratch-1"));
	CHECK(gfs_filter_path_wanted(f, "widgets.example.com", "shop", "w1"));
	gfs_filter_free(f);
}

static void secrets_exclude_mode_drops_secrets(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	f->secrets = GFS_SECRETS_EXCLUDE;
	CHECK(!gfs_filter_resource_wanted(f, "secrets"));
	f->secrets = GFS_SECRETS_REDACT;
	CHECK(gfs_filter_resource_wanted(f, "secrets"));
	gfs_filter_free(f);
}

int main(void)
{
	TAP_RUN(parses_namespaced_object_paths);
	TAP_RUN(parses_cluster_scoped_paths);
	TAP_RUN(rejects_paths_that_are_not_objects);
	TAP_RUN(formats_paths_both_ways);
	TAP_RUN(tells_names_a_crd_could_have);
	TAP_RUN(default_exclusions);
	TAP_RUN(config_rules_exclude_and_include);
	TAP_RUN(secrets_exclude_mode_drops_secrets);
	return tap_done();
}
