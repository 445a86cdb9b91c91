/*
 * test_monitor.c - the health monitor in process (gfs_monitor.h): pods
 * indexed but never in the store, a workload's health naming its pod
 * through a ReplicaSet, relists sweeping pods, following an applied object
 * to one failing and one recovered alert, the health timeout and the last
 * apply.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_errlog.h"
#include "gfs_monitor.h"
#include "tap.h"

#define DEP_PATH "shop/deployments.apps/web.yaml"

static struct gfs_resource deps = {.group = "apps",
				   .version = "v1",
				   .resource = "deployments",
				   .kind = "Deployment",
				   .namespaced = true,
				   .dirname = "deployments.apps",
				   .api_path = "/apis/apps/v1"};
static struct gfs_resource rsets = {.group = "apps",
				    .version = "v1",
				    .resource = "replicasets",
				    .kind = "ReplicaSet",
				    .namespaced = true,
				    .dirname = "replicasets.apps",
				    .api_path = "/apis/apps/v1"};
static struct gfs_resource pods = {.group = "",
				   .version = "v1",
				   .resource = "pods",
				   .kind = "Pod",
				   .namespaced = true,
				   .dirname = "pods",
				   .api_path = "/api/v1"};

struct fixture {
	struct gfs_filter *filter;
	struct gfs_store *store;
	struct gfs_alerter *alerter;
	struct gfs_monitor *mon;
};

static int setup(struct fixture *fx, unsigned timeout_s)
{
	memset(fx, 0, sizeof(*fx));
	fx->filter = gfs_filter_new_default();
	/* A config that leaves pods out: they are still watched for health. */
	gfs_filter_add_rule(fx->filter, false, "pods", NULL, NULL);
	struct gfs_store_opts so = {.filter = fx->filter};
	if (gfs_store_new(&fx->store, &so) < 0 || gfs_alerter_new(&fx->alerter, NULL) < 0)
		return -1;
	struct gfs_monitor_opts mo = {.store = fx->store,
				      .alerter = fx->alerter,
				      .timeout_s = timeout_s,
				      .tick_ms = 20};
	return gfs_monitor_new(&fx->mon, &mo);
}

static void teardown(struct fixture *fx)
{
	gfs_monitor_free(fx->mon);
	gfs_alerter_free(fx->alerter);
	gfs_store_free(fx->store);
	gfs_filter_free(fx->filter);
}

static void deliver(struct fixture *fx, const struct gfs_resource *r, json_t *obj,
		    bool rm)
{
	if (rm)
		gfs_monitor_informer_ops.remove(fx->mon, r, obj);
	else
		gfs_monitor_informer_ops.upsert(fx->mon, r, obj);
	json_decref(obj);
}

static json_t *deployment(const char *rv, int ready)
{
	return json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:i}, s:{s:i}, "
	    "s:{s:i, s:i, s:i, s:i, s:i}}",
	    "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "web",
	    "namespace", "shop", "uid", "d1", "resourceVersion", rv, "generation", 1,
	    "spec", "replicas", 1, "status", "observedGeneration", 1, "replicas", 1,
	    "updatedReplicas", 1, "readyReplicas", ready, "availableReplicas", ready);
}

static json_t *replicaset(void)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}]}}",
			 "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata",
			 "name", "web-1", "namespace", "shop", "uid", "r1",
			 "resourceVersion", "2", "ownerReferences", "kind", "Deployment",
			 "name", "web", "uid", "d1", "controller", 1);
}

static json_t *pod(const char *rv, const char *waiting)
{
	json_t *p = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}]}}", "apiVersion",
	    "v1", "kind", "Pod", "metadata", "name", "web-1-abc", "namespace", "shop",
	    "uid", "p1", "resourceVersion", rv, "ownerReferences", "kind", "ReplicaSet",
	    "name", "web-1", "uid", "r1", "controller", 1);
	json_t *st = waiting ? json_pack("{s:s, s:[{s:s, s:{s:{s:s, s:s}}}]}", "phase",
					 "Pending", "containerStatuses", "name", "app",
					 "state", "waiting", "reason", waiting, "message",
					 "Back-off pulling image \"nginx:1.99\"")
			     : json_pack("{s:s, s:[{s:s, s:s}]}", "phase", "Running",
					 "conditions", "type", "Ready", "status", "True");
	json_object_set_new(p, "status", st);
	return p;
}

static bool wait_failing(struct fixture *fx, bool want)
{
	for (int i = 0; i < 200; i++) {
		if (gfs_alerter_is_failing(fx->alerter, DEP_PATH) == want)
			return true;
		usleep(10000);
	}
	return false;
}

static void pods_are_watched_but_never_files(void)
{
	struct fixture fx;
	CHECK_INT(setup(&fx, 300), 0);
	CHECK(gfs_monitor_want_resource(fx.mon, &pods));
	CHECK(!gfs_store_resource_shown(fx.store, "pods", true));
	deliver(&fx, &deps, deployment("1", 0), false);
	deliver(&fx, &rsets, replicaset(), false);
	deliver(&fx, &pods, pod("3", "ImagePullBackOff"), false);
	struct gfs_entry_attr a;
	CHECK_INT(gfs_store_stat(&a, fx.store, DEP_PATH), 0);
	CHECK_INT(gfs_store_stat(&a, fx.store, "shop/pods/web-1-abc.yaml"), -ENOENT);
	CHECK_INT(gfs_store_stat(&a, fx.store, "shop/pods"), -ENOENT);
	CHECK_INT(gfs_store_stat(&a, fx.store, "shop/replicasets.apps/web-1.yaml"),
		  -ENOENT);
	struct gfs_health h;
	CHECK_INT(gfs_monitor_health(&h, fx.mon, DEP_PATH), 0);
	CHECK_INT(h.state, GFS_HEALTH_FAILED);
	CHECK_STR(h.reason,
		  "pod web-1-abc: container app: ImagePullBackOff: Back-off pulling "
		  "image \"nginx:1.99\"");
	CHECK_INT(gfs_monitor_health(&h, fx.mon, "shop/deployments.apps/nope.yaml"),
		  -ENOENT);

	struct gfs_buf b = GFS_BUF_INIT(1 << 20);
	CHECK_INT(gfs_monitor_health_text(fx.mon, &b), 0);
	CHECK_STR(b.data,
		  DEP_PATH "\tFailed: pod web-1-abc: container app: ImagePullBackOff: "
			   "Back-off pulling image \"nginx:1.99\"\n");
	gfs_buf_release(&b);
	json_t *st = gfs_monitor_status_json(fx.mon);
	CHECK_INT(
	    json_integer_value(json_object_get(json_object_get(st, "counts"), "Failed")),
	    1);
	CHECK_INT(json_array_size(json_object_get(st, "not_current")), 1);
	json_decref(st);

	/* The pod is deleted: the Deployment is merely not ready. */
	deliver(&fx, &pods, pod("4", "ImagePullBackOff"), true);
	CHECK_INT(gfs_monitor_health(&h, fx.mon, DEP_PATH), 0);
	CHECK_INT(h.state, GFS_HEALTH_IN_PROGRESS);
	CHECK_STR(h.reason, "ready replicas: 0/1");
	teardown(&fx);
}

static void a_relist_sweeps_pods_that_are_gone(void)
{
	struct fixture fx;
	CHECK_INT(setup(&fx, 300), 0);
	deliver(&fx, &deps, deployment("1", 0), false);
	deliver(&fx, &rsets, replicaset(), false);
	deliver(&fx, &pods, pod("3", "CrashLoopBackOff"), false);
	struct gfs_health h;
	gfs_monitor_health(&h, fx.mon, DEP_PATH);
	CHECK_INT(h.state, GFS_HEALTH_FAILED);
	gfs_monitor_informer_ops.list_begin(fx.mon, &pods, NULL);
	gfs_monitor_informer_ops.list_end(fx.mon, &pods, NULL);
	gfs_monitor_health(&h, fx.mon, DEP_PATH);
	CHECK_INT(h.state, GFS_HEALTH_IN_PROGRESS);
	teardown(&fx);
}

static void a_followed_failure_alerts_once_and_its_recovery_once(void)
{
	struct fixture fx;
	CHECK_INT(setup(&fx, 300), 0);
	deliver(&fx, &deps, deployment("1", 0), false);
	deliver(&fx, &rsets, replicaset(), false);
	deliver(&fx, &pods, pod("3", "ErrImagePull"), false);
	unsigned long errs = gfs_errlog_count();
	gfs_monitor_follow(fx.mon, DEP_PATH, "0123456789abcdef");
	CHECK(wait_failing(&fx, true));
	usleep(100000); /* several ticks: still one alert */
	CHECK_INT(gfs_errlog_count() - errs, 1);
	char last[512];
	gfs_errlog_last(last, sizeof(last));
	CHECK(strstr(last, DEP_PATH
		     ": Failed: pod web-1-abc: container app: ErrImagePull") == last);
	CHECK(strstr(last, "(commit 0123456789ab)") != NULL);
	struct gfs_alert_stats st;
	gfs_alerter_stats(&st, fx.alerter);
	CHECK_INT(st.raised, 1);

	deliver(&fx, &pods, pod("5", NULL), false);
	deliver(&fx, &deps, deployment("6", 1), false);
	CHECK(wait_failing(&fx, false));
	usleep(100000);
	gfs_alerter_stats(&st, fx.alerter);
	CHECK_INT(st.raised, 2);

	struct gfs_buf b = GFS_BUF_INIT(1 << 20);
	CHECK_INT(gfs_monitor_last_apply_text(fx.mon, &b), 0);
	CHECK_STR(b.data, DEP_PATH "\n");
	gfs_buf_release(&b);
	teardown(&fx);
}

static void in_progress_past_the_timeout_is_a_failure(void)
{
	struct fixture fx;
	CHECK_INT(setup(&fx, 1), 0);
	deliver(&fx, &deps, deployment("1", 0), false);
	gfs_monitor_follow(fx.mon, DEP_PATH, NULL);
	usleep(300000);
	CHECK(!gfs_alerter_is_failing(fx.alerter, DEP_PATH));
	CHECK(wait_failing(&fx, true));
	char last[512];
	gfs_errlog_last(last, sizeof(last));
	CHECK_STR(last,
		  DEP_PATH ": InProgress: not Current after 1 s: ready replicas: 0/1");
	teardown(&fx);
}

static void a_failing_object_that_is_deleted_stops_failing(void)
{
	struct fixture fx;
	CHECK_INT(setup(&fx, 300), 0);
	deliver(&fx, &deps, deployment("1", 0), false);
	deliver(&fx, &rsets, replicaset(), false);
	deliver(&fx, &pods, pod("3", "ImagePullBackOff"), false);
	gfs_monitor_follow(fx.mon, DEP_PATH, NULL);
	CHECK(wait_failing(&fx, true));
	deliver(&fx, &deps, deployment("4", 0), true);
	CHECK(wait_failing(&fx, false));
	teardown(&fx);
}

int main(void)
{
	gfs_log_init(GFS_LOG_ERROR, "/dev/null");
	TAP_RUN(pods_are_watched_but_never_files);
	TAP_RUN(a_relist_sweeps_pods_that_are_gone);
	TAP_RUN(a_followed_failure_alerts_once_and_its_recovery_once);
	TAP_RUN(in_progress_past_the_timeout_is_a_failure);
	TAP_RUN(a_failing_object_that_is_deleted_stops_failing);
	return tap_done();
}
