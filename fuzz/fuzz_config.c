/*
 * fuzz_config.c - gfs_config_parse on an arbitrary .gitopsfs.yaml (it
 * comes from the tracked branch, so anyone who can push writes it), then
 * the filter it built, asked about a few paths and applied to an object
 * (its globs and JSON pointers come from the input).
 *
 * Properties: a refusal is -EINVAL with a message naming the file.
 */
#include <errno.h>

#include "fuzz.h"
#include "gfs_common.h"
#include "gfs_config.h"

static const char fuzz_object[] =
    "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": "
    "\"web\", \"namespace\": \"shop\", \"labels\": {\"a/b\": \"c\", \"~1\": \"x\"}},"
    " \"spec\": {\"replicas\": 2, \"template\": {\"spec\": {\"containers\": [{\"name\":"
    " \"w\", \"image\": \"nginx\"}, {\"name\": \"v\"}]}}}, \"status\": {}}";

static void fuzz_filter_use(const struct gfs_filter *f)
{
	json_t *obj = json_loads(fuzz_object, 0, NULL), *kept;
	FUZZ_CHECK(obj != NULL, "bad fuzz_object");
	(void)gfs_filter_resource_wanted(f, "deployments.apps");
	(void)gfs_filter_resource_wanted(f, "secrets");
	(void)gfs_filter_path_wanted(f, "deployments.apps", "shop", "web");
	(void)gfs_filter_path_wanted(f, "clusterroles.rbac.authorization.k8s.io", NULL,
				     NULL);
	(void)gfs_filter_object_wanted(f, "deployments.apps", obj);
	kept = gfs_filter_ignore_strip(f, "deployments.apps", obj);
	json_decref(kept);
	json_t *live = json_deep_copy(obj);
	gfs_filter_ignore_keep(f, "deployments.apps", obj, live);
	json_decref(live);
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_config *cfg = NULL;
	int rc = gfs_config_parse(&cfg, ".gitopsfs.yaml", (const char *)data, size,
				  GFS_SECRETS_REDACT);
	if (rc < 0) {
		FUZZ_CHECK(!cfg, "a config on failure");
		FUZZ_CHECK(rc == -ENOMEM ||
			       strncmp(gfs_error_last(), ".gitopsfs.yaml", 14) == 0,
			   "rc %d, message \"%s\"", rc, gfs_error_last());
		return 0;
	}
	FUZZ_CHECK(cfg && cfg->filter, "no filter");
	fuzz_filter_use(cfg->filter);
	gfs_config_free(cfg);
	return 0;
}
