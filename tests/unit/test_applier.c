/*
 * test_applier.c - the applier in process, against the emulated API server
 * (tests/apiserver/kube_emulator.py, a child process): the store, the
 * informers and the applied-state records wired as the mount wires them,
 * without FUSE. A write creates or changes exactly what it says, shows at
 * once, sends nothing when nothing changed, is refused on a stale read or
 * a wrong path; a delete waits out its grace period and a rewrite cancels
 * it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_common.h"
#include "tap.h"
#include "testcluster.h"

#define TOKEN    "emu-token-a991"
#define GRACE_MS 300

static struct testcluster tc;

/* ---- helpers ------------------------------------------------------------------ */

static int kreq(json_t **out, const char *method, const char *path, const char *body)
{
	return testcluster_req(&tc, out, method, path, body);
}

/* The object's field at a JSON-pointer-ish path of keys, as the server has
 * it now, copied into out ("" when absent). */
static const char *server_field(char *out, size_t outsz, const char *url, const char *k1,
				const char *k2, const char *k3)
{
	json_t *o = NULL;
	out[0] = '\0';
	if (kreq(&o, "GET", url, NULL) == 0) {
		json_t *v = json_object_get(json_object_get(o, k1), k2);
		if (k3)
			v = json_object_get(v, k3);
		snprintf(out, outsz, "%s",
			 json_string_value(v) ? json_string_value(v) : "");
	}
	json_decref(o);
	return out;
}

/* The file's bytes (the caller frees them) and version; NULL when the
 * store shows no such file. */
static char *file_read(const char *path, uint64_t *version)
{
	struct gfs_blob *b = NULL;
	struct gfs_entry_attr a;
	if (gfs_store_read(&b, &a, tc.store, path) < 0)
		return NULL;
	char *text = strdup(b->data);
	if (version)
		*version = a.version;
	gfs_blob_unref(b);
	return text;
}

/* Waits up to 10 s for the file to show (want) or to be gone (!want). */
static bool file_wait(const char *path, bool want)
{
	for (int i = 0; i < 200; i++) {
		char *t = file_read(path, NULL);
		free(t);
		if (!!t == want)
			return true;
		gfs_sleep_ms(50, NULL);
	}
	return false;
}

/* Waits for the file's version to move past `old`. */
static bool version_wait(const char *path, uint64_t old)
{
	for (int i = 0; i < 200; i++) {
		uint64_t v = 0;
		free(file_read(path, &v));
		if (v && v != old)
			return true;
		gfs_sleep_ms(50, NULL);
	}
	return false;
}

/* How many requests of `method` the emulator logged whose path ends with
 * `suffix`. */
static int requests(const char *method, const char *suffix)
{
	FILE *f = fopen(dir_path("requests.log"), "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		json_t *r = json_loads(line, 0, NULL);
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		size_t pl = p ? strlen(p) : 0, sl = strlen(suffix);
		if (m && p && strcmp(m, method) == 0 && pl >= sl &&
		    strcmp(p + pl - sl, suffix) == 0)
			n++;
		json_decref(r);
	}
	if (f)
		fclose(f);
	return n;
}

static int apply_text(const char *path, const char *text, uint64_t expect)
{
	return gfs_applier_apply(tc.applier, path, text, strlen(text), expect);
}

/* Replaces the first `from` in text by `to` (a new string). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out = NULL;
	if (!at ||
	    asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) < 0)
		return NULL;
	return out;
}

#define CM_MANIFEST(name, value)                                                         \
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " name                      \
	"\n  namespace: shop\ndata:\n  k: " value "\n"

/* ---- writes --------------------------------------------------------------------- */

static void a_new_object_is_created_and_shows_at_once(void)
{
	char v[64];
	CHECK_INT(apply_text("shop/configmaps/fresh.yaml", CM_MANIFEST("fresh", "v1"), 0),
		  0);
	char *text = file_read("shop/configmaps/fresh.yaml", NULL);
	CHECK(text && strstr(text, "k: v1")); /* the answer, before any watch event */
	free(text);
	CHECK_STR(server_field(v, sizeof(v), "/api/v1/namespaces/shop/configmaps/fresh",
			       "data", "k", NULL),
		  "v1");
	CHECK_INT(requests("POST", "/namespaces/shop/configmaps"), 1);
	CHECK(gfs_applier_owns(tc.applier, "shop/configmaps/fresh.yaml"));
}

static void an_edit_changes_only_what_the_writer_changed(void)
{
	const char *url = "/api/v1/namespaces/shop/configmaps/kept";
	char v[64];
	uint64_t version = 0;
	CHECK_INT(kreq(NULL, "POST", "/api/v1/namespaces/shop/configmaps",
		       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
		       "\"name\":\"kept\",\"namespace\":\"shop\",\"annotations\":{"
		       "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
		       "\"data\":{\"a\":\"one\",\"b\":\"two\"}}"),
		  0);
	CHECK(file_wait("shop/configmaps/kept.yaml", true));
	char *text = file_read("shop/configmaps/kept.yaml", &version);
	CHECK(text && !strstr(text, "last-applied")); /* not shown */
	char *edited = text ? replaced(text, "a: one", "a: three") : NULL;
	CHECK(edited != NULL);
	if (edited)
		CHECK_INT(apply_text("shop/configmaps/kept.yaml", edited, version), 0);
	CHECK_STR(server_field(v, sizeof(v), url, "data", "a", NULL), "three");
	CHECK_STR(server_field(v, sizeof(v), url, "data", "b", NULL), "two");
	CHECK_STR(server_field(v, sizeof(v), url, "metadata", "annotations",
			       "kubectl.kubernetes.io/last-applied-configuration"),
		  "{}"); /* what the file does not show survives */
	free(text);
	free(edited);
}

static void unchanged_bytes_send_no_request(void)
{
	uint64_t version = 0;
	CHECK(file_wait("shop/configmaps/kept.yaml", true));
	char *text = file_read("shop/configmaps/kept.yaml", &version);
	int puts = requests("PUT", "/configmaps/kept");
	CHECK(text != NULL);
	if (text)
		CHECK_INT(apply_text("shop/configmaps/kept.yaml", text, version), 0);
	CHECK_INT(requests("PUT", "/configmaps/kept"), puts);
	free(text);
}

static void a_write_based_on_a_stale_read_is_ebusy(void)
{
	const char *url = "/api/v1/namespaces/shop/configmaps/kept";
	char v[64];
	uint64_t version = 0;
	char *text = file_read("shop/configmaps/kept.yaml", &version);
	CHECK(text != NULL);
	/* Someone else changes the object after our read. */
	json_t *o = NULL;
	CHECK_INT(kreq(&o, "GET", url, NULL), 0);
	json_object_set_new(json_object_get(o, "data"), "b", json_string("theirs"));
	char *body = json_dumps(o, JSON_COMPACT);
	CHECK_INT(kreq(NULL, "PUT", url, body), 0);
	free(body);
	json_decref(o);
	CHECK(version_wait("shop/configmaps/kept.yaml", version));
	char *edited = text ? replaced(text, "a: three", "a: mine") : NULL;
	CHECK(edited != NULL);
	if (edited)
		CHECK_INT(apply_text("shop/configmaps/kept.yaml", edited, version),
			  -EBUSY);
	CHECK(strstr(gfs_error_last(), "changed in the cluster") != NULL);
	CHECK_STR(server_field(v, sizeof(v), url, "data", "b", NULL), "theirs");
	CHECK_STR(server_field(v, sizeof(v), url, "data", "a", NULL), "three");
	free(text);
	free(edited);
}

static void a_manifest_that_does_not_fit_its_path_is_refused(void)
{
	int posts = requests("POST", "/configmaps");
	CHECK_INT(apply_text("shop/configmaps/x.yaml", CM_MANIFEST("other", "v"), 0),
		  -EINVAL);
	CHECK(strstr(gfs_error_last(), "metadata.name") != NULL);
	CHECK_INT(apply_text("shop/secrets/x.yaml", CM_MANIFEST("x", "v"), 0), -EINVAL);
	CHECK(strstr(gfs_error_last(), "belongs in configmaps/") != NULL);
	CHECK_INT(apply_text("shop/configmaps/x.yaml", "a: [unclosed\n", 0), -EINVAL);
	CHECK(strstr(gfs_error_last(), "invalid YAML") != NULL);
	CHECK_INT(apply_text("shop/configmaps/x.yaml", "", 0), -EINVAL);
	CHECK_INT(apply_text("shop/widgets.example.com/x.yaml",
			     "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n"
			     "  name: x\n",
			     0),
		  -EINVAL); /* after waiting for a CRD that never comes */
	CHECK(strstr(gfs_error_last(), "install its CRD") != NULL);
	CHECK_INT(apply_text("not/an/object/path.txt", "a: 1\n", 0), -EINVAL);
	CHECK_INT(requests("POST", "/configmaps"), posts); /* nothing was sent */
	CHECK(file_read("shop/configmaps/x.yaml", NULL) == NULL);
}

/* ---- deletes ---------------------------------------------------------------------- */

static void a_delete_waits_out_its_grace_period(void)
{
	const char *path = "shop/configmaps/gone.yaml";
	json_t *o = NULL;
	CHECK_INT(apply_text(path, CM_MANIFEST("gone", "v"), 0), 0);
	CHECK_INT(gfs_applier_delete(tc.applier, path), 0);
	CHECK(file_read(path, NULL) == NULL); /* hidden at once */
	CHECK_INT(kreq(NULL, "GET", "/api/v1/namespaces/shop/configmaps/gone", NULL), 0);
	CHECK(file_wait(path, false));
	for (int i = 0; i < 100; i++) {
		if (kreq(&o, "GET", "/api/v1/namespaces/shop/configmaps/gone", NULL) ==
		    -ENOENT)
			break;
		json_decref(o);
		o = NULL;
		gfs_sleep_ms(50, NULL);
	}
	json_decref(o);
	CHECK_INT(kreq(NULL, "GET", "/api/v1/namespaces/shop/configmaps/gone", NULL),
		  -ENOENT);
	/* Its record is forgotten, just after the server's answer. */
	for (int i = 0; i < 40 && gfs_applier_owns(tc.applier, path); i++)
		gfs_sleep_ms(50, NULL);
	CHECK(!gfs_applier_owns(tc.applier, path));
}

static void a_rewrite_in_the_grace_period_keeps_the_object(void)
{
	const char *path = "shop/configmaps/stays.yaml",
		   *url = "/api/v1/namespaces/shop/configmaps/stays";
	char uid[64], now[64], v[64];
	CHECK_INT(apply_text(path, CM_MANIFEST("stays", "v1"), 0), 0);
	server_field(uid, sizeof(uid), url, "metadata", "uid", NULL);
	CHECK(uid[0] != '\0');
	CHECK_INT(gfs_applier_delete(tc.applier, path), 0); /* git's unlink... */
	CHECK_INT(apply_text(path, CM_MANIFEST("stays", "v2"), 0), 0); /* ...and create */
	gfs_sleep_ms(GRACE_MS * 3, NULL);
	CHECK_STR(server_field(now, sizeof(now), url, "metadata", "uid", NULL), uid);
	CHECK_STR(server_field(v, sizeof(v), url, "data", "k", NULL), "v2");
	CHECK(file_wait(path, true));
}

static void a_namespace_needs_cascade_delete_and_a_missing_file_is_enoent(void)
{
	CHECK_INT(gfs_applier_delete(tc.applier, "_cluster/namespaces/shop.yaml"),
		  -EPERM);
	CHECK(strstr(gfs_error_last(), "--allow-cascade-delete") != NULL);
	CHECK_INT(gfs_applier_delete(tc.applier, "shop/configmaps/never-was.yaml"),
		  -ENOENT);
}

int main(void)
{
	if (getenv("GFS_TEST_DEBUG"))
		gfs_log_init(GFS_LOG_DEBUG, NULL);
	if (access(testproc_emu_script(), R_OK) != 0) {
		printf("ok 1 - applier tests # SKIP %s not found\n1..1\n",
		       testproc_emu_script());
		return 0;
	}
	snprintf(testproc_dir, sizeof(testproc_dir), "/tmp/gfs-test-applier.XXXXXX");
	if (!mkdtemp(testproc_dir))
		return 1;
	if (testcluster_start(&tc, TOKEN, "shop", 500, GRACE_MS) < 0) {
		printf("not ok 1 - the applier and the emulator started\n1..1\n");
		testcluster_stop(&tc);
		return 1;
	}
	TAP_RUN(a_new_object_is_created_and_shows_at_once);
	TAP_RUN(an_edit_changes_only_what_the_writer_changed);
	TAP_RUN(unchanged_bytes_send_no_request);
	TAP_RUN(a_write_based_on_a_stale_read_is_ebusy);
	TAP_RUN(a_manifest_that_does_not_fit_its_path_is_refused);
	TAP_RUN(a_delete_waits_out_its_grace_period);
	TAP_RUN(a_rewrite_in_the_grace_period_keeps_the_object);
	TAP_RUN(a_namespace_needs_cascade_delete_and_a_missing_file_is_enoent);
	testcluster_stop(&tc);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testproc_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", testproc_dir);
	return tap_done();
}
