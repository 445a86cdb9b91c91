/*
 * alert_format.h - the webhook bodies of an alert, one per format
 * (gfs_alert.h lists them). Internal to alert/.
 *
 * Pure functions: no lock, no I/O; the strings of an event are borrowed.
 */
#ifndef GFS_ALERT_FORMAT_H
#define GFS_ALERT_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gfs_alert.h"

/* One change of state, as every format needs it. */
struct gfs_alert_event {
	const char *object; /* what the alert names */
	const char *commit; /* hex, or NULL */
	const char *error;  /* why it fails (failing only), else NULL */
	const char *health; /* health alerts: the state word, else NULL */
	const char *reason; /* health alerts: the reason, else the error */
	bool failing;       /* false: recovered */
	int64_t when_ns;    /* when the state changed */
	int64_t since_ns;   /* when the failure started (= when_ns if failing) */
};

/* The body to POST for `e` in format `f`, NUL-terminated and the
 * caller's (free), or NULL when out of memory. */
char *gfs_alert_format_body(enum gfs_alert_format f, const struct gfs_alert_event *e);

/* "2026-11-26T05:00:00Z" for a wall-clock time in ns. */
void gfs_alert_rfc3339(char *out, size_t outsz, int64_t ns);

/* A JSON string for text that may be cut mid-character or not be UTF-8;
 * null for NULL; NULL when out of memory. A new reference. */
json_t *gfs_alert_json_text(const char *s);

#endif
