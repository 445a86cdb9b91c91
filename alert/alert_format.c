/*
 * alert_format.c - webhook bodies: gitopsfs' own JSON, Slack-compatible
 * {"text": ...}, and a Prometheus Alertmanager v2 alert list.
 *
 * Alertmanager identifies an alert by its label set, so the labels hold
 * only what names the failure (the kind of alert and the object) and
 * never what changes while it fails (the error, the commit): a recovery
 * then carries the very labels of its failure, with endsAt set, and
 * resolves it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_format.h"

void gfs_alert_rfc3339(char *out, size_t outsz, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* jansson refuses invalid UTF-8: then non-ASCII bytes become '?'. */
json_t *gfs_alert_json_text(const char *s)
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

static char *alert_dump(json_t *o)
{
	char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return body;
}

/* "health" and "reason" came later than the other fields: nothing was
 * removed, so receivers written for the first format keep working. */
static char *alert_body_json(const struct gfs_alert_event *e)
{
	char stamp[32];
	gfs_alert_rfc3339(stamp, sizeof(stamp), e->when_ns);
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "object", gfs_alert_json_text(e->object)) < 0 ||
	    json_object_set_new(o, "commit", gfs_alert_json_text(e->commit)) < 0 ||
	    json_object_set_new(o, "error",
				gfs_alert_json_text(e->failing ? e->error : NULL)) < 0 ||
	    json_object_set_new(o, "state",
				json_string(e->failing ? "failing" : "recovered")) < 0 ||
	    json_object_set_new(o, "time", json_string(stamp)) < 0 ||
	    json_object_set_new(o, "health", gfs_alert_json_text(e->health)) < 0 ||
	    json_object_set_new(o, "reason", gfs_alert_json_text(e->reason)) < 0) {
		json_decref(o);
		return NULL;
	}
	return alert_dump(o);
}

/* Slack reads &, < and > as markup (links, mentions): escaped, they are
 * shown as typed. Returns the bytes written, output always terminated. */
static size_t alert_slack_escape(char *out, size_t outsz, const char *s)
{
	size_t n = 0;
	for (; s && *s && outsz > 0; s++) {
		const char *rep = *s == '&'   ? "&amp;"
				  : *s == '<' ? "&lt;"
				  : *s == '>' ? "&gt;"
					      : NULL;
		size_t len = rep ? strlen(rep) : 1;
		if (n + len >= outsz)
			break;
		memcpy(out + n, rep ? rep : s, len);
		n += len;
	}
	if (outsz > 0)
		out[n] = '\0';
	return n;
}

/* {"text": "gitopsfs: OBJECT is failing: ERROR (commit 0123456789ab)"}, or
 * "gitopsfs: OBJECT recovered[: HEALTH: REASON] (commit ...)". */
static char *alert_body_slack(const struct gfs_alert_event *e)
{
	char obj[1024], why[4096 + 64], text[6144], at[64] = "";
	alert_slack_escape(obj, sizeof(obj), e->object);
	if (e->commit)
		snprintf(at, sizeof(at), " (commit %.12s)", e->commit);
	if (e->failing) {
		alert_slack_escape(why, sizeof(why), e->error);
		snprintf(text, sizeof(text), "gitopsfs: %s is failing: %s%s", obj, why,
			 at);
	} else {
		why[0] = '\0';
		if (e->health) {
			char reason[4096];
			alert_slack_escape(reason, sizeof(reason), e->reason);
			snprintf(why, sizeof(why), ": %s: %s", e->health, reason);
		}
		snprintf(text, sizeof(text), "gitopsfs: %s recovered%s%s", obj, why, at);
	}
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "text", gfs_alert_json_text(text)) < 0) {
		json_decref(o);
		return NULL;
	}
	return alert_dump(o);
}

/* [{"labels": {alertname, object}, "annotations": {summary, description,
 * commit?, health?}, "startsAt", "endsAt" (recovered only)}] */
static char *alert_body_alertmanager(const struct gfs_alert_event *e)
{
	char starts[32], ends[32], summary[1200];
	gfs_alert_rfc3339(starts, sizeof(starts), e->since_ns);
	gfs_alert_rfc3339(ends, sizeof(ends), e->when_ns);
	snprintf(summary, sizeof(summary), "%s %s", e->object,
		 e->failing ? "is failing" : "recovered");
	json_t *arr = json_array(), *alert = json_object(), *labels = json_object(),
	       *notes = json_object();
	const char *desc = e->failing ? e->error : e->health ? e->reason : "recovered";
	if (!arr || !alert || !labels || !notes ||
	    json_object_set_new(
		labels, "alertname",
		json_string(e->health ? "GitopsfsUnhealthy" : "GitopsfsFailing")) < 0 ||
	    json_object_set_new(labels, "object", gfs_alert_json_text(e->object)) < 0 ||
	    json_object_set_new(notes, "summary", gfs_alert_json_text(summary)) < 0 ||
	    json_object_set_new(notes, "description", gfs_alert_json_text(desc)) < 0 ||
	    (e->commit &&
	     json_object_set_new(notes, "commit", gfs_alert_json_text(e->commit)) < 0) ||
	    (e->health &&
	     json_object_set_new(notes, "health", gfs_alert_json_text(e->health)) < 0) ||
	    json_object_set(alert, "labels", labels) < 0 ||
	    json_object_set(alert, "annotations", notes) < 0 ||
	    json_object_set_new(alert, "startsAt", json_string(starts)) < 0 ||
	    (!e->failing &&
	     json_object_set_new(alert, "endsAt", json_string(ends)) < 0) ||
	    json_array_append(arr, alert) < 0) {
		json_decref(arr);
		arr = NULL;
	}
	json_decref(labels);
	json_decref(notes);
	json_decref(alert);
	return arr ? alert_dump(arr) : NULL;
}

char *gfs_alert_format_body(enum gfs_alert_format f, const struct gfs_alert_event *e)
{
	switch (f) {
	case GFS_ALERT_SLACK:
		return alert_body_slack(e);
	case GFS_ALERT_ALERTMANAGER:
		return alert_body_alertmanager(e);
	case GFS_ALERT_JSON:
	default:
		return alert_body_json(e);
	}
}
