/*
 * test_store_tree.c - the store's directory tree and its answer to "is this
 * path an object file?" (SPEC section 3), fed as the informers feed it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_filter.h"
#include "gfs_path.h"
#include "gfs_store.h"
#include "tap.h"

static struct gfs_resource res(const char *dirname, bool namespaced)
{
	struct gfs_resource r = {.dirname = (char *)dirname, .namespaced = namespaced};
	return r;
}

/* Discovery reports r (want() asked) and, if wanted, its list is loaded. */
static void discover(struct gfs_store *s, const char *dirname, bool namespaced)
{
	struct gfs_resource r = res(dirname, namespaced);
	if (!gfs_store_want_resource(s, &r))
		return;
	gfs_store_informer_ops.list_begin(s, &r, NULL);
	gfs_store_informer_ops.list_end(s, &r, NULL);
}

static void upsert(struct gfs_store *s, const char *dirname, const char *kind,
		   const char *ns, const char *name, const char *time)
{
	struct gfs_resource r = res(dirname, ns != NULL);
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
			      kind, "metadata", "name", name, "creationTimestamp", time);
	if (ns)
		json_object_set_new(json_object_get(o, "metadata"), "namespace",
				    json_string(ns));
	gfs_store_informer_ops.upsert(s, &r, o);
	json_decref(o);
}

static int count_entry(const char *name, const struct gfs_entry_attr *a, void *payload)
{
	(*(int *)payload)++;
	return 0;
}

/* A store with Namespaces shop (one ConfigMap) and empty (no object). */
static struct gfs_store *store_new_at(struct gfs_filter *f, const char *const *namespaces,
				      const char *root)
{
	struct gfs_store *s = NULL;
	struct gfs_store_opts o = {.filter = f, .namespaces = namespaces, .root = root};
	if (gfs_store_new(&s, &o) < 0)
		return NULL;
	discover(s, "namespaces", false);
	discover(s, "configmaps", true);
	discover(s, "storageclasses.storage.k8s.io", false);
	discover(s, "clusterroles.rbac.authorization.k8s.io", false);
	discover(s, "events", true);
	discover(s, "leases.coordination.k8s.io", true);
	upsert(s, "namespaces", "Namespace", NULL, "shop", "2024-01-01T00:00:00Z");
	upsert(s, "namespaces", "Namespace", NULL, "empty", "2024-02-01T00:00:00Z");
	upsert(s, "configmaps", "ConfigMap", "shop", "web", "2024-03-01T00:00:00Z");
	return s;
}

static struct gfs_store *store_new(struct gfs_filter *f, const char *const *namespaces)
{
	return store_new_at(f, namespaces, NULL);
}

static int collect_path(const char *path, const struct gfs_blob *content,
			const struct gfs_entry_attr *attr, void *payload)
{
	char *out = payload;
	strcat(out, path);
	strcat(out, " ");
	return 0;
}

static void check_object_paths(struct gfs_store *s, const char *const *paths, bool want);

/* --path clusters/prod: the same tree one level down, and nothing outside
 * it is an object. */
static void a_root_puts_the_cluster_below_it(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	struct gfs_store *s = store_new_at(f, NULL, "clusters/prod");
	struct gfs_entry_attr a;
	char files[512] = "";
	if (!s)
		return;
	CHECK_STR(gfs_store_root(s), "clusters/prod");
	CHECK_INT(gfs_store_foreach_file(s, collect_path, files), 0);
	CHECK(strstr(files, "clusters/prod/shop/configmaps/web.yaml "));
	CHECK(strstr(files, "clusters/prod/_cluster/namespaces/empty.yaml "));
	CHECK_INT(gfs_store_stat(&a, s, "clusters/prod/shop/configmaps/web.yaml"), 0);
	CHECK_INT(a.ino, gfs_path_ino("clusters/prod/shop/configmaps/web.yaml"));
	CHECK_INT(gfs_store_stat(&a, s, "shop/configmaps/web.yaml"), -ENOENT);
	/* The directories above the cluster, and implied ones below it. */
	CHECK_INT(gfs_store_stat(&a, s, "clusters"), 0);
	CHECK(a.type == GFS_ENTRY_DIR);
	CHECK_INT(gfs_store_stat(&a, s, "clusters/prod/empty/configmaps"), 0);
	CHECK(a.implied);
	CHECK_INT(a.ino, gfs_path_ino("clusters/prod/empty/configmaps"));
	CHECK_INT(gfs_store_stat(&a, s, "empty/configmaps"), -ENOENT);
	int n = 0;
	CHECK_INT(gfs_store_list(s, "", count_entry, &n), 0);
	CHECK_INT(n, 1); /* clusters */
	const char *const objects[] = {
	    "clusters/prod/shop/configmaps/web.yaml",
	    "clusters/prod/newns/configmaps/new.yaml",
	    "clusters/prod/shop/widgets.example.com/w1.yaml",
	    NULL,
	};
	const char *const ordinary[] = {
	    "shop/configmaps/web.yaml",
	    "clusters/staging/shop/configmaps/web.yaml",
	    "clusters/prodx/shop/configmaps/web.yaml",
	    "clusters/shop/configmaps/web.yaml",
	    "clusters/prod/.gitopsfs.yaml",
	    "clusters/prod/README.md",
	    NULL,
	};
	check_object_paths(s, objects, true);
	check_object_paths(s, ordinary, false);
	CHECK(gfs_store_is_managed_path(s, "clusters/prod/shop/configmaps/x.yaml"));
	CHECK(!gfs_store_is_managed_path(s, "shop/configmaps/x.yaml"));
	CHECK_STR(gfs_store_cluster_path(s, "clusters/prod/shop"), "shop");
	CHECK_STR(gfs_store_cluster_path(s, "clusters/prod"), "");
	CHECK(gfs_store_cluster_path(s, "clusters/production/shop") == NULL);
	/* A deletion and a re-list (mark and sweep) find the objects there. */
	struct gfs_resource cm = res("configmaps", true);
	gfs_store_informer_ops.list_begin(s, &cm, NULL);
	gfs_store_informer_ops.list_end(s, &cm, NULL);
	CHECK_INT(gfs_store_stat(&a, s, "clusters/prod/shop/configmaps/web.yaml"),
		  -ENOENT);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void served_resources_are_directories_in_every_namespace(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	struct gfs_store *s = store_new(f, NULL);
	struct gfs_entry_attr a, ns;
	CHECK_INT(gfs_store_stat(&a, s, "shop/configmaps"), 0);
	CHECK(a.type == GFS_ENTRY_DIR && !a.implied);
	/* A namespace without objects, and its resources' directories. */
	CHECK_INT(gfs_store_stat(&ns, s, "_cluster/namespaces/empty.yaml"), 0);
	CHECK_INT(gfs_store_stat(&a, s, "empty"), 0);
	CHECK(a.type == GFS_ENTRY_DIR && a.implied);
	CHECK_INT(gfs_store_stat(&a, s, "empty/configmaps"), 0);
	CHECK(a.type == GFS_ENTRY_DIR && a.implied && a.mode == 0755);
	CHECK_INT(a.mtime_ns, ns.mtime_ns); /* stable: the Namespace's */
	CHECK_INT(gfs_store_stat(&a, s, "_cluster/storageclasses.storage.k8s.io"), 0);
	CHECK(a.implied);
	int n = 0;
	CHECK_INT(gfs_store_list(s, "empty/configmaps", count_entry, &n), 0);
	CHECK_INT(n, 0);
	/* Listings show only directories with objects. */
	n = 0;
	CHECK_INT(gfs_store_list(s, "", count_entry, &n), 0);
	CHECK_INT(n, 2); /* _cluster, shop */
	/* Not directories: excluded or unknown resources, the wrong scope,
	 * namespaces that do not exist, anything deeper. */
	const char *absent[] = {
	    "shop/events",
	    "shop/leases.coordination.k8s.io",
	    "shop/widgets.example.com",
	    "_cluster/configmaps",
	    "shop/namespaces",
	    "nosuch",
	    "nosuch/configmaps",
	    "shop/configmaps/x.yaml",
	    "shop/configmaps/sub",
	    "_cluster/namespaces/sub",
	};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		if (gfs_store_stat(&a, s, absent[i]) == 0) {
			printf("#   found %s\n", absent[i]);
			tap_case_failed = 1;
		}
	}
	/* The first object keeps the directory's inode. */
	CHECK_INT(gfs_store_stat(&a, s, "empty/configmaps"), 0);
	uint64_t ino = a.ino;
	upsert(s, "configmaps", "ConfigMap", "empty", "first", "2024-04-01T00:00:00Z");
	CHECK_INT(gfs_store_stat(&a, s, "empty/configmaps"), 0);
	CHECK(!a.implied);
	CHECK_INT(a.ino, ino);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void check_object_paths(struct gfs_store *s, const char *const *paths, bool want)
{
	for (size_t i = 0; paths[i]; i++) {
		if (gfs_store_is_object_path(s, paths[i]) != want) {
			printf("#   %s: expected %s\n", paths[i],
			       want ? "an object path" : "an ordinary file");
			tap_case_failed = 1;
		}
	}
}

static void object_paths_include_resources_not_served_yet(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	struct gfs_store *s = store_new(f, NULL);
	const char *const objects[] = {
	    "shop/configmaps/web.yaml",
	    "empty/configmaps/new.yaml",
	    "newns/configmaps/new.yaml", /* a namespace the same checkout creates */
	    "shop/widgets.example.com/w1.yaml",
	    "_cluster/widgets.example.com/w1.yaml",
	    NULL,
	};
	const char *const ordinary[] = {
	    "README.md",
	    ".gitopsfs.yaml",
	    "shop/configmaps/.new.yaml.swp",
	    "shop/configmaps/4913",
	    "shop/configmaps/new.yaml~",
	    "shop/events/e1.yaml",                     /* excluded */
	    "shop/leases.coordination.k8s.io/l1.yaml", /* served, excluded */
	    "_cluster/configmaps/x.yaml",              /* the wrong scope */
	    "shop/clusterroles.rbac.authorization.k8s.io/x.yaml",
	    "docs/guide/intro.yaml",            /* no CRD's name */
	    "Shop/widgets.example.com/w1.yaml", /* no namespace's */
	    "shop/widgets.example.com/sub/w1.yaml",
	    NULL,
	};
	check_object_paths(s, objects, true);
	check_object_paths(s, ordinary, false);
	CHECK(!gfs_store_is_managed_path(s, "shop/widgets.example.com/w1.yaml"));

	/* Discovered, not listed yet: still an object path. A deleted CRD
	 * leaves it one (not served again); a config rule excluding it
	 * makes it an ordinary file. */
	struct gfs_resource w = res("widgets.example.com", true);
	CHECK(gfs_store_want_resource(s, &w));
	CHECK(gfs_store_is_object_path(s, "shop/widgets.example.com/w1.yaml"));
	CHECK(!gfs_store_is_object_path(s, "_cluster/widgets.example.com/w1.yaml"));
	gfs_store_informer_ops.list_begin(s, &w, NULL);
	CHECK(gfs_store_is_managed_path(s, "shop/widgets.example.com/w1.yaml"));
	struct gfs_entry_attr a;
	CHECK_INT(gfs_store_stat(&a, s, "empty/widgets.example.com"), 0);
	gfs_store_informer_ops.resource_gone(s, &w);
	CHECK(gfs_store_is_object_path(s, "_cluster/widgets.example.com/w1.yaml"));
	CHECK_INT(gfs_store_stat(&a, s, "empty/widgets.example.com"), -ENOENT);
	struct gfs_filter *g = gfs_filter_new_default();
	CHECK_INT(gfs_filter_add_rule(g, false, "widgets.example.com", NULL, NULL), 0);
	CHECK_INT(gfs_store_set_filter(s, g), 0);
	CHECK(!gfs_store_is_object_path(s, "shop/widgets.example.com/w1.yaml"));
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void namespaces_outside_the_filter_are_ordinary(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	const char *const namespaces[] = {"shop", NULL};
	struct gfs_store *s = store_new(f, namespaces);
	const char *const objects[] = {
	    "shop/configmaps/web.yaml",
	    "shop/widgets.example.com/w1.yaml",
	    NULL,
	};
	const char *const ordinary[] = {
	    "empty/configmaps/new.yaml",
	    "other/widgets.example.com/w1.yaml",
	    "_cluster/widgets.example.com/w1.yaml",
	    "_cluster/namespaces/shop.yaml",
	    /* served, cluster-scoped: want() heard of it, though refused */
	    "shop/clusterroles.rbac.authorization.k8s.io/x.yaml",
	    NULL,
	};
	check_object_paths(s, objects, true);
	check_object_paths(s, ordinary, false);
	struct gfs_entry_attr a;
	CHECK_INT(gfs_store_stat(&a, s, "shop/configmaps"), 0);
	CHECK_INT(gfs_store_stat(&a, s, "empty"), -ENOENT);
	CHECK_INT(gfs_store_stat(&a, s, "_cluster/storageclasses.storage.k8s.io"),
		  -ENOENT);
	gfs_store_free(s);
	gfs_filter_free(f);
}

int main(void)
{
	TAP_RUN(served_resources_are_directories_in_every_namespace);
	TAP_RUN(a_root_puts_the_cluster_below_it);
	TAP_RUN(object_paths_include_resources_not_served_yet);
	TAP_RUN(namespaces_outside_the_filter_are_ordinary);
	return tap_done();
}
