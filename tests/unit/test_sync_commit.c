/*
 * test_sync_commit.c - the commit round of the sync thread in process: a
 * store fed by hand (as the informers would) and a bare repository made
 * here. The first round commits every live object; changes become one
 * commit per manager that made them (oldest first), authored by it and
 * naming each object; a round without changes, or with only a status
 * change, commits nothing.
 */
#include <errno.h>
#include <git2.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sync/sync_internal.h"
#include "gfs_filter.h"
#include "gfs_store.h"
#include "tap.h"
#include "testproc.h"

static struct gfs_resource cm = {.group = "",
				 .version = "v1",
				 .resource = "configmaps",
				 .kind = "ConfigMap",
				 .namespaced = true,
				 .dirname = "configmaps",
				 .api_path = "/api/v1"};

static struct gfs_filter *filter;
static struct gfs_store *store;
static struct gfs_sync *sync_;
static git_repository *repo; /* the test's own handle on the same repository */

/* A ConfigMap as the API server sends it, last changed by `manager` at
 * 2026-11-26T<hour>:00:00Z. */
static json_t *cm_obj(const char *name, const char *rv, const char *value,
		      const char *manager, int hour)
{
	char when[32];
	snprintf(when, sizeof(when), "2026-11-26T%02d:00:00Z", hour);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}, "
			 "s:{s:s}}",
			 "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
			 name, "namespace", "shop", "resourceVersion", rv, "uid", name,
			 "managedFields", "manager", manager, "operation", "Update",
			 "time", when, "data", "v", value);
}

static void upsert(const char *name, const char *rv, const char *value,
		   const char *manager, int hour)
{
	json_t *o = cm_obj(name, rv, value, manager, hour);
	gfs_store_informer_ops.upsert(store, &cm, o);
	json_decref(o);
}

static void remove_cm(const char *name, const char *rv)
{
	json_t *o = cm_obj(name, rv, "", "kubectl-delete", 0);
	gfs_store_informer_ops.remove(store, &cm, o);
	json_decref(o);
}

/* The branch's commit (a new reference), or NULL when it has none. */
static git_commit *branch_head(void)
{
	git_oid id;
	git_commit *c = NULL;
	if (git_reference_name_to_id(&id, repo, "refs/heads/main") < 0 ||
	    git_commit_lookup(&c, repo, &id) < 0)
		return NULL;
	return c;
}

/* The first parent of c (a new reference), or NULL. */
static git_commit *parent_of(const git_commit *c)
{
	git_commit *p = NULL;
	if (!c || git_commit_parent(&p, c, 0) < 0)
		return NULL;
	return p;
}

static bool authored_by(const git_commit *c, const char *name)
{
	return c && strcmp(git_commit_author(c)->name, name) == 0;
}

/* The bytes of path in commit c, or NULL (a new string). */
static char *committed(git_commit *c, const char *path)
{
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	char *out = NULL;
	if (c && git_commit_tree(&t, c) == 0 && git_tree_entry_bypath(&e, t, path) == 0 &&
	    git_blob_lookup(&b, repo, git_tree_entry_id(e)) == 0)
		out = strndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(t);
	return out;
}

/* Does path hold in commit c exactly what the store shows? */
static bool committed_as_shown(git_commit *c, const char *path)
{
	struct gfs_blob *b = NULL;
	char *text = committed(c, path);
	bool same = text && gfs_store_read(&b, NULL, store, path) == 0 &&
		    strcmp(text, b->data) == 0;
	gfs_blob_unref(b);
	free(text);
	return same;
}

static void the_first_round_commits_every_live_object(void)
{
	CHECK(branch_head() == NULL);
	CHECK_INT(gfs_sync_commit_round(sync_, true), 0);
	git_commit *c = branch_head(), *first = parent_of(c);
	CHECK(c != NULL && first != NULL);
	if (!c || !first)
		return;
	/* helm changed b an hour before kubectl-edit changed a. */
	CHECK(authored_by(first, "helm"));
	CHECK_INT(git_commit_parentcount(first), 0);
	CHECK(
	    strstr(git_commit_message(first), "helm: 1 object changed in the cluster") ==
	    git_commit_message(first));
	CHECK(strstr(git_commit_message(first),
		     " A shop/configmaps/b.yaml  by helm "
		     "(Update), 2026-11-26T04:00:00Z\n") != NULL);
	CHECK(authored_by(c, "kubectl-edit"));
	CHECK(strstr(git_commit_message(c), " A shop/configmaps/a.yaml  by kubectl-edit "
					    "(Update), 2026-11-26T05:00:00Z\n") != NULL);
	CHECK_INT(git_commit_author(c)->when.time, 1795669200); /* 05:00 that day */
	CHECK(committed_as_shown(c, "shop/configmaps/a.yaml"));
	CHECK(committed_as_shown(c, "shop/configmaps/b.yaml"));
	struct gfs_sync_status st;
	gfs_sync_get_status(&st, sync_);
	CHECK(st.commits > 0);
	CHECK_STR(st.last_error, "");
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	CHECK_STR(st.last_commit, hex);
	git_commit_free(c);
	git_commit_free(first);
}

static void changes_become_one_commit_per_manager_on_top(void)
{
	git_commit *before = branch_head();
	upsert("a", "20", "changed", "kubectl-edit", 6);
	upsert("c", "21", "new", "kubectl-edit", 7);
	remove_cm("b", "22"); /* a deletion names no manager: it comes last, now */
	CHECK_INT(gfs_sync_commit_round(sync_, false), 0);
	git_commit *c = branch_head(), *edit = parent_of(c);
	CHECK(c && edit && before);
	if (c && edit && before) {
		CHECK(
		    git_oid_equal(git_commit_parent_id(edit, 0), git_commit_id(before)));
		CHECK(authored_by(edit, "kubectl-edit"));
		const char *msg = git_commit_message(edit);
		CHECK(strstr(msg, "kubectl-edit: 2 objects changed in the cluster") ==
		      msg);
		CHECK(strstr(msg, " M shop/configmaps/a.yaml  by kubectl-edit") != NULL);
		CHECK(strstr(msg, " A shop/configmaps/c.yaml  by kubectl-edit") != NULL);
		CHECK(authored_by(c, "deleted-in-cluster"));
		CHECK(strstr(git_commit_message(c), " D shop/configmaps/b.yaml\n") !=
		      NULL);
		CHECK(committed_as_shown(c, "shop/configmaps/a.yaml"));
		char *gone = committed(c, "shop/configmaps/b.yaml");
		CHECK(gone == NULL);
		free(gone);
	}
	git_commit_free(c);
	git_commit_free(edit);
	git_commit_free(before);
}

static void a_round_without_changes_commits_nothing(void)
{
	git_commit *before = branch_head();
	CHECK_INT(gfs_sync_commit_round(sync_, false), 0);
	/* A status-only update renders the same bytes: no change event. */
	json_t *o = cm_obj("a", "30", "changed", "kubectl-edit", 6);
	json_object_set_new(o, "status", json_pack("{s:s}", "phase", "x"));
	gfs_store_informer_ops.upsert(store, &cm, o);
	json_decref(o);
	CHECK_INT(gfs_sync_commit_round(sync_, false), 0);
	/* A full round over a tree that matches the cluster finds nothing. */
	CHECK_INT(gfs_sync_commit_round(sync_, true), 0);
	git_commit *c = branch_head();
	CHECK(c && before && git_oid_equal(git_commit_id(c), git_commit_id(before)));
	struct gfs_sync_status st;
	gfs_sync_get_status(&st, sync_);
	char hex[GIT_OID_HEXSZ + 1] = "";
	if (c)
		git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	CHECK_STR(st.last_commit, hex); /* still the last one made */
	git_commit_free(c);
	git_commit_free(before);
}

static void a_change_made_while_down_is_committed_by_the_full_round(void)
{
	/* The store changes without the sync thread hearing of it (as when
	 * gitopsfs was not running): only a full round can find it. */
	struct gfs_map *lost = NULL;
	upsert("d", "40", "new while down", "kubectl-create", 8);
	lost = gfs_sync_take_changes(sync_);
	gfs_sync_paths_free(lost);
	git_commit *before = branch_head();
	CHECK_INT(gfs_sync_commit_round(sync_, false), 0);
	git_commit *same = branch_head();
	CHECK(same && before &&
	      git_oid_equal(git_commit_id(same), git_commit_id(before)));
	CHECK_INT(gfs_sync_commit_round(sync_, true), 0);
	git_commit *c = branch_head();
	CHECK(c && committed_as_shown(c, "shop/configmaps/d.yaml"));
	CHECK(authored_by(c, "kubectl-create"));
	CHECK(c && strstr(git_commit_message(c), " A shop/configmaps/d.yaml  by "
						 "kubectl-create") != NULL);
	git_commit_free(c);
	git_commit_free(same);
	git_commit_free(before);
}

static int setup(void)
{
	struct gfs_store_opts so = {0};
	int rc = 0;
	snprintf(testproc_dir, sizeof(testproc_dir), "/tmp/gfs-test-sync.XXXXXX");
	if (!mkdtemp(testproc_dir))
		return -errno;
	gfs_global_git_init();
	if (git_repository_init(&repo, dir_path("repo.git"), 1) < 0)
		return -EIO;
	so.filter = filter = gfs_filter_new_default();
	if (!filter || gfs_store_new(&store, &so) < 0)
		return -ENOMEM;
	struct gfs_sync_opts o = {.direction = GFS_SYNC_COMMIT,
				  .gitdir = dir_path("repo.git"),
				  .state_dir = testproc_dir,
				  .branch = "main",
				  .store = store};
	/* Not made ready: its thread waits, and the test runs the rounds. */
	rc = gfs_sync_new(&sync_, &o);
	if (rc < 0)
		return rc;
	gfs_store_informer_ops.list_begin(store, &cm, NULL);
	upsert("a", "10", "one", "kubectl-edit", 5);
	upsert("b", "11", "two", "helm", 4);
	gfs_store_informer_ops.list_end(store, &cm, NULL);
	return 0;
}

int main(void)
{
	int rc = setup();
	if (rc < 0) {
		printf("not ok 1 - set-up: %s\n1..1\n", gfs_error_last());
		return 1;
	}
	TAP_RUN(the_first_round_commits_every_live_object);
	TAP_RUN(changes_become_one_commit_per_manager_on_top);
	TAP_RUN(a_round_without_changes_commits_nothing);
	TAP_RUN(a_change_made_while_down_is_committed_by_the_full_round);
	gfs_sync_free(sync_);
	gfs_store_free(store);
	gfs_filter_free(filter);
	git_repository_free(repo);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testproc_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", testproc_dir);
	return tap_done();
}
