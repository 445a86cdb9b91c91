/*
 * test_alert.c - alerts on changes of state (SPEC section 6): one alert
 * when an object starts failing, none while it stays failing, one when it
 * recovers; the webhook's JSON body; retries with back-off; a bounded
 * queue; a prompt shutdown; and no secret of the webhook URL in the log.
 *
 * The webhook is tests/unit/fixtures/webhook_receiver.py, run as a
 * subprocess on 127.0.0.1 (one per test, killed at its end, and with us if
 * we crash, through PR_SET_PDEATHSIG). It appends every POST to a log file
 * as a JSON line, which the tests read back.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gfs_alert.h"
#include "gfs_errlog.h"
#include "tap.h"
#include "testproc.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define OBJ    "shop/deployments.apps/web.yaml"

static pid_t rcv_pid = -1;
static char url[128];

/* ---- the receiver ---------------------------------------------------------- */

static void receiver_stop(void)
{
	testproc_stop(&rcv_pid);
}

/* Starts a receiver named `tag` (its files are TAG.port and TAG.log)
 * with extra arguments (NULL-terminated, at most 3), sets *pid and `out`
 * (its address); the log and port file start empty. */
static int receiver_start_as(pid_t *pid, char *out, size_t outsz, const char *tag,
			     const char *a1, const char *a2, const char *a3)
{
	static char script[512];
	char portfile[64], logfile[64];
	const char *root = getenv("GFS_ROOT");
	snprintf(script, sizeof(script), "%s/tests/unit/fixtures/webhook_receiver.py",
		 root && *root ? root : ".");
	snprintf(portfile, sizeof(portfile), "%s.port", tag);
	snprintf(logfile, sizeof(logfile), "%s.log", tag);
	unlink(dir_path(portfile));
	unlink(dir_path(logfile));
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("python3", "python3", script, "--port", "0", "--portfile",
		       dir_path(portfile), "--logfile", dir_path(logfile), a1, a2, a3,
		       (char *)NULL);
		_exit(127);
	}
	/* Up to 20 s: python's start-up on a loaded machine (make check in
	 * parallel with other builds) can take several. */
	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(dir_path(portfile), "r");
		int port = 0;
		if (f) {
			int got = fscanf(f, "%d", &port);
			fclose(f);
			if (got == 1 && port > 0) {
				snprintf(out, outsz, "http://127.0.0.1:%d/hook", port);
				return 0;
			}
		}
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return -1;
		}
		gfs_sleep_ms(50, NULL);
	}
	printf("# the webhook receiver did not start (script %s)\n", script);
	return -1;
}

/* The receiver most tests use: `url`, files posts.port and posts.log. */
static int receiver_start(const char *a1, const char *a2, const char *a3)
{
	return receiver_start_as(&rcv_pid, url, sizeof(url), "posts", a1, a2, a3);
}

/* The POSTs receiver `tag` got so far: a JSON array of {n, status, path,
 * content_type, body (parsed), raw (the body as sent)}. Never NULL. */
static json_t *posts_of(const char *tag)
{
	json_t *all = json_array();
	char logfile[64];
	snprintf(logfile, sizeof(logfile), "%s.log", tag);
	FILE *f = fopen(dir_path(logfile), "r");
	char line[8192];
	while (f && fgets(line, sizeof(line), f)) {
		json_t *rec = json_loads(line, 0, NULL);
		if (!rec)
			continue;
		const char *body = json_string_value(json_object_get(rec, "body"));
		json_t *parsed = body ? json_loads(body, 0, NULL) : NULL;
		json_object_set_new(rec, "raw", json_string(body ? body : ""));
		json_object_set_new(rec, "body", parsed ? parsed : json_null());
		json_array_append_new(all, rec);
	}
	if (f)
		fclose(f);
	return all;
}

static json_t *posts(void)
{
	return posts_of("posts");
}

/* Waits up to `ms` until `n` POSTs were answered 2xx; returns how many. */
static size_t wait_delivered(size_t n, unsigned ms)
{
	size_t ok = 0;
	for (int64_t end = gfs_monotonic_ms() + ms;;) {
		json_t *p = posts();
		size_t i;
		json_t *rec;
		ok = 0;
		json_array_foreach(p, i, rec)
		{
			if (json_integer_value(json_object_get(rec, "status")) == 200)
				ok++;
		}
		json_decref(p);
		if (ok >= n || gfs_monotonic_ms() >= end)
			return ok;
		gfs_sleep_ms(20, NULL);
	}
}

/* Waits up to `ms` until the alerter counts `n` deliveries: the receiver
 * logs a POST before it answers, so its log runs slightly ahead. */
static unsigned long wait_acknowledged(struct gfs_alerter *a, unsigned long n,
				       unsigned ms)
{
	struct gfs_alert_stats st;
	for (int64_t end = gfs_monotonic_ms() + ms;;) {
		gfs_alerter_stats(&st, a);
		if (st.delivered >= n || gfs_monotonic_ms() >= end)
			return st.delivered;
		gfs_sleep_ms(20, NULL);
	}
}

static const char *body_str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(json_object_get(rec, "body"), key));
}

static bool body_is_null(json_t *rec, const char *key)
{
	return json_is_null(json_object_get(json_object_get(rec, "body"), key));
}

static bool is_rfc3339_utc(const char *s)
{
	int y, mo, d, h, mi, sec;
	char z;
	return s && strlen(s) == 20 &&
	       sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z) ==
		   7 &&
	       z == 'Z' && y >= 2024 && mo >= 1 && mo <= 12;
}

/* Fast retries so that tests do not wait for seconds. */
static struct gfs_alerter *new_fast(unsigned drain_ms)
{
	struct gfs_alerter *a = NULL;
	struct gfs_alert_opts o = {.webhook_url = url,
				   .backoff_ms = 50,
				   .backoff_max_ms = 200,
				   .timeout_ms = 2000,
				   .drain_ms = drain_ms};
	if (gfs_alerter_new_opts(&a, &o) < 0)
		printf("# gfs_alerter_new_opts: %s\n", gfs_error_last());
	return a;
}

/* ---- the tests ------------------------------------------------------------- */

static void first_failure_alerts_once_repeats_do_not_recovery_does(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alerter *a = new_fast(2000);
	CHECK(a != NULL);
	if (!a)
		goto out;
	unsigned long errlines = gfs_errlog_count();
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, "admission webhook denied it"), 1);
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, "admission webhook denied it"), 0);
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, "a different reason"), 0);
	CHECK_INT(gfs_errlog_count() - errlines, 1);
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, NULL), 1);
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, NULL), 0);
	CHECK_INT(gfs_alerter_report(a, "default/configmaps/fine.yaml", NULL, NULL), 0);
	CHECK_INT(gfs_errlog_count() - errlines, 1);

	CHECK_INT(wait_delivered(2, 5000), 2);
	CHECK_INT(wait_acknowledged(a, 2, 5000), 2);
	gfs_sleep_ms(300, NULL); /* nothing else may arrive */
	json_t *p = posts();
	CHECK_INT(json_array_size(p), 2);
	json_t *fail = json_array_get(p, 0), *ok = json_array_get(p, 1);
	CHECK_STR(json_string_value(json_object_get(fail, "content_type")),
		  "application/json");
	CHECK_STR(body_str(fail, "object"), OBJ);
	CHECK_STR(body_str(fail, "commit"), COMMIT);
	CHECK_STR(body_str(fail, "error"), "admission webhook denied it");
	CHECK_STR(body_str(fail, "state"), "failing");
	CHECK(is_rfc3339_utc(body_str(fail, "time")));
	CHECK_STR(body_str(ok, "object"), OBJ);
	CHECK_STR(body_str(ok, "state"), "recovered");
	CHECK(body_is_null(ok, "error"));
	CHECK(is_rfc3339_utc(body_str(ok, "time")));
	json_decref(p);

	struct gfs_alert_stats st;
	gfs_alerter_stats(&st, a);
	CHECK_INT(st.raised, 2);
	CHECK_INT(st.delivered, 2);
	CHECK_INT(st.queued, 0);
	CHECK_INT(st.failing, 0);
out:
	gfs_alerter_free(a);
	receiver_stop();
}

static void failing_objects_are_listed_with_their_latest_error(void)
{
	struct gfs_alerter *a = NULL;
	CHECK_INT(gfs_alerter_new(&a, NULL), 0);
	if (!a)
		return;
	gfs_alerter_report(a, "b/configmaps/x.yaml", NULL, "first reason");
	gfs_alerter_report(a, "b/configmaps/x.yaml", "abc", "second reason");
	gfs_alerter_report(a, "a/secrets/y.yaml", "abc", "denied");
	gfs_alerter_report(a, "sync", NULL, "cannot fetch origin");
	gfs_alerter_report(a, "sync", NULL, NULL);
	CHECK_INT(gfs_alerter_failing_count(a), 2);
	CHECK(gfs_alerter_is_failing(a, "a/secrets/y.yaml"));
	CHECK(!gfs_alerter_is_failing(a, "sync"));

	json_t *list = NULL;
	CHECK_INT(gfs_alerter_failing_json(&list, a), 0);
	CHECK_INT(json_array_size(list), 2);
	json_t *first = json_array_get(list, 0), *second = json_array_get(list, 1);
	CHECK_STR(json_string_value(json_object_get(first, "object")),
		  "a/secrets/y.yaml");
	CHECK_STR(json_string_value(json_object_get(second, "object")),
		  "b/configmaps/x.yaml");
	CHECK_STR(json_string_value(json_object_get(second, "error")), "second reason");
	CHECK_STR(json_string_value(json_object_get(second, "commit")), "abc");
	CHECK(is_rfc3339_utc(json_string_value(json_object_get(second, "since"))));
	json_decref(list);
	gfs_alerter_free(a);
}

static void without_a_webhook_state_is_still_tracked(void)
{
	struct gfs_alerter *a = NULL;
	CHECK_INT(gfs_alerter_new(&a, NULL), 0);
	if (!a)
		return;
	unsigned long errlines = gfs_errlog_count();
	CHECK_INT(gfs_alerter_report(a, OBJ, NULL, "boom"), 1);
	CHECK_INT(gfs_alerter_report(a, OBJ, NULL, "boom"), 0);
	CHECK_INT(gfs_alerter_failing_count(a), 1);
	CHECK_INT(gfs_errlog_count() - errlines, 1);
	char last[256];
	gfs_errlog_last(last, sizeof(last));
	CHECK_STR(last, OBJ ": boom");
	CHECK_INT(gfs_alerter_report(a, OBJ, NULL, NULL), 1);
	CHECK_INT(gfs_alerter_failing_count(a), 0);
	CHECK_INT(gfs_alerter_report(a, NULL, NULL, "x"), -EINVAL);
	struct gfs_alert_stats st;
	gfs_alerter_stats(&st, a);
	CHECK_INT(st.raised, 2);
	CHECK_INT(st.queued, 0);
	gfs_alerter_free(a);
	gfs_alerter_free(NULL);
}

static void server_errors_are_retried_in_order_until_delivered(void)
{
	if (receiver_start("--fail-first", "3", NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alerter *a = new_fast(2000);
	if (!a)
		goto out;
	gfs_alerter_report(a, "ns/configmaps/one.yaml", COMMIT, "first");
	gfs_alerter_report(a, "ns/configmaps/two.yaml", COMMIT, "second");
	CHECK_INT(wait_delivered(2, 5000), 2);
	CHECK_INT(wait_acknowledged(a, 2, 5000), 2);
	json_t *p = posts();
	CHECK_INT(json_array_size(p), 5);
	size_t i;
	json_t *rec;
	json_array_foreach(p, i, rec)
	{
		CHECK_INT(json_integer_value(json_object_get(rec, "status")),
			  i < 3 ? 500 : 200);
		/* The first alert is retried until it is through; then the second. */
		CHECK_STR(body_str(rec, "object"),
			  i < 4 ? "ns/configmaps/one.yaml" : "ns/configmaps/two.yaml");
	}
	json_decref(p);
	struct gfs_alert_stats st;
	gfs_alerter_stats(&st, a);
	CHECK_INT(st.retries, 3);
	CHECK_INT(st.delivered, 2);
	CHECK(strstr(st.last_error, "HTTP 500") != NULL);
out:
	gfs_alerter_free(a);
	receiver_stop();
}

/* A port nobody listens on: bound, then closed. */
static int dead_port(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0)
		return -1;
	receiver_stop();
	return 0;
}

static void a_full_queue_drops_the_oldest_alert(void)
{
	if (dead_port() < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alerter *a = NULL;
	struct gfs_alert_opts o = {.webhook_url = url,
				   .backoff_ms = 10000,
				   .queue_max = 2,
				   .timeout_ms = 1000,
				   .drain_ms = 200};
	CHECK_INT(gfs_alerter_new_opts(&a, &o), 0);
	if (!a)
		return;
	char obj[64];
	for (int i = 0; i < 6; i++) {
		snprintf(obj, sizeof(obj), "ns/configmaps/c%d.yaml", i);
		CHECK_INT(gfs_alerter_report(a, obj, NULL, "denied"), 1);
	}
	struct gfs_alert_stats st;
	gfs_alerter_stats(&st, a);
	CHECK_INT(st.raised, 6);
	CHECK(st.queued <= 3); /* two waiting, perhaps one in flight */
	CHECK_INT(st.dropped + st.queued, 6);
	CHECK_INT(st.failing, 6);
	int64_t t0 = gfs_monotonic_ms();
	gfs_alerter_free(a);
	CHECK(gfs_monotonic_ms() - t0 < 1500);
}

static void free_is_prompt_when_the_webhook_hangs(void)
{
	if (receiver_start("--hang", NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alerter *a = NULL;
	struct gfs_alert_opts o = {.webhook_url = url, .drain_ms = 500};
	CHECK_INT(gfs_alerter_new_opts(&a, &o), 0);
	if (!a)
		goto out;
	gfs_alerter_report(a, OBJ, NULL, "denied");
	gfs_alerter_report(a, OBJ, NULL, NULL);
	/* Until the receiver has the POST, so that free() meets it in flight. */
	for (int i = 0; i < 100; i++) {
		json_t *p = posts();
		size_t n = json_array_size(p);
		json_decref(p);
		if (n > 0)
			break;
		gfs_sleep_ms(20, NULL);
	}
	int64_t t0 = gfs_monotonic_ms();
	gfs_alerter_free(a);
	int64_t took = gfs_monotonic_ms() - t0;
	CHECK(took >= 400);
	CHECK(took < 2000);
out:
	receiver_stop();
}

static void free_is_immediate_when_nothing_is_queued(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alerter *a = NULL;
	CHECK_INT(gfs_alerter_new(&a, url), 0);
	int64_t t0 = gfs_monotonic_ms();
	gfs_alerter_free(a);
	CHECK(gfs_monotonic_ms() - t0 < 300);
	receiver_stop();
}

static void bad_webhook_urls_are_refused(void)
{
	static const char *const bad[] = {"ftp://hooks.example.com/x", "not a url",
					  "https://", "file:///etc/passwd"};
	for (size_t i = 0; i < GFS_ARRAY_SIZE(bad); i++) {
		struct gfs_alerter *a = (struct gfs_alerter *)1;
		CHECK_INT(gfs_alerter_new(&a, bad[i]), -EINVAL);
		CHECK(a == NULL);
	}
	/* An empty URL means no webhook, as NULL does. */
	struct gfs_alerter *a = NULL;
	CHECK_INT(gfs_alerter_new(&a, ""), 0);
	gfs_alerter_free(a);
}

/* ---- webhook formats ------------------------------------------------------- */

static struct gfs_alerter *new_hooks(const struct gfs_alert_webhook *hooks, size_t n)
{
	struct gfs_alerter *a = NULL;
	struct gfs_alert_opts o = {.webhooks = hooks,
				   .n_webhooks = n,
				   .backoff_ms = 50,
				   .backoff_max_ms = 200,
				   .timeout_ms = 5000,
				   .drain_ms = 300};
	if (gfs_alerter_new_opts(&a, &o) < 0)
		printf("# gfs_alerter_new_opts: %s\n", gfs_error_last());
	return a;
}

static const char *rec_str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static void json_format_keeps_every_field_and_adds_health_and_reason(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alert_webhook hook = {url, GFS_ALERT_JSON};
	struct gfs_alerter *a = new_hooks(&hook, 1);
	if (!a)
		goto out;
	CHECK_INT(gfs_alerter_report_health(a, OBJ, COMMIT, true, "Failed",
					    "ImagePullBackOff: no such image"),
		  1);
	CHECK_INT(gfs_alerter_report(a, "sync", NULL, "cannot fetch origin"), 1);
	CHECK_INT(wait_acknowledged(a, 2, 5000), 2);
	json_t *p = posts();
	CHECK_INT(json_array_size(p), 2);
	char want[1024];
	const char *t0 = body_str(json_array_get(p, 0), "time");
	const char *t1 = body_str(json_array_get(p, 1), "time");
	CHECK(is_rfc3339_utc(t0) && is_rfc3339_utc(t1));
	snprintf(want, sizeof(want),
		 "{\"object\":\"" OBJ "\",\"commit\":\"" COMMIT "\","
		 "\"error\":\"Failed: ImagePullBackOff: no such image\","
		 "\"state\":\"failing\",\"time\":\"%s\",\"health\":\"Failed\","
		 "\"reason\":\"ImagePullBackOff: no such image\"}",
		 t0 ? t0 : "");
	CHECK_STR(rec_str(json_array_get(p, 0), "raw"), want);
	snprintf(want, sizeof(want),
		 "{\"object\":\"sync\",\"commit\":null,\"error\":\"cannot fetch origin\","
		 "\"state\":\"failing\",\"time\":\"%s\",\"health\":null,"
		 "\"reason\":\"cannot fetch origin\"}",
		 t1 ? t1 : "");
	CHECK_STR(rec_str(json_array_get(p, 1), "raw"), want);
	CHECK_STR(rec_str(json_array_get(p, 0), "path"), "/hook");
	json_decref(p);
out:
	gfs_alerter_free(a);
	receiver_stop();
}

static void slack_format_posts_one_escaped_text(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	struct gfs_alert_webhook hook = {url, GFS_ALERT_SLACK};
	struct gfs_alerter *a = new_hooks(&hook, 1);
	if (!a)
		goto out;
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, "denied by <policy> & co"), 1);
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, NULL), 1);
	CHECK_INT(gfs_alerter_report_health(a, OBJ, NULL, true, "InProgress",
					    "progress deadline exceeded"),
		  1);
	CHECK_INT(gfs_alerter_report_health(a, OBJ, NULL, false, "Current",
					    "all replicas ready"),
		  1);
	CHECK_INT(wait_acknowledged(a, 4, 5000), 4);
	json_t *p = posts();
	CHECK_INT(json_array_size(p), 4);
	CHECK_STR(rec_str(json_array_get(p, 0), "content_type"), "application/json");
	CHECK_STR(rec_str(json_array_get(p, 0), "raw"),
		  "{\"text\":\"gitopsfs: " OBJ " is failing: denied by &lt;policy&gt; "
		  "&amp; co (commit 0123456789ab)\"}");
	CHECK_STR(rec_str(json_array_get(p, 1), "raw"),
		  "{\"text\":\"gitopsfs: " OBJ " recovered (commit 0123456789ab)\"}");
	CHECK_STR(rec_str(json_array_get(p, 2), "raw"),
		  "{\"text\":\"gitopsfs: " OBJ " is failing: InProgress: progress "
		  "deadline exceeded\"}");
	CHECK_STR(rec_str(json_array_get(p, 3), "raw"),
		  "{\"text\":\"gitopsfs: " OBJ " recovered: Current: all replicas "
		  "ready\"}");
	json_decref(p);
out:
	gfs_alerter_free(a);
	receiver_stop();
}

/* Alertmanager resolves an alert nobody sends again (resolve_timeout):
 * a failure still failing is re-sent, the same each time, until it
 * recovers; then nothing more. */
static void alertmanager_is_sent_active_alerts_again(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	char base[128];
	snprintf(base, sizeof(base), "%.*s", (int)(strrchr(url, '/') - url), url);
	struct gfs_alert_webhook hooks[] = {{base, GFS_ALERT_ALERTMANAGER},
					    {url, GFS_ALERT_JSON}};
	struct gfs_alerter *a = NULL;
	struct gfs_alert_opts o = {.webhooks = hooks,
				   .n_webhooks = 2,
				   .backoff_ms = 50,
				   .timeout_ms = 5000,
				   .drain_ms = 300,
				   .resend_ms = 200};
	CHECK_INT(gfs_alerter_new_opts(&a, &o), 0);
	if (!a)
		goto out;
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, "denied"), 1);
	gfs_sleep_ms(1000, NULL);
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, NULL), 1);
	gfs_sleep_ms(800, NULL); /* a re-send now would come after the recovery */
	json_t *p = posts();
	size_t am_fail = 0, am_ok = 0, json_posts = 0, i;
	json_t *rec, *first = NULL;
	bool same = true, ok_last = false;
	json_array_foreach(p, i, rec)
	{
		if (strcmp(rec_str(rec, "path"), "/api/v2/alerts") != 0) {
			json_posts++;
			continue;
		}
		json_t *al = json_array_get(json_object_get(rec, "body"), 0);
		if (json_object_get(al, "endsAt")) {
			am_ok++;
			ok_last = true;
			continue;
		}
		ok_last = false;
		am_fail++;
		if (!first)
			first = al;
		else
			same = same &&
			       json_equal(json_object_get(al, "labels"),
					  json_object_get(first, "labels")) &&
			       json_equal(json_object_get(al, "startsAt"),
					  json_object_get(first, "startsAt"));
	}
	printf("# alertmanager: %zu failing, %zu resolved; json: %zu\n", am_fail, am_ok,
	       json_posts);
	CHECK(am_fail >= 3); /* the first and re-sends every 200 ms */
	CHECK(same);         /* the same alert each time */
	CHECK_INT(am_ok, 1);
	CHECK(ok_last);           /* nothing after the recovery */
	CHECK_INT(json_posts, 2); /* other formats: once per change */
	json_decref(p);
out:
	gfs_alerter_free(a);
	receiver_stop();
}

static void alertmanager_format_resolves_the_same_labels_with_ends_at(void)
{
	if (receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	char base[128];
	snprintf(base, sizeof(base), "%.*s", (int)(strrchr(url, '/') - url), url);
	struct gfs_alert_webhook hook = {base, GFS_ALERT_ALERTMANAGER};
	struct gfs_alerter *a = new_hooks(&hook, 1);
	if (!a)
		goto out;
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, "denied"), 1);
	gfs_sleep_ms(1100, NULL); /* so that endsAt is a later second */
	CHECK_INT(gfs_alerter_report(a, OBJ, COMMIT, NULL), 1);
	CHECK_INT(wait_acknowledged(a, 2, 5000), 2);
	json_t *p = posts();
	CHECK_INT(json_array_size(p), 2);
	json_t *fail = json_object_get(json_array_get(p, 0), "body");
	json_t *ok = json_object_get(json_array_get(p, 1), "body");
	CHECK_STR(rec_str(json_array_get(p, 0), "path"), "/api/v2/alerts");
	CHECK_STR(rec_str(json_array_get(p, 1), "path"), "/api/v2/alerts");
	CHECK(json_is_array(fail) && json_array_size(fail) == 1);
	CHECK(json_is_array(ok) && json_array_size(ok) == 1);
	json_t *f0 = json_array_get(fail, 0), *o0 = json_array_get(ok, 0);
	const char *starts = json_string_value(json_object_get(f0, "startsAt"));
	const char *ends = json_string_value(json_object_get(o0, "endsAt"));
	CHECK(is_rfc3339_utc(starts));
	json_t *want = json_pack(
	    "[{s:{s:s,s:s},s:{s:s,s:s,s:s},s:s}]", "labels", "alertname",
	    "GitopsfsFailing", "object", OBJ, "annotations", "summary", OBJ " is failing",
	    "description", "denied", "commit", COMMIT, "startsAt", starts ? starts : "");
	CHECK(json_equal(fail, want));
	json_decref(want);
	CHECK(is_rfc3339_utc(ends));
	CHECK(starts && ends && strcmp(ends, starts) > 0);
	want = json_pack("[{s:{s:s,s:s},s:{s:s,s:s,s:s},s:s,s:s}]", "labels", "alertname",
			 "GitopsfsFailing", "object", OBJ, "annotations", "summary",
			 OBJ " recovered", "description", "recovered", "commit", COMMIT,
			 "startsAt", starts ? starts : "", "endsAt", ends ? ends : "");
	CHECK(json_equal(ok, want));
	json_decref(want);
	json_decref(p);
	gfs_alerter_free(a);

	/* A URL that names the API already is taken as it is. */
	char full[160];
	snprintf(full, sizeof(full), "%s/am/api/v2/alerts/", base);
	hook.url = full;
	if (!(a = new_hooks(&hook, 1)))
		goto out;
	CHECK_INT(gfs_alerter_report_health(a, OBJ, NULL, true, "Failed", "crash loop"),
		  1);
	CHECK_INT(wait_acknowledged(a, 1, 5000), 1);
	p = posts();
	json_t *h = json_array_get(json_object_get(json_array_get(p, 2), "body"), 0);
	CHECK_STR(rec_str(json_array_get(p, 2), "path"), "/am/api/v2/alerts");
	CHECK_STR(
	    json_string_value(json_object_get(json_object_get(h, "labels"), "alertname")),
	    "GitopsfsUnhealthy");
	CHECK_STR(json_string_value(
		      json_object_get(json_object_get(h, "annotations"), "health")),
		  "Failed");
	CHECK(json_object_get(h, "endsAt") == NULL);
	json_decref(p);
out:
	gfs_alerter_free(a);
	receiver_stop();
}

static void a_dead_webhook_does_not_delay_the_others(void)
{
	pid_t dead_pid = -1, slack_pid = -1;
	char dead[128], slack[128];
	struct gfs_alerter *a = NULL;
	if (receiver_start_as(&dead_pid, dead, sizeof(dead), "dead", "--hang", NULL,
			      NULL) < 0 ||
	    receiver_start_as(&slack_pid, slack, sizeof(slack), "slack", NULL, NULL,
			      NULL) < 0 ||
	    receiver_start(NULL, NULL, NULL) < 0) {
		CHECK(!"receivers started");
		goto out;
	}
	/* The dead one first: with one queue for all, the live ones would
	 * wait for its 5 s timeout. */
	struct gfs_alert_webhook hooks[] = {
	    {dead, GFS_ALERT_JSON}, {url, GFS_ALERT_JSON}, {slack, GFS_ALERT_SLACK}};
	if (!(a = new_hooks(hooks, 3)))
		goto out;
	int64_t t0 = gfs_monotonic_ms();
	CHECK_INT(gfs_alerter_report(a, "ns/configmaps/one.yaml", NULL, "first"), 1);
	CHECK_INT(gfs_alerter_report(a, "ns/configmaps/two.yaml", NULL, "second"), 1);
	CHECK_INT(wait_acknowledged(a, 4, 4000), 4);
	CHECK(gfs_monotonic_ms() - t0 < 2500);
	json_t *live = posts(), *sl = posts_of("slack"), *dd = posts_of("dead");
	CHECK_INT(json_array_size(live), 2);
	CHECK_INT(json_array_size(sl), 2);
	CHECK_INT(json_array_size(dd), 1); /* hanging on the first */
	CHECK_STR(body_str(json_array_get(live, 1), "object"), "ns/configmaps/two.yaml");
	CHECK_STR(body_str(json_array_get(sl, 1), "text"),
		  "gitopsfs: ns/configmaps/two.yaml is failing: second");
	json_decref(live);
	json_decref(sl);
	json_decref(dd);
	struct gfs_alert_stats st;
	gfs_alerter_stats(&st, a);
	CHECK_INT(st.raised, 2);
	CHECK_INT(st.delivered, 4);
	CHECK_INT(st.queued, 2); /* the dead one's: one in flight, one waiting */
	t0 = gfs_monotonic_ms();
	gfs_alerter_free(a);
	a = NULL;
	CHECK(gfs_monotonic_ms() - t0 < 2000);
out:
	gfs_alerter_free(a);
	testproc_stop(&dead_pid);
	testproc_stop(&slack_pid);
	receiver_stop();
}

static void webhook_formats_have_names(void)
{
	enum gfs_alert_format f = GFS_ALERT_JSON;
	CHECK_INT(gfs_alert_format_parse(&f, "slack"), 0);
	CHECK_INT(f, GFS_ALERT_SLACK);
	CHECK_INT(gfs_alert_format_parse(&f, "alertmanager"), 0);
	CHECK_INT(f, GFS_ALERT_ALERTMANAGER);
	CHECK_INT(gfs_alert_format_parse(&f, "json"), 0);
	CHECK_INT(f, GFS_ALERT_JSON);
	CHECK_INT(gfs_alert_format_parse(&f, "teams"), -EINVAL);
	CHECK_INT(gfs_alert_format_parse(&f, NULL), -EINVAL);
	/* A bad URL among several refuses the whole alerter. */
	struct gfs_alert_webhook hooks[] = {{"http://127.0.0.1:9/ok", GFS_ALERT_SLACK},
					    {"ftp://x/y", GFS_ALERT_JSON}};
	struct gfs_alerter *a = (struct gfs_alerter *)1;
	CHECK_INT(gfs_alerter_new_webhooks(&a, hooks, 2), -EINVAL);
	CHECK(a == NULL);
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Run last: it sends the log to a file. */
static void logs_name_the_webhook_host_only(void)
{
	if (receiver_start("--fail-first", "1", NULL) < 0) {
		CHECK(!"receiver started");
		return;
	}
	char secret_url[256];
	const char *port = strrchr(url, ':') + 1;
	snprintf(secret_url, sizeof(secret_url),
		 "http://user:pa55word@127.0.0.1:%.*s/hooks/T0KEN-s3cret",
		 (int)strcspn(port, "/"), port);
	CHECK_INT(gfs_log_init(GFS_LOG_DEBUG, dir_path("gitopsfs.log")), 0);
	struct gfs_alerter *a = NULL;
	struct gfs_alert_opts o = {.webhook_url = secret_url, .backoff_ms = 50};
	CHECK_INT(gfs_alerter_new_opts(&a, &o), 0);
	if (!a)
		goto out;
	gfs_alerter_report(a, OBJ, COMMIT, "denied");
	CHECK_INT(wait_delivered(1, 5000), 1);
	gfs_alerter_free(a);
	CHECK(file_contains(dir_path("gitopsfs.log"), "127.0.0.1"));
	CHECK(file_contains(dir_path("gitopsfs.log"), "HTTP 500"));
	CHECK(!file_contains(dir_path("gitopsfs.log"), "pa55word"));
	CHECK(!file_contains(dir_path("gitopsfs.log"), "T0KEN"));
	CHECK(!file_contains(dir_path("gitopsfs.log"), "user:"));
out:
	receiver_stop();
}

int main(void)
{
	snprintf(testproc_dir, sizeof(testproc_dir), "/tmp/gfs-test-alert.XXXXXX");
	if (!mkdtemp(testproc_dir)) {
		perror("mkdtemp");
		return 1;
	}
	TAP_RUN(first_failure_alerts_once_repeats_do_not_recovery_does);
	TAP_RUN(failing_objects_are_listed_with_their_latest_error);
	TAP_RUN(without_a_webhook_state_is_still_tracked);
	TAP_RUN(server_errors_are_retried_in_order_until_delivered);
	TAP_RUN(a_full_queue_drops_the_oldest_alert);
	TAP_RUN(free_is_prompt_when_the_webhook_hangs);
	TAP_RUN(free_is_immediate_when_nothing_is_queued);
	TAP_RUN(bad_webhook_urls_are_refused);
	TAP_RUN(json_format_keeps_every_field_and_adds_health_and_reason);
	TAP_RUN(slack_format_posts_one_escaped_text);
	TAP_RUN(alertmanager_format_resolves_the_same_labels_with_ends_at);
	TAP_RUN(alertmanager_is_sent_active_alerts_again);
	TAP_RUN(a_dead_webhook_does_not_delay_the_others);
	TAP_RUN(webhook_formats_have_names);
	TAP_RUN(logs_name_the_webhook_host_only);
	receiver_stop();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testproc_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", testproc_dir);
	return tap_done();
}
