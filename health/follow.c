/*
 * follow.c - following applied objects until they settle, and the alerts
 * of a failed deployment (gfs_monitor.h).
 *
 * The thread looks at every followed object each tick rather than waiting
 * for events: the store announces only changes of rendered bytes (status
 * updates are invisible to it by design), a pod's change would have to be
 * traced to its workload, and the timeout needs a clock anyway. A tick
 * costs a store lookup and a few JSON reads per followed object.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor_internal.h"

#define MON_BATCH_GAP_MS 2000 /* writes closer than this are one apply */

void gfs_monitor_follow_free(struct mon_follow *f)
{
	if (!f)
		return;
	free(f->commit);
	free(f);
}

/* ---- lifecycle ------------------------------------------------------------------------
 */

static int mon_free_obj(const char *key, void *value, void *payload)
{
	struct mon_obj *o = value;
	free(o->owner);
	free(o->dirname);
	free(o->ns);
	json_decref(o->pod);
	free(o);
	return 0;
}

static int mon_free_map(const char *key, void *value, void *payload)
{
	gfs_map_free(value);
	return 0;
}

static int mon_free_plain(const char *key, void *value, void *payload)
{
	free(value);
	return 0;
}

static int mon_free_follow(const char *key, void *value, void *payload)
{
	gfs_monitor_follow_free(value);
	return 0;
}

void gfs_monitor_free(struct gfs_monitor *m)
{
	if (!m)
		return;
	if (m->has_thread) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	if (m->objs)
		gfs_map_foreach(m->objs, mon_free_obj, NULL);
	if (m->children)
		gfs_map_foreach(m->children, mon_free_map, NULL);
	if (m->marks)
		gfs_map_foreach(m->marks, mon_free_plain, NULL);
	if (m->followed)
		gfs_map_foreach(m->followed, mon_free_follow, NULL);
	gfs_map_free(m->objs);
	gfs_map_free(m->children);
	gfs_map_free(m->marks);
	gfs_map_free(m->followed);
	gfs_map_free(m->last_apply);
	json_decref(m->snap_status);
	gfs_blob_unref(m->snap_text);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->snap_lock);
	free(m);
}

/* The store's keep hook: of each object, what the health rules read
 * (nothing for most: gfs_health_view), so that gfs_monitor_health needs
 * no request. */
static json_t *mon_keep(void *payload, const json_t *obj)
{
	(void)payload;
	return gfs_health_view(obj);
}

int gfs_monitor_new(struct gfs_monitor **out, const struct gfs_monitor_opts *opts)
{
	struct gfs_monitor *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m)
		return gfs_error_set(-ENOMEM, "out of memory");
	m->opts = *opts;
	if (!m->opts.timeout_s)
		m->opts.timeout_s = 300;
	if (!m->opts.tick_ms)
		m->opts.tick_ms = 500;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->snap_lock, NULL);
	int rc = gfs_cond_init_monotonic(&m->cond);
	m->objs = gfs_map_new();
	m->children = gfs_map_new();
	m->marks = gfs_map_new();
	m->followed = gfs_map_new();
	m->last_apply = gfs_map_new();
	if (rc == 0 &&
	    (!m->objs || !m->children || !m->marks || !m->followed || !m->last_apply))
		rc = -ENOMEM;
	if (rc == 0) {
		rc = -pthread_create(&m->thread, NULL, gfs_monitor_main, m);
		m->has_thread = rc == 0;
	}
	if (rc < 0) {
		gfs_monitor_free(m);
		return gfs_error_set(rc, "cannot start the health monitor: %s",
				     strerror(-rc));
	}
	if (m->opts.store)
		gfs_store_set_keep(m->opts.store, mon_keep, NULL);
	*out = m;
	return 0;
}

/* ---- what to follow ---------------------------------------------------------------- */

/* Lock held. The entry for path, made if missing; NULL when out of memory. */
static struct mon_follow *mon_follow_get(struct gfs_monitor *m, const char *path)
{
	struct mon_follow *f = gfs_map_get(m->followed, path);
	int err = 0;
	if (f)
		return f;
	if (!(f = calloc(1, sizeof(*f))))
		return NULL;
	gfs_map_put(m->followed, path, f, &err);
	if (err) {
		free(f);
		return NULL;
	}
	return f;
}

static void mon_set_commit(struct mon_follow *f, const char *commit)
{
	char *c = commit ? strdup(commit) : NULL;
	if (commit && !c)
		return; /* keep the old one: better than none */
	free(f->commit);
	f->commit = c;
}

void gfs_monitor_follow(struct gfs_monitor *m, const char *path, const char *commit)
{
	int64_t now = gfs_monotonic_ms();
	pthread_mutex_lock(&m->lock);
	struct mon_follow *f = mon_follow_get(m, path);
	if (f) {
		mon_set_commit(f, commit);
		f->deadline_ms = now + (int64_t)m->opts.timeout_s * 1000;
		f->settled = false;
	}
	struct gfs_map *fresh = NULL;
	if ((m->new_batch || now - m->last_apply_ms > MON_BATCH_GAP_MS) &&
	    (fresh = gfs_map_new())) {
		gfs_map_free(m->last_apply);
		m->last_apply = fresh;
		m->new_batch = false;
	}
	m->last_apply_ms = now;
	int err = 0;
	gfs_map_put(m->last_apply, path, m, &err); /* a set: the value is unused */
	if (err)
		gfs_warn("health: out of memory recording the last apply");
	pthread_mutex_unlock(&m->lock);
	if (!f)
		gfs_warn("health: out of memory: %s is not followed", path);
}

void gfs_monitor_begin_apply(struct gfs_monitor *m)
{
	pthread_mutex_lock(&m->lock);
	m->new_batch = true;
	pthread_mutex_unlock(&m->lock);
}

void gfs_monitor_watch(struct gfs_monitor *m, const char *path, const char *commit)
{
	if (!m->opts.monitor_after)
		return;
	pthread_mutex_lock(&m->lock);
	if (!gfs_map_get(m->followed, path)) {
		struct mon_follow *f = mon_follow_get(m, path);
		if (f) {
			mon_set_commit(f, commit);
			f->settled = true; /* applied before: no deadline */
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static int mon_collect_key(const char *key, void *value, void *payload)
{
	return mon_paths_push(payload, key);
}

static int mon_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gfs_monitor_last_apply_text(struct gfs_monitor *m, struct gfs_buf *out)
{
	struct mon_paths paths = {0};
	pthread_mutex_lock(&m->lock);
	int rc = gfs_map_foreach(m->last_apply, mon_collect_key, &paths);
	pthread_mutex_unlock(&m->lock);
	if (paths.n)
		qsort(paths.v, paths.n, sizeof(char *), mon_cmp);
	for (size_t i = 0; rc == 0 && i < paths.n; i++)
		rc = gfs_buf_addf(out, "%s\n", paths.v[i]);
	mon_paths_release(&paths);
	return rc;
}

/* ---- one tick -------------------------------------------------------------------------
 */

static int mon_collect_followed(const char *path, void *value, void *payload)
{
	return mon_paths_push(payload, path);
}

/* What a tick decided about one object, reported after the lock. */
enum mon_action { MON_NOTHING, MON_FAILING, MON_OK };

static enum mon_action mon_decide(struct gfs_monitor *m, const char *path,
				  const struct gfs_health *h, int64_t now, char **commit,
				  char *reason, size_t reasonsz)
{
	struct mon_follow *f = gfs_map_get(m->followed, path);
	enum mon_action act = MON_NOTHING;
	if (!f)
		return MON_NOTHING; /* no longer followed */
	switch (h->state) {
	case GFS_HEALTH_FAILED:
		act = MON_FAILING;
		snprintf(reason, reasonsz, "%s", h->reason);
		f->settled = true;
		break;
	case GFS_HEALTH_CURRENT:
		act = MON_OK;
		snprintf(reason, reasonsz, "%s", h->reason);
		f->settled = true;
		break;
	case GFS_HEALTH_IN_PROGRESS:
	case GFS_HEALTH_UNKNOWN:
		/* Only a rollout that never settled times out: a settled
		 * object in a new rollout (drift healed, scaled) is not news
		 * until it fails. */
		if (!f->settled && now >= f->deadline_ms) {
			act = MON_FAILING;
			snprintf(reason, reasonsz, "not Current after %u s: %s",
				 m->opts.timeout_s, h->reason);
		}
		break;
	case GFS_HEALTH_TERMINATING:
		break;
	}
	*commit = gfs_strdup(f->commit);
	/* Done with it: Current, and nobody asked to keep watching. */
	if (act == MON_OK && !m->opts.monitor_after)
		gfs_monitor_follow_free(gfs_map_del(m->followed, path));
	return act;
}

static void mon_tick_one(struct gfs_monitor *m, const char *path)
{
	struct gfs_health h;
	char reason[GFS_HEALTH_REASON_MAX + 64], *commit = NULL;
	int64_t now = gfs_monotonic_ms();
	int hrc = gfs_monitor_health(&h, m, path);
	if (hrc < 0 && hrc != -ENOENT)
		return; /* out of memory reading it: look again next tick */
	bool gone = hrc == -ENOENT;
	pthread_mutex_lock(&m->lock);
	enum mon_action act = MON_NOTHING;
	if (gone) { /* deleted, or no longer shown: nothing to follow */
		gfs_monitor_follow_free(gfs_map_del(m->followed, path));
		/* A failure of something that is gone is over (pruned, or
		 * deleted by hand): say so once, rather than list it as
		 * failing for ever. Not failing: the alerter says nothing. */
		act = MON_OK;
		h.state = GFS_HEALTH_UNKNOWN;
		snprintf(reason, sizeof(reason), "the object is gone");
	} else {
		act = mon_decide(m, path, &h, now, &commit, reason, sizeof(reason));
	}
	pthread_mutex_unlock(&m->lock);
	if (m->opts.alerter && act != MON_NOTHING)
		gfs_alerter_report_health(m->opts.alerter, path, commit,
					  act == MON_FAILING,
					  gfs_health_state_name(h.state), reason);
	free(commit);
}

void *gfs_monitor_main(void *payload)
{
	struct gfs_monitor *m = payload;
	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		gfs_cond_wait_ms(&m->cond, &m->lock, m->opts.tick_ms);
		if (m->stop)
			break;
		struct mon_paths paths = {0};
		if (gfs_map_foreach(m->followed, mon_collect_followed, &paths) < 0)
			gfs_warn("health: out of memory listing followed objects");
		pthread_mutex_unlock(&m->lock);
		for (size_t i = 0; i < paths.n; i++)
			mon_tick_one(m, paths.v[i]);
		mon_paths_release(&paths);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}
