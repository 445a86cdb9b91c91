/*
 * test_metrics.c - the metrics registry and its text exposition, in
 * process: counters by label, a registered family, escaping, removal, the
 * readiness conditions and the --metrics-addr rule.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_metrics.h"
#include "tap.h"

static char *scrape(void)
{
	struct gfs_buf b = GFS_BUF_INIT(1u << 20);
	CHECK_INT(gfs_metrics_render(&b), 0);
	return gfs_buf_detach(&b, NULL);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void api_requests_are_counted_by_verb_and_code(void)
{
	gfs_metrics_api_request("GET", 200);
	gfs_metrics_api_request("GET", 200);
	gfs_metrics_api_request("PUT", 409);
	gfs_metrics_api_request("LIST", 0);
	gfs_metrics_api_request("BREW", 418);
	char *t = scrape();
	CHECK(has_line(t, "# TYPE gitopsfs_api_requests_total counter"));
	CHECK(has_line(t, "gitopsfs_api_requests_total{verb=\"GET\",code=\"200\"} 2"));
	CHECK(has_line(t, "gitopsfs_api_requests_total{verb=\"PUT\",code=\"409\"} 1"));
	CHECK(has_line(t, "gitopsfs_api_requests_total{verb=\"LIST\",code=\"error\"} 1"));
	CHECK(has_line(t, "gitopsfs_api_requests_total{verb=\"other\",code=\"418\"} 1"));
	CHECK(!strstr(t, "verb=\"DELETE\"")); /* no zero series per code */
	free(t);
}

static void api_bytes_are_counted_by_direction(void)
{
	char *t = scrape();
	CHECK(has_line(t, "# TYPE gitopsfs_api_bytes_total counter"));
	CHECK(has_line(t, "gitopsfs_api_bytes_total{direction=\"received\"} 0"));
	CHECK(has_line(t, "gitopsfs_api_bytes_total{direction=\"sent\"} 0"));
	free(t);
	gfs_metrics_api_bytes(5000000000ULL > SIZE_MAX ? 1 : (size_t)5000000000ULL, 0);
	gfs_metrics_api_bytes(7, 12);
	t = scrape();
	CHECK(has_line(t,
		       SIZE_MAX > 5000000000ULL
			   ? "gitopsfs_api_bytes_total{direction=\"received\"} 5000000007"
			   : "gitopsfs_api_bytes_total{direction=\"received\"} 8"));
	CHECK(has_line(t, "gitopsfs_api_bytes_total{direction=\"sent\"} 12"));
	free(t);
}

static void *hammer(void *arg)
{
	for (int i = 0; i < 10000; i++)
		gfs_metrics_apply(false, 0);
	return arg;
}

static void counters_lose_nothing_across_threads(void)
{
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	gfs_metrics_apply(true, -EIO);
	char *t = scrape();
	CHECK(has_line(t, "gitopsfs_applies_total{op=\"apply\",result=\"ok\"} 40000"));
	CHECK(has_line(t, "gitopsfs_applies_total{op=\"delete\",result=\"failed\"} 1"));
	free(t);
}

static void collect(struct gfs_metrics_family *f, void *payload)
{
	gfs_metrics_sample(f, 3, "resource", "a\"b\\c\nd", GFS_LABELS_END);
	gfs_metrics_sample(f, 0.5, GFS_LABELS_END);
}

static void a_module_adds_a_family_with_one_call(void)
{
	int token;
	CHECK_INT(gfs_metrics_register("test_things", "Things\nand \\ more",
				       GFS_METRIC_GAUGE, collect, &token),
		  0);
	CHECK_INT(gfs_metrics_register("test_things", "again", GFS_METRIC_GAUGE, collect,
				       &token),
		  -EINVAL);
	CHECK_INT(gfs_metrics_register("1bad", "x", GFS_METRIC_GAUGE, collect, &token),
		  -EINVAL);
	char *t = scrape();
	CHECK(has_line(t, "# HELP test_things Things\\nand \\\\ more"));
	CHECK(has_line(t, "# TYPE test_things gauge"));
	CHECK(has_line(t, "test_things{resource=\"a\\\"b\\\\c\\nd\"} 3"));
	CHECK(has_line(t, "test_things 0.5"));
	free(t);
	gfs_metrics_unregister(&token);
	t = scrape();
	CHECK(!strstr(t, "test_things"));
	free(t);
}

static void sync_rounds_keep_the_last_good_commit(void)
{
	const char *c1 = "1111111111111111111111111111111111111111";
	gfs_metrics_sync_round(true, c1);
	gfs_metrics_sync_round(false, "2222222222222222222222222222222222222222");
	gfs_metrics_sync_round(true, NULL);
	char *t = scrape();
	CHECK(has_line(t,
		       "gitopsfs_last_sync_commit_info{commit=\"1111111111111111111111111"
		       "111111111111111\"} 1"));
	CHECK(has_line(t, "gitopsfs_sync_rounds_total{result=\"ok\"} 2"));
	CHECK(has_line(t, "gitopsfs_sync_rounds_total{result=\"failed\"} 1"));
	free(t);
}

static void ready_when_every_needed_condition_is_marked(void)
{
	gfs_metrics_ready_need(GFS_READY_LISTED | GFS_READY_SYNCED);
	CHECK(!gfs_metrics_ready());
	gfs_metrics_ready_mark(GFS_READY_LISTED);
	CHECK(!gfs_metrics_ready());
	gfs_metrics_ready_mark(GFS_READY_SYNCED);
	CHECK(gfs_metrics_ready());
}

static void an_address_needs_an_explicit_host(void)
{
	CHECK_INT(gfs_metrics_addr_check("127.0.0.1:9100"), 0);
	CHECK_INT(gfs_metrics_addr_check("[::1]:9100"), 0);
	CHECK_INT(gfs_metrics_addr_check("0.0.0.0:9100"), 0);
	CHECK_INT(gfs_metrics_addr_check("localhost:1"), 0);
	CHECK_INT(gfs_metrics_addr_check(":9100"), -EINVAL);
	CHECK(strstr(gfs_error_last(), "give the host"));
	CHECK_INT(gfs_metrics_addr_check("*:9100"), -EINVAL);
	CHECK_INT(gfs_metrics_addr_check("9100"), -EINVAL);
	CHECK_INT(gfs_metrics_addr_check("::1:9100"), -EINVAL);
	CHECK_INT(gfs_metrics_addr_check("127.0.0.1:0"), -EINVAL);
	CHECK_INT(gfs_metrics_addr_check("127.0.0.1:65536"), -EINVAL);
	CHECK_INT(gfs_metrics_addr_check("127.0.0.1:x"), -EINVAL);
}

int main(void)
{
	TAP_RUN(api_requests_are_counted_by_verb_and_code);
	TAP_RUN(api_bytes_are_counted_by_direction);
	TAP_RUN(counters_lose_nothing_across_threads);
	TAP_RUN(a_module_adds_a_family_with_one_call);
	TAP_RUN(sync_rounds_keep_the_last_good_commit);
	TAP_RUN(ready_when_every_needed_condition_is_marked);
	TAP_RUN(an_address_needs_an_explicit_host);
	return tap_done();
}
