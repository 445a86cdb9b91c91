/*
 * alert.c - failing/recovered alerts: state tracking per object, log and
 * .gitopsfs/errors lines, and webhook delivery on a thread of its own.
 *
 * The queue (gfs_queue.h) holds the alerts in raise order. The delivery
 * thread takes the head out while it POSTs (so reporters never wait for
 * the network) and puts it back at the head when the POST fails, which
 * keeps the order and makes a stuck alert the "oldest" one dropped on
 * overflow.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct gfs_alerter {
	struct gfs_alert_opts opts; /* defaults filled in; webhook_url = url */
	char *url;                  /* owned; NULL without a webhook */
	char host[256];             /* "host[:port]" of url, for logs */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* queue changed or stopping */

	/* Guarded by lock. */
	struct gfs_map *failing; /* object -> struct alert_failing * */
	struct gfs_queue queue;  /* of struct alert_item, waiting, in raise order */
	bool in_flight;          /* the thread holds one item outside the queue */
	bool stopping;
	int64_t deadline_ms;          /* when stopping: give up at this monotonic time */
	struct gfs_alert_stats stats; /* failing/queued computed on read */

	/* Read by the transfer callback without the lock; 0 = no deadline. */
	_Atomic int64_t abort_at_ms;

	/* Owned by the delivery thread. */
	pthread_t thread;
	bool has_thread;
	CURL *curl;
	struct curl_slist *headers;
	unsigned seed;
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- small helpers --------------------------------------------------------- */

static void alert_rfc3339(char *out, size_t outsz, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A JSON string for text that may be cut mid-character or not be UTF-8 at
 * all: jansson refuses invalid UTF-8, so then non-ASCII bytes become '?'. */
static json_t *alert_json_text(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

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

/* Checks the URL and fills a->host with its host (and port when given):
 * never the userinfo or the path, which may hold a secret. */
static int alert_parse_url(struct gfs_alerter *a, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
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
		snprintf(a->host, sizeof(a->host), "%s:%s", host, port);
	else
		snprintf(a->host, sizeof(a->host), "%s", host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
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
	struct gfs_alerter *a = p;
	int64_t at = atomic_load(&a->abort_at_ms);
	return at && gfs_monotonic_ms() >= at;
}

static int alert_curl_setup(struct gfs_alerter *a)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!c || !h2) {
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		return gfs_error_set(-ENOMEM, "cannot create a libcurl handle");
	}
	a->curl = c;
	a->headers = h2;
	curl_easy_setopt(c, CURLOPT_URL, a->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, a->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gitopsfs/" GFS_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)a->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)a->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, alert_discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, alert_xferinfo);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return 0;
}

/* One POST. Returns 0 on a 2xx answer, else a negative errno with the
 * reason (naming the host only) in the per-thread error message. */
static int alert_post(struct gfs_alerter *a, const char *body)
{
	long status = 0;
	if (!a->curl && alert_curl_setup(a) < 0)
		return -ENOMEM;
	a->errbuf[0] = '\0';
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	CURLcode code = curl_easy_perform(a->curl);
	if (code != CURLE_OK) {
		const char *why = a->errbuf[0] ? a->errbuf : curl_easy_strerror(code);
		if (code == CURLE_ABORTED_BY_CALLBACK)
			return gfs_error_set(-ECANCELED,
					     "webhook %s: cut off at shutdown", a->host);
		return gfs_error_set(code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
				     "webhook %s: %s", a->host, why);
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return gfs_error_set(-EIO, "webhook %s answered HTTP %ld", a->host,
				     status);
	return 0;
}

/* The n-th consecutive failure's delay: base * 2^n capped, then jittered
 * into [d/2, d] so that many agents do not retry in step. */
static unsigned alert_backoff(struct gfs_alerter *a, unsigned n)
{
	uint64_t d = a->opts.backoff_ms;
	while (n-- > 0 && d < a->opts.backoff_max_ms)
		d *= 2;
	if (d > a->opts.backoff_max_ms)
		d = a->opts.backoff_max_ms;
	return (unsigned)(d / 2 + (d / 2 ? (uint64_t)rand_r(&a->seed) % (d / 2 + 1) : 0));
}

static void *alert_thread(void *payload)
{
	struct gfs_alerter *a = payload;
	unsigned failures = 0;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (gfs_queue_empty(&a->queue) && !a->stopping)
			pthread_cond_wait(&a->cond, &a->lock);
		if (gfs_queue_empty(&a->queue) ||
		    (a->stopping && gfs_monotonic_ms() >= a->deadline_ms))
			break;
		struct alert_item *it = alert_item_of(gfs_queue_pop(&a->queue));
		a->in_flight = true;
		pthread_mutex_unlock(&a->lock);

		int rc = alert_post(a, it->body);
		gfs_metrics_alert(rc);

		pthread_mutex_lock(&a->lock);
		a->in_flight = false;
		if (rc == 0) {
			a->stats.delivered++;
			failures = 0;
			alert_item_free(it);
			continue;
		}
		unsigned delay = alert_backoff(a, failures++);
		a->stats.retries++;
		snprintf(a->stats.last_error, sizeof(a->stats.last_error), "%s",
			 gfs_error_last());
		if (a->stopping)
			gfs_warn("alert delivery failed (attempt %u): %s", failures,
				 gfs_error_last());
		else
			gfs_warn(
			    "alert delivery failed (attempt %u): %s; retrying in %u ms",
			    failures, gfs_error_last(), delay);
		/* Back to the head: order is kept, and on overflow it goes first. */
		gfs_queue_push_front(&a->queue, &it->node);
		int64_t wake = gfs_monotonic_ms() + delay;
		for (;;) {
			int64_t until =
			    a->stopping && a->deadline_ms < wake ? a->deadline_ms : wake;
			if (gfs_monotonic_ms() >= until)
				break;
			gfs_cond_wait_until(&a->cond, &a->lock, until);
		}
	}
	/* Stopping: whatever is left could not be delivered in time. */
	struct gfs_queue rest = GFS_QUEUE_INIT;
	gfs_queue_move(&rest, &a->queue);
	size_t left = gfs_queue_len(&rest);
	a->stats.dropped += left;
	pthread_mutex_unlock(&a->lock);
	if (left)
		gfs_warn("alert delivery to %s stopped: %zu alert(s) not delivered",
			 a->host, left);
	gfs_queue_clear(&rest, alert_item_node_free);
	curl_easy_cleanup(a->curl);
	curl_slist_free_all(a->headers);
	a->curl = NULL;
	a->headers = NULL;
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

int gfs_alerter_new(struct gfs_alerter **out, const char *webhook_url)
{
	struct gfs_alert_opts opts = {.webhook_url = webhook_url};
	return gfs_alerter_new_opts(out, &opts);
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
	a->seed = (unsigned)gfs_now_ns() ^ (unsigned)(uintptr_t)a;
	pthread_mutex_init(&a->lock, NULL);
	if ((rc = gfs_cond_init_monotonic(&a->cond)) < 0) {
		pthread_mutex_destroy(&a->lock);
		free(a);
		return gfs_error_set(rc, "cannot create a condition variable");
	}
	if (!(a->failing = gfs_map_new())) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto fail;
	}
	a->opts.webhook_url = NULL;
	if (opts->webhook_url && *opts->webhook_url) {
		if ((rc = gfs_global_curl_init()) < 0 ||
		    (rc = alert_parse_url(a, opts->webhook_url)) < 0)
			goto fail;
		if (!(a->url = strdup(opts->webhook_url))) {
			rc = gfs_error_set(-ENOMEM, "out of memory");
			goto fail;
		}
		a->opts.webhook_url = a->url;
		if ((rc = pthread_create(&a->thread, NULL, alert_thread, a)) != 0) {
			rc = gfs_error_set(-rc, "cannot start the alert thread: %s",
					   strerror(rc));
			goto fail;
		}
		a->has_thread = true;
		gfs_info("alerts go to the webhook at %s", a->host);
	}
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
	if (a->has_thread) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		a->deadline_ms = gfs_monotonic_ms() + a->opts.drain_ms;
		atomic_store(&a->abort_at_ms, a->deadline_ms);
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	if (a->failing) {
		gfs_map_foreach(a->failing, alert_free_failing, NULL);
		gfs_map_free(a->failing);
	}
	/* Without a thread nothing was ever queued; with one, it emptied it. */
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->url);
	free(a);
}

/* ---- reporting ------------------------------------------------------------- */

/* The webhook body of one alert, or NULL when out of memory. "health"
 * and "reason" came later than the other fields: nothing was removed, so
 * receivers written for the first format keep working. */
static char *alert_body(const struct alert_report *r, bool failing, int64_t when_ns)
{
	char stamp[32];
	alert_rfc3339(stamp, sizeof(stamp), when_ns);
	json_t *o = json_object();
	char *body = NULL;
	if (!o || json_object_set_new(o, "object", alert_json_text(r->object)) < 0 ||
	    json_object_set_new(o, "commit", alert_json_text(r->commit)) < 0 ||
	    json_object_set_new(o, "error", alert_json_text(failing ? r->error : NULL)) <
		0 ||
	    json_object_set_new(o, "state",
				json_string(failing ? "failing" : "recovered")) < 0 ||
	    json_object_set_new(o, "time", json_string(stamp)) < 0 ||
	    json_object_set_new(o, "health", alert_json_text(r->health)) < 0 ||
	    json_object_set_new(o, "reason", alert_json_text(r->reason)) < 0)
		goto out;
	body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(o);
	return body;
}

/* Queues a body for the thread, dropping the oldest waiting alert when
 * full. Lock held; takes ownership of body. */
static void alert_enqueue(struct gfs_alerter *a, char *body)
{
	struct alert_item *it = malloc(sizeof(*it));
	if (!it) {
		free(body);
		a->stats.dropped++;
		gfs_warn("alert not queued: out of memory");
		return;
	}
	it->body = body;
	if (gfs_queue_len(&a->queue) >= a->opts.queue_max) {
		alert_item_free(alert_item_of(gfs_queue_pop(&a->queue)));
		a->stats.dropped++;
		gfs_warn("alert queue for %s full (%u): dropped the oldest alert",
			 a->host, a->opts.queue_max);
	}
	gfs_queue_push(&a->queue, &it->node);
	pthread_cond_signal(&a->cond);
}

/* Under the lock: records the new state. Returns 1 (changed; *body set
 * when a webhook wants it), 0 (no change) or -ENOMEM (nothing changed). */
static int alert_transition(struct gfs_alerter *a, const struct alert_report *r,
			    int64_t now, char **body)
{
	struct alert_failing *f = gfs_map_get(a->failing, r->key);
	int err = 0;
	if (!r->error) {
		if (!f)
			return 0;
		if (a->url && !(*body = alert_body(r, false, now)))
			return -ENOMEM;
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
	if (a->url && !(*body = alert_body(r, true, now)))
		goto nomem_f;
	gfs_map_put(a->failing, r->key, f, &err);
	if (err < 0)
		goto nomem_f;
	return 1;
nomem_f:
	free(f);
nomem:
	free(*body);
	*body = NULL;
	free(e);
	free(c);
	free(h);
	return -ENOMEM;
}

static int alert_report(struct gfs_alerter *a, const struct alert_report *r)
{
	char *body = NULL;
	pthread_mutex_lock(&a->lock);
	int rc = alert_transition(a, r, gfs_now_ns(), &body);
	if (rc == 1) {
		a->stats.raised++;
		if (body)
			alert_enqueue(a, body);
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
		alert_rfc3339(since, sizeof(since), f->since_ns);
		json_t *o = json_object();
		/* A health alert's key is the object and a suffix. */
		size_t olen = strcspn(c.keys[i], "\x1f");
		if (!o || json_array_append_new(arr, o) < 0 ||
		    json_object_set_new(o, "object", json_stringn(c.keys[i], olen)) < 0 ||
		    (f->health &&
		     json_object_set_new(o, "health", json_string(f->health)) < 0) ||
		    json_object_set_new(o, "commit", alert_json_text(f->commit)) < 0 ||
		    json_object_set_new(o, "error", alert_json_text(f->error)) < 0 ||
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
	out->queued = gfs_queue_len(&a->queue) + (a->in_flight ? 1 : 0);
	pthread_mutex_unlock(&a->lock);
}
