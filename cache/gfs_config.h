/*
 * gfs_config.h - the config file .gitopsfs.yaml (SPEC section 7).
 *
 *   exclude: [{resource, namespace, name}, ...]   added to the defaults
 *   include: [{resource, namespace, name}, ...]   takes a default exclusion back
 *   ignore:  [{resource, namespace, name, paths: [JSON pointers]}, ...]
 *   secrets: redact | show | exclude | sops
 *   sops:    {age: [age1..., ...]}          recipients for secrets: sops
 *   alerts:  {webhook: URL,                       a JSON webhook
 *             webhooks: [{url: URL, format: json | slack | alertmanager}]}
 *   health:  {timeout: SECONDS}                    as --health-timeout
 *
 * Rules match with shell globs; a field left out matches anything. An
 * invalid file is refused with its name, the line and the reason, e.g.
 *   ".gitopsfs.yaml, line 4: unknown key \"namespaces\" in an exclude rule
 *    (expected resource, namespace, name)".
 */
#ifndef GFS_CONFIG_H
#define GFS_CONFIG_H

#include <stddef.h>

#include "gfs_filter.h"

/* One entry of alerts.webhooks. */
struct gfs_config_webhook {
	char *url;    /* owned; http(s) */
	char *format; /* owned; "json" (the default), "slack" or "alertmanager" */
};

#define GFS_CONFIG_WEBHOOKS_MAX 16

struct gfs_config {
	struct gfs_filter *filter; /* defaults + exclude/include/ignore + secrets */
	char *webhook;             /* alerts.webhook, or NULL */
	struct gfs_config_webhook *webhooks; /* alerts.webhooks, owned, or NULL */
	size_t n_webhooks;
	unsigned health_timeout; /* health.timeout in seconds, 0: not set */
	char **sops_age;         /* sops.age recipients (gfs_strv), or NULL */
};

/* Parses `data` (named `name` in messages) into a new config; the
 * filter starts from the defaults and `secrets_default`. On failure
 * returns -EINVAL with the per-thread error as above. An empty file is a
 * valid config (the defaults). */
int gfs_config_parse(struct gfs_config **out, const char *name, const char *data,
		     size_t len, enum gfs_secrets_mode secrets_default);
void gfs_config_free(struct gfs_config *c);

#endif
