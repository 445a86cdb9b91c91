/*
 * gfs_metrics.h - Prometheus metrics and the /metrics, /healthz, /readyz
 * endpoints (--metrics-addr).
 *
 * Two kinds of metrics, both process-wide so that a module reports with
 * one call and no handle passed down to it:
 *
 *   counters and gauges this module owns (API requests by verb and code,
 *   applies, alerts, drift, sync rounds): plain atomics, incremented from
 *   any thread without a lock; cheap enough to call whether or not a
 *   server runs (a relaxed atomic add each);
 *
 *   families registered by another module with gfs_metrics_register: a
 *   callback that adds the family's samples at scrape time from that
 *   module's own state (objects per resource from the store, watches,
 *   sync status). This is how a module adds a gauge family with one call.
 *   For example cli/metrics.c registers gitopsfs_objects_by_health
 *   (GFS_METRIC_GAUGE, a collector over the health monitor's summary) and
 *   its collector calls, per state,
 *       gfs_metrics_sample(f, n, "health", "Failed", GFS_LABELS_END);
 *   gfs_metrics_unregister(payload) comes before freeing the payload.
 *
 * Readiness (/readyz): the process says which conditions it needs
 * (gfs_metrics_ready_need) and marks each when met; ready once all are.
 * /healthz answers 200 while the process serves requests at all: an API
 * server that is away makes the view stale, not the process unhealthy
 * (restarting would not help), and staleness is in the metrics.
 *
 * Locking: gfs_metrics.lock guards the registry; collectors run under it
 * and may take their module's lock (store, sync, alerter) but must not
 * call gfs_metrics_register/_unregister. The counters take no lock.
 */
#ifndef GFS_METRICS_H
#define GFS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "gfs_common.h"

/* ---- counters reported by the modules (thread-safe, lock-free) ------------ */

/* One request to the API server. `verb`: "GET", "POST", "PUT", "PATCH",
 * "DELETE", or "LIST"/"WATCH" for a list page and a watch stream.
 * `code`: the HTTP status, 0 when no answer came (a transport error,
 * shown as code="error"). */
void gfs_metrics_api_request(const char *verb, long code);
/* Bytes of HTTP bodies exchanged with the API server: received (as
 * handed to gitopsfs, after any decompression; watches as they stream)
 * and sent (request bodies). Headers and TLS are not counted. */
void gfs_metrics_api_bytes(size_t received, size_t sent);

/* A write or delete of one object through the applier: rc 0 is ok. */
void gfs_metrics_apply(bool is_delete, int rc);

/* An alert POSTed to a webhook (rc 0: the webhook took it). */
void gfs_metrics_alert(int rc);

/* Drift check in apply mode: one object found differing from Git. */
void gfs_metrics_drift_found(void);
/* Objects that differed at the end of the last full drift check. */
void gfs_metrics_drift_set(unsigned long objects);

/* A sync round ended: with ok, its time becomes the last sync time and
 * `commit` (40 hex digits; NULL or "" keeps the previous one) the last
 * commit made or applied. */
void gfs_metrics_sync_round(bool ok, const char *commit);

/* ---- readiness --------------------------------------------------------------- */

enum gfs_ready_cond {
	GFS_READY_LISTED = 1u << 0, /* the first list of every resource is loaded */
	GFS_READY_SYNCED = 1u << 1, /* the sync thread finished its first round */
};
/* Adds conditions /readyz waits for (call before marking any). */
void gfs_metrics_ready_need(unsigned conds);
void gfs_metrics_ready_mark(enum gfs_ready_cond cond);
bool gfs_metrics_ready(void);

/* ---- families added by modules ------------------------------------------------ */

enum gfs_metric_type { GFS_METRIC_GAUGE, GFS_METRIC_COUNTER };

struct gfs_metrics_family; /* opaque: what a collector writes into */

typedef void (*gfs_metrics_collect_cb)(struct gfs_metrics_family *f, void *payload);

/* Adds a family `name` (a valid Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*;
 * a counter's ends in _total) whose samples `cb` adds at each scrape.
 * `name` and `help` must be string literals or outlive the registration.
 * Returns 0, -EINVAL for a bad or taken name, -ENOMEM. */
int gfs_metrics_register(const char *name, const char *help, enum gfs_metric_type type,
			 gfs_metrics_collect_cb cb, void *payload);
/* Removes every family registered with `payload`; when it returns no
 * collector of it runs or will run, so payload may be freed. */
void gfs_metrics_unregister(void *payload);

/* Adds one sample to the family being collected: the value and label
 * pairs (name, value, ..., GFS_LABELS_END). Label values are escaped here.
 * The end mark is a typed null pointer: a bare NULL may be an int 0. */
#define GFS_LABELS_END ((const char *)NULL)
void gfs_metrics_sample(struct gfs_metrics_family *f, double value, ...)
    __attribute__((sentinel));

/* The whole exposition (text format 0.0.4) into out. 0 or -ENOMEM. */
int gfs_metrics_render(struct gfs_buf *out);

/* ---- the HTTP endpoint -------------------------------------------------------- */

struct gfs_metrics_server;

/* Checks HOST:PORT as --metrics-addr takes it, without binding: a host
 * must be given ("127.0.0.1:9100", "[::1]:9100", "localhost:9100",
 * "0.0.0.0:9100"); ":9100" or "9100", which other tools read as every
 * interface, are refused so that metrics are never exposed by accident.
 * 0 or -EINVAL with the reason in the per-thread error. */
int gfs_metrics_addr_check(const char *addr);

/* Listens on addr and serves /metrics, /healthz and /readyz from a
 * thread of libmicrohttpd's. Errors (bad address, port in use) name the
 * address and what to do. */
int gfs_metrics_server_start(struct gfs_metrics_server **out, const char *addr);
/* Stops serving (in-flight requests finish) and frees; NULL is fine. */
void gfs_metrics_server_stop(struct gfs_metrics_server *srv);

#endif
