/*
 * test_desired.c - the desired state of `gitopsfs diff` (a directory or
 * a branch's tree, below --path) and its unified diff against the store,
 * and the --path check.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_desired.h"
#include "gfs_filter.h"
#include "gfs_path.h"
#include "gfs_store.h"
#include "tap.h"

static char scratch[] = "/tmp/gfs-test-desired.XXXXXX";

static struct gfs_resource cm = {.group = "",
				 .version = "v1",
				 .resource = "configmaps",
				 .kind = "ConfigMap",
				 .namespaced = true,
				 .dirname = "configmaps",
				 .api_path = "/api/v1"};

static void put_file(const char *rel, const char *text)
{
	char path[1024], dir[1024];
	snprintf(path, sizeof(path), "%s/%s", scratch, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	gfs_mkdir_p(dir, 0755);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void upsert(struct gfs_store *s, const char *name, const char *value)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s}}", "apiVersion", "v1",
		      "kind", "ConfigMap", "metadata", "name", name, "namespace", "shop",
		      "resourceVersion", "5", "uid", name, "data", "v", value);
	gfs_store_informer_ops.upsert(s, &cm, o);
	json_decref(o);
}

/* The diff of `source` (below subdir) against the store, as text. */
static char *diff_text(struct gfs_store *s, const char *source, const char *subdir,
		       size_t *differ, int *rc)
{
	struct gfs_desired *d = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	*rc = gfs_desired_open(&d, source, NULL, subdir);
	if (*rc == 0)
		*rc = gfs_desired_diff(out, differ, d, s);
	fclose(out);
	gfs_desired_free(d);
	return text;
}

static void a_directory_lists_its_files_sorted_without_git_or_links(void)
{
	char path[1024];
	struct gfs_desired *d = NULL;
	put_file("dir/b/x.yaml", "b");
	put_file("dir/a.yaml", "a");
	put_file("dir/.git/HEAD", "ref: x");
	snprintf(path, sizeof(path), "%s/dir/link.yaml", scratch);
	CHECK_INT(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/dir", scratch);
	CHECK_INT(gfs_desired_open(&d, path, NULL, NULL), 0);
	if (!d)
		return;
	CHECK_INT(gfs_desired_count(d), 2);
	CHECK_STR(gfs_desired_path(d, 0), "a.yaml");
	CHECK_STR(gfs_desired_path(d, 1), "b/x.yaml");
	struct gfs_buf b = GFS_BUF_INIT(1);
	CHECK_INT(gfs_desired_read(d, "b/x.yaml", &b), 0);
	CHECK_STR(b.data, "b");
	CHECK_INT(gfs_desired_read(d, "link.yaml", &b), -ENOENT);
	put_file("dir/a.yaml", "too long");
	CHECK_INT(gfs_desired_read(d, "a.yaml", &b), -EFBIG);
	gfs_buf_release(&b);
	gfs_desired_free(d);
}

static void a_subdir_is_the_root_and_a_missing_one_is_empty(void)
{
	char path[1024];
	struct gfs_desired *d = NULL;
	put_file("two/clusters/a/shop/configmaps/x.yaml", "x");
	put_file("two/README.md", "r");
	snprintf(path, sizeof(path), "%s/two", scratch);
	CHECK_INT(gfs_desired_open(&d, path, NULL, "clusters/a"), 0);
	if (d) {
		CHECK(gfs_desired_has_subdir(d));
		CHECK_INT(gfs_desired_count(d), 1);
		CHECK_STR(gfs_desired_path(d, 0), "shop/configmaps/x.yaml");
	}
	gfs_desired_free(d);
	CHECK_INT(gfs_desired_open(&d, path, NULL, "clusters/b"), 0);
	if (d) {
		CHECK(!gfs_desired_has_subdir(d));
		CHECK_INT(gfs_desired_count(d), 0);
	}
	gfs_desired_free(d);
}

static void a_branch_tree_is_read_from_the_commit_not_the_work_tree(void)
{
	char path[1024], cmd[2048];
	struct gfs_desired *d = NULL;
	put_file("repo/k/shop/configmaps/x.yaml", "committed");
	snprintf(path, sizeof(path), "%s/repo", scratch);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && git init -q -b main . && git add -A && "
		 "git -c user.name=t -c user.email=t@t commit -qm one && "
		 "git branch other && echo changed > k/shop/configmaps/x.yaml",
		 path);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(gfs_desired_open(&d, path, "other", "k"), 0);
	if (d) {
		struct gfs_buf b = GFS_BUF_INIT(100);
		CHECK_INT(gfs_desired_read(d, "shop/configmaps/x.yaml", &b), 0);
		CHECK_STR(b.data, "committed");
		CHECK(strstr(gfs_desired_describe(d), "branch other of"));
		gfs_buf_release(&b);
	}
	gfs_desired_free(d);
	CHECK_INT(gfs_desired_open(&d, path, "nope", NULL), -ENOENT);
	CHECK(strstr(gfs_error_last(), "has no branch nope"));
}

static void the_diff_shows_changed_missing_and_new_files(void)
{
	struct gfs_filter *f = gfs_filter_new_default();
	struct gfs_store_opts o = {.filter = f};
	struct gfs_store *s = NULL;
	char path[1024];
	size_t differ = 99;
	int rc;
	CHECK_INT(gfs_store_new(&s, &o), 0);
	if (!s)
		return;
	/* As discovery reports it: only-git.yaml is then an object path. */
	CHECK(gfs_store_want_resource(s, &cm));
	upsert(s, "same", "1");
	upsert(s, "changed", "live");
	upsert(s, "only-live", "x");
	/* Sparse, unsorted manifests: rendered before comparing. */
	put_file("cl/x/shop/configmaps/same.yaml",
		 "kind: ConfigMap\napiVersion: v1\ndata: {v: \"1\"}\n");
	put_file("cl/x/shop/configmaps/changed.yaml",
		 "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: git\n");
	put_file("cl/x/shop/configmaps/only-git.yaml",
		 "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: g\n");
	put_file("cl/x/README.md", "not an object\n");
	snprintf(path, sizeof(path), "%s/cl", scratch);
	char *text = diff_text(s, path, "x", &differ, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(differ, 3);
	CHECK_STR(text, "diff --git a/x/shop/configmaps/changed.yaml "
			"b/x/shop/configmaps/changed.yaml\n"
			"index 96d9b37..d985ea3 100644\n"
			"--- a/x/shop/configmaps/changed.yaml\n"
			"+++ b/x/shop/configmaps/changed.yaml\n"
			"@@ -1,6 +1,6 @@\n"
			" apiVersion: v1\n"
			" data:\n"
			"-  v: git\n"
			"+  v: live\n"
			" kind: ConfigMap\n"
			" metadata:\n"
			"   name: changed\n"
			"diff --git a/x/shop/configmaps/only-git.yaml "
			"b/x/shop/configmaps/only-git.yaml\n"
			"deleted file mode 100644\n"
			"index ab5f641..0000000\n"
			"--- a/x/shop/configmaps/only-git.yaml\n"
			"+++ /dev/null\n"
			"@@ -1,7 +0,0 @@\n"
			"-apiVersion: v1\n"
			"-data:\n"
			"-  v: g\n"
			"-kind: ConfigMap\n"
			"-metadata:\n"
			"-  name: only-git\n"
			"-  namespace: shop\n"
			"diff --git a/x/shop/configmaps/only-live.yaml "
			"b/x/shop/configmaps/only-live.yaml\n"
			"new file mode 100644\n"
			"index 0000000..7ad245a\n"
			"--- /dev/null\n"
			"+++ b/x/shop/configmaps/only-live.yaml\n"
			"@@ -0,0 +1,7 @@\n"
			"+apiVersion: v1\n"
			"+data:\n"
			"+  v: x\n"
			"+kind: ConfigMap\n"
			"+metadata:\n"
			"+  name: only-live\n"
			"+  namespace: shop\n");
	free(text);
	/* Once Git matches, nothing at all. */
	put_file("cl/x/shop/configmaps/changed.yaml",
		 "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: live\n");
	put_file("cl/x/shop/configmaps/only-live.yaml",
		 "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: x\n");
	snprintf(path, sizeof(path), "%s/cl/x/shop/configmaps/only-git.yaml", scratch);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cl", scratch);
	text = diff_text(s, path, "x", &differ, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(differ, 0);
	CHECK_STR(text, "");
	free(text);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void path_option_is_relative_and_stays_inside(void)
{
	char out[512];
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "clusters//prod/"), 0);
	CHECK_STR(out, "clusters/prod");
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "./a/./b"), 0);
	CHECK_STR(out, "a/b");
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "."), 0);
	CHECK_STR(out, "");
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "/etc"), -EINVAL);
	CHECK(strstr(gfs_error_last(), "relative"));
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "a/../../b"), -EINVAL);
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "a/.git/b"), -EINVAL);
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), ".gitopsfs"), -EINVAL);
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), "a/..b/.github"), 0);
	CHECK_STR(out, "a/..b/.github");
	char longer[600];
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	CHECK_INT(gfs_path_subdir_check(out, sizeof(out), longer), -ENAMETOOLONG);
}

int main(void)
{
	if (!mkdtemp(scratch))
		return 1;
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	TAP_RUN(a_directory_lists_its_files_sorted_without_git_or_links);
	TAP_RUN(a_subdir_is_the_root_and_a_missing_one_is_empty);
	TAP_RUN(a_branch_tree_is_read_from_the_commit_not_the_work_tree);
	TAP_RUN(the_diff_shows_changed_missing_and_new_files);
	TAP_RUN(path_option_is_relative_and_stays_inside);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
