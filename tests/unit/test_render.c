/*
 * test_render.c - a live object to the bytes of its file (SPEC section 4).
 *
 * Golden files: tests/unit/golden/NAME.json is an object as the API server
 * returns it (status, managedFields, defaults and all), NAME.yaml the
 * exact file expected. The .yaml files were produced independently of
 * this code: the object with the server-owned fields removed, printed by
 * kubectl v1.32 (`kubectl patch --local -f x.json --type merge -p '{}'
 * -o yaml`), then read by eye; the one edit: kubectl folds the long value
 * in configmap.yaml at 80 columns, and we never fold (gfs_yaml.h). Paths
 * are relative to $GFS_ROOT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_object.h"
#include "gfs_render.h"
#include "gfs_yaml.h"
#include "tap.h"

/* ---- helpers ---- */

static char *golden_path(const char *name)
{
	const char *root = getenv("GFS_ROOT");
	char *path = malloc(4096);
	snprintf(path, 4096, "%s/tests/unit/golden/%s", root && *root ? root : ".", name);
	return path;
}

/* The whole file, NUL-terminated; NULL (with a note) when unreadable. */
static char *golden_read(const char *name)
{
	char *path = golden_path(name), *data = NULL;
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0)
		goto out;
	data = calloc(1, (size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
out:
	if (!data)
		printf("#   cannot read %s (set GFS_ROOT to the repository root)\n",
		       path);
	if (f)
		fclose(f);
	free(path);
	return data;
}

static json_t *golden_json(const char *name)
{
	char file[256];
	snprintf(file, sizeof(file), "%s.json", name);
	char *text = golden_read(file);
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return v;
}

/* The redaction key of these tests: the expected digests were computed
 * with Python's hmac module, independently of the code under test. */
static const struct gfs_redact_key test_key = {"0123456789abcdef0123456789abcdef", 32};

/* Renders obj; "<error N: message>" on failure. free() the result. */
static char *render(const json_t *obj, enum gfs_secrets_mode mode)
{
	struct gfs_render_opts opts = {.secrets = mode, .key = &test_key};
	struct gfs_buf b = GFS_BUF_INIT(1 << 20);
	int rc = gfs_render_object(&b, obj, &opts);
	if (rc < 0) {
		char *msg = malloc(512);
		snprintf(msg, 512, "<error %d: %s>", rc, gfs_error_last());
		gfs_buf_release(&b);
		return msg;
	}
	return gfs_buf_detach(&b, NULL);
}

static char *render_text(const char *json_text, enum gfs_secrets_mode mode)
{
	json_t *obj = json_loads(json_text, 0, NULL);
	char *out = obj ? render(obj, mode) : strdup("<bad test JSON>");
	json_decref(obj);
	return out;
}

/* NAME.json rendered in `mode` must be exactly the bytes of `expected`;
 * the input must come out unchanged. */
static void check_golden(const char *name, enum gfs_secrets_mode mode,
			 const char *expected)
{
	json_t *obj = golden_json(name);
	json_t *before = json_deep_copy(obj);
	char *want = golden_read(expected);
	char *got = obj ? render(obj, mode) : NULL;

	CHECK(obj != NULL);
	CHECK_STR(got, want);
	CHECK(json_equal(obj, before));
	free(got);
	free(want);
	json_decref(before);
	json_decref(obj);
}

/* ---- golden objects ---- */

static void renders_deployment_without_server_fields(void)
{
	check_golden("deployment", GFS_SECRETS_REDACT, "deployment.yaml");
}

static void renders_service_with_its_allocated_cluster_ip(void)
{
	check_golden("service", GFS_SECRETS_REDACT, "service.yaml");
}

static void renders_configmap_values_quoted_only_where_needed(void)
{
	check_golden("configmap", GFS_SECRETS_REDACT, "configmap.yaml");
}

static void renders_secret_values_as_digests(void)
{
	check_golden("secret", GFS_SECRETS_REDACT, "secret.yaml");
}

static void renders_secret_values_in_show_mode(void)
{
	check_golden("secret", GFS_SECRETS_SHOW, "secret-show.yaml");
}

static void renders_secret_as_show_when_called_in_exclude_mode(void)
{
	check_golden("secret", GFS_SECRETS_EXCLUDE, "secret-show.yaml");
}

static void renders_namespace(void)
{
	check_golden("namespace", GFS_SECRETS_REDACT, "namespace.yaml");
}

static void renders_clusterrole_wildcards_single_quoted(void)
{
	check_golden("clusterrole", GFS_SECRETS_REDACT, "clusterrole.yaml");
}

static void renders_custom_resource_numbers_and_lists(void)
{
	check_golden("widget", GFS_SECRETS_REDACT, "widget.yaml");
}

static void renders_cronjob_without_template_timestamps(void)
{
	check_golden("cronjob", GFS_SECRETS_REDACT, "cronjob.yaml");
}

static void renders_statefulset_claim_templates(void)
{
	check_golden("statefulset", GFS_SECRETS_REDACT, "statefulset.yaml");
}

/* Reading a rendered file back gives the stripped object (numbers by
 * value: a float 2.0 is written 2, as kubectl writes it). */
static void rendered_files_read_back_as_the_stripped_object(void)
{
	static const char *const names[] = {"deployment", "service",   "configmap",
					    "secret",     "namespace", "clusterrole",
					    "widget",     "cronjob",   "statefulset"};
	struct gfs_render_opts opts = {.secrets = GFS_SECRETS_REDACT, .key = &test_key};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(names); k++) {
		json_t *obj = golden_json(names[k]), *back = NULL;
		json_t *stripped = obj ? gfs_render_strip(obj, &opts) : NULL;
		char *text = obj ? render(obj, GFS_SECRETS_REDACT) : NULL;
		char *again = NULL;

		CHECK(stripped != NULL && text != NULL);
		if (text && gfs_yaml_parse(&back, text, strlen(text), NULL) == 0) {
			/* widget.json's only float with an integral value. */
			json_t *w =
			    json_object_get(json_object_get(stripped, "spec"), "weight");
			if (json_is_real(w))
				json_object_set_new(
				    json_object_get(stripped, "spec"), "weight",
				    json_integer((json_int_t)json_real_value(w)));
			CHECK(json_equal(back, stripped));
			again = render(back, GFS_SECRETS_SHOW);
			CHECK_STR(again, text);
		} else {
			CHECK(!"rendered file does not parse");
		}
		free(again);
		free(text);
		json_decref(back);
		json_decref(stripped);
		json_decref(obj);
	}
}

/* ---- stripping rules ---- */

static void strip_removes_maps_it_empties_but_keeps_maps_that_were_empty(void)
{
	char *got = render_text(
	    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\","
	    " \"annotations\": {\"deployment.kubernetes.io/revision\": \"1\"},"
	    " \"labels\": {}}, \"spec\": {\"resources\": {}, \"volumes\": []},"
	    " \"status\": {\"phase\": \"Running\"}}",
	    GFS_SECRETS_REDACT);
	CHECK_STR(got, "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {}\n  name: p\n"
		       "spec:\n  resources: {}\n  volumes: []\n");
	free(got);
	got = render_text("{\"kind\": \"X\", \"metadata\": {\"annotations\": {}}}",
			  GFS_SECRETS_REDACT);
	CHECK_STR(got, "kind: X\nmetadata:\n  annotations: {}\n");
	free(got);
}

static void strip_keeps_other_annotations(void)
{
	char *got = render_text(
	    "{\"metadata\": {\"name\": \"a\", \"annotations\": {"
	    "\"kubectl.kubernetes.io/last-applied-configuration\": \"{}\\n\","
	    " \"deployment.kubernetes.io/revision\": \"7\", \"team\": \"x\"}}}",
	    GFS_SECRETS_REDACT);
	CHECK_STR(got, "metadata:\n  annotations:\n    team: x\n  name: a\n");
	free(got);
}

static void strip_removes_metadata_left_empty(void)
{
	char *got =
	    render_text("{\"kind\": \"X\", \"metadata\": {\"uid\": \"u\", \"selfLink\":"
			" \"/x\", \"generation\": 2, \"resourceVersion\": \"9\"}}",
			GFS_SECRETS_REDACT);
	CHECK_STR(got, "kind: X\n");
	free(got);
}

static void strip_removes_only_null_timestamps_of_nested_metadata(void)
{
	char *got = render_text(
	    "{\"spec\": {\"a\": {\"metadata\": {\"creationTimestamp\": null}, \"x\": 1},"
	    " \"b\": {\"metadata\": {\"creationTimestamp\": \"2024-01-01T00:00:00Z\"}},"
	    " \"c\": [{\"metadata\": {\"creationTimestamp\": null}}],"
	    " \"d\": {\"creationTimestamp\": null},"
	    " \"e\": {\"f\": {\"metadata\": {\"creationTimestamp\": null}}}}}",
	    GFS_SECRETS_REDACT);
	/* a: emptied metadata goes; b: a real timestamp stays; c: a list item
	 * stays even when emptied; d: not a metadata map; e: emptied maps go
	 * all the way up. */
	CHECK_STR(got, "spec:\n  a:\n    x: 1\n  b:\n    metadata:\n"
		       "      creationTimestamp: \"2024-01-01T00:00:00Z\"\n  c:\n  - {}\n"
		       "  d:\n    creationTimestamp: null\n");
	free(got);
}

static void strip_does_not_modify_its_input(void)
{
	json_t *obj = golden_json("deployment");
	json_t *before = json_deep_copy(obj);
	struct gfs_render_opts opts = {.secrets = GFS_SECRETS_REDACT};
	json_t *stripped = gfs_render_strip(obj, &opts);

	CHECK(stripped != NULL && stripped != obj);
	CHECK(json_equal(obj, before));
	CHECK(json_object_get(obj, "status") != NULL);
	CHECK(json_object_get(stripped, "status") == NULL);
	json_decref(stripped);
	json_decref(before);
	json_decref(obj);
}

static void strip_copies_non_objects(void)
{
	json_t *v = json_loads("[1, {\"status\": 2}]", 0, NULL);
	json_t *s = gfs_render_strip(v, NULL);
	CHECK(s != NULL && s != v && json_equal(s, v));
	json_decref(s);
	json_decref(v);
}

/* ---- secrets ---- */

#define HMAC(hex) GFS_REDACTED_HMAC_PREFIX hex

static void redact_digests_are_keyed_hmacs_of_secret_key_and_decoded_value(void)
{
	/* HMAC-SHA256(key, "gitopsfs-redact-v1\0shop\0s1\0u\0admin"): a
	 * data value is digested decoded, a stringData value as it is, so
	 * the same value gives the same digest in either; a non-string value
	 * as compact JSON, never shown. */
	char *got = render_text(
	    "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\":"
	    " \"s1\", \"namespace\": \"shop\"}, \"data\": {\"u\": \"YWRtaW4=\"},"
	    " \"stringData\": {\"p\": \"admin\", \"n\": 5}}",
	    GFS_SECRETS_REDACT);
	CHECK_STR(
	    got,
	    "apiVersion: v1\ndata:\n"
	    "  u: " HMAC(
		"fad6f80933135fb70b3209ab5e1dd630") "\n"
						    "kind: Secret\nmetadata:\n  name: "
						    "s1\n  namespace: shop\n"
						    "stringData:\n"
						    "  \"n\": " HMAC(
							"b1feee52b323766ee2418ba0c719a6e"
							"9") "\n"
							     "  p: " HMAC(
								 "da1d60739cc3cae1497a42b"
								 "310ba35d3") "\n");
	free(got);
}

static char *redact_one(const struct gfs_redact_key *k, const char *ns, const char *name,
			const char *key, const char *value)
{
	static char out[GFS_REDACTED_SIZE];
	CHECK_INT(gfs_render_redacted_form(out, k, ns, name, key, value, strlen(value)),
		  0);
	return out;
}

static void redact_binds_the_digest_to_secret_key_and_cluster_key(void)
{
	static const struct gfs_redact_key other = {"another key of at least 16 bytes",
						    32};
	CHECK_STR(redact_one(&test_key, "shop", "s1", "u", "admin"),
		  HMAC("fad6f80933135fb70b3209ab5e1dd630"));
	/* The same value in another Secret, or under another key. */
	CHECK_STR(redact_one(&test_key, "shop", "s2", "u", "admin"),
		  HMAC("4801c28060dc0c32dc3fd52241c150cb"));
	CHECK_STR(redact_one(&test_key, "shop", "s1", "p", "admin"),
		  HMAC("da1d60739cc3cae1497a42b310ba35d3"));
	/* Another cluster's key. */
	CHECK_STR(redact_one(&other, "shop", "s1", "u", "admin"),
		  HMAC("ab814391e2fc5dbdaa18fca6f0eb89cf"));
	/* No usable key: nothing about the value is shown. */
	static const struct gfs_redact_key short_key = {"short", 5};
	CHECK_STR(redact_one(NULL, "shop", "s1", "u", "admin"), GFS_REDACTED_NO_KEY);
	CHECK_STR(redact_one(&short_key, "shop", "s1", "u", "admin"),
		  GFS_REDACTED_NO_KEY);
}

static void redact_keeps_values_already_redacted(void)
{
	/* A file written back, a manifest from Git, or an older version's
	 * unkeyed form: kept as it is, never digested again. */
	char *got =
	    render_text("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"data\": {\"a\":"
			" \"gitopsfs-redacted:sha256:38d180985d1b2e7a\", \"b\": \"" HMAC(
			    "fad6f80933135fb70b3209ab5e1dd630") "\"}}",
			GFS_SECRETS_REDACT);
	CHECK_STR(got, "apiVersion: v1\ndata:\n"
		       "  a: gitopsfs-redacted:sha256:38d180985d1b2e7a\n"
		       "  b: " HMAC("fad6f80933135fb70b3209ab5e1dd630") "\n"
									"kind: Secret\n");
	free(got);
}

static void redact_defaults_to_on_without_options(void)
{
	json_t *obj =
	    json_loads("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"data\":"
		       " {\"u\": \"abc\"}}",
		       0, NULL);
	json_t *s = gfs_render_strip(obj, NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(s, "data"), "u")),
		  GFS_REDACTED_NO_KEY);
	json_decref(s);
	json_decref(obj);
}

static void fold_moves_string_data_into_data_as_the_server_does(void)
{
	json_t *m = json_loads(
	    "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"data\": {\"a\":"
	    " \"b2xk\", \"keep\": \"eA==\"}, \"stringData\": {\"a\": \"admin\","
	    " \"pin\": \"123456\", \"r\": \"gitopsfs-redacted:no-key\"}}",
	    0, NULL);
	json_t *want =
	    json_loads("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"data\": {\"a\":"
		       " \"YWRtaW4=\", \"keep\": \"eA==\", \"pin\": \"MTIzNDU2\", \"r\":"
		       " \"gitopsfs-redacted:no-key\"}}",
		       0, NULL);
	CHECK_INT(gfs_render_secret_fold(m), 0);
	CHECK(json_equal(m, want));
	json_decref(m);
	json_decref(want);
	/* Folded or not, a value renders to the same digest. */
	char *a = render_text("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", "
			      "\"metadata\": {\"name\": \"s1\", \"namespace\": "
			      "\"shop\"}, \"data\": {\"u\": \"YWRtaW4=\"}}",
			      GFS_SECRETS_REDACT);
	json_t *sd = json_loads("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", "
				"\"metadata\": {\"name\": \"s1\", \"namespace\": "
				"\"shop\"}, \"stringData\": {\"u\": \"admin\"}}",
				0, NULL);
	gfs_render_secret_fold(sd);
	char *b = render(sd, GFS_SECRETS_REDACT);
	CHECK_STR(b, a);
	free(a);
	free(b);
	json_decref(sd);
}

static void redact_touches_only_v1_secrets(void)
{
	const char *json[] = {
	    "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"data\": {\"u\": "
	    "\"abc\"}}",
	    "{\"apiVersion\": \"v2\", \"kind\": \"Secret\", \"data\": {\"u\": \"abc\"}}",
	    "{\"apiVersion\": \"example.com/v1\", \"kind\": \"Secret\", \"data\": "
	    "{\"u\": \"abc\"}}",
	};
	for (size_t k = 0; k < GFS_ARRAY_SIZE(json); k++) {
		char *got = render_text(json[k], GFS_SECRETS_REDACT);
		CHECK(got && strstr(got, "  u: abc\n") != NULL);
		free(got);
	}
}

static void is_secret_needs_core_v1_and_kind_secret(void)
{
	json_t *a = json_loads("{\"apiVersion\": \"v1\", \"kind\": \"Secret\"}", 0, NULL);
	json_t *b = json_loads("{\"apiVersion\": \"v1\", \"kind\": \"secret\"}", 0, NULL);
	json_t *c = json_loads("{\"kind\": \"Secret\"}", 0, NULL);
	json_t *d = json_loads("[\"v1\", \"Secret\"]", 0, NULL);
	CHECK(gfs_json_is_secret(a));
	CHECK(!gfs_json_is_secret(b));
	CHECK(!gfs_json_is_secret(c));
	CHECK(!gfs_json_is_secret(d));
	CHECK(!gfs_json_is_secret(NULL));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

/* ---- output ---- */

static void render_fails_with_efbig_past_the_buffer_limit(void)
{
	json_t *obj = golden_json("deployment");
	struct gfs_buf b = GFS_BUF_INIT(100);
	struct gfs_render_opts opts = {.secrets = GFS_SECRETS_REDACT};
	CHECK_INT(gfs_render_object(&b, obj, &opts), -EFBIG);
	gfs_buf_release(&b);
	json_decref(obj);
}

static void render_is_the_same_for_reordered_input(void)
{
	char *a = render_text(
	    "{\"kind\": \"ConfigMap\", \"apiVersion\": \"v1\", \"metadata\":"
	    " {\"name\": \"x\", \"uid\": \"1\"}, \"data\": {\"b\": \"2\", \"a\": \"1\"}}",
	    GFS_SECRETS_REDACT);
	char *b = render_text(
	    "{\"data\": {\"a\": \"1\", \"b\": \"2\"}, \"metadata\": {\"uid\": \"2\","
	    " \"name\": \"x\"}, \"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}",
	    GFS_SECRETS_REDACT);
	CHECK_STR(a, b);
	CHECK_STR(
	    a,
	    "apiVersion: v1\ndata:\n  a: \"1\"\n  b: \"2\"\nkind: ConfigMap\nmetadata:\n"
	    "  name: x\n");
	free(a);
	free(b);
}

int main(void)
{
	TAP_RUN(renders_deployment_without_server_fields);
	TAP_RUN(renders_service_with_its_allocated_cluster_ip);
	TAP_RUN(renders_configmap_values_quoted_only_where_needed);
	TAP_RUN(renders_secret_values_as_digests);
	TAP_RUN(renders_secret_values_in_show_mode);
	TAP_RUN(renders_secret_as_show_when_called_in_exclude_mode);
	TAP_RUN(renders_namespace);
	TAP_RUN(renders_clusterrole_wildcards_single_quoted);
	TAP_RUN(renders_custom_resource_numbers_and_lists);
	TAP_RUN(renders_cronjob_without_template_timestamps);
	TAP_RUN(renders_statefulset_claim_templates);
	TAP_RUN(rendered_files_read_back_as_the_stripped_object);
	TAP_RUN(strip_removes_maps_it_empties_but_keeps_maps_that_were_empty);
	TAP_RUN(strip_keeps_other_annotations);
	TAP_RUN(strip_removes_metadata_left_empty);
	TAP_RUN(strip_removes_only_null_timestamps_of_nested_metadata);
	TAP_RUN(strip_does_not_modify_its_input);
	TAP_RUN(strip_copies_non_objects);
	TAP_RUN(redact_digests_are_keyed_hmacs_of_secret_key_and_decoded_value);
	TAP_RUN(redact_binds_the_digest_to_secret_key_and_cluster_key);
	TAP_RUN(redact_keeps_values_already_redacted);
	TAP_RUN(redact_defaults_to_on_without_options);
	TAP_RUN(fold_moves_string_data_into_data_as_the_server_does);
	TAP_RUN(redact_touches_only_v1_secrets);
	TAP_RUN(is_secret_needs_core_v1_and_kind_secret);
	TAP_RUN(render_fails_with_efbig_past_the_buffer_limit);
	TAP_RUN(render_is_the_same_for_reordered_input);
	return tap_done();
}
