/*
 * alert.c - failing/recovered alerts: state tracking per object, log and
 * .gitopsfs/errors lines, and webhook delivery on a thread of its own.
 *
 * Each webhook (struct alert_sink) has its queue (gfs_queue.h) of bodies
 * in raise order, already in its format, and its delivery thread. The
 * thread takes the head out while it POSTs (so reporters never wait for
 * the network) and puts it back at the head when the POST fails, which
 * keeps the order and makes a stuck alert the "oldest" one dropped on
 * overflow. A webhook that is down holds up only its own queue.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_format.h"
#include "gfs_alert.h"
#include "gfs_errlog.h"
#include "gfs_metrics.h"
#include "gfs_queue.h"

#define ALERT_ERROR_MAX 4096 /* longer error texts are cut */

struct alert_item {
	struct gfs_queue_node node;
	char *body; /* JSON, owned */
};

struct alert_failing {
	char *commit; /* owned, may be NULL */
	char *error;  /* owned, the latest reported */
	int64_t since_ns;
	char *health; /* owned: the health state of a health alert, else NULL */
};

/* A health alert's key in the failing table: the object's path and this
 * suffix, so that the sync thread's "applied fine" for the same object
 * does not end a failure of its rollout (two facts, two states). */
#define ALERT_HEALTH_KEY                                                                 \
	"\x1f"                                                                           \
	"health"
#define ALERT_KEY_MAX 1200

/* One report, as the transition needs it. */
struct alert_report {
	const char *key;    /* the failing table's key */
	const char *object; /* what the alert names */
	const char *commit;
	const char *error;  /* NULL: OK now */
	const char *health; /* health alerts: the state word, else NULL */
	const char *reason; /* health alerts: the reason, else the error */
};

/* One webhook and its delivery. */
struct alert_sink {
	struct gfs_alerter *a;
	enum gfs_alert_format format;
	char *url;           /* owned; the URL POSTed to */
	char host[256];      /* "host[:port]" of url, for logs */
	pthread_cond_t cond; /* its queue changed or stopping */

	/* Guarded by a->lock. */
	struct gfs_queue queue; /* of struct alert_item, waiting, in raise order */
	bool in_flight;         /* the thread holds one item outside the queue */

	/* Owned by the delivery thread. */
	pthread_t thread;
	bool has_thread;
	bool has_cond;
	CURL *curl;
	struct curl_slist *headers;
	unsigned seed;
	char errbuf[CURL_ERROR_SIZE];
};

struct gfs_alerter {
	struct gfs_alert_opts opts; /* defaults filled in; no webhooks (sinks) */
	struct alert_sink *sinks;   /* owned, n_sinks of them */
	size_t n_sinks;

	pthread_mutex_t lock;

	/* Guarded by lock. */
	struct gfs_map *failing; /* object -> struct alert_failing * */
	bool stopping;
	int64_t deadline_ms;          /* when stopping: give up at this monotonic time */
	struct gfs_alert_stats stats; /* failing/queued computed on read */

	/* Read by the transfer callbacks without the lock; 0 = no deadline. */
	_Atomic int64_t abort_at_ms;
};

/* ---- small helpers --------------------------------------------------------- */

static char *alert_strndup(const char *s, size_t max)
{
	return s ? strndup(s, max) : NULL;
}

static void alert_failing_free(struct alert_failing *f)
{
	if (!f)
		return;
	free(f->commit);
	free(f->error);
	free(f->health);
	free(f);
}

static void alert_item_free(struct alert_item *it)
{
	if (!it)
		return;
	free(it->body);
	free(it);
}

static struct alert_item *alert_item_of(struct gfs_queue_node *n)
{
	return n ? GFS_QUEUE_ENTRY(n, struct alert_item, node) : NULL;
}

static void alert_item_node_free(struct gfs_queue_node *n)
{
	alert_item_free(alert_item_of(n));
}

/* Checks the URL and fills s->host with its host (and port when given):
 * never the userinfo or the path, which may hold a secret. For
 * Alertmanager, s->url is the URL with /api/v2/alerts added to its path
 * (unless it ends with it already). */
static int alert_sink_url(struct alert_sink *s, const char *url)
{
	static const char am_path[] = "/api/v2/alerts";
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *full = NULL;
	int rc = 0;
	if (!u)
		return gfs_error_set(-ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		rc = gfs_error_set(-EINVAL, "the alert webhook is not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		rc = gfs_error_set(-EINVAL, "the alert webhook must be an http(s) URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
		snprintf(s->host, sizeof(s->host), "%s:%s", host, port);
	else
		snprintf(s->host, sizeof(s->host), "%s", host);
	if (s->format == GFS_ALERT_ALERTMANAGER &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		char joined[2048];
		size_t len = strlen(path);
		while (len > 0 && path[len - 1] == '/')
			len--;
		bool has = len >= sizeof(am_path) - 1 &&
			   strncmp(path + len - (sizeof(am_path) - 1), am_path,
				   sizeof(am_path) - 1) == 0;
		snprintf(joined, sizeof(joined), "%.*s%s", (int)len, path,
			 has ? "" : am_path);
		if (curl_url_set(u, CURLUPART_PATH, joined, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
			rc = gfs_error_set(-EINVAL,
					   "the alert webhook is not a valid URL");
			goto out;
		}
	}
	if (!(s->url = strdup(full ? full : url)))
		rc = gfs_error_set(-ENOMEM, "out of memory");
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}

int gfs_alert_format_parse(enum gfs_alert_format *out, const char *name)
{
	static const char *const names[] = {"json", "slack", "alertmanager"};
	for (size_t i = 0; name && i < GFS_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum gfs_alert_format)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- delivery -------------------------------------------------------------- */

static size_t alert_discard(char *data, size_t size, size_t n, void *payload)
{
	return size * n; /* the answer's body is of no interest */
}

/* Cuts a POST short once gfs_alerter_free's deadline has passed. */
static int alert_xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow,
			  curl_off_t ultotal, curl_off_t ulnow)
{
	struct alert_sink *s = p;
	int64_t at = atomic_load(&s->a->abort_at_ms);
	return at && gfs_monotonic_ms() >= at;
}

static int alert_curl_setup(struct alert_sink *s)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!c || !h2) {
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		return gfs_error_set(-ENOMEM, "cannot create a libcurl handle");
	}
	s->curl = c;
	s->headers = h2;
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gitopsfs/" GFS_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->a->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->a->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, alert_discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, alert_xferinfo);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return 0;
}

/* One POST. Returns 0 on a 2xx answer, else a negative errno with the
 * reason (naming the host only) in the per-thread error message. */
static int alert_post(struct alert_sink *s, const char *body)
{
	long status = 0;
	if (!s->curl && alert_curl_setup(s) < 0)
		return -ENOMEM;
	s->errbuf[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	CURLcode code = curl_easy_perform(s->curl);
	if (code != CURLE_OK) {
		const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(code);
		if (code == CURLE_ABORTED_BY_CALLBACK)
			return gfs_error_set(-ECANCELED,
					     "webhook %s: cut off at shutdown", s->host);
		return gfs_error_set(code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
				     "webhook %s: %s", s->host, why);
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return gfs_error_set(-EIO, "webhook %s answered HTTP %ld", s->host,
				     status);
	return 0;
}

/* The n-th consecutive failure's delay: base * 2^n capped, then jittered
 * into [d/2, d] so that many agents do not retry in step. */
static unsigned alert_backoff(struct alert_sink *s, unsigned n)
{
	const struct gfs_alert_opts *o = &s->a->opts;
	uint64_t d = o->backoff_ms;
	while (n-- > 0 && d < o->backoff_max_ms)
		d *= 2;
	if (d > o->backoff_max_ms)
		d = o->backoff_max_ms;
	return (unsigned)(d / 2 + (d / 2 ? (uint64_t)rand_r(&s->seed) % (d / 2 + 1) : 0));
}

/* After a failed POST, under the lock: counts it, logs it, puts the alert
 * back at the head and sleeps out the back-off (or until the deadline). */
static void alert_retry_later(struct alert_sink *s, struct alert_item *it,
			      unsigned failures)
{
	struct gfs_alerter *a = s->a;
	unsigned delay = alert_backoff(s, failures - 1);
	a->stats.retries++;
	snprintf(a->stats.last_error, sizeof(a->stats.last_error), "%s",
		 gfs_error_last());
	if (a->stopping)
		gfs_warn("alert delivery failed (attempt %u): %s", failures,
			 gfs_error_last());
	else
		gfs_warn("alert delivery failed (attempt %u): %s; retrying in %u ms",
			 failures, gfs_error_last(), delay);
	/* Back to the head: order is kept, and on overflow it goes first. */
	gfs_queue_push_front(&s->queue, &it->node);
	int64_t wake = gfs_monotonic_ms() + delay;
	for (;;) {
		int64_t until =
		    a->stopping && a->deadline_ms < wake ? a->deadline_ms : wake;
		if (gfs_monotonic_ms() >= until)
			break;
		gfs_cond_wait_until(&s->cond, &a->lock, until);
	}
}

static void alert_enqueue(struct alert_sink *s, char *body);

struct alert_resend {
	struct alert_sink *s;
	int64_t now_ns;
};

/* One failing object's alert again, as when it was raised (lock held). */
static int alert_resend_one(const char *key, void *value, void *payload)
{
	struct alert_resend *r = payload;
	const struct alert_failing *f = value;
	char object[ALERT_KEY_MAX];
	if (gfs_queue_len(&r->s->queue) >= r->s->a->opts.queue_max)
		return 1; /* the queue is full: the rest next time */
	snprintf(object, sizeof(object), "%.*s", (int)strcspn(key, "\x1f"), key);
	struct gfs_alert_event e = {
	    .object = object,
	    .commit = f->commit,
	    .error = f->error,
	    .health = f->health,
	    .failing = true,
	    .when_ns = r->now_ns,
	    .since_ns = f->since_ns,
	};
	alert_enqueue(r->s, gfs_alert_format_body(r->s->format, &e));
	return 0;
}

/*
 * Alertmanager forgets an alert that is not sent again: after its
 * resolve_timeout (5 min by default) it counts as resolved, although the
 * object still fails. So, as Prometheus does, an Alertmanager webhook is
 * sent every alert still failing each resend_ms; Alertmanager folds the
 * repeats into the one notification (same labels, same startsAt), so a
 * person still hears once per change of state. Lock held.
 */
static void alert_resend_active(struct alert_sink *s)
{
	struct alert_resend r = {s, gfs_now_ns()};
	gfs_map_foreach(s->a->failing, alert_resend_one, &r);
}

static void *alert_thread(void *payload)
{
	struct alert_sink *s = payload;
	struct gfs_alerter *a = s->a;
	unsigned failures = 0;
	int64_t resend_at = gfs_monotonic_ms() + a->opts.resend_ms;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (gfs_queue_empty(&s->queue) && !a->stopping) {
			if (s->format != GFS_ALERT_ALERTMANAGER) {
				pthread_cond_wait(&s->cond, &a->lock);
				continue;
			}
			int64_t now = gfs_monotonic_ms();
			if (now >= resend_at) {
				resend_at = now + a->opts.resend_ms;
				alert_resend_active(s);
				continue;
			}
			gfs_cond_wait_ms(&s->cond, &a->lock, (unsigned)(resend_at - now));
		}
		if (gfs_queue_empty(&s->queue) ||
		    (a->stopping && gfs_monotonic_ms() >= a->deadline_ms))
			break;
		struct alert_item *it = alert_item_of(gfs_queue_pop(&s->queue));
		s->in_flight = true;
		pthread_mutex_unlock(&a->lock);

		int rc = alert_post(s, it->body);
		gfs_metrics_alert(rc);

		pthread_mutex_lock(&a->lock);
		s->in_flight = false;
		if (rc == 0) {
			a->stats.delivered++;
			failures = 0;
			alert_item_free(it);
			continue;
		}
		alert_retry_later(s, it, ++failures);
	}
	/* Stopping: whatever is left could not be delivered in time. */
	struct gfs_queue rest = GFS_QUEUE_INIT;
	gfs_queue_move(&rest, &s->queue);
	size_t left = gfs_queue_len(&rest);
	a->stats.dropped += left;
	pthread_mutex_unlock(&a->lock);
	if (left)
		gfs_warn("alert delivery to %s stopped: %zu alert(s) not delivered",
			 s->host, left);
	gfs_queue_clear(&rest, alert_item_node_free);
	curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers);
	s->curl = NULL;
	s->headers = NULL;
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

int gfs_alerter_new(struct gfs_alerter **out, const char *webhook_url)
{
	struct gfs_alert_opts opts = {.webhook_url = webhook_url};
	return gfs_alerter_new_opts(out, &opts);
}

int gfs_alerter_new_webhooks(struct gfs_alerter **out,
			     const struct gfs_alert_webhook *webhooks, size_t n)
{
	struct gfs_alert_opts opts = {.webhooks = webhooks, .n_webhooks = n};
	return gfs_alerter_new_opts(out, &opts);
}

/* Sets up sink number a->n_sinks for `url` and starts its thread. */
static int alert_sink_start(struct gfs_alerter *a, const char *url,
			    enum gfs_alert_format format)
{
	struct alert_sink *s = &a->sinks[a->n_sinks];
	int rc;
	s->a = a;
	s->format = format;
	gfs_queue_init(&s->queue);
	s->seed = (unsigned)gfs_now_ns() ^ (unsigned)(uintptr_t)s;
	a->n_sinks++; /* from here on gfs_alerter_free releases it */
	if ((rc = alert_sink_url(s, url)) < 0)
		return rc;
	if ((rc = gfs_cond_init_monotonic(&s->cond)) < 0)
		return gfs_error_set(rc, "cannot create a condition variable");
	s->has_cond = true;
	if ((rc = pthread_create(&s->thread, NULL, alert_thread, s)) != 0)
		return gfs_error_set(-rc, "cannot start the alert thread: %s",
				     strerror(rc));
	s->has_thread = true;
	static const char *const names[] = {"JSON", "Slack", "Alertmanager"};
	gfs_info("alerts go to the %s webhook at %s", names[format], s->host);
	return 0;
}

static int alert_sinks_start(struct gfs_alerter *a, const struct gfs_alert_opts *opts)
{
	bool first = opts->webhook_url && *opts->webhook_url;
	size_t n = (first ? 1 : 0) + opts->n_webhooks;
	int rc = 0;
	if (n == 0)
		return 0;
	if ((rc = gfs_global_curl_init()) < 0)
		return rc;
	if (!(a->sinks = calloc(n, sizeof(*a->sinks))))
		return gfs_error_set(-ENOMEM, "out of memory");
	if (first && (rc = alert_sink_start(a, opts->webhook_url, GFS_ALERT_JSON)) < 0)
		return rc;
	for (size_t i = 0; i < opts->n_webhooks; i++) {
		const struct gfs_alert_webhook *w = &opts->webhooks[i];
		if ((unsigned)w->format > GFS_ALERT_ALERTMANAGER)
			return gfs_error_set(-EINVAL, "unknown webhook format %d",
					     (int)w->format);
		if (!w->url || !*w->url)
			return gfs_error_set(-EINVAL, "a webhook needs a URL");
		if ((rc = alert_sink_start(a, w->url, w->format)) < 0)
			return rc;
	}
	return 0;
}

int gfs_alerter_new_opts(struct gfs_alerter **out, const struct gfs_alert_opts *opts)
{
	struct gfs_alerter *a = calloc(1, sizeof(*a));
	int rc = 0;
	*out = NULL;
	if (!a)
		return gfs_error_set(-ENOMEM, "out of memory");
	a->opts = *opts;
	a->opts.backoff_ms = opts->backoff_ms ? opts->backoff_ms : 1000;
	a->opts.backoff_max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 60000;
	if (a->opts.backoff_max_ms < a->opts.backoff_ms)
		a->opts.backoff_max_ms = a->opts.backoff_ms;
	a->opts.timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
	a->opts.queue_max = opts->queue_max ? opts->queue_max : 1000;
	a->opts.drain_ms = opts->drain_ms ? opts->drain_ms : 3000;
	a->opts.resend_ms = opts->resend_ms ? opts->resend_ms : 60000;
	a->opts.webhook_url = NULL; /* the sinks hold the webhooks */
	a->opts.webhooks = NULL;
	a->opts.n_webhooks = 0;
	pthread_mutex_init(&a->lock, NULL);
	if (!(a->failing = gfs_map_new())) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = alert_sinks_start(a, opts)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	gfs_alerter_free(a);
	return rc;
}

static int alert_free_failing(const char *key, void *value, void *payload)
{
	alert_failing_free(value);
	return 0;
}

void gfs_alerter_free(struct gfs_alerter *a)
{
	if (!a)
		return;
	/* All threads drain at once, against one deadline. */
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	a->deadline_ms = gfs_monotonic_ms() + a->opts.drain_ms;
	atomic_store(&a->abort_at_ms, a->deadline_ms);
	for (size_t i = 0; i < a->n_sinks; i++)
		if (a->sinks[i].has_cond)
			pthread_cond_broadcast(&a->sinks[i].cond);
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < a->n_sinks; i++) {
		struct alert_sink *s = &a->sinks[i];
		if (s->has_thread)
			pthread_join(s->thread, NULL);
		/* Without a thread nothing was ever queued; with one, it emptied it. */
		if (s->has_cond)
			pthread_cond_destroy(&s->cond);
		free(s->url);
	}
	free(a->sinks);
	if (a->failing) {
		gfs_map_foreach(a->failing, alert_free_failing, NULL);
		gfs_map_free(a->failing);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- reporting ------------------------------------------------------------- */

/* Queues a body for the sink's thread, dropping the oldest waiting alert
 * when full. Lock held; takes ownership of body. */
static void alert_enqueue(struct alert_sink *s, char *body)
{
	struct gfs_alerter *a = s->a;
	struct alert_item *it = body ? malloc(sizeof(*it)) : NULL;
	if (!it) {
		free(body);
		a->stats.dropped++;
		gfs_warn("alert for %s not queued: out of memory", s->host);
		return;
	}
	it->body = body;
	if (gfs_queue_len(&s->queue) >= a->opts.queue_max) {
		alert_item_free(alert_item_of(gfs_queue_pop(&s->queue)));
		a->stats.dropped++;
		gfs_warn("alert queue for %s full (%u): dropped the oldest alert",
			 s->host, a->opts.queue_max);
	}
	gfs_queue_push(&s->queue, &it->node);
	pthread_cond_signal(&s->cond);
}

/* Under the lock: records the new state. Returns 1 (changed; *since set
 * to when the failure started), 0 (no change) or -ENOMEM (nothing
 * changed). */
static int alert_transition(struct gfs_alerter *a, const struct alert_report *r,
			    int64_t now, int64_t *since)
{
	struct alert_failing *f = gfs_map_get(a->failing, r->key);
	int err = 0;
	*since = now;
	if (!r->error) {
		if (!f)
			return 0;
		*since = f->since_ns;
		alert_failing_free(gfs_map_del(a->failing, r->key));
		return 1;
	}
	char *e = alert_strndup(r->error, ALERT_ERROR_MAX),
	     *c = alert_strndup(r->commit, 64);
	char *h = alert_strndup(r->health, 32);
	if (!e || (r->commit && !c) || (r->health && !h))
		goto nomem;
	if (f) { /* already failing: remember the latest reason, say nothing */
		free(f->error);
		free(f->commit);
		free(f->health);
		f->error = e;
		f->commit = c;
		f->health = h;
		return 0;
	}
	if (!(f = calloc(1, sizeof(*f))))
		goto nomem;
	*f = (struct alert_failing){c, e, now, h};
	gfs_map_put(a->failing, r->key, f, &err);
	if (err < 0)
		goto nomem_f;
	return 1;
nomem_f:
	free(f);
nomem:
	free(e);
	free(c);
	free(h);
	return -ENOMEM;
}

static int alert_report(struct gfs_alerter *a, const struct alert_report *r)
{
	int64_t now = gfs_now_ns(), since = now;
	pthread_mutex_lock(&a->lock);
	int rc = alert_transition(a, r, now, &since);
	if (rc == 1) {
		struct gfs_alert_event e = {
		    .object = r->object,
		    .commit = r->commit,
		    .error = r->error,
		    .health = r->health,
		    .reason = r->reason,
		    .failing = r->error != NULL,
		    .when_ns = now,
		    .since_ns = since,
		};
		a->stats.raised++;
		for (size_t i = 0; i < a->n_sinks; i++)
			alert_enqueue(&a->sinks[i],
				      gfs_alert_format_body(a->sinks[i].format, &e));
	}
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		return gfs_error_set(rc, "out of memory raising an alert for %s",
				     r->object);
	if (rc == 0)
		return 0;
	/* Lines go out after the lock: the log and the errlog take their own. */
	char at[80] = "";
	if (r->commit)
		snprintf(at, sizeof(at), " (commit %.12s)", r->commit);
	if (r->error)
		gfs_errlog_add("%s: %.*s%s", r->object, ALERT_ERROR_MAX, r->error, at);
	else if (r->health)
		gfs_info("%s recovered: %s: %s%s", r->object, r->health, r->reason, at);
	else
		gfs_info("%s recovered%s", r->object, at);
	return 1;
}

int gfs_alerter_report(struct gfs_alerter *a, const char *object, const char *commit,
		       const char *error)
{
	if (!a || !object || !*object)
		return gfs_error_set(-EINVAL, "an alert needs an object");
	struct alert_report r = {object, object, commit, error, NULL, error};
	return alert_report(a, &r);
}

int gfs_alerter_report_health(struct gfs_alerter *a, const char *object,
			      const char *commit, bool failing, const char *health,
			      const char *reason)
{
	if (!a || !object || !*object || !health || !reason)
		return gfs_error_set(-EINVAL,
				     "a health alert needs an object and a state");
	char key[ALERT_KEY_MAX], error[ALERT_ERROR_MAX];
	snprintf(key, sizeof(key), "%s" ALERT_HEALTH_KEY, object);
	snprintf(error, sizeof(error), "%s: %s", health, reason);
	struct alert_report r = {key,    object, commit, failing ? error : NULL,
				 health, reason};
	return alert_report(a, &r);
}

/* ---- queries --------------------------------------------------------------- */

size_t gfs_alerter_failing_count(struct gfs_alerter *a)
{
	pthread_mutex_lock(&a->lock);
	size_t n = gfs_map_count(a->failing);
	pthread_mutex_unlock(&a->lock);
	return n;
}

bool gfs_alerter_is_failing(struct gfs_alerter *a, const char *object)
{
	pthread_mutex_lock(&a->lock);
	char key[ALERT_KEY_MAX];
	snprintf(key, sizeof(key), "%s" ALERT_HEALTH_KEY, object ? object : "");
	bool yes = object && (gfs_map_get(a->failing, object) != NULL ||
			      gfs_map_get(a->failing, key) != NULL);
	pthread_mutex_unlock(&a->lock);
	return yes;
}

struct alert_collect {
	const char **keys;
	size_t n;
};

static int alert_collect_key(const char *key, void *value, void *payload)
{
	struct alert_collect *c = payload;
	c->keys[c->n++] = key;
	return 0;
}

static int alert_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int gfs_alerter_failing_json(json_t **out, struct gfs_alerter *a)
{
	int rc = 0;
	json_t *arr = json_array();
	*out = NULL;
	pthread_mutex_lock(&a->lock);
	size_t n = gfs_map_count(a->failing);
	struct alert_collect c = {calloc(n ? n : 1, sizeof(char *)), 0};
	if (!arr || !c.keys) {
		rc = -ENOMEM;
		goto out;
	}
	gfs_map_foreach(a->failing, alert_collect_key, &c);
	qsort(c.keys, c.n, sizeof(char *), alert_cmp);
	for (size_t i = 0; i < c.n; i++) {
		const struct alert_failing *f = gfs_map_get(a->failing, c.keys[i]);
		char since[32];
		gfs_alert_rfc3339(since, sizeof(since), f->since_ns);
		json_t *o = json_object();
		/* A health alert's key is the object and a suffix. */
		size_t olen = strcspn(c.keys[i], "\x1f");
		if (!o || json_array_append_new(arr, o) < 0 ||
		    json_object_set_new(o, "object", json_stringn(c.keys[i], olen)) < 0 ||
		    (f->health &&
		     json_object_set_new(o, "health", json_string(f->health)) < 0) ||
		    json_object_set_new(o, "commit", gfs_alert_json_text(f->commit)) <
			0 ||
		    json_object_set_new(o, "error", gfs_alert_json_text(f->error)) < 0 ||
		    json_object_set_new(o, "since", json_string(since)) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&a->lock);
	free(c.keys);
	if (rc < 0) {
		json_decref(arr);
		return gfs_error_set(rc, "out of memory listing failing objects");
	}
	*out = arr;
	return 0;
}

void gfs_alerter_stats(struct gfs_alert_stats *out, struct gfs_alerter *a)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	out->failing = gfs_map_count(a->failing);
	out->queued = 0;
	for (size_t i = 0; i < a->n_sinks; i++)
		out->queued +=
		    gfs_queue_len(&a->sinks[i].queue) + (a->sinks[i].in_flight ? 1 : 0);
	pthread_mutex_unlock(&a->lock);
}
