/*
 * test_config.c - .gitopsfs.yaml parsing (SPEC section 7), ignore rules,
 * and rendering against what was applied (no false drift).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_applied.h"
#include "gfs_config.h"
#include "tap.h"

static struct gfs_config *parse(const char *text, int *rc)
{
	struct gfs_config *c = NULL;
	*rc = gfs_config_parse(&c, ".gitopsfs.yaml", text, strlen(text),
			       GFS_SECRETS_REDACT);
	return c;
}

static void parses_the_spec_example(void)
{
	const char *text = "exclude:\n"
			   "  - resource: configmaps\n"
			   "    namespace: kube-system\n"
			   "  - resource: widgets.example.com\n"
			   "    name: scratch-*\n"
			   "include:\n"
			   "  - resource: endpoints\n"
			   "ignore:\n"
			   "  - resource: deployments.apps\n"
			   "    paths: [/spec/replicas]\n"
			   "secrets: show\n"
			   "alerts:\n"
			   "  webhook: https://hooks.example.com/gitopsfs\n";
	int rc;
	struct gfs_config *c = parse(text, &rc);
	CHECK_INT(rc, 0);
	if (!c)
		return;
	CHECK_INT(c->filter->n_exclude, 2);
	CHECK_INT(c->filter->n_include, 1);
	CHECK_INT(c->filter->n_ignore, 1);
	CHECK_STR(c->filter->ignore[0].pointers[0], "/spec/replicas");
	CHECK_INT(c->filter->secrets, GFS_SECRETS_SHOW);
	CHECK_STR(c->webhook, "https://hooks.example.com/gitopsfs");
	CHECK(!gfs_filter_path_wanted(c->filter, "configmaps", "kube-system", "x"));
	CHECK(gfs_filter_resource_wanted(c->filter, "endpoints"));
	gfs_config_free(c);
}

static void empty_config_is_the_defaults(void)
{
	int rc;
	struct gfs_config *c = parse("", &rc);
	CHECK_INT(rc, 0);
	CHECK(c && c->filter->n_exclude == 0 && !c->webhook);
	gfs_config_free(c);
}

static void parses_several_webhooks_with_their_formats(void)
{
	int rc;
	struct gfs_config *c =
	    parse("alerts:\n"
		  "  webhook: https://hooks.example.com/plain\n"
		  "  webhooks:\n"
		  "    - url: https://hooks.slack.com/services/T0/B0/secret\n"
		  "      format: slack\n"
		  "    - {url: 'http://alertmanager:9093', format: alertmanager}\n"
		  "    - url: https://hooks.example.com/json\n",
		  &rc);
	CHECK_INT(rc, 0);
	if (!c)
		return;
	CHECK_STR(c->webhook, "https://hooks.example.com/plain");
	CHECK_INT(c->n_webhooks, 3);
	if (c->n_webhooks == 3) {
		CHECK_STR(c->webhooks[0].url,
			  "https://hooks.slack.com/services/T0/B0/secret");
		CHECK_STR(c->webhooks[0].format, "slack");
		CHECK_STR(c->webhooks[1].url, "http://alertmanager:9093");
		CHECK_STR(c->webhooks[1].format, "alertmanager");
		CHECK_STR(c->webhooks[2].format, "json"); /* the default */
	}
	gfs_config_free(c);
	c = parse("alerts:\n  webhooks: []\n", &rc);
	CHECK_INT(rc, 0);
	CHECK(c && c->n_webhooks == 0 && !c->webhook);
	gfs_config_free(c);
}

static void parses_sops_recipients(void)
{
	int rc;
	struct gfs_config *c =
	    parse("secrets: sops\nsops:\n  age: [age1one, age1two]\n", &rc);
	CHECK_INT(rc, 0);
	if (!c)
		return;
	CHECK_INT(c->filter->secrets, GFS_SECRETS_SOPS);
	CHECK(c->sops_age && c->sops_age[0] && c->sops_age[1] && !c->sops_age[2]);
	CHECK_STR(c->sops_age ? c->sops_age[1] : NULL, "age1two");
	gfs_config_free(c);
}

static void errors_name_file_line_and_reason(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"exclude:\n  - resource: x\n    namespaces: y\n",
	     ".gitopsfs.yaml, line 3: unknown key \"namespaces\" in an exclude rule"},
	    {"secrets: maybe\n",
	     ".gitopsfs.yaml, line 1: secrets must be redact, show, exclude or sops"},
	    {"secrets: sops\nsops:\n  age: age1x\n  pgp: [F00]\n",
	     ".gitopsfs.yaml, line 4: unknown key \"pgp\" in sops (expected age)"},
	    {"sops:\n  age: {a: b}\n", ".gitopsfs.yaml, line 2: sops.age must be a list"},
	    {"ignore:\n  - resource: deployments.apps\n    paths: [spec/replicas]\n",
	     ".gitopsfs.yaml, line 3: \"spec/replicas\" is not a JSON pointer"},
	    {"alerts:\n  webhook: ftp://x\n",
	     ".gitopsfs.yaml, line 2: alerts.webhook must be"},
	    {"alerts:\n  webhooks:\n    - url: https://a.example/x\n      format: "
	     "teams\n",
	     ".gitopsfs.yaml, line 4: a webhook's format must be json, slack or "
	     "alertmanager, not \"teams\""},
	    {"alerts:\n  webhooks:\n    - format: slack\n",
	     ".gitopsfs.yaml, line 3: a webhook needs a url"},
	    {"alerts:\n  webhooks:\n    - url: file:///etc/passwd\n",
	     ".gitopsfs.yaml, line 3: a webhook's url must be an http(s) URL"},
	    {"alerts:\n  webhooks:\n    - url: https://a.example/x\n      token: t\n",
	     ".gitopsfs.yaml, line 4: unknown key \"token\" in a webhook (expected url, "
	     "format)"},
	    {"alerts:\n  webhooks: https://a.example/x\n",
	     ".gitopsfs.yaml, line 2: alerts.webhooks must be a list"},
	    {"alerts:\n  webhooks:\n    - https://a.example/x\n",
	     ".gitopsfs.yaml, line 3: each webhook must be a mapping"},
	    {"alerts:\n  hooks: []\n",
	     ".gitopsfs.yaml, line 2: unknown key \"hooks\" in alerts (expected "
	     "webhook, webhooks)"},
	    {"exclude: [\n", ".gitopsfs.yaml, line 2: "},
	    {"colour: blue\n", ".gitopsfs.yaml, line 1: unknown key \"colour\""},
	    {"exclude: configmaps\n",
	     ".gitopsfs.yaml, line 1: exclude must be a list of rules"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		struct gfs_config *c = parse(cases[i].text, &rc);
		CHECK_INT(rc, -EINVAL);
		CHECK(c == NULL);
		if (strncmp(gfs_error_last(), cases[i].want, strlen(cases[i].want)) !=
		    0) {
			printf("#   case %zu: got \"%s\"\n", i, gfs_error_last());
			tap_case_failed = 1;
		}
	}
}

static void ignore_rules_hide_and_keep_fields(void)
{
	int rc;
	struct gfs_config *c = parse(
	    "ignore:\n  - resource: deployments.apps\n    paths: [/spec/replicas]\n",
	    &rc);
	json_t *live = json_pack("{s:s, s:{s:s, s:s}, s:{s:i, s:s}}", "kind",
				 "Deployment", "metadata", "name", "web", "namespace",
				 "a", "spec", "replicas", 7, "paused", "no");
	json_t *shown = gfs_filter_ignore_strip(c->filter, "deployments.apps", live);
	CHECK(shown && !json_object_get(json_object_get(shown, "spec"), "replicas"));
	CHECK(json_object_get(json_object_get(live, "spec"),
			      "replicas")); /* input untouched */
	CHECK(gfs_filter_ignore_strip(c->filter, "configmaps", live) == NULL);

	json_t *manifest =
	    json_pack("{s:s, s:{s:s, s:s}, s:{s:i}}", "kind", "Deployment", "metadata",
		      "name", "web", "namespace", "a", "spec", "replicas", 1);
	gfs_filter_ignore_keep(c->filter, "deployments.apps", manifest, live);
	CHECK_INT(json_integer_value(
		      json_object_get(json_object_get(manifest, "spec"), "replicas")),
		  7);
	gfs_filter_ignore_keep(c->filter, "deployments.apps", manifest, NULL);
	CHECK(!json_object_get(json_object_get(manifest, "spec"), "replicas"));
	json_decref(shown);
	json_decref(live);
	json_decref(manifest);
	gfs_config_free(c);
}

static void prune_hides_untouched_server_defaults(void)
{
	json_t *manifest =
	    json_loads("{\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":"
		       "[{\"name\":\"a\",\"image\":\"x:1\"}]}}}}",
		       0, NULL);
	json_t *answer = json_loads("{\"spec\":{\"replicas\":2,\"revisionHistoryLimit\":"
				    "10,\"template\":{\"spec\":"
				    "{\"dnsPolicy\":\"ClusterFirst\",\"containers\":[{"
				    "\"name\":\"a\",\"image\":\"x:1\","
				    "\"imagePullPolicy\":\"IfNotPresent\"}]}}}}",
				    0, NULL);
	/* Later, someone changed revisionHistoryLimit and the image. */
	json_t *live = json_loads(
	    "{\"spec\":{\"replicas\":2,\"revisionHistoryLimit\":3,\"template\":{\"spec\":"
	    "{\"dnsPolicy\":\"ClusterFirst\",\"containers\":[{\"name\":\"a\",\"image\":"
	    "\"x:2\","
	    "\"imagePullPolicy\":\"IfNotPresent\"}]}}}}",
	    0, NULL);
	json_t *want = json_loads(
	    "{\"spec\":{\"replicas\":2,\"revisionHistoryLimit\":3,\"template\":{\"spec\":"
	    "{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\"}]}}}}",
	    0, NULL);
	json_t *got = gfs_applied_prune(live, manifest, answer);
	CHECK(json_equal(got, want));
	if (!json_equal(got, want)) {
		char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		printf("#   got %s\n", s);
		free(s);
	}
	json_decref(got);
	json_decref(manifest);
	json_decref(answer);
	json_decref(live);
	json_decref(want);
}

int main(void)
{
	TAP_RUN(parses_the_spec_example);
	TAP_RUN(empty_config_is_the_defaults);
	TAP_RUN(parses_several_webhooks_with_their_formats);
	TAP_RUN(parses_sops_recipients);
	TAP_RUN(errors_name_file_line_and_reason);
	TAP_RUN(ignore_rules_hide_and_keep_fields);
	TAP_RUN(prune_hides_untouched_server_defaults);
	return tap_done();
}
