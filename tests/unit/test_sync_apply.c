/*
 * test_sync_apply.c - the apply round of the sync thread in process: an
 * upstream repository the test commits to, the sync thread's own bare
 * repository with it as origin, and the cluster side wired as the agent
 * wires it (testcluster.h) against the emulated API server. A new commit
 * is applied, Namespaces first; drift is put back, or with heal off only
 * reported; an object gitopsfs applied and Git no longer has is pruned; a
 * refused manifest is alerted once and recovers when Git is fixed.
 */
#include <errno.h>
#include <git2.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sync/sync_internal.h"
#include "gfs_alert.h"
#include "tap.h"
#include "testcluster.h"

#define TOKEN    "emu-token-5a9c"
#define GRACE_MS 200
#define APP      "prod/configmaps/app.yaml"
#define APP_URL  "/api/v1/namespaces/prod/configmaps/app"
#define BAD      "prod/configmaps/bad.yaml"

static struct testcluster tc;
static struct gfs_alerter *alerter;
static struct gfs_sync *sync_;
static git_repository *upstream;

static const char *const ns_prod = "apiVersion: v1\nkind: Namespace\nmetadata:\n"
				   "  name: prod\n";
static const char *const app_v1 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
				  "  name: app\n  namespace: prod\ndata:\n  k: v1\n";

/* ---- the upstream repository ---------------------------------------------------- */

/* Commits exactly these files (path, text, path, text, ..., NULL) on
 * upstream's main, on top of what it had. */
static int commit_upstream(const char *first, ...)
{
	git_index *index = NULL;
	git_oid tree_id, commit_id, parent_id;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	va_list ap;
	int rc = git_index_new(&index);
	va_start(ap, first);
	for (const char *path = first; rc == 0 && path; path = va_arg(ap, const char *)) {
		const char *text = va_arg(ap, const char *);
		git_index_entry e;
		memset(&e, 0, sizeof(e));
		e.path = path;
		e.mode = GIT_FILEMODE_BLOB;
		rc = git_blob_create_from_buffer(&e.id, upstream, text, strlen(text));
		if (rc == 0)
			rc = git_index_add(index, &e);
	}
	va_end(ap);
	if (rc == 0)
		rc = git_index_write_tree_to(&tree_id, index, upstream);
	if (rc == 0)
		rc = git_tree_lookup(&tree, upstream, &tree_id);
	if (rc == 0 &&
	    git_reference_name_to_id(&parent_id, upstream, "refs/heads/main") == 0)
		rc = git_commit_lookup(&parent, upstream, &parent_id);
	if (rc == 0)
		rc = git_signature_now(&sig, "test", "test@localhost");
	const git_commit *parents[] = {parent};
	if (rc == 0)
		rc =
		    git_commit_create(&commit_id, upstream, "refs/heads/main", sig, sig,
				      NULL, "test commit", tree, parent ? 1 : 0, parents);
	git_signature_free(sig);
	git_commit_free(parent);
	git_tree_free(tree);
	git_index_free(index);
	return rc;
}

/* ---- the cluster ------------------------------------------------------------------ */

static const char *data_k(char *out, size_t outsz)
{
	json_t *o = NULL;
	out[0] = '\0';
	const char *v = NULL;
	if (testcluster_req(&tc, &o, "GET", APP_URL, NULL) == 0)
		v = json_string_value(json_object_get(json_object_get(o, "data"), "k"));
	snprintf(out, outsz, "%s", v ? v : "");
	json_decref(o);
	return out;
}

/* Someone changes data.k in the cluster; returns once the store shows it. */
static bool drift(const char *value)
{
	json_t *o = NULL;
	struct gfs_entry_attr before, now;
	if (gfs_store_stat(&before, tc.store, APP) < 0 ||
	    testcluster_req(&tc, &o, "GET", APP_URL, NULL) < 0)
		return false;
	json_object_set_new(json_object_get(o, "data"), "k", json_string(value));
	char *body = json_dumps(o, JSON_COMPACT);
	int rc = testcluster_req(&tc, NULL, "PUT", APP_URL, body);
	free(body);
	json_decref(o);
	for (int i = 0; rc == 0 && i < 200; i++) {
		if (gfs_store_stat(&now, tc.store, APP) == 0 &&
		    now.version != before.version)
			return true;
		gfs_sleep_ms(50, NULL);
	}
	return false;
}

/* How many requests the emulator answered with `status` whose path starts
 * with `prefix`. */
static int answered(const char *prefix, int status)
{
	FILE *f = fopen(dir_path("requests.log"), "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		json_t *r = json_loads(line, 0, NULL);
		const char *p = json_string_value(json_object_get(r, "path"));
		n += p && strncmp(p, prefix, strlen(prefix)) == 0 &&
		     json_integer_value(json_object_get(r, "status")) == status;
		json_decref(r);
	}
	if (f)
		fclose(f);
	return n;
}

static bool exists(const char *url)
{
	return testcluster_req(&tc, NULL, "GET", url, NULL) == 0;
}

/* ---- rounds --------------------------------------------------------------------- */

static void a_new_commit_is_applied_namespaces_first(void)
{
	char k[64], applied[64] = "";
	struct gfs_sync_status st;
	CHECK_INT(
	    commit_upstream("_cluster/namespaces/prod.yaml", ns_prod, APP, app_v1, NULL),
	    0);
	CHECK_INT(gfs_sync_apply_round(sync_, true), 0);
	CHECK(exists("/api/v1/namespaces/prod"));
	CHECK_STR(data_k(k, sizeof(k)), "v1");
	/* The Namespace went first: the ConfigMap's create never met a 404. */
	CHECK_INT(answered("/api/v1/namespaces/prod/configmaps", 201), 1);
	CHECK_INT(answered("/api/v1/namespaces/prod/configmaps", 404), 0);
	gfs_sync_get_status(&st, sync_);
	CHECK_INT(st.applied, 1);
	CHECK_STR(st.last_error, "");
	/* The applied commit is kept for the next start, and the local
	 * branch follows it (a mount's HEAD shows it). */
	FILE *f = fopen(dir_path("sync-applied"), "r");
	CHECK(f && fgets(applied, sizeof(applied), f));
	if (f)
		fclose(f);
	CHECK(strncmp(applied, st.last_commit, 40) == 0);
	git_oid mine;
	char hex[GIT_OID_HEXSZ + 1] = "";
	if (git_reference_name_to_id(&mine, sync_->repo, "refs/heads/main") == 0)
		git_oid_tostr(hex, sizeof(hex), &mine);
	CHECK_STR(hex, st.last_commit);
}

static void drift_is_put_back(void)
{
	char k[64];
	CHECK(drift("drifted"));
	CHECK_INT(gfs_sync_apply_round(sync_, false), 0);
	CHECK_STR(data_k(k, sizeof(k)), "v1");
	CHECK(!gfs_alerter_is_failing(alerter, APP));
}

static void with_heal_off_drift_is_only_reported(void)
{
	char k[64];
	sync_->opts.heal = false;
	CHECK(drift("drifted again"));
	CHECK_INT(gfs_sync_apply_round(sync_, false), 0);
	CHECK_STR(data_k(k, sizeof(k)), "drifted again");
	CHECK(gfs_alerter_is_failing(alerter, APP));
	sync_->opts.heal = true;
	CHECK_INT(gfs_sync_apply_round(sync_, true), 0); /* every object checked */
	CHECK_STR(data_k(k, sizeof(k)), "v1");
	CHECK(!gfs_alerter_is_failing(alerter, APP)); /* recovered */
}

static void a_refused_manifest_is_alerted_until_git_is_fixed(void)
{
	struct gfs_sync_status st;
	const char *bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n"
			  "  namespace: prod\n";
	const char *good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n"
			   "  namespace: prod\n";
	CHECK_INT(commit_upstream("_cluster/namespaces/prod.yaml", ns_prod, APP, app_v1,
				  BAD, bad, NULL),
		  0);
	CHECK_INT(gfs_sync_apply_round(sync_, true), 0);
	CHECK(gfs_alerter_is_failing(alerter, BAD));
	gfs_sync_get_status(&st, sync_);
	CHECK(strstr(st.last_error, "failed to apply") != NULL);
	CHECK_INT(commit_upstream("_cluster/namespaces/prod.yaml", ns_prod, APP, app_v1,
				  BAD, good, NULL),
		  0);
	CHECK_INT(gfs_sync_apply_round(sync_, true), 0);
	CHECK(!gfs_alerter_is_failing(alerter, BAD));
	CHECK(exists("/api/v1/namespaces/prod/configmaps/bad"));
	gfs_sync_get_status(&st, sync_);
	CHECK_STR(st.last_error, "");
}

static void what_git_no_longer_has_is_pruned(void)
{
	CHECK_INT(
	    commit_upstream("_cluster/namespaces/prod.yaml", ns_prod, BAD,
			    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n"
			    "  namespace: prod\n",
			    NULL),
	    0);
	CHECK_INT(gfs_sync_apply_round(sync_, true), 0);
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = !exists(APP_URL);
		gfs_sleep_ms(50, NULL);
	}
	CHECK(gone);
	CHECK(exists("/api/v1/namespaces/prod")); /* never the others */
}

/* ---- set-up --------------------------------------------------------------------- */

static int setup(void)
{
	git_repository *mine = NULL;
	git_remote *origin = NULL;
	int rc = testcluster_start(&tc, TOKEN, "staging", 3000, GRACE_MS);
	gfs_global_git_init();
	if (rc == 0 &&
	    (git_repository_init(&upstream, dir_path("upstream.git"), 1) < 0 ||
	     git_repository_init(&mine, dir_path("state.git"), 1) < 0 ||
	     git_remote_create(&origin, mine, "origin", dir_path("upstream.git")) < 0))
		rc = gfs_error_set(-EIO, "cannot make the repositories: %s",
				   git_error_last() ? git_error_last()->message : "?");
	git_remote_free(origin);
	git_repository_free(mine);
	if (rc == 0)
		rc = gfs_alerter_new(&alerter, NULL);
	struct gfs_sync_opts o = {.direction = GFS_SYNC_APPLY,
				  .gitdir = dir_path("state.git"),
				  .state_dir = testproc_dir,
				  .branch = "main",
				  .prune = true,
				  .heal = true,
				  .store = tc.store,
				  .alerter = alerter};
	if (rc == 0)
		rc = gfs_sync_new(&sync_, &o);
	/* Not made ready: its thread waits, and the test runs the rounds with
	 * the applier the thread would get from gfs_sync_ready. */
	if (rc == 0)
		sync_->opts.applier = tc.applier;
	return rc;
}

int main(void)
{
	if (getenv("GFS_TEST_DEBUG"))
		gfs_log_init(GFS_LOG_DEBUG, NULL);
	if (access(testproc_emu_script(), R_OK) != 0) {
		printf("ok 1 - sync apply tests # SKIP %s not found\n1..1\n",
		       testproc_emu_script());
		return 0;
	}
	snprintf(testproc_dir, sizeof(testproc_dir), "/tmp/gfs-test-sync-apply.XXXXXX");
	if (!mkdtemp(testproc_dir))
		return 1;
	int rc = setup();
	if (rc == 0) {
		TAP_RUN(a_new_commit_is_applied_namespaces_first);
		TAP_RUN(drift_is_put_back);
		TAP_RUN(with_heal_off_drift_is_only_reported);
		TAP_RUN(a_refused_manifest_is_alerted_until_git_is_fixed);
		TAP_RUN(what_git_no_longer_has_is_pruned);
	} else {
		printf("not ok 1 - set-up: %s\n", gfs_error_last());
		tap_failed++;
		tap_count++;
	}
	/* The agent's order: the sync thread stops, then the cluster side
	 * (nothing reaches the thread's change queue after that). */
	gfs_sync_stop(sync_);
	testcluster_stop(&tc);
	gfs_sync_free(sync_);
	gfs_alerter_free(alerter);
	git_repository_free(upstream);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testproc_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", testproc_dir);
	return tap_done();
}
