/*
 * health.c - kstatus' rules, per kind (see gfs_health.h for the states).
 *
 * The rules follow what kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) and
 * the controllers themselves report, so that gitopsfs agrees with
 * `kubectl rollout status` and Flux: a controller that has not observed
 * the latest generation says nothing yet (InProgress); a Deployment is
 * Current when every replica is updated, ready and available; only a
 * condition the controller itself sets to "give up" (ProgressDeadline-
 * Exceeded, Job Failed, Stalled) is Failed. One addition of ours: a pod
 * that cannot pull its image or crash-loops makes its workload Failed at
 * once, naming the pod and container, rather than InProgress until the
 * deadline, because that is the news a person needs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gfs_health.h"

static const char *const state_names[GFS_HEALTH_NSTATES] = {
    "Current", "InProgress", "Failed", "Terminating", "Unknown",
};

const char *gfs_health_state_name(enum gfs_health_state s)
{
	return (unsigned)s < GFS_HEALTH_NSTATES ? state_names[s] : "Unknown";
}

int gfs_health_state_parse(const char *word)
{
	for (int i = 0; word && i < GFS_HEALTH_NSTATES; i++)
		if (strcmp(word, state_names[i]) == 0)
			return i;
	return -1;
}

void gfs_health_format(char *out, size_t outsz, const struct gfs_health *h)
{
	snprintf(out, outsz, "%s: %s", gfs_health_state_name(h->state), h->reason);
}

/* Sets the verdict; the reason is made one line (a message may hold
 * newlines: a file has one object per line). */
__attribute__((format(printf, 3, 4))) static void
set(struct gfs_health *out, enum gfs_health_state s, const char *fmt, ...)
{
	va_list ap;
	out->state = s;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	for (char *p = out->reason; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	/* A cut reason must stay UTF-8 (it goes into JSON): drop a partial
	 * character at the end. */
	size_t len = strlen(out->reason), start = len;
	while (start > 0 && ((unsigned char)out->reason[start - 1] & 0xC0) == 0x80)
		start--;
	if (start > 0 && (unsigned char)out->reason[start - 1] >= 0xC0) {
		unsigned char lead = (unsigned char)out->reason[start - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (len - (start - 1) < need)
			out->reason[start - 1] = '\0';
	}
	if (!out->reason[0])
		snprintf(out->reason, sizeof(out->reason), "-");
}

/* ---- reading a status ---------------------------------------------------------- */

static const json_t *get(const json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(get(o, key));
}

/* An integer field; absent counts as `dflt` (the API leaves zero counts
 * out: `readyReplicas` is missing when none is ready). */
static long long num(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = get(o, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* The condition of this type in status.conditions, or NULL. */
static const json_t *condition(const json_t *status, const char *type)
{
	const json_t *conds = get(status, "conditions"), *c;
	size_t i;
	json_array_foreach(conds, i, c)
	{
		const char *t = str(c, "type");
		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static bool cond_is(const json_t *c, const char *status)
{
	const char *s = str(c, "status");
	return s && strcmp(s, status) == 0;
}

static const char *cond_text(const json_t *c)
{
	const char *m = str(c, "message");
	return m && *m ? m : str(c, "reason") ? str(c, "reason") : "";
}

static bool kind_is(const json_t *obj, const char *kind)
{
	const char *k = str(obj, "kind");
	return k && strcmp(k, kind) == 0;
}

/* A controller that has not seen the newest spec has said nothing about
 * it yet (kstatus: "not yet observed"). */
static bool observed_latest(struct gfs_health *out, const json_t *obj)
{
	const json_t *md = get(obj, "metadata"), *st = get(obj, "status");
	const json_t *gen = get(md, "generation"), *seen = get(st, "observedGeneration");
	if (!json_is_integer(gen) || !json_is_integer(seen))
		return true;
	if (json_integer_value(seen) >= json_integer_value(gen))
		return true;
	set(out, GFS_HEALTH_IN_PROGRESS,
	    "generation %lld not yet observed by its controller (at %lld)",
	    (long long)json_integer_value(gen), (long long)json_integer_value(seen));
	return false;
}

/* ---- per kind -------------------------------------------------------------------- */

static void deployment(struct gfs_health *out, const json_t *obj)
{
	const json_t *spec = get(obj, "spec"), *st = get(obj, "status");
	long long want = num(spec, "replicas", 1);
	const json_t *prog = condition(st, "Progressing");
	const char *preason = str(prog, "reason");
	if (preason && strcmp(preason, "ProgressDeadlineExceeded") == 0) {
		set(out, GFS_HEALTH_FAILED, "ProgressDeadlineExceeded: %s",
		    cond_text(prog));
		return;
	}
	if (!observed_latest(out, obj))
		return;
	long long have = num(st, "replicas", 0), updated = num(st, "updatedReplicas", 0);
	long long ready = num(st, "readyReplicas", 0),
		  avail = num(st, "availableReplicas", 0);
	if (updated < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "updated replicas: %lld/%lld", updated,
		    want);
	else if (have > want)
		set(out, GFS_HEALTH_IN_PROGRESS, "old replicas pending termination: %lld",
		    have - want);
	else if (ready < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "ready replicas: %lld/%lld", ready,
		    want);
	else if (avail < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "available replicas: %lld/%lld", avail,
		    want);
	else if (prog && !cond_is(prog, "True"))
		set(out, GFS_HEALTH_IN_PROGRESS, "Progressing: %s", cond_text(prog));
	else
		set(out, GFS_HEALTH_CURRENT, "%lld/%lld replicas updated and available",
		    avail, want);
}

static void replicaset(struct gfs_health *out, const json_t *obj)
{
	const json_t *spec = get(obj, "spec"), *st = get(obj, "status");
	long long want = num(spec, "replicas", 1);
	const json_t *fail = condition(st, "ReplicaFailure");
	if (!observed_latest(out, obj))
		return;
	if (fail && cond_is(fail, "True")) {
		set(out, GFS_HEALTH_IN_PROGRESS, "ReplicaFailure: %s", cond_text(fail));
		return;
	}
	long long labeled = num(st, "fullyLabeledReplicas", 0);
	long long ready = num(st, "readyReplicas", 0),
		  avail = num(st, "availableReplicas", 0);
	if (labeled < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "labelled replicas: %lld/%lld", labeled,
		    want);
	else if (ready < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "ready replicas: %lld/%lld", ready,
		    want);
	else if (avail < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "available replicas: %lld/%lld", avail,
		    want);
	else if (num(st, "replicas", 0) > want)
		set(out, GFS_HEALTH_IN_PROGRESS, "replicas pending termination: %lld",
		    num(st, "replicas", 0) - want);
	else
		set(out, GFS_HEALTH_CURRENT, "%lld/%lld replicas ready", ready, want);
}

static void statefulset(struct gfs_health *out, const json_t *obj)
{
	const json_t *spec = get(obj, "spec"), *st = get(obj, "status");
	if (!observed_latest(out, obj))
		return;
	long long want = num(spec, "replicas", 1);
	long long ready = num(st, "readyReplicas", 0), have = num(st, "replicas", 0);
	long long current = num(st, "currentReplicas", 0),
		  updated = num(st, "updatedReplicas", 0);
	const char *strategy = str(get(spec, "updateStrategy"), "type");
	const char *cur_rev = str(st, "currentRevision"),
		   *upd_rev = str(st, "updateRevision");
	if (have < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "replicas: %lld/%lld", have, want);
	else if (ready < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "ready replicas: %lld/%lld", ready,
		    want);
	else if (strategy && strcmp(strategy, "OnDelete") == 0)
		set(out, GFS_HEALTH_CURRENT, "%lld/%lld replicas ready (OnDelete)", ready,
		    want);
	else if (upd_rev && cur_rev && strcmp(cur_rev, upd_rev) != 0)
		set(out, GFS_HEALTH_IN_PROGRESS,
		    "updated replicas: %lld/%lld (revision %s)", updated, want, upd_rev);
	else if (current < want && cur_rev)
		set(out, GFS_HEALTH_IN_PROGRESS, "current replicas: %lld/%lld", current,
		    want);
	else
		set(out, GFS_HEALTH_CURRENT, "%lld/%lld replicas ready", ready, want);
}

static void daemonset(struct gfs_health *out, const json_t *obj)
{
	const json_t *st = get(obj, "status");
	if (!json_is_object(st) || !get(st, "desiredNumberScheduled")) {
		set(out, GFS_HEALTH_IN_PROGRESS, "not yet scheduled by its controller");
		return;
	}
	if (!observed_latest(out, obj))
		return;
	long long want = num(st, "desiredNumberScheduled", 0);
	long long sched = num(st, "currentNumberScheduled", 0);
	long long updated = num(st, "updatedNumberScheduled", 0);
	long long avail = num(st, "numberAvailable", 0),
		  ready = num(st, "numberReady", 0);
	if (sched < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "scheduled: %lld/%lld", sched, want);
	else if (updated < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "updated: %lld/%lld", updated, want);
	else if (ready < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "ready: %lld/%lld", ready, want);
	else if (avail < want)
		set(out, GFS_HEALTH_IN_PROGRESS, "available: %lld/%lld", avail, want);
	else
		set(out, GFS_HEALTH_CURRENT, "%lld/%lld pods ready", ready, want);
}

static void job(struct gfs_health *out, const json_t *obj)
{
	const json_t *spec = get(obj, "spec"), *st = get(obj, "status");
	const json_t *failed = condition(st, "Failed"), *done = condition(st, "Complete");
	if (failed && cond_is(failed, "True")) {
		set(out, GFS_HEALTH_FAILED, "%s: %s",
		    str(failed, "reason") ? str(failed, "reason") : "Failed",
		    str(failed, "message") ? str(failed, "message") : "the Job failed");
		return;
	}
	if (done && cond_is(done, "True")) {
		set(out, GFS_HEALTH_CURRENT, "completed: %lld succeeded",
		    num(st, "succeeded", 0));
		return;
	}
	const json_t *susp = condition(st, "Suspended");
	if (susp && cond_is(susp, "True")) {
		set(out, GFS_HEALTH_CURRENT, "suspended");
		return;
	}
	long long fails = num(st, "failed", 0), limit = num(spec, "backoffLimit", 6);
	set(out, GFS_HEALTH_IN_PROGRESS,
	    "running: %lld active, %lld succeeded, %lld failed (backoffLimit %lld)",
	    num(st, "active", 0), num(st, "succeeded", 0), fails, limit);
}

/* The container whose state says the pod cannot run, among init and
 * regular containers; NULL when none does. *reason and *message are
 * borrowed from the pod. */
static const json_t *failing_container(const json_t *st, const char **reason,
				       const char **message)
{
	static const char *const bad[] = {
	    "ImagePullBackOff",           "ErrImagePull",
	    "InvalidImageName",           "CrashLoopBackOff",
	    "CreateContainerConfigError", "CreateContainerError",
	    "RunContainerError",
	};
	const char *lists[] = {"initContainerStatuses", "containerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		const json_t *arr = get(st, lists[l]), *cs;
		size_t i;
		json_array_foreach(arr, i, cs)
		{
			const json_t *waiting = get(get(cs, "state"), "waiting");
			const char *r = str(waiting, "reason");
			for (size_t k = 0; r && k < sizeof(bad) / sizeof(bad[0]); k++) {
				if (strcmp(r, bad[k]) != 0)
					continue;
				*reason = r;
				*message = str(waiting, "message")
					       ? str(waiting, "message")
					       : "";
				return cs;
			}
		}
	}
	return NULL;
}

/* The first container that ended with a non-zero exit code (*term: its
 * terminated state), or NULL. */
static const json_t *terminated_container(const json_t *st, const json_t **term)
{
	const json_t *arr = get(st, "containerStatuses"), *cs;
	size_t i;
	json_array_foreach(arr, i, cs)
	{
		const json_t *t = get(get(cs, "state"), "terminated");
		if (t && num(t, "exitCode", 0) != 0) {
			*term = t;
			return cs;
		}
	}
	return NULL;
}

static void pod(struct gfs_health *out, const json_t *obj)
{
	const json_t *st = get(obj, "status");
	const char *phase = str(st, "phase"), *reason = NULL, *message = NULL;
	const json_t *cs = failing_container(st, &reason, &message);
	if (phase && strcmp(phase, "Succeeded") == 0) {
		set(out, GFS_HEALTH_CURRENT, "Succeeded");
	} else if (phase && strcmp(phase, "Failed") == 0) {
		const char *why =
		    str(st, "message") ? str(st, "message") : str(st, "reason");
		const json_t *term = NULL;
		const json_t *ct = why ? NULL : terminated_container(st, &term);
		if (ct)
			set(out, GFS_HEALTH_FAILED,
			    "Failed: container %s: %s, exit code %lld",
			    str(ct, "name") ? str(ct, "name") : "?",
			    str(term, "reason") ? str(term, "reason") : "terminated",
			    num(term, "exitCode", 0));
		else
			set(out, GFS_HEALTH_FAILED, "Failed: %s",
			    why ? why : "the pod failed");
	} else if (cs) {
		set(out, GFS_HEALTH_FAILED, "container %s: %s%s%s",
		    str(cs, "name") ? str(cs, "name") : "?", reason, *message ? ": " : "",
		    message);
	} else if (cond_is(condition(st, "Ready"), "True")) {
		set(out, GFS_HEALTH_CURRENT, "Running and ready");
	} else {
		const json_t *sched = condition(st, "PodScheduled");
		if (sched && cond_is(sched, "False"))
			set(out, GFS_HEALTH_IN_PROGRESS, "not scheduled: %s",
			    cond_text(sched));
		else
			set(out, GFS_HEALTH_IN_PROGRESS, "%s, not ready",
			    phase ? phase : "Pending");
	}
}

static void pvc(struct gfs_health *out, const json_t *obj)
{
	const char *phase = str(get(obj, "status"), "phase");
	if (phase && strcmp(phase, "Bound") == 0)
		set(out, GFS_HEALTH_CURRENT, "Bound");
	else if (phase && strcmp(phase, "Lost") == 0)
		set(out, GFS_HEALTH_FAILED, "Lost: its volume is gone");
	else
		set(out, GFS_HEALTH_IN_PROGRESS, "%s, not bound yet",
		    phase ? phase : "Pending");
}

static void service(struct gfs_health *out, const json_t *obj)
{
	const char *type = str(get(obj, "spec"), "type");
	if (!type || strcmp(type, "LoadBalancer") != 0) {
		set(out, GFS_HEALTH_CURRENT, "%s", type ? type : "ClusterIP");
		return;
	}
	const json_t *ing = get(get(get(obj, "status"), "loadBalancer"), "ingress");
	if (json_array_size(ing) > 0)
		set(out, GFS_HEALTH_CURRENT, "load balancer ingress assigned");
	else
		set(out, GFS_HEALTH_IN_PROGRESS, "waiting for a load balancer ingress");
}

static void crd(struct gfs_health *out, const json_t *obj)
{
	const json_t *st = get(obj, "status");
	const json_t *names = condition(st, "NamesAccepted"),
		     *est = condition(st, "Established");
	if (names && cond_is(names, "False"))
		set(out, GFS_HEALTH_FAILED, "NamesAccepted=False: %s", cond_text(names));
	else if (est && cond_is(est, "True"))
		set(out, GFS_HEALTH_CURRENT, "Established");
	else
		set(out, GFS_HEALTH_IN_PROGRESS, "not Established yet");
}

static void namespace_(struct gfs_health *out, const json_t *obj)
{
	const char *phase = str(get(obj, "status"), "phase");
	if (phase && strcmp(phase, "Terminating") == 0)
		set(out, GFS_HEALTH_TERMINATING, "Namespace is terminating");
	else
		set(out, GFS_HEALTH_CURRENT, "%s", phase ? phase : "Active");
}

/* Any other object: the conventions of custom resources (kstatus'
 * Stalled/Reconciling; Flux' and many operators' Ready). An object
 * without such conditions is Current: nothing says otherwise. */
/* What generic() says of an object without a status. */
#define NO_CONDITIONS "no conditions to wait for"

static void generic(struct gfs_health *out, const json_t *obj)
{
	const json_t *st = get(obj, "status");
	const json_t *stalled = condition(st, "Stalled"),
		     *rec = condition(st, "Reconciling");
	const json_t *ready = condition(st, "Ready");
	if (stalled && cond_is(stalled, "True")) {
		set(out, GFS_HEALTH_FAILED, "Stalled: %s", cond_text(stalled));
		return;
	}
	if (!observed_latest(out, obj))
		return;
	if (rec && cond_is(rec, "True"))
		set(out, GFS_HEALTH_IN_PROGRESS, "Reconciling: %s", cond_text(rec));
	else if (ready && cond_is(ready, "False"))
		set(out, GFS_HEALTH_IN_PROGRESS, "Ready=False: %s", cond_text(ready));
	else if (ready && !cond_is(ready, "True"))
		set(out, GFS_HEALTH_IN_PROGRESS, "Ready=%s: %s",
		    str(ready, "status") ? str(ready, "status") : "Unknown",
		    cond_text(ready));
	else if (ready)
		set(out, GFS_HEALTH_CURRENT, "Ready");
	else
		set(out, GFS_HEALTH_CURRENT, NO_CONDITIONS);
}

/* ---- entry points ------------------------------------------------------------------ */

/* The kinds with rules of their own (CronJob aside, below). */
static const struct {
	const char *kind;
	void (*fn)(struct gfs_health *, const json_t *);
} health_kinds[] = {
    {"Deployment", deployment},
    {"ReplicaSet", replicaset},
    {"StatefulSet", statefulset},
    {"DaemonSet", daemonset},
    {"Job", job},
    {"Pod", pod},
    {"PersistentVolumeClaim", pvc},
    {"Service", service},
    {"CustomResourceDefinition", crd},
    {"Namespace", namespace_},
};

void gfs_health_of_object(struct gfs_health *out, const json_t *obj)
{
	if (!json_is_object(obj) || !json_is_object(get(obj, "metadata"))) {
		set(out, GFS_HEALTH_UNKNOWN, "not a Kubernetes object");
		return;
	}
	const json_t *st = get(obj, "status");
	if (st && !json_is_object(st)) {
		set(out, GFS_HEALTH_UNKNOWN, "its status is not an object");
		return;
	}
	if (get(get(obj, "metadata"), "deletionTimestamp")) {
		set(out, GFS_HEALTH_TERMINATING, "being deleted");
		return;
	}
	for (size_t i = 0; i < sizeof(health_kinds) / sizeof(health_kinds[0]); i++) {
		if (kind_is(obj, health_kinds[i].kind)) {
			health_kinds[i].fn(out, obj);
			return;
		}
	}
	if (kind_is(obj, "CronJob")) {
		/* A schedule is healthy as such; each run is its own Job. */
		set(out, GFS_HEALTH_CURRENT, "%s",
		    json_is_true(get(get(obj, "spec"), "suspend")) ? "suspended"
								   : "scheduled");
		return;
	}
	generic(out, obj);
}

bool gfs_health_of_plain(struct gfs_health *out, const char *kind, bool has_status,
			 bool deleting)
{
	if (has_status || deleting || !kind || strcmp(kind, "CronJob") == 0)
		return false;
	for (size_t i = 0; i < sizeof(health_kinds) / sizeof(health_kinds[0]); i++)
		if (strcmp(kind, health_kinds[i].kind) == 0)
			return false;
	set(out, GFS_HEALTH_CURRENT, NO_CONDITIONS); /* as generic() */
	return true;
}

/* Every field of spec that a rule above reads; keep in step with them
 * (test_health checks the verdicts of views against whole documents). */
static const char *const view_spec_fields[] = {"replicas", "updateStrategy",
					       "backoffLimit", "type", "suspend"};
static const char *const view_metadata_fields[] = {"name", "namespace", "generation",
						   "deletionTimestamp"};

/* Copies obj's members named in keys to a new object (shared values:
 * the view is dumped to text at once, never changed). */
static json_t *view_pick(const json_t *obj, const char *const *keys, size_t n)
{
	json_t *out = json_object();
	for (size_t i = 0; out && i < n; i++) {
		json_t *v = json_object_get(obj, keys[i]);
		if (v && json_object_set(out, keys[i], v) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

json_t *gfs_health_view(const json_t *obj)
{
	struct gfs_health h;
	const json_t *md = get(obj, "metadata"), *st = get(obj, "status");
	if (!json_is_object(obj) ||
	    gfs_health_of_plain(&h, str(obj, "kind"), st != NULL,
				get(md, "deletionTimestamp") != NULL))
		return NULL;
	static const char *const top[] = {"apiVersion", "kind", "status"};
	json_t *v = view_pick(obj, top, sizeof(top) / sizeof(top[0]));
	/* Not an object's metadata (or none): kept as it is, which the
	 * rules judge as they judge the document. */
	json_t *m = json_is_object(md) ? view_pick(md, view_metadata_fields,
						   sizeof(view_metadata_fields) /
						       sizeof(view_metadata_fields[0]))
				       : json_incref((json_t *)md);
	const json_t *spec = get(obj, "spec");
	json_t *sp =
	    spec ? view_pick(spec, view_spec_fields,
			     sizeof(view_spec_fields) / sizeof(view_spec_fields[0]))
		 : NULL;
	bool ok = v && (!md || (m && json_object_set(v, "metadata", m) == 0)) &&
		  (!spec || (sp && json_object_set(v, "spec", sp) == 0));
	json_decref(m);
	json_decref(sp);
	if (!ok) {
		json_decref(v);
		return NULL;
	}
	return v;
}

bool gfs_health_kind_has_pods(const char *kind)
{
	static const char *const kinds[] = {"Deployment", "ReplicaSet", "StatefulSet",
					    "DaemonSet", "Job"};
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/* Orders pods so that the reason is the same on every read: by name. */
static const json_t *first_failing_pod(const json_t *const *pods, size_t n,
				       struct gfs_health *ph)
{
	const json_t *best = NULL;
	const char *best_name = NULL;
	struct gfs_health h;
	for (size_t i = 0; i < n; i++) {
		const char *name = str(get(pods[i], "metadata"), "name");
		if (get(get(pods[i], "metadata"), "deletionTimestamp"))
			continue; /* on its way out: the rollout replaced it */
		gfs_health_of_object(&h, pods[i]);
		if (h.state != GFS_HEALTH_FAILED)
			continue;
		if (best && name && best_name && strcmp(name, best_name) >= 0)
			continue;
		best = pods[i];
		best_name = name;
		*ph = h;
	}
	return best;
}

void gfs_health_of(struct gfs_health *out, const json_t *obj, const json_t *const *pods,
		   size_t n_pods)
{
	gfs_health_of_object(out, obj);
	if (n_pods == 0 || !gfs_health_kind_has_pods(str(obj, "kind")))
		return;
	if (out->state == GFS_HEALTH_TERMINATING || out->state == GFS_HEALTH_UNKNOWN)
		return;
	/* A completed Job's failed attempts are history, not news. */
	if (kind_is(obj, "Job") && out->state == GFS_HEALTH_CURRENT)
		return;
	struct gfs_health ph;
	const json_t *p = first_failing_pod(pods, n_pods, &ph);
	if (!p)
		return;
	const char *name = str(get(p, "metadata"), "name");
	if (out->state == GFS_HEALTH_FAILED) { /* say both: the verdict and why */
		char own[sizeof(out->reason)];
		memcpy(own, out->reason, sizeof(own));
		set(out, GFS_HEALTH_FAILED, "%s; pod %s: %s", own, name ? name : "?",
		    ph.reason);
		return;
	}
	set(out, GFS_HEALTH_FAILED, "pod %s: %s", name ? name : "?", ph.reason);
}
