/*
 * sync_apply.c - apply mode: the cluster follows the branch.
 *
 * A round: fetch origin (when due); if the branch moved past the last
 * applied commit, apply the difference in dependency order and record the
 * new commit; then compare every object of the applied commit with the
 * live one and put back what drifted (or only report it with heal off).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_alert.h"
#include "gfs_applied.h"
#include "gfs_errlog.h"
#include "gfs_metrics.h"
#include "gfs_monitor.h"
#include "gfs_path.h"
#include "gfs_render.h"
#include "gfs_yaml.h"
#include "sync_internal.h"

#define GFS_APPLIED_FILE "sync-applied"

/* ---- the last applied commit, kept across restarts ------------------------- */

static int gfs_applied_commit_read(struct gfs_sync *s, git_oid *out)
{
	char path[4096], hex[GIT_OID_HEXSZ + 2] = "";
	snprintf(path, sizeof(path), "%s/" GFS_APPLIED_FILE, s->opts.state_dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	size_t n = fread(hex, 1, GIT_OID_HEXSZ, f);
	fclose(f);
	hex[n] = '\0';
	return n == GIT_OID_HEXSZ && git_oid_fromstr(out, hex) == 0 ? 0 : -EINVAL;
}

/* Written then renamed: a crash leaves the old commit or the new one. */
static int gfs_applied_commit_write(struct gfs_sync *s, const git_oid *oid)
{
	char path[4096], tmp[4200], hex[GIT_OID_HEXSZ + 1];
	snprintf(path, sizeof(path), "%s/" GFS_APPLIED_FILE, s->opts.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	git_oid_tostr(hex, sizeof(hex), oid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return gfs_error_set(-errno, "cannot write %s", tmp);
	bool ok = write(fd, hex, GIT_OID_HEXSZ) == GIT_OID_HEXSZ &&
		  write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		return gfs_error_set(-EIO, "cannot record the applied commit in %s",
				     path);
	return 0;
}

/* ---- applying one file ----------------------------------------------------------- */

static void gfs_report(struct gfs_sync *s, const char *path, const char *commit,
		       const char *error)
{
	if (s->opts.alerter)
		gfs_alerter_report(s->opts.alerter, path, commit, error);
}

static int gfs_apply_blob(struct gfs_sync *s, const char *path, const git_oid *id,
			  const char *commit)
{
	git_blob *blob = NULL;
	int rc = git_blob_lookup(&blob, s->repo, id);
	if (rc < 0)
		return gfs_git_error(rc, path);
	rc = gfs_applier_apply(s->opts.applier, path, git_blob_rawcontent(blob),
			       (size_t)git_blob_rawsize(blob), 0);
	git_blob_free(blob);
	gfs_report(s, path, commit, rc < 0 ? gfs_error_last() : NULL);
	/* Accepted is not deployed: follow it until it is Current. */
	if (rc == 0 && s->opts.monitor)
		gfs_monitor_follow(s->opts.monitor, path, commit);
	return rc;
}

/* Namespaces and CRDs first, then other cluster-scoped objects, then the
 * namespaced ones: what a later object needs exists by then. */
static int gfs_apply_rank(const char *path)
{
	if (strncmp(path, "_cluster/namespaces/", 20) == 0)
		return 0;
	if (strncmp(path, "_cluster/customresourcedefinitions.apiextensions.k8s.io/",
		    56) == 0)
		return 1;
	return strncmp(path, "_cluster/", 9) == 0 ? 2 : 3;
}

struct gfs_delta {
	char *path;
	git_oid id;
	bool deleted;
};

static int gfs_delta_cmp(const void *a, const void *b)
{
	const struct gfs_delta *x = a, *y = b;
	int rx = gfs_apply_rank(x->path), ry = gfs_apply_rank(y->path);
	return rx != ry ? rx - ry : strcmp(x->path, y->path);
}

/* Applies what changed from `old` (NULL: nothing applied yet) to `new`. */
static int gfs_apply_diff(struct gfs_sync *s, git_tree *old, git_tree *new_tree,
			  const char *commit, unsigned *failures)
{
	git_diff *diff = NULL;
	int rc = git_diff_tree_to_tree(&diff, s->repo, old, new_tree, NULL);
	if (rc < 0)
		return gfs_git_error(rc, "cannot compare commits");
	size_t n = git_diff_num_deltas(diff);
	struct gfs_delta *d = calloc(n ? n : 1, sizeof(*d));
	size_t k = 0;
	for (size_t i = 0; d && i < n; i++) {
		const git_diff_delta *dd = git_diff_get_delta(diff, i);
		bool deleted = dd->status == GIT_DELTA_DELETED;
		const char *path = deleted ? dd->old_file.path : dd->new_file.path;
		/* Objects only, and only those of this cluster's tree
		 * (--path): another cluster's files are never applied. */
		const char *rel = gfs_store_cluster_path(s->opts.store, path);
		if (!rel || (!gfs_store_is_managed_path(s->opts.store, path) &&
			     gfs_path_parse(&(struct gfs_path_parts){0}, rel) < 0))
			continue; /* README.md, .gitopsfs.yaml: not objects */
		d[k].path = strdup(path);
		d[k].id = dd->new_file.id;
		d[k].deleted = deleted;
		k++;
	}
	git_diff_free(diff);
	if (!d)
		return -ENOMEM;
	qsort(d, k, sizeof(*d), gfs_delta_cmp);
	for (size_t i = 0; i < k; i++) {
		if (!d[i].deleted) {
			if (gfs_apply_blob(s, d[i].path, &d[i].id, commit) < 0)
				(*failures)++;
		} else if (s->opts.prune &&
			   gfs_applier_owns(s->opts.applier, d[i].path)) {
			/* Only what gitopsfs applied: its record says so. An
			 * object already gone (-ENOENT) is what pruning wants. */
			rc = gfs_applier_delete(s->opts.applier, d[i].path);
			if (rc < 0 && rc != -ENOENT) {
				gfs_report(s, d[i].path, commit, gfs_error_last());
				(*failures)++;
			}
		}
	}
	for (size_t i = 0; i < k; i++)
		free(d[i].path);
	free(d);
	return 0;
}

/* ---- drift ----------------------------------------------------------------------------
 */

/* The bytes the mount would show if the live object matched Git's
 * manifest: rendered the way live objects are. */
static int gfs_desired_render(struct gfs_sync *s, const char *path, const char *data,
			      size_t len, struct gfs_buf *out)
{
	return gfs_store_render_manifest(out, s->opts.store, path, data, len);
}

/* Compares one object of the applied commit with the live one; heals or
 * reports a difference. */
static int gfs_check_drift(struct gfs_sync *s, const char *path, const git_oid *id,
			   const char *commit)
{
	git_blob *blob = NULL;
	struct gfs_blob *live = NULL;
	struct gfs_buf want = GFS_BUF_INIT(GFS_MANIFEST_LIMIT * 2);
	int rc = git_blob_lookup(&blob, s->repo, id);
	if (rc < 0)
		return gfs_git_error(rc, path);
	const char *data = git_blob_rawcontent(blob);
	size_t len = (size_t)git_blob_rawsize(blob);
	if ((rc = gfs_desired_render(s, path, data, len, &want)) < 0) {
		/* An invalid manifest cannot heal anything until Git changes;
		 * it stays reported (the alerter says it once). */
		struct gfs_yaml_error yerr = {0};
		json_t *m = NULL;
		char msg[512];
		if (rc == -EACCES)
			snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		else if (gfs_yaml_parse(&m, data, len, &yerr) < 0)
			snprintf(msg, sizeof(msg),
				 "invalid YAML at line %d, column %d: %s", yerr.line,
				 yerr.column, yerr.reason);
		else
			snprintf(msg, sizeof(msg), "not a Kubernetes object manifest");
		json_decref(m);
		gfs_report(s, path, commit, msg);
		rc = -EINVAL;
		goto out;
	}
	bool same = gfs_store_read(&live, NULL, s->opts.store, path) == 0 &&
		    live->len == want.len && memcmp(live->data, want.data, want.len) == 0;
	if (!same) {
		s->drifted++;
		gfs_metrics_drift_found();
	}
	if (same) {
		gfs_report(s, path, commit, NULL);
		/* Applied earlier (maybe before a restart): a later failure of
		 * its pods is a failed deployment too. */
		if (s->opts.monitor)
			gfs_monitor_watch(s->opts.monitor, path, commit);
	} else if (s->opts.heal) {
		gfs_info("sync: %s drifted from Git; putting it back", path);
		rc = gfs_apply_blob(s, path, id, commit);
	} else {
		gfs_report(s, path, commit,
			   "drift: the live object differs from Git (heal is off)");
	}
out:
	gfs_blob_unref(live);
	gfs_buf_release(&want);
	git_blob_free(blob);
	return rc;
}

struct gfs_drift_walk {
	struct gfs_sync *s;
	const char *commit;
	struct gfs_map *only; /* NULL: every object */
	unsigned failures;
};

static int gfs_drift_entry(const char *root, const git_tree_entry *e, void *payload)
{
	struct gfs_drift_walk *w = payload;
	char path[GFS_PATH_MAX];
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e));
	if (w->only && !gfs_map_get(w->only, path))
		return 0;
	if (!gfs_store_is_managed_path(w->s->opts.store, path))
		return 0;
	if (gfs_check_drift(w->s, path, git_tree_entry_id(e), w->commit) < 0)
		w->failures++;
	return atomic_load(&w->s->stop) ? -1 : 0;
}

/* ---- a round --------------------------------------------------------------------------
 */

static int gfs_sync_fetch(struct gfs_sync *s)
{
	git_remote *origin = NULL;
	git_fetch_options fo;
	struct gfs_gitcred cred;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.prune = GIT_FETCH_PRUNE;
	int rc = git_remote_lookup(&origin, s->repo, "origin");
	if (rc < 0)
		rc = gfs_git_error(rc, "cannot fetch origin (will retry)");
	else if ((rc = gfs_sync_remote_callbacks(&fo.callbacks, &cred, origin)) == 0 &&
		 (rc = git_remote_fetch(origin, NULL, &fo, "gitopsfs sync: fetch")) < 0)
		rc = gfs_git_error(rc, "cannot fetch origin (will retry)");
	git_remote_free(origin);
	if (rc < 0) {
		gfs_report(s, "origin", NULL, gfs_error_last());
		return rc;
	}
	gfs_report(s, "origin", NULL, NULL);
	return 0;
}

/* Moves the local branch (and the index) to what was applied, so that a
 * mount's HEAD shows it and `git status` compares against it. */
static void gfs_sync_follow(struct gfs_sync *s, const git_oid *target, git_tree *tree)
{
	git_reference *ref = NULL;
	git_index *index = NULL;
	int rc = git_reference_create(&ref, s->repo, s->branch_ref, target, 1,
				      "gitopsfs sync: applied");
	if (rc < 0) {
		gfs_git_error(rc, "cannot move the branch");
		gfs_warn("sync: %s: %s", s->branch_ref, gfs_error_last());
	}
	git_reference_free(ref);
	if (git_repository_index(&index, s->repo) == 0) {
		if (git_index_read_tree(index, tree) == 0)
			git_index_write(index);
		git_index_free(index);
	}
}

int gfs_sync_apply_round(struct gfs_sync *s, bool fetch)
{
	char remote_ref[512], hex[GIT_OID_HEXSZ + 1] = "";
	git_oid target, last;
	git_commit *tc = NULL, *lc = NULL;
	git_tree *tt = NULL, *lt = NULL;
	struct gfs_map *changed = gfs_sync_take_changes(s);
	unsigned failures = 0;
	int rc = 0;
	if (fetch)
		gfs_sync_fetch(s); /* on failure: heal from what we have */
	snprintf(remote_ref, sizeof(remote_ref), "refs/remotes/origin/%s", s->branch);
	if (git_reference_name_to_id(&target, s->repo, remote_ref) < 0)
		goto out; /* the branch has no commit yet: nothing to apply */
	git_oid_tostr(hex, sizeof(hex), &target);
	rc = git_commit_lookup(&tc, s->repo, &target);
	if (rc == 0)
		rc = git_commit_tree(&tt, tc);
	if (rc < 0) {
		rc = gfs_git_error(rc, "cannot read the fetched commit");
		goto out;
	}
	bool have_last = gfs_applied_commit_read(s, &last) == 0;
	if (have_last && !git_oid_equal(&last, &target) &&
	    git_commit_lookup(&lc, s->repo, &last) == 0)
		git_commit_tree(&lt, lc);
	/* The config comes first: what it excludes or ignores holds for the
	 * objects of the same commit. */
	gfs_sync_check_config(s, tt, hex);
	if (!have_last || !git_oid_equal(&last, &target)) {
		gfs_info("sync: applying %.12s", hex);
		if (s->opts.monitor)
			gfs_monitor_begin_apply(s->opts.monitor);
		rc = gfs_apply_diff(s, lt, tt, hex, &failures);
		if (rc == 0) {
			/* Recorded even with failures: they are retried by the
			 * drift check below, every round, until they pass. */
			rc = gfs_applied_commit_write(s, &target);
			gfs_sync_follow(s, &target, tt);
		}
		if (rc == 0) {
			pthread_mutex_lock(&s->lock);
			s->status.applied++;
			pthread_mutex_unlock(&s->lock);
		}
		/* Every object is checked below, not only the changed ones. */
		gfs_sync_paths_free(changed);
		changed = NULL;
		fetch = true;
	}
	if (rc == 0) {
		struct gfs_drift_walk w = {s, hex, fetch ? NULL : changed, 0};
		s->drifted = 0;
		if (fetch || gfs_map_count(changed) > 0)
			git_tree_walk(tt, GIT_TREEWALK_PRE, gfs_drift_entry, &w);
		if (fetch) /* a full check: every object of the commit */
			gfs_metrics_drift_set(s->drifted);
		failures += w.failures;
	}
	if (rc == 0)
		gfs_sync_note(s, hex,
			      failures ? "some objects failed to apply: see "
					 ".gitopsfs/errors"
				       : NULL,
			      0);
out:
	if (rc < 0)
		gfs_sync_note(s, NULL, gfs_error_last(), 0);
	pthread_mutex_lock(&s->lock);
	s->status.failing =
	    s->opts.alerter ? gfs_alerter_failing_count(s->opts.alerter) : 0;
	pthread_mutex_unlock(&s->lock);
	gfs_sync_paths_free(changed);
	git_tree_free(tt);
	git_tree_free(lt);
	git_commit_free(tc);
	git_commit_free(lc);
	return rc;
}
