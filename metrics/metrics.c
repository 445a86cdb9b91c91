/*
 * metrics.c - the counters, the registry of collected families and the
 * Prometheus text exposition (format 0.0.4).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_metrics.h"
#include "metrics_internal.h"

/* ---- the counters ------------------------------------------------------------- */

static const char *const gfs_verbs[] = {"GET", "LIST",  "WATCH", "POST",
					"PUT", "PATCH", "DELETE"};
#define GFS_N_VERBS (GFS_ARRAY_SIZE(gfs_verbs) + 1) /* + "other" */
#define GFS_N_CODES 600                             /* index 0: no answer */

/* Indexed by verb and HTTP status: no lock and no allocation on the hot
 * path, at the cost of 38 KiB of mostly zeros. */
static atomic_ulong gfs_api_requests[GFS_N_VERBS][GFS_N_CODES];
static atomic_ullong gfs_api_bytes[2]; /* [0] received, [1] sent */
static atomic_ulong gfs_applies[2][2]; /* [is_delete][failed] */
static atomic_ulong gfs_alerts[2];     /* [failed] */
static atomic_ulong gfs_drift_found_total;
static atomic_ulong gfs_drift_objects;
static atomic_ulong gfs_sync_rounds[2]; /* [failed] */
static atomic_llong gfs_last_sync_s;
static atomic_uint gfs_ready_needed, gfs_ready_marked;

/* The last commit: a string, so under a lock of its own (a leaf). */
static pthread_mutex_t gfs_commit_lock = PTHREAD_MUTEX_INITIALIZER;
static char gfs_last_commit[41]; /* guarded by gfs_commit_lock */

static atomic_llong gfs_started; /* when the server started; 0 before */

void gfs_metrics_api_request(const char *verb, long code)
{
	size_t v = 0;
	while (v < GFS_ARRAY_SIZE(gfs_verbs) && strcmp(gfs_verbs[v], verb) != 0)
		v++;
	size_t c = code >= 100 && code < GFS_N_CODES ? (size_t)code : 0;
	atomic_fetch_add_explicit(&gfs_api_requests[v][c], 1, memory_order_relaxed);
}

void gfs_metrics_api_bytes(size_t received, size_t sent)
{
	if (received)
		atomic_fetch_add_explicit(&gfs_api_bytes[0], received,
					  memory_order_relaxed);
	if (sent)
		atomic_fetch_add_explicit(&gfs_api_bytes[1], sent, memory_order_relaxed);
}

void gfs_metrics_apply(bool is_delete, int rc)
{
	atomic_fetch_add_explicit(&gfs_applies[is_delete][rc < 0], 1,
				  memory_order_relaxed);
}

void gfs_metrics_alert(int rc)
{
	atomic_fetch_add_explicit(&gfs_alerts[rc < 0], 1, memory_order_relaxed);
}

void gfs_metrics_drift_found(void)
{
	atomic_fetch_add_explicit(&gfs_drift_found_total, 1, memory_order_relaxed);
}

void gfs_metrics_drift_set(unsigned long objects)
{
	atomic_store(&gfs_drift_objects, objects);
}

void gfs_metrics_sync_round(bool ok, const char *commit)
{
	atomic_fetch_add_explicit(&gfs_sync_rounds[!ok], 1, memory_order_relaxed);
	if (!ok)
		return;
	atomic_store(&gfs_last_sync_s, (long long)time(NULL));
	if (commit && commit[0]) {
		pthread_mutex_lock(&gfs_commit_lock);
		snprintf(gfs_last_commit, sizeof(gfs_last_commit), "%s", commit);
		pthread_mutex_unlock(&gfs_commit_lock);
	}
}

void gfs_metrics_mark_started(void)
{
	long long zero = 0;
	atomic_compare_exchange_strong(&gfs_started, &zero, (long long)time(NULL));
}

void gfs_metrics_ready_need(unsigned conds)
{
	atomic_fetch_or(&gfs_ready_needed, conds);
}

void gfs_metrics_ready_mark(enum gfs_ready_cond cond)
{
	atomic_fetch_or(&gfs_ready_marked, (unsigned)cond);
}

bool gfs_metrics_ready(void)
{
	unsigned need = atomic_load(&gfs_ready_needed);
	return (atomic_load(&gfs_ready_marked) & need) == need;
}

/* ---- the registry --------------------------------------------------------------- */

struct gfs_family_reg {
	const char *name, *help;
	enum gfs_metric_type type;
	gfs_metrics_collect_cb cb;
	void *payload;
	struct gfs_family_reg *next;
};

static pthread_mutex_t gfs_metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gfs_family_reg *gfs_families; /* guarded by gfs_metrics_lock; in order */

struct gfs_metrics_family {
	struct gfs_buf *out;
	const char *name;
	int err;
};

static bool gfs_metric_name_ok(const char *name)
{
	if (!name || !name[0] || strchr("0123456789", name[0]))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			return false;
	return true;
}

int gfs_metrics_register(const char *name, const char *help, enum gfs_metric_type type,
			 gfs_metrics_collect_cb cb, void *payload)
{
	if (!gfs_metric_name_ok(name) || !cb)
		return gfs_error_set(-EINVAL, "metrics: '%s' is not a metric name",
				     name ? name : "");
	struct gfs_family_reg *r = calloc(1, sizeof(*r)), **tail;
	if (!r)
		return -ENOMEM;
	*r = (struct gfs_family_reg){name, help ? help : "", type, cb, payload, NULL};
	pthread_mutex_lock(&gfs_metrics_lock);
	for (tail = &gfs_families; *tail; tail = &(*tail)->next)
		if (strcmp((*tail)->name, name) == 0)
			break;
	if (*tail) {
		pthread_mutex_unlock(&gfs_metrics_lock);
		free(r);
		return gfs_error_set(-EINVAL, "metrics: %s is registered twice", name);
	}
	*tail = r;
	pthread_mutex_unlock(&gfs_metrics_lock);
	return 0;
}

void gfs_metrics_unregister(void *payload)
{
	pthread_mutex_lock(&gfs_metrics_lock);
	for (struct gfs_family_reg **p = &gfs_families; *p;) {
		struct gfs_family_reg *r = *p;
		if (r->payload == payload) {
			*p = r->next;
			free(r);
		} else {
			p = &r->next;
		}
	}
	pthread_mutex_unlock(&gfs_metrics_lock);
}

/* ---- the exposition -------------------------------------------------------------- */

/* Label values: backslash, double quote and newline escaped. */
static int gfs_label_value(struct gfs_buf *out, const char *v)
{
	int rc = 0;
	for (const char *p = v; rc == 0 && *p; p++) {
		if (*p == '\\' || *p == '"')
			rc = gfs_buf_addf(out, "\\%c", *p);
		else if (*p == '\n')
			rc = gfs_buf_adds(out, "\\n");
		else
			rc = gfs_buf_add(out, p, 1);
	}
	return rc;
}

static int gfs_value(struct gfs_buf *out, double v)
{
	if (isnan(v))
		return gfs_buf_adds(out, " NaN\n");
	if (isinf(v))
		return gfs_buf_adds(out, v > 0 ? " +Inf\n" : " -Inf\n");
	/* Integers as integers: counters read naturally and exactly. */
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return gfs_buf_addf(out, " %.0f\n", v);
	return gfs_buf_addf(out, " %.17g\n", v);
}

static void gfs_sample_v(struct gfs_metrics_family *f, double value, va_list ap)
{
	struct gfs_buf *out = f->out;
	int rc = gfs_buf_adds(out, f->name);
	const char *k = va_arg(ap, const char *);
	for (bool first = true; rc == 0 && k; first = false) {
		const char *v = va_arg(ap, const char *);
		rc = gfs_buf_addf(out, "%s%s=\"", first ? "{" : ",", k);
		if (rc == 0)
			rc = gfs_label_value(out, v ? v : "");
		if (rc == 0)
			rc = gfs_buf_adds(out, "\"");
		k = va_arg(ap, const char *);
		if (rc == 0 && !k)
			rc = gfs_buf_adds(out, "}");
	}
	if (rc == 0)
		rc = gfs_value(out, value);
	if (rc < 0)
		f->err = rc;
}

void gfs_metrics_sample(struct gfs_metrics_family *f, double value, ...)
{
	va_list ap;
	va_start(ap, value);
	gfs_sample_v(f, value, ap);
	va_end(ap);
}

static int gfs_family_begin(struct gfs_metrics_family *f, struct gfs_buf *out,
			    const char *name, const char *help, enum gfs_metric_type type)
{
	*f = (struct gfs_metrics_family){out, name, 0};
	int rc = gfs_buf_addf(out, "# HELP %s ", name);
	for (const char *p = help; rc == 0 && *p; p++)
		rc = *p == '\\'   ? gfs_buf_adds(out, "\\\\")
		     : *p == '\n' ? gfs_buf_adds(out, "\\n")
				  : gfs_buf_add(out, p, 1);
	if (rc == 0)
		rc = gfs_buf_addf(out, "\n# TYPE %s %s\n", name,
				  type == GFS_METRIC_COUNTER ? "counter" : "gauge");
	return rc;
}

static double gfs_load(atomic_ulong *c)
{
	return (double)atomic_load_explicit(c, memory_order_relaxed);
}

static int gfs_render_api(struct gfs_buf *out)
{
	struct gfs_metrics_family f;
	int rc = gfs_family_begin(&f, out, "gitopsfs_api_requests_total",
				  "Requests to the Kubernetes API server, by verb and "
				  "HTTP status (code=\"error\": no answer)",
				  GFS_METRIC_COUNTER);
	for (size_t v = 0; rc == 0 && v < GFS_N_VERBS; v++) {
		const char *verb = v < GFS_ARRAY_SIZE(gfs_verbs) ? gfs_verbs[v] : "other";
		for (size_t c = 0; c < GFS_N_CODES; c++) {
			unsigned long n = atomic_load_explicit(&gfs_api_requests[v][c],
							       memory_order_relaxed);
			char code[8] = "error";
			if (!n)
				continue;
			if (c)
				snprintf(code, sizeof(code), "%zu", c);
			gfs_metrics_sample(&f, (double)n, "verb", verb, "code", code,
					   GFS_LABELS_END);
		}
	}
	if (rc == 0 && f.err == 0)
		rc = gfs_family_begin(
		    &f, out, "gitopsfs_api_bytes_total",
		    "Bytes of HTTP bodies received from (after "
		    "decompression) and sent to the Kubernetes API server",
		    GFS_METRIC_COUNTER);
	static const char *const dir[] = {"received", "sent"};
	for (int d = 0; rc == 0 && d < 2; d++)
		gfs_metrics_sample(
		    &f,
		    (double)atomic_load_explicit(&gfs_api_bytes[d], memory_order_relaxed),
		    "direction", dir[d], GFS_LABELS_END);
	return rc ? rc : f.err;
}

static int gfs_render_builtin(struct gfs_buf *out)
{
	struct gfs_metrics_family f;
	char commit[41];
	int rc = gfs_render_api(out);
	if (rc == 0 &&
	    (rc = gfs_family_begin(&f, out, "gitopsfs_applies_total",
				   "Objects written (op=apply) or deleted "
				   "(op=delete) through the applier, by result",
				   GFS_METRIC_COUNTER)) == 0) {
		static const char *const op[] = {"apply", "delete"};
		for (int d = 0; d < 2; d++) {
			gfs_metrics_sample(&f, gfs_load(&gfs_applies[d][0]), "op", op[d],
					   "result", "ok", GFS_LABELS_END);
			gfs_metrics_sample(&f, gfs_load(&gfs_applies[d][1]), "op", op[d],
					   "result", "failed", GFS_LABELS_END);
		}
		rc = f.err;
	}
	if (rc == 0 && (rc = gfs_family_begin(&f, out, "gitopsfs_alerts_sent_total",
					      "Alerts POSTed to webhooks, by result",
					      GFS_METRIC_COUNTER)) == 0) {
		gfs_metrics_sample(&f, gfs_load(&gfs_alerts[0]), "result", "ok",
				   GFS_LABELS_END);
		gfs_metrics_sample(&f, gfs_load(&gfs_alerts[1]), "result", "failed",
				   GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 && (rc = gfs_family_begin(&f, out, "gitopsfs_drift_detected_total",
					      "Times a live object was found differing "
					      "from Git (apply mode; healed or not)",
					      GFS_METRIC_COUNTER)) == 0) {
		gfs_metrics_sample(&f, gfs_load(&gfs_drift_found_total), GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 &&
	    (rc = gfs_family_begin(&f, out, "gitopsfs_drift_objects",
				   "Objects that differed from Git at the last "
				   "full drift check (apply mode)",
				   GFS_METRIC_GAUGE)) == 0) {
		gfs_metrics_sample(&f, gfs_load(&gfs_drift_objects), GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 &&
	    (rc = gfs_family_begin(&f, out, "gitopsfs_sync_rounds_total",
				   "Sync rounds (a commit or an apply and drift "
				   "check), by result",
				   GFS_METRIC_COUNTER)) == 0) {
		gfs_metrics_sample(&f, gfs_load(&gfs_sync_rounds[0]), "result", "ok",
				   GFS_LABELS_END);
		gfs_metrics_sample(&f, gfs_load(&gfs_sync_rounds[1]), "result", "failed",
				   GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 &&
	    (rc = gfs_family_begin(&f, out, "gitopsfs_last_sync_timestamp_seconds",
				   "Unix time of the last sync round that went "
				   "well (0: none yet)",
				   GFS_METRIC_GAUGE)) == 0) {
		gfs_metrics_sample(&f, (double)atomic_load(&gfs_last_sync_s),
				   GFS_LABELS_END);
		rc = f.err;
	}
	pthread_mutex_lock(&gfs_commit_lock);
	snprintf(commit, sizeof(commit), "%s", gfs_last_commit);
	pthread_mutex_unlock(&gfs_commit_lock);
	if (rc == 0 && commit[0] &&
	    (rc = gfs_family_begin(&f, out, "gitopsfs_last_sync_commit_info",
				   "The commit made or applied last (value always 1)",
				   GFS_METRIC_GAUGE)) == 0) {
		gfs_metrics_sample(&f, 1, "commit", commit, GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 && (rc = gfs_family_begin(&f, out, "gitopsfs_ready",
					      "1 when /readyz answers ready",
					      GFS_METRIC_GAUGE)) == 0) {
		gfs_metrics_sample(&f, gfs_metrics_ready() ? 1 : 0, GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 && (rc = gfs_family_begin(&f, out, "gitopsfs_build_info",
					      "The version of gitopsfs (value always 1)",
					      GFS_METRIC_GAUGE)) == 0) {
		gfs_metrics_sample(&f, 1, "version", GFS_VERSION, GFS_LABELS_END);
		rc = f.err;
	}
	if (rc == 0 && (rc = gfs_family_begin(&f, out, "gitopsfs_start_time_seconds",
					      "Unix time the process started serving "
					      "metrics",
					      GFS_METRIC_GAUGE)) == 0) {
		gfs_metrics_sample(&f, (double)atomic_load(&gfs_started), GFS_LABELS_END);
		rc = f.err;
	}
	return rc;
}

int gfs_metrics_render(struct gfs_buf *out)
{
	int rc = gfs_render_builtin(out);
	pthread_mutex_lock(&gfs_metrics_lock);
	for (struct gfs_family_reg *r = gfs_families; rc == 0 && r; r = r->next) {
		struct gfs_metrics_family f;
		rc = gfs_family_begin(&f, out, r->name, r->help, r->type);
		if (rc == 0) {
			r->cb(&f, r->payload);
			rc = f.err;
		}
	}
	pthread_mutex_unlock(&gfs_metrics_lock);
	return rc;
}
