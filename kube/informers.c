/*
 * informers.c - the set of informers (driven by one event loop, loop.c),
 * and the discoverer thread that keeps it in line with what the server
 * serves.
 *
 * The discoverer watches CustomResourceDefinitions; once a burst of
 * changes goes quiet (and every rediscover_seconds) it re-runs discovery
 * and starts or stops informers to match, telling the receiver
 * resource_gone() for what went away. Groups that fail to answer keep
 * their informers: a flaky aggregated API must not make objects vanish.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_common.h"
#include "gfs_informer.h"
#include "gfs_kube.h"
#include "gfs_strv.h"
#include "informer_private.h"
#include "kube_private.h"

#define DISCO_QUIET_MS  500  /* CRD events are coalesced until this quiet */
#define DISCO_SETTLE_MS 3000 /* and discovery is checked again after this */
#define CRD_PATH        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

/* ---- the set of informers ------------------------------------------------------ */

/* Whether the receiver wants r. Called without set->lock (it is the
 * receiver's code). With a namespace filter, cluster-scoped resources are
 * left out (SPEC section 2) - after asking all the same, so that the
 * receiver hears of every resource that is served. */
static bool set_wants(struct gfs_informers *set, const struct gfs_resource *r)
{
	bool want = !set->want || set->want(set->payload, r);
	return want && !(set->namespaces && !r->namespaced);
}

/* Whether an informer of a may go on watching b: same URL (so the same
 * version), kind and scope. A change of b's other served versions alone
 * does not restart the watch (set_snapshot takes the new list); a
 * change of the version watched (a CRD gained a version that is now
 * preferred, or lost the one watched) does. */
static bool resource_same(const struct gfs_resource *a, const struct gfs_resource *b)
{
	return strcmp(a->api_path, b->api_path) == 0 && strcmp(a->kind, b->kind) == 0 &&
	       a->namespaced == b->namespaced;
}

/* Whether informer inf should go on, given the new discovery. A resource
 * missing because its group did not answer is kept: a flaky aggregated
 * API must not make its objects vanish. */
static bool set_keeps(const struct gfs_informer *inf, const struct gfs_resource_list *l,
		      const bool *wanted, char **failed)
{
	const struct gfs_resource *r = gfs_resource_list_find(l, inf->res.dirname);
	if (!r)
		return gfs_strv_has(failed, inf->res.group);
	return wanted[r - l->items] && resource_same(r, &inf->res);
}

/* Takes out of the list the informers that must stop; returns them. */
static struct gfs_informer *set_detach(struct gfs_informers *set,
				       const struct gfs_resource_list *l,
				       const bool *wanted, char **failed)
{
	struct gfs_informer *gone = NULL;
	pthread_mutex_lock(&set->lock);
	for (struct gfs_informer **pp = &set->informers; *pp;) {
		struct gfs_informer *inf = *pp;
		if (set_keeps(inf, l, wanted, failed)) {
			pp = &inf->next;
			continue;
		}
		*pp = inf->next;
		inf->next = gone;
		gone = inf;
	}
	pthread_mutex_unlock(&set->lock);
	return gone;
}

/* Stops the detached informers and tells the receiver, once per resource,
 * after the loop halted them (so no upsert can follow resource_gone). */
static void set_retire(struct gfs_informers *set, struct gfs_informer *gone)
{
	struct gfs_resource_list told = {0};
	struct gfs_resource *items = NULL;
	size_t n = 0;
	for (struct gfs_informer *i = gone; i; i = i->next)
		n++;
	if (n && !(items = calloc(n, sizeof(*items))))
		n = 0;
	told.items = items;
	for (struct gfs_informer *i = gone; i && told.count < n; i = i->next) {
		bool dup = false;
		for (size_t k = 0; k < told.count; k++)
			dup = dup || strcmp(items[k].dirname, i->res.dirname) == 0;
		if (!dup && gfs_resource_copy(&items[told.count], &i->res) == 0)
			told.count++;
	}
	gfs_loop_retire(set, gone);
	for (size_t k = 0; k < told.count; k++) {
		gfs_info("%s is no longer served; dropping it", items[k].dirname);
		if (set->ops->resource_gone)
			set->ops->resource_gone(set->payload, &items[k]);
		gfs_resource_release(&items[k]);
	}
	free(items);
}

static bool set_has(struct gfs_informers *set, const char *dirname)
{
	bool has = false;
	pthread_mutex_lock(&set->lock);
	for (struct gfs_informer *i = set->informers; i && !has; i = i->next)
		has = strcmp(i->res.dirname, dirname) == 0;
	pthread_mutex_unlock(&set->lock);
	return has;
}

/* Links in one new informer and hands it to the loop. */
static void set_launch(struct gfs_informers *set, const struct gfs_resource *r,
		       const char *ns)
{
	struct gfs_informer *inf = gfs_informer_new(set, r, ns);
	if (!inf) {
		gfs_error("%s: out of memory; not watched", r->dirname);
		return;
	}
	pthread_mutex_lock(&set->lock);
	inf->next = set->informers;
	set->informers = inf;
	inf->handed = set->pending;
	set->pending = inf;
	pthread_mutex_unlock(&set->lock);
	gfs_loop_wake(set);
}

static int resource_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gfs_resource *)a)->dirname,
		      ((const struct gfs_resource *)b)->dirname);
}

static bool list_has(const struct gfs_resource_list *l, const char *dirname)
{
	for (size_t k = 0; k < l->count; k++)
		if (strcmp(l->items[k].dirname, dirname) == 0)
			return true;
	return false;
}

/* Rebuilds set->watched from the running informers: each one's entry of
 * the new discovery l, whose served versions may have changed since the
 * informer started, or the informer's own copy when l lacks it (a kept
 * informer of a group that did not answer). */
static void set_snapshot(struct gfs_informers *set, const struct gfs_resource_list *l)
{
	struct gfs_resource_list *w = calloc(1, sizeof(*w)), *old = NULL;
	size_t n = 0;
	pthread_mutex_lock(&set->lock);
	for (struct gfs_informer *i = set->informers; i; i = i->next)
		n++;
	if (w && n && !(w->items = calloc(n, sizeof(*w->items)))) {
		free(w);
		w = NULL;
	}
	for (struct gfs_informer *i = set->informers; w && i; i = i->next) {
		const struct gfs_resource *r = gfs_resource_list_find(l, i->res.dirname);
		if (!r || !resource_same(r, &i->res))
			r = &i->res;
		if (!list_has(w, i->res.dirname) &&
		    gfs_resource_copy(&w->items[w->count], r) == 0)
			w->count++;
	}
	if (w) {
		if (w->count)
			qsort(w->items, w->count, sizeof(*w->items), resource_cmp);
		old = set->watched;
		set->watched = w;
	}
	pthread_mutex_unlock(&set->lock);
	if (!w)
		gfs_error("out of memory updating the list of watched resources");
	else
		gfs_resource_list_free(old);
}

/* Makes the running informers match discovery's list l; `failed` names
 * the groups that did not answer (their informers are kept). */
static int set_apply(struct gfs_informers *set, const struct gfs_resource_list *l,
		     char **failed)
{
	bool *wanted = calloc(l->count + 1, sizeof(*wanted));
	if (!wanted)
		return gfs_error_set(-ENOMEM, "out of memory");
	for (size_t k = 0; k < l->count; k++)
		wanted[k] = set_wants(set, &l->items[k]);
	set_retire(set, set_detach(set, l, wanted, failed));
	for (size_t k = 0; k < l->count; k++) {
		const struct gfs_resource *r = &l->items[k];
		if (!wanted[k] || set_has(set, r->dirname))
			continue;
		gfs_debug("watching %s", r->dirname);
		if (!set->namespaces)
			set_launch(set, r, NULL);
		for (size_t n = 0; set->namespaces && set->namespaces[n]; n++)
			set_launch(set, r, set->namespaces[n]);
	}
	set_snapshot(set, l);
	free(wanted);
	return 0;
}

/* ---- rediscovery ------------------------------------------------------------------ */

static int set_rediscover(struct gfs_informers *set)
{
	struct gfs_resource_list *l = NULL;
	char **failed = NULL;
	int rc = gfs_discovery_run_ex(&l, &failed, set->disco_conn);
	if (rc == 0)
		rc = set_apply(set, l, failed);
	gfs_resource_list_free(l);
	gfs_strv_free(failed);
	return rc;
}

static int disco_event(enum gfs_watch_event type, json_t *obj, void *payload)
{
	struct gfs_informers *set = payload;
	const char *rv = json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	char *copy = rv && *rv ? strdup(rv) : NULL;
	if (copy) {
		free(set->crd_rv);
		set->crd_rv = copy;
	}
	if (type != GFS_WATCH_BOOKMARK) {
		set->crd_dirty = true;
		set->crd_event_ms = gfs_monotonic_ms();
	}
	return 0;
}

/* Ends the CRD watch once a burst of changes has gone quiet, or when the
 * periodic rediscovery is due. */
static int disco_tick(void *payload)
{
	struct gfs_informers *set = payload;
	int64_t now = gfs_monotonic_ms();
	return (set->crd_dirty && now - set->crd_event_ms >= DISCO_QUIET_MS) ||
	       now >= set->disco_next_ms || atomic_load(&set->refresh_disco);
}

/* Where the CRD watch starts: the resourceVersion of a one-item list. */
static int disco_crd_rv(struct gfs_informers *set)
{
	json_t *doc = NULL;
	int rc = gfs_kube_request(set->disco_conn, &doc, NULL, "GET", CRD_PATH "?limit=1",
				  NULL, NULL, 0);
	const char *rv = json_string_value(
	    json_object_get(json_object_get(doc, "metadata"), "resourceVersion"));
	if (rc == 0 && (!rv || !(set->crd_rv = strdup(rv))))
		rc = gfs_error_set(-EPROTO, "GET %s: no resourceVersion", CRD_PATH);
	json_decref(doc);
	return rc;
}

/* Watches CRDs until a change settles or `until` (monotonic ms) passes. */
static int disco_crd_watch(struct gfs_informers *set, int64_t until)
{
	static const struct gfs_watch_hooks hooks = {.tick = disco_tick};
	char *path = NULL;
	int64_t left = until - gfs_monotonic_ms();
	if (!set->crd_rv) {
		int rc = disco_crd_rv(set);
		if (rc < 0)
			return rc;
	}
	if (left < 1000) {
		gfs_sleep_ms(left > 0 ? (unsigned)left : 0, &set->stop);
		return 0;
	}
	if (asprintf(&path,
		     CRD_PATH "?watch=1&allowWatchBookmarks=true&"
			      "resourceVersion=%s&timeoutSeconds=%lld",
		     set->crd_rv, (long long)(left / 1000)) < 0)
		return gfs_error_set(-ENOMEM, "out of memory");
	set->disco_next_ms = until;
	int64_t t0 = gfs_monotonic_ms();
	int rc = gfs_kube_watch_ex(set->disco_conn, path, disco_event, set, &set->stop,
				   &hooks);
	free(path);
	/* A server that ends watches at once must not make us spin. */
	if (rc == 0 && !set->crd_dirty && gfs_monotonic_ms() - t0 < 1000)
		gfs_sleep_ms(1000, &set->stop);
	return rc;
}

/* Runs discovery when due; returns when the next one is due. */
static int64_t disco_maybe_run(struct gfs_informers *set, int64_t next)
{
	int64_t now = gfs_monotonic_ms();
	if (atomic_exchange(&set->refresh_disco, false))
		set->crd_dirty = true;
	if (!set->crd_dirty && now < next)
		return next;
	bool by_event = set->crd_dirty;
	set->crd_dirty = false;
	if (set_rediscover(set) < 0) {
		/* Warn once per outage; the informers report their own health. */
		if (!atomic_load(&set->stop) && !set->disco_failing)
			gfs_warn("rediscovery failed: %s; trying again later",
				 gfs_error_last());
		set->disco_failing = true;
		return now + DISCO_SETTLE_MS;
	}
	set->disco_failing = false;
	/* A new CRD is served only once it is Established, which may come
	 * just after the event: look again shortly. */
	return now + (by_event ? DISCO_SETTLE_MS : (int64_t)set->rediscover_ms);
}

static void *disco_main(void *p)
{
	struct gfs_informers *set = p;
	int64_t next = gfs_monotonic_ms() + set->rediscover_ms;
	unsigned backoff = 0;
	bool crd_watch = true;
	while (!atomic_load(&set->stop)) {
		gfs_error_clear();
		next = disco_maybe_run(set, next);
		int64_t left = next - gfs_monotonic_ms();
		if (!crd_watch) {
			gfs_sleep_ms(left > 0 ? (unsigned)left : 0, &set->stop);
			continue;
		}
		int rc = disco_crd_watch(set, next);
		if (rc == -ENOENT || rc == -EACCES) {
			gfs_info("cannot watch CustomResourceDefinitions (%s); "
				 "rediscovering every %u s",
				 gfs_error_last(), set->rediscover_ms / 1000);
			crd_watch = false;
		} else if (rc == -ESTALE) {
			free(set->crd_rv);
			set->crd_rv = NULL;
			set->crd_dirty = true; /* we may have missed a change */
		} else if (rc < 0 && !atomic_load(&set->stop)) {
			gfs_debug("CRD watch: %s", gfs_error_last());
			backoff = backoff ? backoff * 2 : GFS_BACKOFF_MIN_MS;
			backoff =
			    backoff > GFS_BACKOFF_MAX_MS ? GFS_BACKOFF_MAX_MS : backoff;
			gfs_sleep_ms(backoff, &set->stop);
		} else {
			backoff = 0;
		}
	}
	return NULL;
}

/* ---- public ------------------------------------------------------------------------ */

static int set_init(struct gfs_informers *set, struct gfs_kube_client *c,
		    const struct gfs_informer_opts *opts)
{
	set->client = c;
	set->want = opts ? opts->want : NULL;
	set->rediscover_ms =
	    1000u * (opts && opts->rediscover_seconds ? opts->rediscover_seconds : 60);
	set->page_size = opts && opts->page_size ? opts->page_size : 500;
	atomic_init(&set->stop, false);
	atomic_init(&set->refresh_gen, 0);
	atomic_init(&set->watch_list, opts && opts->paged_lists ? -1 : 0);
	atomic_init(&set->refresh_disco, false);
	pthread_mutex_init(&set->lock, NULL);
	if (gfs_cond_init_monotonic(&set->synced_cond) < 0)
		return gfs_error_set(-ENOMEM, "cannot create a condition variable");
	if (opts && gfs_strv_dup(&set->namespaces, opts->namespaces) < 0)
		return -ENOMEM;
	int rc = gfs_kube_conn_open(&set->disco_conn, c);
	if (rc == 0) {
		gfs_kube_conn_set_stop(set->disco_conn, &set->stop);
		/* Its CRD watch is idle nearly always: woken, a stop takes
		 * milliseconds, not libcurl's second (an export waits on it). */
		rc = gfs_kube_conn_wakeable(set->disco_conn);
	}
	return rc;
}

int gfs_informers_start(struct gfs_informers **out, struct gfs_kube_client *c,
			const struct gfs_informer_opts *opts,
			const struct gfs_informer_ops *ops, void *payload)
{
	struct gfs_informers *set = calloc(1, sizeof(*set));
	if (!set)
		return gfs_error_set(-ENOMEM, "out of memory");
	set->ops = ops;
	set->payload = payload;
	int rc = set_init(set, c, opts);
	if (rc == 0)
		rc = set_rediscover(set);
	if (rc == 0)
		rc = gfs_loop_start(set);
	if (rc == 0) {
		rc = -pthread_create(&set->discoverer, NULL, disco_main, set);
		if (rc < 0)
			gfs_error_set(rc, "cannot start the discovery thread: %s",
				      strerror(-rc));
		set->discoverer_started = rc == 0;
	}
	if (rc < 0) {
		/* Keep the message of the failure, not of the clean-up. */
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		gfs_informers_stop(set);
		return gfs_error_set(rc, "%s", msg);
	}
	*out = set;
	return 0;
}

static bool set_all_synced(const struct gfs_informers *set)
{
	for (const struct gfs_informer *i = set->informers; i; i = i->next)
		if (!i->synced)
			return false;
	return true;
}

/* An informer that cannot even open its connection for want of file
 * descriptors will not sync by waiting: the first such error, or NULL.
 * Called with set->lock held. */
static const struct gfs_informer *set_out_of_fds(const struct gfs_informers *set)
{
	for (const struct gfs_informer *i = set->informers; i; i = i->next)
		if (!i->synced && i->out_of_fds)
			return i;
	return NULL;
}

/* "still loading after 5000 ms: pods (GET ...: 500 ...), ..." Called
 * with set->lock held. */
static int set_not_synced_error(const struct gfs_informers *set, unsigned ms)
{
	char msg[900];
	size_t len = (size_t)snprintf(msg, sizeof(msg), "still loading after %u ms:", ms);
	bool first = true;
	for (const struct gfs_informer *i = set->informers; i && len < sizeof(msg);
	     i = i->next) {
		if (i->synced)
			continue;
		len += (size_t)snprintf(
		    msg + len, sizeof(msg) - len, "%s %s%s%s%s%s%s", first ? "" : ";",
		    i->res.dirname, i->ns ? " in " : "", i->ns ? i->ns : "",
		    *i->last_error ? " (" : "", i->last_error, *i->last_error ? ")" : "");
		first = false;
	}
	return gfs_error_set(-ETIMEDOUT, "%s", msg);
}

int gfs_informers_wait_synced(struct gfs_informers *set, unsigned timeout_ms)
{
	return gfs_informers_wait_synced_progress(set, timeout_ms, NULL, NULL);
}

/* How many informers finished their first list, of how many. Called with
 * set->lock held. */
static void set_count_synced(const struct gfs_informers *set, unsigned *synced,
			     unsigned *total)
{
	*synced = *total = 0;
	for (const struct gfs_informer *i = set->informers; i; i = i->next) {
		*synced += i->synced;
		(*total)++;
	}
}

int gfs_informers_wait_synced_progress(struct gfs_informers *set, unsigned timeout_ms,
				       gfs_informers_progress_cb cb, void *payload)
{
	int64_t deadline = gfs_monotonic_ms() + timeout_ms;
	unsigned synced, total;
	int rc = 0;
	pthread_mutex_lock(&set->lock);
	while (!set_all_synced(set)) {
		int64_t now = gfs_monotonic_ms();
		const struct gfs_informer *starved = set_out_of_fds(set);
		if (starved) {
			rc = gfs_error_set(-EMFILE, "%s: %s", starved->res.dirname,
					   starved->last_error);
			break;
		}
		if (now >= deadline) {
			rc = set_not_synced_error(set, timeout_ms);
			break;
		}
		/* Wake every tick to report, without the lock held. */
		int64_t until = cb && now + GFS_INFORMERS_TICK_MS < deadline
				    ? now + GFS_INFORMERS_TICK_MS
				    : deadline;
		gfs_cond_wait_until(&set->synced_cond, &set->lock, until);
		if (cb && !set_all_synced(set)) {
			set_count_synced(set, &synced, &total);
			pthread_mutex_unlock(&set->lock);
			cb(payload, synced, total);
			pthread_mutex_lock(&set->lock);
		}
	}
	pthread_mutex_unlock(&set->lock);
	return rc;
}

int gfs_informers_resources(struct gfs_resource_list **out, struct gfs_informers *set)
{
	struct gfs_resource_list *l = calloc(1, sizeof(*l));
	int rc = 0;
	if (!l)
		return gfs_error_set(-ENOMEM, "out of memory");
	pthread_mutex_lock(&set->lock);
	const struct gfs_resource_list *w = set->watched;
	if (w && w->count && !(l->items = calloc(w->count, sizeof(*l->items))))
		rc = gfs_error_set(-ENOMEM, "out of memory");
	for (size_t k = 0; rc == 0 && w && k < w->count; k++) {
		rc = gfs_resource_copy(&l->items[k], &w->items[k]);
		if (rc == 0)
			l->count++;
	}
	pthread_mutex_unlock(&set->lock);
	if (rc < 0) {
		gfs_resource_list_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int gfs_informers_with_resources(struct gfs_informers *set, gfs_resources_cb cb,
				 void *payload)
{
	static const struct gfs_resource_list none = {NULL, 0};
	pthread_mutex_lock(&set->lock);
	int rc = cb(set->watched ? set->watched : &none, payload);
	pthread_mutex_unlock(&set->lock);
	return rc;
}

void gfs_informers_stop(struct gfs_informers *set)
{
	if (!set)
		return;
	/* Everything is told at once, so that stopping takes about one
	 * second in all. */
	atomic_store(&set->stop, true);
	pthread_mutex_lock(&set->lock);
	for (struct gfs_informer *i = set->informers; i; i = i->next)
		atomic_store(&i->stop, true);
	pthread_mutex_unlock(&set->lock);
	gfs_loop_wake(set);
	gfs_kube_conn_wake(set->disco_conn);
	/* The discoverer first, so that it starts no informer behind us. */
	if (set->discoverer_started)
		pthread_join(set->discoverer, NULL);
	gfs_loop_stop(set); /* halts every informer it drove */
	struct gfs_informer *chain = set->informers;
	set->informers = NULL;
	while (chain) {
		struct gfs_informer *next = chain->next;
		gfs_informer_halt(chain); /* a no-op unless never driven */
		gfs_informer_free(chain);
		chain = next;
	}
	gfs_kube_conn_close(set->disco_conn);
	gfs_resource_list_free(set->watched);
	gfs_strv_free(set->namespaces);
	free(set->crd_rv);
	pthread_cond_destroy(&set->synced_cond);
	pthread_mutex_destroy(&set->lock);
	free(set);
}

void gfs_informers_get_stats(struct gfs_informers *set, struct gfs_informers_stats *out)
{
	unsigned n = 0;
	pthread_mutex_lock(&set->lock);
	for (const struct gfs_informer *i = set->informers; i; i = i->next)
		n++;
	pthread_mutex_unlock(&set->lock);
	out->informers = n;
	out->watches = atomic_load(&set->watches_open);
}

void gfs_informers_refresh(struct gfs_informers *set)
{
	/* Informers see the new generation at their next watch tick (about
	 * a second); those between watches, at their next step. */
	atomic_fetch_add(&set->refresh_gen, 1);
	atomic_store(&set->refresh_disco, true);
	gfs_loop_wake(set);
}
