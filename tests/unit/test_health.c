/*
 * test_health.c - the health of objects (gfs_health.h), kind by kind, as a
 * table: each case is an object (and the pods it owns), the state it must
 * have and a piece of the reason; then the health alerts of the alerter
 * and the config key health.timeout.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_alert.h"
#include "gfs_config.h"
#include "gfs_errlog.h"
#include "gfs_health.h"
#include "tap.h"

enum {
	C = GFS_HEALTH_CURRENT,
	P = GFS_HEALTH_IN_PROGRESS,
	F = GFS_HEALTH_FAILED,
	T = GFS_HEALTH_TERMINATING,
	U = GFS_HEALTH_UNKNOWN
};

struct hcase {
	const char *name;
	const char *obj;  /* JSON; ' stands for " */
	const char *pods; /* JSON array or NULL */
	int state;
	const char *reason; /* a substring of the reason */
};

#define MD "'metadata':{'name':'web','namespace':'shop','uid':'u1','generation':2}"
#define DEP(spec, status)                                                                \
	"{'kind':'Deployment'," MD ",'spec':" spec ",'status':" status "}"
#define READY2                                                                           \
	"'observedGeneration':2,'replicas':2,'updatedReplicas':2,'readyReplicas':2,"     \
	"'availableReplicas':2"
#define PROG_OK                                                                          \
	"'conditions':[{'type':'Progressing','status':'True','reason':'"                 \
	"NewReplicaSetAvailable'}]"
#define POD(name, status)                                                                \
	"{'kind':'Pod','metadata':{'name':'" name "'},'status':" status "}"
#define WAITING(reason, msg)                                                             \
	"{'phase':'Pending','containerStatuses':[{'name':'app','state':{'waiting':{"     \
	"'reason':'" reason "','message':'" msg "'}}}]}"
#define RUNNING_READY                                                                    \
	"{'phase':'Running','conditions':[{'type':'Ready','status':'True'}]}"

static const struct hcase cases[] = {
    /* Deployment */
    {"deployment rolled out", DEP("{'replicas':2}", "{" READY2 "," PROG_OK "}"), NULL, C,
     "2/2 replicas"},
    {"deployment default replicas is 1",
     DEP("{}",
	 "{'observedGeneration':2,'replicas':1,'updatedReplicas':1,'readyReplicas':1,"
	 "'availableReplicas':1}"),
     NULL, C, "1/1"},
    {"deployment generation not observed",
     DEP("{'replicas':2}", "{'observedGeneration':1,'replicas':2,'updatedReplicas':2,"
			   "'readyReplicas':2,'availableReplicas':2}"),
     NULL, P, "generation 2 not yet observed by its controller (at 1)"},
    {"deployment without status", DEP("{'replicas':2}", "{}"), NULL, P,
     "updated replicas: 0/2"},
    {"deployment old replicas terminating",
     DEP("{'replicas':2}",
	 "{'observedGeneration':2,'replicas':3,'updatedReplicas':2,'readyReplicas':2,"
	 "'availableReplicas':2}"),
     NULL, P, "pending termination: 1"},
    {"deployment not ready",
     DEP("{'replicas':2}",
	 "{'observedGeneration':2,'replicas':2,'updatedReplicas':2,'readyReplicas':1}"),
     NULL, P, "ready replicas: 1/2"},
    {"deployment progress deadline exceeded",
     DEP("{'replicas':2}",
	 "{'observedGeneration':2,'conditions':[{'type':'Progressing',"
	 "'status':'False','reason':'ProgressDeadlineExceeded','message':"
	 "'ReplicaSet \\'web-1\\' has timed out progressing.'}]}"),
     NULL, F, "ProgressDeadlineExceeded: ReplicaSet"},
    {"deployment with a pod that cannot pull",
     DEP("{'replicas':2}", "{'observedGeneration':2,'replicas':2,'updatedReplicas':2}"),
     "[" POD("web-1-b", RUNNING_READY) "," POD(
	 "web-1-a", WAITING("ImagePullBackOff", "Back-off pulling image")) "]",
     F, "pod web-1-a: container app: ImagePullBackOff: Back-off pulling image"},
    {"deployment deadline and pod say both",
     DEP("{'replicas':1}",
	 "{'conditions':[{'type':'Progressing','status':'False',"
	 "'reason':'ProgressDeadlineExceeded','message':'timed out'}]}"),
     "[" POD("web-1-a", WAITING("ErrImagePull", "not found")) "]", F,
     "ProgressDeadlineExceeded: timed out; pod web-1-a: container app: ErrImagePull"},
    {"deployment with healthy pods stays as it is",
     DEP("{'replicas':2}", "{" READY2 "," PROG_OK "}"),
     "[" POD("web-1-a", RUNNING_READY) "]", C, "2/2"},
    {"deployment's terminating pod does not count",
     DEP("{'replicas':1}", "{'observedGeneration':2,'replicas':1,'updatedReplicas':1,"
			   "'readyReplicas':1,'availableReplicas':1}"),
     "[{'kind':'Pod','metadata':{'name':'old','deletionTimestamp':'2026-01-01T00:00:00Z'}"
     ","
     "'status':" WAITING("CrashLoopBackOff", "x") "}]",
     C, "1/1"},
    {"deployment being deleted",
     "{'kind':'Deployment','metadata':{'name':'w',"
     "'deletionTimestamp':'2026-01-01T00:00:00Z'}}",
     NULL, T, "being deleted"},
    /* ReplicaSet, StatefulSet, DaemonSet */
    {"replicaset ready",
     "{'kind':'ReplicaSet','metadata':{'name':'r'},'spec':{'replicas':2},'status':{"
     "'replicas':2,'fullyLabeledReplicas':2,'readyReplicas':2,'availableReplicas':2}}",
     NULL, C, "2/2"},
    {"replicaset with a replica failure",
     "{'kind':'ReplicaSet','metadata':{'name':'r'},'spec':{'replicas':2},'status':{"
     "'conditions':[{'type':'ReplicaFailure','status':'True','message':'quota'}]}}",
     NULL, P, "ReplicaFailure: quota"},
    {"statefulset rolling",
     "{'kind':'StatefulSet','metadata':{'name':'s'},'spec':{'replicas':2},'status':{"
     "'replicas':2,'readyReplicas':2,'currentReplicas':1,'updatedReplicas':1,"
     "'currentRevision':'s-1','updateRevision':'s-2'}}",
     NULL, P, "revision s-2"},
    {"statefulset done",
     "{'kind':'StatefulSet','metadata':{'name':'s'},'spec':{'replicas':2},'status':{"
     "'replicas':2,'readyReplicas':2,'currentReplicas':2,'updatedReplicas':2,"
     "'currentRevision':'s-2','updateRevision':'s-2'}}",
     NULL, C, "2/2"},
    {"statefulset crash looping pod",
     "{'kind':'StatefulSet','metadata':{'name':'s'},'spec':{'replicas':1},'status':{}}",
     "[" POD("s-0",
	     "{'phase':'Running','containerStatuses':[{'name':'db','state':{"
	     "'waiting':{'reason':'CrashLoopBackOff','message':'back-off 40s'}}}]}") "]",
     F, "pod s-0: container db: CrashLoopBackOff: back-off 40s"},
    {"daemonset not scheduled",
     "{'kind':'DaemonSet','metadata':{'name':'d'},'status':{}}", NULL, P,
     "not yet scheduled"},
    {"daemonset partly ready",
     "{'kind':'DaemonSet','metadata':{'name':'d'},'status':{'desiredNumberScheduled':3,"
     "'currentNumberScheduled':3,'updatedNumberScheduled':3,'numberReady':2,"
     "'numberAvailable':2}}",
     NULL, P, "ready: 2/3"},
    {"daemonset ready",
     "{'kind':'DaemonSet','metadata':{'name':'d'},'status':{'desiredNumberScheduled':3,"
     "'currentNumberScheduled':3,'updatedNumberScheduled':3,'numberReady':3,"
     "'numberAvailable':3}}",
     NULL, C, "3/3"},
    /* Job, CronJob */
    {"job complete",
     "{'kind':'Job','metadata':{'name':'j'},'status':{'succeeded':1,'conditions':[{"
     "'type':'Complete','status':'True'}]}}",
     NULL, C, "1 succeeded"},
    {"job failed past its backoffLimit",
     "{'kind':'Job','metadata':{'name':'j'},'spec':{'backoffLimit':2},'status':{'failed':"
     "3,"
     "'conditions':[{'type':'Failed','status':'True','reason':'BackoffLimitExceeded',"
     "'message':'Job has reached the specified backoff limit'}]}}",
     NULL, F, "BackoffLimitExceeded: Job has reached"},
    {"job running",
     "{'kind':'Job','metadata':{'name':'j'},'spec':{'backoffLimit':4},'status':{'active':"
     "1,"
     "'failed':1}}",
     NULL, P, "1 failed (backoffLimit 4)"},
    {"job complete with a failed pod is still Current",
     "{'kind':'Job','metadata':{'name':'j'},'status':{'conditions':[{'type':'Complete',"
     "'status':'True'}]}}",
     "[" POD("j-1", "{'phase':'Failed','message':'oom'}") "]", C, "completed"},
    {"job with a failed pod",
     "{'kind':'Job','metadata':{'name':'j'},'status':{'active':1}}",
     "[" POD("j-1", "{'phase':'Failed','message':'exit 1'}") "]", F,
     "pod j-1: Failed: exit 1"},
    {"cronjob", "{'kind':'CronJob','metadata':{'name':'c'},'spec':{}}", NULL, C,
     "scheduled"},
    /* Pod */
    {"pod running and ready", POD("p", RUNNING_READY), NULL, C, "ready"},
    {"pod image pull back-off", POD("p", WAITING("ImagePullBackOff", "Back-off")), NULL,
     F, "container app: ImagePullBackOff: Back-off"},
    {"pod failed", POD("p", "{'phase':'Failed','reason':'Evicted'}"), NULL, F,
     "Failed: Evicted"},
    {"pod succeeded", POD("p", "{'phase':'Succeeded'}"), NULL, C, "Succeeded"},
    {"pod failed with an exit code",
     POD("p",
	 "{'phase':'Failed','containerStatuses':[{'name':'ok','state':{'terminated':{"
	 "'exitCode':0}}},{'name':'job','state':{'terminated':{'exitCode':2,'reason':"
	 "'Error'}}}]}"),
     NULL, F, "Failed: container job: Error, exit code 2"},
    {"pod unschedulable",
     POD("p", "{'phase':'Pending','conditions':[{'type':'PodScheduled','status':'False',"
	      "'message':'0/3 nodes are available'}]}"),
     NULL, P, "not scheduled: 0/3 nodes"},
    {"pod init container crash",
     POD("p", "{'phase':'Pending','initContainerStatuses':[{'name':'init','state':{"
	      "'waiting':{'reason':'CrashLoopBackOff'}}}]}"),
     NULL, F, "container init: CrashLoopBackOff"},
    /* PVC, Service, CRD, Namespace */
    {"pvc bound",
     "{'kind':'PersistentVolumeClaim','metadata':{'name':'d'},'status':{'phase':'Bound'}"
     "}",
     NULL, C, "Bound"},
    {"pvc pending",
     "{'kind':'PersistentVolumeClaim','metadata':{'name':'d'},'status':{'phase':'Pending'"
     "}}",
     NULL, P, "Pending"},
    {"pvc lost",
     "{'kind':'PersistentVolumeClaim','metadata':{'name':'d'},'status':{'phase':'Lost'}}",
     NULL, F, "Lost"},
    {"service cluster ip", "{'kind':'Service','metadata':{'name':'s'},'spec':{}}", NULL,
     C, "ClusterIP"},
    {"load balancer waiting",
     "{'kind':'Service','metadata':{'name':'s'},'spec':{'type':'LoadBalancer'},"
     "'status':{'loadBalancer':{}}}",
     NULL, P, "load balancer"},
    {"load balancer assigned",
     "{'kind':'Service','metadata':{'name':'s'},'spec':{'type':'LoadBalancer'},"
     "'status':{'loadBalancer':{'ingress':[{'ip':'1.2.3.4'}]}}}",
     NULL, C, "ingress assigned"},
    {"crd established",
     "{'kind':'CustomResourceDefinition','metadata':{'name':'w'},'status':{'conditions':["
     "{"
     "'type':'NamesAccepted','status':'True'},{'type':'Established','status':'True'}]}}",
     NULL, C, "Established"},
    {"crd names refused",
     "{'kind':'CustomResourceDefinition','metadata':{'name':'w'},'status':{'conditions':["
     "{"
     "'type':'NamesAccepted','status':'False','message':'plural in use'}]}}",
     NULL, F, "plural in use"},
    {"crd not yet established",
     "{'kind':'CustomResourceDefinition','metadata':{'name':'w'},'status':{}}", NULL, P,
     "not Established"},
    {"namespace active",
     "{'kind':'Namespace','metadata':{'name':'n'},'status':{'phase':"
     "'Active'}}",
     NULL, C, "Active"},
    {"namespace terminating",
     "{'kind':'Namespace','metadata':{'name':'n'},'status':{'phase':'Terminating'}}",
     NULL, T, "terminating"},
    /* Custom resources */
    {"custom resource ready",
     "{'kind':'Widget','metadata':{'name':'w','generation':3},'status':{"
     "'observedGeneration':3,'conditions':[{'type':'Ready','status':'True'}]}}",
     NULL, C, "Ready"},
    {"custom resource stalled",
     "{'kind':'Widget','metadata':{'name':'w'},'status':{'conditions':[{'type':'Stalled',"
     "'status':'True','reason':'BadConfig','message':'no such secret'}]}}",
     NULL, F, "Stalled: no such secret"},
    {"custom resource reconciling",
     "{'kind':'Widget','metadata':{'name':'w'},'status':{'conditions':[{'type':"
     "'Reconciling','status':'True','reason':'Progressing'}]}}",
     NULL, P, "Reconciling: Progressing"},
    {"custom resource not ready",
     "{'kind':'Widget','metadata':{'name':'w'},'status':{'conditions':[{'type':'Ready',"
     "'status':'False','message':'waiting for\\nthe database'}]}}",
     NULL, P, "Ready=False: waiting for the database"},
    {"custom resource generation not observed",
     "{'kind':'Widget','metadata':{'name':'w','generation':4},'status':{"
     "'observedGeneration':3,'conditions':[{'type':'Ready','status':'True'}]}}",
     NULL, P, "generation 4 not yet observed"},
    {"object without status", "{'kind':'ConfigMap','metadata':{'name':'c'}}", NULL, C,
     "no conditions"},
    {"status that is not an object",
     "{'kind':'Widget','metadata':{'name':'w'},'status':3}", NULL, U, "not an object"},
    {"not an object at all", "[1]", NULL, U, "not a Kubernetes object"},
};

/* The cases are written with ' for " (readable C); \' is a literal '. */
static json_t *parse_quoted(const char *text)
{
	char *s = strdup(text);
	size_t o = 0;
	for (size_t i = 0; s && s[i]; i++) {
		if (s[i] == '\\' && s[i + 1] == '\'')
			s[o++] = s[++i];
		else
			s[o++] = s[i] == '\'' ? '"' : s[i];
	}
	if (s)
		s[o] = '\0';
	json_error_t err;
	json_t *j = s ? json_loads(s, 0, &err) : NULL;
	if (!j)
		printf("#   cannot parse %s: %s\n", s, err.text);
	free(s);
	return j;
}

static void every_kind_follows_kstatus_rules(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hcase *c = &cases[i];
		json_t *obj = parse_quoted(c->obj),
		       *pods = c->pods ? parse_quoted(c->pods) : NULL;
		const json_t *items[8];
		size_t n = 0;
		for (; pods && n < json_array_size(pods) && n < 8; n++)
			items[n] = json_array_get(pods, n);
		struct gfs_health h;
		gfs_health_of(&h, obj, items, n);
		if ((int)h.state != c->state || !strstr(h.reason, c->reason)) {
			printf("#   %s: got %s: %s; expected %s: ...%s...\n", c->name,
			       gfs_health_state_name(h.state), h.reason,
			       gfs_health_state_name(c->state), c->reason);
			tap_case_failed = 1;
		}
		json_decref(obj);
		json_decref(pods);
	}
}

/* The verdict from kind and facts alone, where it is given, is the one
 * the whole document gets: over every case of the table and a few
 * objects without status. */
static void a_plain_verdict_is_the_documents(void)
{
	static const char *const extra[] = {
	    "{'kind':'ConfigMap','metadata':{'name':'a'},'data':{'k':'v'}}",
	    "{'kind':'Role','metadata':{'name':'r','generation':3},'rules':[]}",
	    "{'kind':'Widget','metadata':{'name':'w','generation':2},'spec':{}}",
	    "{'kind':'ConfigMap','metadata':{'name':'a','deletionTimestamp':'x'}}",
	    "{'kind':'Deployment','metadata':{'name':'d'},'spec':{}}",
	    "{'kind':'CronJob','metadata':{'name':'c'},'spec':{'suspend':true}}",
	    "{'kind':'Widget','metadata':{'name':'w'},'status':{'conditions':[]}}",
	};
	size_t n = sizeof(cases) / sizeof(cases[0]), plain = 0;
	for (size_t i = 0; i < n + sizeof(extra) / sizeof(extra[0]); i++) {
		json_t *obj = parse_quoted(i < n ? cases[i].obj : extra[i - n]);
		struct gfs_health whole, h;
		const json_t *md = json_object_get(obj, "metadata");
		gfs_health_of_object(&whole, obj);
		if (gfs_health_of_plain(
			&h, json_string_value(json_object_get(obj, "kind")),
			json_object_get(obj, "status") != NULL,
			json_object_get(md, "deletionTimestamp") != NULL)) {
			plain++;
			CHECK_INT(h.state, whole.state);
			CHECK_STR(h.reason, whole.reason);
		}
		json_decref(obj);
	}
	CHECK(plain >= 3); /* the extra ConfigMap, Role and Widget at least */
}

/* What the monitor keeps of an object (gfs_health_view) is judged as the
 * whole document is, pods included, over every case of the table; and
 * it is kept exactly where the plain verdict does not answer. */
static void a_view_is_judged_as_the_document(void)
{
	static const char *const extra[] = {
	    "{'kind':'ConfigMap','metadata':{'name':'a'},'data':{'k':'v'}}",
	    "{'kind':'Deployment','metadata':{'name':'d','generation':2,'labels':{'a':'b'"
	    "}},"
	    "'spec':{'replicas':3,'template':{'spec':{'containers':[]}}},"
	    "'status':{'observedGeneration':1}}",
	    "{'kind':'Widget','metadata':'odd','status':{}}",
	    "{'kind':'Widget','metadata':{'name':'w'},'spec':7,'status':{}}",
	};
	size_t n = sizeof(cases) / sizeof(cases[0]), kept = 0;
	for (size_t i = 0; i < n + sizeof(extra) / sizeof(extra[0]); i++) {
		const struct hcase *c = i < n ? &cases[i] : NULL;
		json_t *obj = parse_quoted(c ? c->obj : extra[i - n]),
		       *pods = c && c->pods ? parse_quoted(c->pods) : NULL;
		const json_t *items[8];
		size_t np = 0;
		for (; pods && np < json_array_size(pods) && np < 8; np++)
			items[np] = json_array_get(pods, np);
		const json_t *md = json_object_get(obj, "metadata");
		struct gfs_health whole, h;
		json_t *view = gfs_health_view(obj);
		bool plain = gfs_health_of_plain(
		    &h, json_string_value(json_object_get(obj, "kind")),
		    json_object_get(obj, "status") != NULL,
		    json_object_get(md, "deletionTimestamp") != NULL);
		CHECK(plain == (view == NULL) || !json_is_object(obj));
		if (view) {
			kept++;
			gfs_health_of(&whole, obj, items, np);
			gfs_health_of(&h, view, items, np);
			CHECK_INT(h.state, whole.state);
			CHECK_STR(h.reason, whole.reason);
			CHECK(
			    !json_object_get(json_object_get(view, "spec"), "template"));
		}
		json_decref(view);
		json_decref(obj);
		json_decref(pods);
	}
	CHECK(kept >= n);
}

static void state_words_round_trip(void)
{
	for (int s = 0; s < GFS_HEALTH_NSTATES; s++)
		CHECK_INT(gfs_health_state_parse(gfs_health_state_name(s)), s);
	CHECK_INT(gfs_health_state_parse("Healthy"), -1);
	CHECK_INT(gfs_health_state_parse(NULL), -1);
	CHECK_STR(gfs_health_state_name(GFS_HEALTH_IN_PROGRESS), "InProgress");
	struct gfs_health h = {GFS_HEALTH_FAILED, "pod x: boom"};
	char out[64];
	gfs_health_format(out, sizeof(out), &h);
	CHECK_STR(out, "Failed: pod x: boom");
}

static void a_long_reason_is_cut_on_a_character_boundary(void)
{
	/* A message of 3-byte characters, longer than a reason holds. */
	char msg[3 * GFS_HEALTH_REASON_MAX + 1] = "";
	for (size_t i = 0; i < GFS_HEALTH_REASON_MAX; i++)
		strcat(msg, "\xe2\x82\xac"); /* the euro sign */
	json_t *obj = json_pack("{s:s, s:{s:s}, s:{s:[{s:s, s:s, s:s}]}}", "kind",
				"Widget", "metadata", "name", "w", "status", "conditions",
				"type", "Stalled", "status", "True", "message", msg);
	struct gfs_health h;
	gfs_health_of_object(&h, obj);
	CHECK_INT(h.state, GFS_HEALTH_FAILED);
	CHECK(strlen(h.reason) < GFS_HEALTH_REASON_MAX);
	json_t *s = json_string(h.reason); /* NULL if not valid UTF-8 */
	CHECK(s != NULL);
	json_decref(s);
	json_decref(obj);
}

static void health_alerts_are_apart_from_apply_alerts(void)
{
	struct gfs_alerter *a = NULL;
	const char *obj = "shop/deployments.apps/web.yaml";
	CHECK_INT(gfs_alerter_new(&a, NULL), 0);
	if (!a)
		return;
	CHECK_INT(
	    gfs_alerter_report_health(a, obj, "c0ffee", true, "Failed", "pod w: boom"),
	    1);
	CHECK_INT(
	    gfs_alerter_report_health(a, obj, "c0ffee", true, "Failed", "pod v: boom"),
	    0);
	char last[256];
	gfs_errlog_last(last, sizeof(last));
	CHECK_STR(last,
		  "shop/deployments.apps/web.yaml: Failed: pod w: boom (commit c0ffee)");
	/* The sync thread saying the apply went well ends no rollout failure. */
	CHECK_INT(gfs_alerter_report(a, obj, "c0ffee", NULL), 0);
	CHECK(gfs_alerter_is_failing(a, obj));
	json_t *list = NULL;
	CHECK_INT(gfs_alerter_failing_json(&list, a), 0);
	json_t *first = json_array_get(list, 0);
	CHECK_STR(json_string_value(json_object_get(first, "object")), obj);
	CHECK_STR(json_string_value(json_object_get(first, "health")), "Failed");
	CHECK_STR(json_string_value(json_object_get(first, "error")),
		  "Failed: pod v: boom");
	json_decref(list);
	CHECK_INT(gfs_alerter_report_health(a, obj, "beef", false, "Current", "2/2"), 1);
	CHECK(!gfs_alerter_is_failing(a, obj));
	CHECK_INT(gfs_alerter_report_health(a, obj, "beef", false, "Current", "2/2"), 0);
	CHECK_INT(gfs_alerter_report_health(a, NULL, NULL, true, "Failed", "x"), -EINVAL);
	gfs_alerter_free(a);
}

static void config_sets_the_health_timeout(void)
{
	struct gfs_config *c = NULL;
	const char *ok = "health:\n  timeout: 120\n";
	CHECK_INT(
	    gfs_config_parse(&c, ".gitopsfs.yaml", ok, strlen(ok), GFS_SECRETS_REDACT),
	    0);
	CHECK_INT(c ? c->health_timeout : 0, 120);
	gfs_config_free(c);
	c = NULL;
	const char *bad = "health:\n  timeout: soon\n";
	CHECK_INT(
	    gfs_config_parse(&c, ".gitopsfs.yaml", bad, strlen(bad), GFS_SECRETS_REDACT),
	    -EINVAL);
	CHECK(strstr(gfs_error_last(), "line 2") != NULL);
	CHECK(strstr(gfs_error_last(), "health.timeout") != NULL);
	gfs_config_free(c);
}

int main(void)
{
	gfs_log_init(GFS_LOG_ERROR, "/dev/null");
	TAP_RUN(every_kind_follows_kstatus_rules);
	TAP_RUN(a_plain_verdict_is_the_documents);
	TAP_RUN(a_view_is_judged_as_the_document);
	TAP_RUN(state_words_round_trip);
	TAP_RUN(a_long_reason_is_cut_on_a_character_boundary);
	TAP_RUN(health_alerts_are_apart_from_apply_alerts);
	TAP_RUN(config_sets_the_health_timeout);
	return tap_done();
}
