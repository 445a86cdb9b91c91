/*
 * gfs_alert.h - alerts when something starts failing and when it recovers
 * (SPEC section 6).
 *
 * The sync thread reports the outcome of every attempt for every object
 * ("shop/deployments.apps/web.yaml", or a pseudo-object such as "sync" for
 * fetching origin); the alerter turns that stream of outcomes into alerts
 * on changes of state only:
 *
 *   report(obj, error)  on an object that is OK      -> "failing" alert
 *   report(obj, error)  on an object already failing -> nothing (the
 *                                                       stored error text
 *                                                       is updated)
 *   report(obj, NULL)   on an object that is failing -> "recovered" alert
 *   report(obj, NULL)   on an object that is OK      -> nothing
 *
 * Every alert is a log line: a failure is added to .gitopsfs/errors with
 * gfs_errlog_add ("OBJECT: ERROR (commit 1a2b3c4d5e6f)"), which also logs
 * it at error level; a recovery is logged at info level ("OBJECT
 * recovered (commit ...)"). Each alert is also POSTed to every configured
 * webhook, in that webhook's format (enum gfs_alert_format). The generic
 * JSON format (GFS_ALERT_JSON) is:
 *
 *   {"object": "shop/deployments.apps/web.yaml", "commit": "1a2b..." | null,
 *    "error": "..." | null, "state": "failing" | "recovered",
 *    "time": "2026-11-26T05:00:00Z", "health": "Failed" | null,
 *    "reason": "..." | null}
 *
 * ("health" and "reason" are set by health alerts; for others "health" is
 * null and "reason" the error.)
 *
 * ("time" is when the state changed, not when the POST was made.)
 *
 * GFS_ALERT_SLACK posts {"text": "gitopsfs: OBJECT is failing: ERROR
 * (commit 1a2b3c4d5e6f)"} or {"text": "gitopsfs: OBJECT recovered (commit
 * ...)"}, with &, < and > escaped as Slack wants.
 *
 * GFS_ALERT_ALERTMANAGER posts to URL/api/v2/alerts (the path is added
 * unless the URL ends with it) a list of one Alertmanager v2 alert:
 *
 *   [{"labels": {"alertname": "GitopsfsFailing" | "GitopsfsUnhealthy",
 *                "object": "shop/deployments.apps/web.yaml"},
 *     "annotations": {"summary": "OBJECT is failing" | "OBJECT recovered",
 *                     "description": ERROR | REASON | "recovered",
 *                     "commit": "1a2b..." (when known),
 *                     "health": "Failed" (health alerts)},
 *     "startsAt": when it started failing,
 *     "endsAt": when it recovered (recoveries only)}]
 *
 * A recovery carries the same labels as its failure, so Alertmanager
 * resolves that very alert. A failure is sent once (alerts follow
 * changes of state), without endsAt.
 *
 * Delivery runs on a thread per webhook: gfs_alerter_report never waits
 * for the network, and a dead webhook never delays another (each has its
 * own queue, back-off and thread). Alerts are sent one at a time, in the order they
 * were raised; a connection error or a non-2xx answer is retried after an
 * exponential, jittered back-off (1 s, 2 s, 4 s ... capped at 60 s by
 * default) and the alerts behind it wait. At most `queue_max` alerts wait
 * (besides the one being sent); beyond that the oldest waiting alert is
 * dropped with a warning, so a dead webhook cannot make us grow without
 * bound. Failing state is tracked whether or not delivery succeeds.
 *
 * Secrets: the webhook URL may carry a secret (userinfo, or a token in its
 * path as chat webhooks do), so logs name only its host. Messages must not
 * contain secrets: callers pass error texts that never hold a token, key
 * or Secret value (see gfs_error_set).
 *
 * Locking: one mutex inside the alerter guards the failing-object table,
 * the webhooks' queues and the counters; every function below but gfs_alerter_free
 * may be called from any thread at any time. Nothing calls back into the
 * caller; the log's and errlog's own locks are only taken after it.
 */
#ifndef GFS_ALERT_H
#define GFS_ALERT_H

#include <jansson.h>
#include <stdbool.h>

#include "gfs_common.h"

struct gfs_alerter;

/* What a webhook's body looks like (see above). */
enum gfs_alert_format {
	GFS_ALERT_JSON = 0,     /* gitopsfs' own JSON object */
	GFS_ALERT_SLACK,        /* {"text": ...} */
	GFS_ALERT_ALERTMANAGER, /* Alertmanager v2: POST /api/v2/alerts */
};

/* "json", "slack", "alertmanager" -> 0 and *out set; else -EINVAL. */
int gfs_alert_format_parse(enum gfs_alert_format *out, const char *name);

/* One webhook; the URL is borrowed (the alerter copies it). */
struct gfs_alert_webhook {
	const char *url; /* http(s) URL */
	enum gfs_alert_format format;
};

/* Tunables; zero fields take the defaults shown. Tests shorten them. */
struct gfs_alert_opts {
	const char *webhook_url; /* http(s) URL of a JSON webhook, or NULL;
				    copied */
	const struct gfs_alert_webhook *webhooks; /* more webhooks (after
						     webhook_url); copied */
	size_t n_webhooks;
	unsigned backoff_ms;     /* first retry delay; default 1000 */
	unsigned backoff_max_ms; /* cap; default 60000 */
	unsigned timeout_ms;     /* one POST, connect included; default 10000 */
	unsigned queue_max;      /* waiting alerts; default 1000 */
	unsigned drain_ms;       /* gfs_alerter_free's grace to deliver what is
				    queued; default 3000 */
	unsigned resend_ms;      /* Alertmanager webhooks: re-send the alerts
				    still failing this often; default 60000 */
};

/* Counters for .gitopsfs/status; a snapshot. */
struct gfs_alert_stats {
	size_t failing;          /* objects failing now */
	size_t queued;           /* POSTs not yet delivered (incl. in flight),
				    all webhooks */
	unsigned long raised;    /* alerts raised since start */
	unsigned long delivered; /* POSTs answered 2xx, all webhooks */
	unsigned long retries;   /* POST attempts that failed */
	unsigned long dropped;   /* POSTs dropped: queue full or shutdown */
	char last_error[256];    /* last delivery failure, "" if none */
};

/*
 * Creates an alerter; for each webhook, starts its delivery thread. The
 * URLs are checked (http or https, a host) and copied. Returns 0, or
 * -EINVAL for a bad URL, -ENOMEM, -EIO when libcurl or a thread cannot be
 * set up, with gfs_error_last() saying why (naming the host only). *out
 * is the caller's, freed with gfs_alerter_free. gfs_alerter_new takes one
 * JSON webhook (or NULL/"" for none); gfs_alerter_new_webhooks a list.
 */
int gfs_alerter_new(struct gfs_alerter **out, const char *webhook_url);
int gfs_alerter_new_webhooks(struct gfs_alerter **out,
			     const struct gfs_alert_webhook *webhooks, size_t n);
int gfs_alerter_new_opts(struct gfs_alerter **out, const struct gfs_alert_opts *opts);

/*
 * Stops the alerter: delivery goes on for at most opts.drain_ms (a POST
 * in flight is cut off at that deadline), then whatever is left is dropped
 * with a warning and the thread is joined. No other call may run on `a`
 * concurrently or afterwards. Accepts NULL.
 */
void gfs_alerter_free(struct gfs_alerter *a);

/*
 * Reports the current outcome for `object` (not NULL): `error` is why it
 * fails, or NULL when it is OK now; `commit` (hex, or NULL) is the commit
 * being applied. All strings are copied. Returns 1 when an alert was
 * raised, 0 when the state did not change, -EINVAL or -ENOMEM (state
 * unchanged, no alert). Never blocks on the network.
 */
int gfs_alerter_report(struct gfs_alerter *a, const char *object, const char *commit,
		       const char *error);

/*
 * Reports the health of an applied object (gfs_health.h): failing with
 * its state word ("Failed", or "InProgress" when it timed out) and reason,
 * or not failing (it became Current). Kept apart from gfs_alerter_report
 * on the same object, so that "the apply succeeded" does not end "the
 * rollout fails". The alert's error reads "Failed: <reason>"; the webhook
 * body carries "health" and "reason" besides the usual fields. Returns as
 * gfs_alerter_report.
 */
int gfs_alerter_report_health(struct gfs_alerter *a, const char *object,
			      const char *commit, bool failing, const char *health,
			      const char *reason);

/* Number of objects failing now. */
size_t gfs_alerter_failing_count(struct gfs_alerter *a);

/* Whether `object` is failing now. */
bool gfs_alerter_is_failing(struct gfs_alerter *a, const char *object);

/*
 * The failing objects, sorted by object path, as a new JSON array of
 * {"object", "commit" (or null), "error" (the latest reported), "since"
 * (RFC 3339, when it started failing)}. Returns 0 or -ENOMEM; *out is
 * the caller's (json_decref).
 */
int gfs_alerter_failing_json(json_t **out, struct gfs_alerter *a);

/* A consistent snapshot of the counters, copied into *out. */
void gfs_alerter_stats(struct gfs_alert_stats *out, struct gfs_alerter *a);

#endif
