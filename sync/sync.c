/*
 * sync.c - the sync thread: its loop, the change queue and its status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_alert.h"
#include "gfs_errlog.h"
#include "gfs_metrics.h"
#include "gfs_path.h"
#include "sync_internal.h"

/* Credentials from the environment (gfs_gitcred.h), never from a file in
 * the repository, for the origin only. */
int gfs_sync_remote_callbacks(git_remote_callbacks *cb, struct gfs_gitcred *cred,
			      const git_remote *origin)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	int rc = gfs_gitcred_init(cred, git_remote_url(origin));
	if (rc == 0)
		rc = gfs_gitcred_check_env(cred);
	if (rc == 0)
		gfs_gitcred_callbacks(cb, cred);
	return rc;
}

/* Store subscriber: remember which paths changed (files only). */
static void gfs_sync_on_change(void *payload, const char *path, enum gfs_entry_type type,
			       enum gfs_change change)
{
	struct gfs_sync *s = payload;
	int err = 0;
	if (type != GFS_ENTRY_FILE)
		return;
	pthread_mutex_lock(&s->lock);
	gfs_map_put(s->changed, path, (void *)1, &err);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

struct gfs_map *gfs_sync_take_changes(struct gfs_sync *s)
{
	struct gfs_map *fresh = gfs_map_new();
	if (!fresh)
		return NULL;
	pthread_mutex_lock(&s->lock);
	struct gfs_map *taken = s->changed;
	s->changed = fresh;
	pthread_mutex_unlock(&s->lock);
	return taken;
}

void gfs_sync_paths_free(struct gfs_map *m)
{
	gfs_map_free(m);
}

void gfs_sync_note(struct gfs_sync *s, const char *commit, const char *error,
		   unsigned long commits)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	gfs_metrics_sync_round(!error, commit);
	pthread_mutex_lock(&s->lock);
	if (!error) {
		strftime(s->status.last_sync, sizeof(s->status.last_sync),
			 "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (commit)
			snprintf(s->status.last_commit, sizeof(s->status.last_commit),
				 "%s", commit);
		s->status.commits += commits;
	}
	snprintf(s->status.last_error, sizeof(s->status.last_error), "%s",
		 error ? error : "");
	pthread_mutex_unlock(&s->lock);
}

/* Waits until there is something to do: changes (commit mode, collected
 * for a short while so that changes landing together make one commit),
 * or the next interval (apply mode). Returns false on stop. */
static bool gfs_sync_wait(struct gfs_sync *s, int64_t next_round_ms)
{
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (atomic_load(&s->stop)) {
			pthread_mutex_unlock(&s->lock);
			return false;
		}
		bool have = s->ready && gfs_map_count(s->changed) > 0;
		if (s->ready && (have || gfs_monotonic_ms() >= next_round_ms))
			break;
		gfs_cond_wait_ms(&s->cond, &s->lock, 200);
	}
	pthread_mutex_unlock(&s->lock);
	return true;
}

static void *gfs_sync_main(void *arg)
{
	struct gfs_sync *s = arg;
	bool first = true;
	int64_t next_round = 0; /* the first round runs as soon as we are ready */
	unsigned interval_ms = (s->opts.interval ? s->opts.interval : 30) * 1000u;
	while (gfs_sync_wait(s, next_round)) {
		int rc;
		if (s->opts.direction == GFS_SYNC_COMMIT) {
			/* Let changes that land together gather into one commit. */
			gfs_sleep_ms(first ? 0 : 700, &s->stop);
			rc = gfs_sync_commit_round(s, first);
			/* Retry a failed push now and then even without changes. */
			next_round = gfs_monotonic_ms() + 5000;
		} else {
			bool fetch = gfs_monotonic_ms() >= next_round;
			rc = gfs_sync_apply_round(s, fetch);
			if (fetch)
				next_round = gfs_monotonic_ms() + interval_ms;
			else
				gfs_sleep_ms(500, &s->stop); /* heal in small batches */
		}
		if (rc < 0)
			gfs_warn("sync: %s", gfs_error_last());
		gfs_metrics_ready_mark(GFS_READY_SYNCED);
		first = false;
	}
	/* A last round so that nothing collected is lost at shutdown. */
	if (s->opts.direction == GFS_SYNC_COMMIT && s->ready)
		gfs_sync_commit_round(s, false);
	return NULL;
}

static int gfs_sync_branch(struct gfs_sync *s)
{
	if (s->opts.branch) {
		s->branch = strdup(s->opts.branch);
	} else {
		/* HEAD's branch, even when it has no commit yet. */
		git_reference *head = NULL;
		int rc = git_reference_lookup(&head, s->repo, "HEAD");
		if (rc < 0)
			return gfs_git_error(rc, "cannot read HEAD");
		const char *target = git_reference_symbolic_target(head);
		s->branch =
		    strdup(target && strncmp(target, "refs/heads/", 11) == 0 ? target + 11
									     : "main");
		git_reference_free(head);
	}
	if (!s->branch || asprintf(&s->branch_ref, "refs/heads/%s", s->branch) < 0) {
		s->branch_ref = NULL;
		return -ENOMEM;
	}
	return 0;
}

int gfs_sync_new(struct gfs_sync **out, const struct gfs_sync_opts *opts)
{
	struct gfs_sync *s = calloc(1, sizeof(*s));
	int rc;
	if (!s)
		return -ENOMEM;
	s->opts = *opts;
	gfs_global_git_init();
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->stop, false);
	rc = gfs_cond_init_monotonic(&s->cond);
	if (rc == 0 && !(s->changed = gfs_map_new()))
		rc = -ENOMEM;
	if (rc < 0)
		goto fail;
	rc = git_repository_open(&s->repo, opts->gitdir);
	if (rc < 0) {
		rc = gfs_git_error(rc, "sync: cannot open the repository");
		goto fail;
	}
	rc = gfs_sync_branch(s);
	if (rc < 0)
		goto fail;
	rc = gfs_store_subscribe(opts->store, gfs_sync_on_change, s);
	if (rc < 0)
		goto fail;
	rc = -pthread_create(&s->thread, NULL, gfs_sync_main, s);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	git_repository_free(s->repo);
	gfs_map_free(s->changed);
	free(s->branch);
	free(s->branch_ref);
	free(s);
	return rc;
}

void gfs_sync_ready(struct gfs_sync *s, struct gfs_applier *applier)
{
	pthread_mutex_lock(&s->lock);
	s->opts.applier = applier;
	s->ready = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void gfs_sync_stop(struct gfs_sync *s)
{
	if (!s || s->joined)
		return;
	atomic_store(&s->stop, true);
	pthread_mutex_lock(&s->lock);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->joined = true;
}

void gfs_sync_free(struct gfs_sync *s)
{
	if (!s)
		return;
	gfs_sync_stop(s);
	git_repository_free(s->repo);
	gfs_map_free(s->changed);
	free(s->branch);
	free(s->branch_ref);
	free(s);
}

void gfs_sync_get_status(struct gfs_sync_status *out, struct gfs_sync *s)
{
	pthread_mutex_lock(&s->lock);
	*out = s->status;
	pthread_mutex_unlock(&s->lock);
}

void gfs_sync_check_config(struct gfs_sync *s, git_tree *tree, const char *commit)
{
	/* The config of this cluster's tree: <--path>/.gitopsfs.yaml. */
	const char *root = gfs_store_root(s->opts.store);
	char path[GFS_PATH_MAX];
	git_tree_entry *e = NULL;
	git_oid id;
	git_blob *blob = NULL;
	snprintf(path, sizeof(path), "%s%s.gitopsfs.yaml", root, *root ? "/" : "");
	memset(&id, 0, sizeof(id));
	bool found = tree && git_tree_entry_bypath(&e, tree, path) == 0;
	if (found)
		id = *git_tree_entry_id(e);
	git_tree_entry_free(e);
	if (!s->config_known) {
		/* The agent read this very config when it started. */
		s->config_id = id;
		s->config_known = true;
		return;
	}
	if (git_oid_equal(&id, &s->config_id) || !s->opts.config_changed)
		return;
	if (found && git_blob_lookup(&blob, s->repo, &id) < 0)
		return;
	const char *text = blob ? git_blob_rawcontent(blob) : "";
	size_t len = blob ? (size_t)git_blob_rawsize(blob) : 0;
	int rc = s->opts.config_changed(s->opts.config_payload, text, len);
	if (s->opts.alerter)
		gfs_alerter_report(s->opts.alerter, path, commit,
				   rc < 0 ? gfs_error_last() : NULL);
	if (rc == 0) {
		s->config_id = id;
		gfs_info("sync: %s of %.12s is in force", path, commit ? commit : "HEAD");
	}
	git_blob_free(blob);
}
