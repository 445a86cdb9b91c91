/*
 * informer.c - one list-and-watch loop: keeps the receiver's copy of one
 * resource (in one namespace, or all) current.
 *
 * The thread lists (paged) when it has no resourceVersion, then watches
 * from it with bookmarks. A watch that ends normally (the server's
 * timeoutSeconds, a connection closed after a while) resumes from the
 * last resourceVersion seen; 410 Gone means that version is too old and
 * the thread lists again; any other failure backs off (exponential,
 * jittered, capped) and retries from where it was. health() is reported
 * when the state flips, not on every retry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_informer.h"
#include "gfs_kube.h"
#include "gfs_object.h"
#include "informer_private.h"
#include "kube_private.h"

#define INF_WATCH_SECONDS 300 /* timeoutSeconds, +/- INF_WATCH_JITTER */
#define INF_WATCH_JITTER  60
/* A watch that ran this long before its connection broke counts as a
 * normal end: resume at once, no back-off, no health flap. */
#define INF_WATCH_HEALTHY_MS 5000
/* A watch that ends cleanly but sooner than this, without any event, is
 * suspicious. */
#define INF_WATCH_SHORT_MS 1000
/* How long a 404 (a resource being removed) is tolerated silently. */
#define INF_GONE_GRACE_MS 4000u
#define INF_LIST_RESTARTS 3 /* expired continue tokens in a row */
/* A streaming list whose initial events stop this long without the
 * bookmark that ends them comes from a server that ignored the request
 * (an old one sends a plain watch): list in pages. A real server sends
 * its initial events from its watch cache at once. */
#define INF_INITIAL_SILENT_MS 10000

static void inf_call_health(struct gfs_informer *inf, bool ok, const char *msg)
{
	const struct gfs_informer_ops *ops = inf->set->ops;
	if (ops->health)
		ops->health(inf->set->payload, &inf->res, ok, msg);
}

/* ---- one informer: list ------------------------------------------------------ */

/* List items carry no apiVersion/kind; the receiver wants whole objects. */
static void inf_object_complete(const struct gfs_informer *inf, json_t *obj)
{
	char gv[300];
	if (!json_object_get(obj, "apiVersion")) {
		if (*inf->res.group)
			snprintf(gv, sizeof(gv), "%s/%s", inf->res.group,
				 inf->res.version);
		else
			snprintf(gv, sizeof(gv), "%s", inf->res.version);
		json_object_set_new(obj, "apiVersion", json_string(gv));
	}
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(inf->res.kind));
	/* What is kept of every object: see gfs_object.h. On -ENOMEM the
	 * object is kept whole, which is correct, only bigger. */
	(void)gfs_json_trim_managed_fields(obj);
}

static void inf_rv_set(struct gfs_informer *inf, const char *rv)
{
	char *copy;
	if (!rv || !*rv || !(copy = strdup(rv)))
		return; /* keep the old one: resuming a little early is harmless */
	free(inf->rv);
	inf->rv = copy;
}

static void inf_list_begin(struct gfs_informer *inf)
{
	if (inf->set->ops->list_begin)
		inf->set->ops->list_begin(inf->set->payload, &inf->res, inf->ns);
}

/* One item of a list page, as it arrives. */
static int inf_list_item(json_t *item, void *payload)
{
	struct gfs_informer *inf = payload;
	const struct gfs_informer_ops *ops = inf->set->ops;
	inf_object_complete(inf, item);
	if (ops->upsert)
		ops->upsert(inf->set->payload, &inf->res, item);
	return 0;
}

/* After a page's items: its continue token (borrowed from doc, NULL on
 * the last page). */
static const char *inf_list_page(struct gfs_informer *inf, json_t *doc)
{
	const json_t *meta = json_object_get(doc, "metadata");
	const char *cont = json_string_value(json_object_get(meta, "continue"));
	inf_rv_set(inf, json_string_value(json_object_get(meta, "resourceVersion")));
	return cont && *cont ? cont : NULL;
}

/* Starts the GET of the page at inf->cont (NULL: the first). */
static int inf_list_start(struct gfs_informer *inf)
{
	char *esc = inf->cont ? curl_easy_escape(NULL, inf->cont, 0) : NULL;
	free(inf->path);
	if (asprintf(&inf->path, "%s?limit=%u%s%s", inf->base, inf->set->page_size,
		     esc ? "&continue=" : "", esc ? esc : "") < 0)
		inf->path = NULL;
	curl_free(esc);
	if (!inf->path)
		return gfs_error_set(-ENOMEM, "out of memory");
	return gfs_kube_list_begin(&inf->list, inf->conn, inf->path, inf_list_item, inf);
}

/* A paged list from its first page. */
static int inf_list(struct gfs_informer *inf)
{
	free(inf->rv);
	inf->rv = NULL;
	free(inf->cont);
	inf->cont = NULL;
	inf->list_restarts = 0;
	inf_list_begin(inf);
	return inf_list_start(inf);
}

static void inf_recovered(struct gfs_informer *inf);
static void inf_synced(struct gfs_informer *inf);

/* A page's transfer ended: 1 when the next page (or this one again) is
 * under way, 0 when the list is complete, else -errno. */
static int inf_list_page_done(struct gfs_informer *inf, CURLcode cc)
{
	json_t *doc = NULL;
	int rc = gfs_kube_list_end(inf->list, cc, &doc);
	if (rc == GFS_KUBE_AGAIN)
		return 1;
	inf->list = NULL;
	if (rc == -ESTALE && inf->cont && inf->list_restarts++ < INF_LIST_RESTARTS) {
		/* The continue token expired (a slow list of a busy
		 * resource): start over, consistently. */
		free(inf->cont);
		inf->cont = NULL;
		inf_list_begin(inf);
		rc = inf_list_start(inf);
		return rc < 0 ? rc : 1;
	}
	if (rc == 0) {
		const char *next = inf_list_page(inf, doc);
		free(inf->cont);
		inf->cont = gfs_strdup(next);
		if (next && !inf->cont)
			rc = gfs_error_set(-ENOMEM, "out of memory");
		else if (next && (rc = inf_list_start(inf)) == 0)
			rc = 1;
		else if (!next && !inf->rv)
			rc = gfs_error_set(-EPROTO,
					   "GET %s: the list has no resourceVersion",
					   inf->base);
	}
	json_decref(doc);
	if (rc != 0) {
		if (rc < 0) {
			free(inf->rv);
			inf->rv = NULL;
		}
		return rc;
	}
	if (inf->set->ops->list_end)
		inf->set->ops->list_end(inf->set->payload, &inf->res, inf->ns);
	inf->paged_next = false; /* stream the next list again */
	inf_recovered(inf);
	inf_synced(inf);
	return 0;
}

/* ---- one informer: watch ----------------------------------------------------- */

/* The bookmark that ends a streaming list's initial events. */
static bool inf_initial_end(const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	return json_is_string(json_object_get(json_object_get(md, "annotations"),
					      "k8s.io/initial-events-end"));
}

static int inf_event(enum gfs_watch_event type, json_t *obj, void *payload)
{
	struct gfs_informer *inf = payload;
	const struct gfs_informer_ops *ops = inf->set->ops;
	const json_t *meta = json_object_get(obj, "metadata");
	if (inf->events++ == 0) {
		inf->watch_opened_ms = 0;
		inf_recovered(inf);
	}
	inf->last_event_ms = gfs_monotonic_ms();
	if (inf->initial && type == GFS_WATCH_BOOKMARK) {
		/* Until the end of the initial events the stream is a list:
		 * no resourceVersion to resume from but the one at its end. */
		const char *rv =
		    json_string_value(json_object_get(meta, "resourceVersion"));
		if (!inf_initial_end(obj) || !rv || !*rv)
			return 0;
		inf_rv_set(inf, rv);
		if (!inf->rv)
			return gfs_error_set(-ENOMEM, "out of memory");
		inf->initial = false;
		if (ops->list_end)
			ops->list_end(inf->set->payload, &inf->res, inf->ns);
		inf_synced(inf);
		return 0;
	}
	if (type != GFS_WATCH_BOOKMARK)
		inf_object_complete(inf, obj);
	if ((type == GFS_WATCH_ADDED || type == GFS_WATCH_MODIFIED) && ops->upsert)
		ops->upsert(inf->set->payload, &inf->res, obj);
	else if (type == GFS_WATCH_DELETED && ops->remove)
		ops->remove(inf->set->payload, &inf->res, obj);
	if (!inf->initial)
		inf_rv_set(inf,
			   json_string_value(json_object_get(meta, "resourceVersion")));
	return 0;
}

/* A watch that answers 200 is not yet a sign of health: a broken or
 * hostile server may then send garbage at once. The back-off is reset
 * (and recovery reported) by its first event, or once it has stayed open
 * and clean for INF_WATCH_HEALTHY_MS (a quiet resource sends nothing). */
static void inf_watch_opened(void *payload)
{
	struct gfs_informer *inf = payload;
	inf->watch_opened_ms = gfs_monotonic_ms();
	inf->watch_open = true;
}

/* Ends the watch when a refresh asks every informer to list again, or a
 * streaming list's initial events stalled. */
static int inf_watch_tick(void *payload)
{
	struct gfs_informer *inf = payload;
	int64_t now = gfs_monotonic_ms();
	if (inf->watch_opened_ms && now - inf->watch_opened_ms >= INF_WATCH_HEALTHY_MS) {
		inf->watch_opened_ms = 0;
		inf_recovered(inf);
	}
	if (inf->initial && now - inf->last_event_ms >= INF_INITIAL_SILENT_MS) {
		inf->initial_stalled = true;
		return 1;
	}
	return atomic_load(&inf->set->refresh_gen) != inf->refresh_seen;
}

/* What ends a streaming list before its initial events did:
 *  - a refusal of the parameters (422 or 400), or initial events that
 *    never end: the server does not stream lists; every informer lists
 *    in pages from now on (returns 0: list now);
 *  - a stop or refresh: 0, the next round lists again;
 *  - any other failure: this informer's next list is paged (a server
 *    that mangles the stream may still list), and the failure is
 *    returned for the back-off. */
static int inf_initial_cut(struct gfs_informer *inf, int rc)
{
	bool stalled = inf->initial_stalled;
	inf->initial = inf->initial_stalled = false;
	free(inf->rv);
	inf->rv = NULL;
	if ((rc == -EINVAL && inf->events == 0) || stalled) {
		char why[300];
		if (stalled)
			snprintf(why, sizeof(why),
				 "GET %s: no initial-events-end bookmark after %d s of "
				 "silence",
				 inf->base, INF_INITIAL_SILENT_MS / 1000);
		else
			snprintf(why, sizeof(why), "%s", gfs_error_last());
		int unknown = 0;
		if (atomic_compare_exchange_strong(&inf->set->watch_list, &unknown, -1))
			gfs_info("the API server does not stream lists (%s); listing "
				 "in pages",
				 why);
		return 0;
	}
	if (atomic_load(&inf->stop) ||
	    atomic_load(&inf->set->refresh_gen) != inf->refresh_seen)
		return rc;
	inf->paged_next = true;
	if (rc < 0)
		return rc;
	return gfs_error_set(-EPROTO,
			     "GET %s: the streaming list ended before its "
			     "initial events did",
			     inf->base);
}

/* Starts one watch from inf->rv; or, with inf->rv NULL, a streaming list
 * (sendInitialEvents, KEP-3157): the watch first sends every object as
 * ADDED, then a bookmark annotated k8s.io/initial-events-end (inf_event
 * ends the list there), and goes on as an ordinary watch. The server
 * builds no list pages, and the objects are decoded and rendered while it
 * sends them instead of between page requests. */
static int inf_watch_start(struct gfs_informer *inf)
{
	static const struct gfs_watch_hooks hooks = {.opened = inf_watch_opened,
						     .tick = inf_watch_tick};
	unsigned timeout = INF_WATCH_SECONDS - INF_WATCH_JITTER +
			   (unsigned)rand_r(&inf->seed) % (2 * INF_WATCH_JITTER + 1);
	char *esc = inf->rv ? curl_easy_escape(NULL, inf->rv, 0) : NULL;
	free(inf->path);
	inf->path = NULL;
	if (inf->rv ? !esc || asprintf(&inf->path,
				       "%s?watch=1&allowWatchBookmarks=true&"
				       "resourceVersion=%s&timeoutSeconds=%u",
				       inf->base, esc, timeout) < 0
		    : asprintf(&inf->path,
			       "%s?watch=1&sendInitialEvents=true&"
			       "resourceVersionMatch=NotOlderThan&"
			       "allowWatchBookmarks=true&timeoutSeconds=%u",
			       inf->base, timeout) < 0) {
		inf->path = NULL;
		curl_free(esc);
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	curl_free(esc);
	inf->watch_t0 = gfs_monotonic_ms();
	inf->events = 0;
	inf->watch_opened_ms = 0;
	inf->watch_open = false;
	inf->last_event_ms = inf->watch_t0;
	if (!inf->rv) {
		inf->initial = true;
		inf_list_begin(inf);
	}
	int rc = gfs_kube_watch_begin(&inf->watch, inf->conn, inf->path, inf_event, inf,
				      &inf->stop, &hooks);
	if (rc < 0)
		inf->initial = false; /* not begun: the next step starts over */
	return rc;
}

/* The watch's transfer ended: 1 when it is under way again (a renewed
 * credential), 0 to go on at inf->wake_ms, else -errno. */
static int inf_watch_done(struct gfs_informer *inf, CURLcode cc)
{
	int rc = gfs_kube_watch_end(inf->watch, cc);
	if (rc == GFS_KUBE_AGAIN)
		return 1;
	inf->watch = NULL;
	inf->watch_open = false;
	int64_t now = gfs_monotonic_ms();
	inf->wake_ms = now;
	if (inf->initial)
		rc = inf_initial_cut(inf, rc);
	else if (rc == -ECONNRESET &&
		 (inf->events > 0 || now - inf->watch_t0 >= INF_WATCH_HEALTHY_MS)) {
		gfs_debug("watch %s ended: %s; resuming", inf->base, gfs_error_last());
		rc = 0;
	} else if (rc == 0 && inf->events == 0 && !atomic_load(&inf->stop) &&
		   now - inf->watch_t0 < INF_WATCH_SHORT_MS) {
		/* A server that ends every watch at once would have us spin.
		 * Closing all watches is also normal (an API server restarting),
		 * so this is no failure: just do not come back at once. */
		gfs_debug("watch %s ended at once without events", inf->base);
		inf->wake_ms = now + INF_WATCH_SHORT_MS;
	}
	if (rc == -ESTALE) {
		/* Our resourceVersion is too old: list again, no back-off. */
		gfs_debug("%s: %s; listing again", inf->base, gfs_error_last());
		free(inf->rv);
		inf->rv = NULL;
		rc = 0;
	}
	return rc;
}

/* ---- one informer: the loop -------------------------------------------------- */

static void inf_recovered(struct gfs_informer *inf)
{
	inf->backoff_ms = 0;
	if (!inf->unhealthy)
		return;
	inf->unhealthy = false;
	gfs_info("%s%s%s: recovered", inf->res.dirname, inf->ns ? " in " : "",
		 inf->ns ? inf->ns : "");
	inf_call_health(inf, true, NULL);
}

static void inf_synced(struct gfs_informer *inf)
{
	struct gfs_informers *set = inf->set;
	pthread_mutex_lock(&set->lock);
	if (!inf->synced) {
		inf->synced = true;
		pthread_cond_broadcast(&set->synced_cond);
	}
	inf->last_error[0] = '\0';
	pthread_mutex_unlock(&set->lock);
}

/* Records a failure, tells the receiver when this is news, and sets the
 * back-off before the next step. */
static void inf_failed(struct gfs_informer *inf, int rc)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "%s", gfs_error_last());
	if (!*msg)
		snprintf(msg, sizeof(msg), "%s", strerror(-rc));
	pthread_mutex_lock(&inf->set->lock);
	snprintf(inf->last_error, sizeof(inf->last_error), "%s", msg);
	inf->out_of_fds = rc == -EMFILE;
	if (inf->out_of_fds) /* wait_synced gives up at once: nothing will change */
		pthread_cond_broadcast(&inf->set->synced_cond);
	pthread_mutex_unlock(&inf->set->lock);
	/* 404: the resource is going away (its CRD was deleted) and the
	 * discoverer is about to stop us; only a lasting 404 is news. */
	bool going = rc == -ENOENT && inf->backoff_ms < INF_GONE_GRACE_MS;
	if (!inf->unhealthy && !going) {
		inf->unhealthy = true;
		gfs_warn("%s%s%s: %s; retrying with back-off", inf->res.dirname,
			 inf->ns ? " in " : "", inf->ns ? inf->ns : "", msg);
		inf_call_health(inf, false, msg);
	}
	unsigned d = inf->backoff_ms ? inf->backoff_ms * 2 : GFS_BACKOFF_MIN_MS;
	if (d > GFS_BACKOFF_MAX_MS)
		d = GFS_BACKOFF_MAX_MS;
	inf->backoff_ms = d;
	/* Equal jitter: between half and all of d, so that informers that
	 * failed together do not come back together. */
	inf->wake_ms =
	    gfs_monotonic_ms() + d / 2 + (unsigned)rand_r(&inf->seed) % (d / 2 + 1);
}

/* Starts what comes next: a streaming list, a paged list or a watch.
 * Returns 0 (a transfer was set up) or -errno. */
static int inf_begin(struct gfs_informer *inf)
{
	int rc;
	if (!inf->conn) {
		rc = gfs_kube_conn_open(&inf->conn, inf->set->client);
		if (rc < 0)
			return rc;
		gfs_kube_conn_set_stop(inf->conn, &inf->stop);
		gfs_kube_conn_multiplex(inf->conn);
	}
	unsigned gen = atomic_load(&inf->set->refresh_gen);
	if (gen != inf->refresh_seen) {
		/* What the receiver keeps may have changed (a new filter):
		 * give it every object again. */
		inf->refresh_seen = gen;
		free(inf->rv);
		inf->rv = NULL;
	}
	if (!inf->rv && atomic_load(&inf->set->watch_list) >= 0 && !inf->paged_next)
		return inf_watch_start(inf); /* a streaming list, then its watch */
	if (!inf->rv)
		return inf_list(inf);
	return inf_watch_start(inf);
}

/* What the loop does with inf after a step: perform its transfer (true),
 * or wait (false) until wake_ms. rc is 1 (a transfer is set up), 0 (go
 * on: begin the next one now unless waiting) or -errno (back off). */
static bool inf_next(struct gfs_informer *inf, int rc)
{
	if (rc == 0 && !atomic_load(&inf->stop) && inf->wake_ms <= gfs_monotonic_ms()) {
		gfs_error_clear();
		rc = inf_begin(inf);
		rc = rc == 0 ? 1 : rc;
	}
	if (rc > 0)
		return true;
	if (rc < 0 && !atomic_load(&inf->stop))
		inf_failed(inf, rc);
	return false;
}

bool gfs_informer_step(struct gfs_informer *inf)
{
	if (atomic_load(&inf->stop)) {
		inf->wake_ms = INT64_MAX;
		return false;
	}
	inf->wake_ms = gfs_monotonic_ms();
	return inf_next(inf, 0);
}

bool gfs_informer_done(struct gfs_informer *inf, CURLcode cc)
{
	int rc;
	gfs_error_clear();
	if (inf->watch) {
		rc = inf_watch_done(inf, cc);
	} else if (inf->list) {
		rc = inf_list_page_done(inf, cc);
		inf->wake_ms = gfs_monotonic_ms();
	} else {
		rc = 0;
	}
	return inf_next(inf, rc);
}

bool gfs_informer_tick(struct gfs_informer *inf)
{
	return inf->conn && gfs_kube_conn_should_end(inf->conn);
}

bool gfs_informer_starting(const struct gfs_informer *inf)
{
	return inf->in_multi && !inf->conn->answered;
}

bool gfs_informer_watching(const struct gfs_informer *inf)
{
	return inf->watch && inf->watch_open;
}

void gfs_informer_halt(struct gfs_informer *inf)
{
	json_t *doc = NULL;
	atomic_store(&inf->stop, true);
	/* Ended as a stopped transfer: nothing is reported. */
	if (inf->watch)
		(void)gfs_kube_watch_end(inf->watch, CURLE_ABORTED_BY_CALLBACK);
	if (inf->list)
		(void)gfs_kube_list_end(inf->list, CURLE_ABORTED_BY_CALLBACK, &doc);
	json_decref(doc);
	inf->watch = NULL;
	inf->list = NULL;
	gfs_kube_conn_close(inf->conn);
	inf->conn = NULL;
}

void gfs_informer_free(struct gfs_informer *inf)
{
	if (!inf)
		return;
	gfs_resource_release(&inf->res);
	free(inf->ns);
	free(inf->base);
	free(inf->rv);
	free(inf->path);
	free(inf->cont);
	free(inf);
}

struct gfs_informer *gfs_informer_new(struct gfs_informers *set,
				      const struct gfs_resource *r, const char *ns)
{
	struct gfs_informer *inf = calloc(1, sizeof(*inf));
	if (!inf || gfs_resource_copy(&inf->res, r) < 0) {
		free(inf);
		return NULL;
	}
	inf->set = set;
	inf->ns = gfs_strdup(ns);
	atomic_init(&inf->stop, false);
	inf->seed = (unsigned)gfs_now_ns() ^ (unsigned)(uintptr_t)inf;
	int n =
	    ns ? asprintf(&inf->base, "%s/namespaces/%s/%s", r->api_path, ns, r->resource)
	       : asprintf(&inf->base, "%s/%s", r->api_path, r->resource);
	if (n < 0 || (ns && !inf->ns)) {
		inf->base = n < 0 ? NULL : inf->base;
		gfs_informer_free(inf);
		return NULL;
	}
	return inf;
}
