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

/* Starts a receiver with extra arguments (NULL-terminated, at most 3) and
 * sets `url` to its address; the log and port file start empty. */
static int receiver_start(const char *a1, const char *a2, const char *a3)
{
	static char script[512];
	const char *root = getenv("GFS_ROOT");
	snprintf(script, sizeof(script), "%s/tests/unit/fixtures/webhook_receiver.py",
		 root && *root ? root : ".");
	unlink(dir_path("port"));
	unlink(dir_path("posts.log"));
	rcv_pid = fork();
	if (rcv_pid < 0)
		return -1;
	if (rcv_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("python3", "python3", script, "--port", "0", "--portfile",
		       dir_path("port"), "--logfile", dir_path("posts.log"), a1, a2, a3,
		       (char *)NULL);
		_exit(127);
	}
	/* Up to 20 s: python's start-up on a loaded machine (make check in
	 * parallel with other builds) can take several. */
	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(dir_path("port"), "r");
		int port = 0;
		if (f) {
			int got = fscanf(f, "%d", &port);
			fclose(f);
			if (got == 1 && port > 0) {
				snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook",
					 port);
				return 0;
			}
		}
		if (waitpid(rcv_pid, NULL, WNOHANG) == rcv_pid) {
			rcv_pid = -1;
			return -1;
		}
		gfs_sleep_ms(50, NULL);
	}
	printf("# the webhook receiver did not start (script %s)\n", script);
	return -1;
}

/* The POSTs received so far: a JSON array of {n, status, content_type,
 * body (parsed)}. Never NULL. */
static json_t *posts(void)
{
	json_t *all = json_array();
	FILE *f = fopen(dir_path("posts.log"), "r");
	char line[8192];
	while (f && fgets(line, sizeof(line), f)) {
		json_t *rec = json_loads(line, 0, NULL);
		if (!rec)
			continue;
		const char *body = json_string_value(json_object_get(rec, "body"));
		json_t *parsed = body ? json_loads(body, 0, NULL) : NULL;
		json_object_set_new(rec, "body", parsed ? parsed : json_null());
		json_array_append_new(all, rec);
	}
	if (f)
		fclose(f);
	return all;
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
	TAP_RUN(logs_name_the_webhook_host_only);
	receiver_stop();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testproc_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", testproc_dir);
	return tap_done();
}
