/*
 * test_store.c - the store in process: what an informer delivers becomes
 * a file, and the ordering rule (an older resourceVersion never replaces
 * a newer one, whoever delivers it; a deletion is not undone by an older
 * copy).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_filter.h"
#include "gfs_object.h"
#include "gfs_store.h"
#include "tap.h"

#define PATH "shop/configmaps/app.yaml"

static struct gfs_resource cm = {.group = "",
				 .version = "v1",
				 .resource = "configmaps",
				 .kind = "ConfigMap",
				 .namespaced = true,
				 .dirname = "configmaps",
				 .api_path = "/api/v1"};

static json_t *cm_at(const char *rv, const char *value)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s}}", "apiVersion",
			 "v1", "kind", "ConfigMap", "metadata", "name", "app",
			 "namespace", "shop", "resourceVersion", rv, "uid", "u-1", "data",
			 "v", value);
}

static void deliver(struct gfs_store *s, const char *rv, const char *value, bool remove)
{
	json_t *o = cm_at(rv, value);
	if (remove)
		gfs_store_informer_ops.remove(s, &cm, o);
	else
		gfs_store_informer_ops.upsert(s, &cm, o);
	json_decref(o);
}

/* The file's text, or "" when there is none. */
static const char *file_text(struct gfs_store *s, char *buf, size_t n)
{
	struct gfs_blob *b = NULL;
	buf[0] = '\0';
	if (gfs_store_read(&b, NULL, s, PATH) == 0)
		snprintf(buf, n, "%s", b->data);
	gfs_blob_unref(b);
	return buf;
}

static struct gfs_store *new_store(struct gfs_filter **f)
{
	struct gfs_store *s = NULL;
	*f = gfs_filter_new_default();
	struct gfs_store_opts o = {.filter = *f};
	if (gfs_store_new(&s, &o) < 0)
		return NULL;
	return s;
}

static void an_upsert_becomes_a_file(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	char buf[512];
	deliver(s, "5", "five", false);
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "v: five") != NULL);
	struct gfs_object *live = NULL;
	CHECK_INT(gfs_store_live(&live, s, PATH), 0);
	CHECK_STR(gfs_object_resource_version(live), "5");
	gfs_object_unref(live);
	gfs_store_free(s);
	gfs_filter_free(f);
}

/* .gitopsfs/status reports it: the sum of the files' lengths, whichever
 * way a file's length moves. */
static void the_rendered_bytes_follow_every_change(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	struct gfs_store_stats st;
	struct gfs_entry_attr a;
	deliver(s, "5", "a-value-that-is-rather-long", false);
	gfs_store_get_stats(&st, s);
	CHECK_INT(gfs_store_stat(&a, s, PATH), 0);
	CHECK_INT(st.rendered_bytes, a.size);
	CHECK_INT(st.objects, 1);
	deliver(s, "6", "short", false); /* shrinks */
	gfs_store_get_stats(&st, s);
	CHECK_INT(gfs_store_stat(&a, s, PATH), 0);
	CHECK_INT(st.rendered_bytes, a.size);
	deliver(s, "7", "a-value-that-is-longer-than-any-before", false);
	gfs_store_get_stats(&st, s);
	CHECK_INT(gfs_store_stat(&a, s, PATH), 0);
	CHECK_INT(st.rendered_bytes, a.size);
	deliver(s, "8", "x", true);
	gfs_store_get_stats(&st, s);
	CHECK_INT(st.rendered_bytes, 0);
	CHECK_INT(st.objects, 0);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void an_older_version_never_replaces_a_newer_one(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	char buf[512];
	struct gfs_entry_attr a1, a2;
	deliver(s, "7", "seven", false); /* e.g. the answer to our write */
	CHECK_INT(gfs_store_stat(&a1, s, PATH), 0);
	deliver(s, "6", "six", false); /* a watch event from before it */
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "v: seven") != NULL);
	CHECK_INT(gfs_store_stat(&a2, s, PATH), 0);
	CHECK_INT(a2.version, a1.version);
	deliver(s, "8", "eight", false);
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "v: eight") != NULL);
	/* The same version again (a re-render) is taken. */
	deliver(s, "8", "eight", false);
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "v: eight") != NULL);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void resource_versions_compare_as_numbers(void)
{
	CHECK(gfs_rv_cmp("9", "10") < 0);
	CHECK(gfs_rv_cmp("10", "9") > 0);
	CHECK(gfs_rv_cmp("10", "10") == 0);
	/* Opaque ones cannot be ordered: "cannot tell". */
	CHECK(gfs_rv_cmp("abc", "10") == 0);
	CHECK(gfs_rv_cmp(NULL, "10") == 0);
	CHECK(gfs_rv_cmp("123456789012345678901", "1") == 0);
}

static void a_deletion_is_not_undone_by_an_older_copy(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	char buf[512];
	deliver(s, "5", "five", false);
	deliver(s, "4", "four", true); /* an older incarnation's deletion */
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "v: five") != NULL);
	deliver(s, "9", "five", true);
	CHECK_STR(file_text(s, buf, sizeof(buf)), "");
	deliver(s, "8", "late answer", false); /* arrives after the DELETED */
	CHECK_STR(file_text(s, buf, sizeof(buf)), "");
	deliver(s, "9", "same as the deletion", false);
	CHECK_STR(file_text(s, buf, sizeof(buf)), "");
	deliver(s, "12", "created again", false);
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "v: created again") != NULL);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void a_snapshot_pairs_bytes_and_live_object(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	struct gfs_store_file sf;
	deliver(s, "5", "five", false);
	CHECK_INT(gfs_store_get(&sf, s, PATH), 0);
	CHECK(strstr(sf.content->data, "v: five") != NULL);
	CHECK_STR(gfs_object_resource_version(sf.live), "5");
	CHECK(sf.attr.version > 0);
	/* The snapshot stays as it was while the store moves on. */
	deliver(s, "6", "six", false);
	CHECK(strstr(sf.content->data, "v: five") != NULL);
	CHECK_STR(gfs_object_resource_version(sf.live), "5");
	gfs_store_file_release(&sf);
	CHECK_INT(gfs_store_get(&sf, s, "shop/configmaps/none.yaml"), -ENOENT);
	CHECK_INT(gfs_store_get(&sf, s, "shop/configmaps"), -EISDIR);
	gfs_store_free(s);
	gfs_filter_free(f);
}

static void a_status_only_update_keeps_the_bytes_but_takes_the_object(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	struct gfs_entry_attr a1, a2;
	deliver(s, "5", "five", false);
	gfs_store_stat(&a1, s, PATH);
	json_t *o = cm_at("6", "five");
	json_object_set_new(o, "status", json_pack("{s:s}", "phase", "x"));
	gfs_store_informer_ops.upsert(s, &cm, o);
	json_decref(o);
	gfs_store_stat(&a2, s, PATH);
	CHECK_INT(a2.version, a1.version);
	CHECK_INT(a2.mtime_ns, a1.mtime_ns);
	struct gfs_object *live = NULL;
	gfs_store_live(&live, s, PATH);
	CHECK_STR(gfs_object_resource_version(live), "6");
	gfs_object_unref(live);
	gfs_store_free(s);
	gfs_filter_free(f);
}

/* A file hidden for a pending rm hides the object the rm meant, not one
 * created anew at its path. */
static void a_hidden_file_shows_a_new_object_at_its_path(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	char buf[512];
	deliver(s, "5", "five", false);
	CHECK_INT(gfs_store_set_hidden(s, PATH, true), 0);
	CHECK_STR(file_text(s, buf, sizeof(buf)), "");
	deliver(s, "6", "six", false); /* the same object (uid u-1) changed */
	CHECK_STR(file_text(s, buf, sizeof(buf)), "");
	json_t *o = cm_at("7", "seven");
	json_object_set_new(json_object_get(o, "metadata"), "uid", json_string("u-2"));
	gfs_store_informer_ops.upsert(s, &cm, o);
	json_decref(o);
	CHECK(strstr(file_text(s, buf, sizeof(buf)), "seven") != NULL);
	gfs_store_free(s);
	gfs_filter_free(f);
}

/* A keep hook that keeps data.v alone, or (payload set) the whole. */
static json_t *keep_v(void *payload, const json_t *obj)
{
	if (payload)
		return json_incref((json_t *)obj);
	json_t *v = json_object_get(json_object_get(obj, "data"), "v");
	return json_pack("{s:O}", "v", v);
}

static void an_object_keeps_only_what_the_keep_hook_asks_for(void)
{
	struct gfs_filter *f;
	struct gfs_store *s = new_store(&f);
	struct gfs_object *live = NULL;
	/* No hook: facts and bytes only. */
	deliver(s, "5", "five", false);
	CHECK_INT(gfs_store_live(&live, s, PATH), 0);
	CHECK_INT((int)gfs_object_size(live), 0);
	CHECK(gfs_object_kept(live) == NULL);
	CHECK(gfs_object_doc(live) == NULL);
	gfs_object_unref(live);
	/* Re-rendering needs the document: the store holds 5, not 4. */
	json_t *four = cm_at("4", "four");
	CHECK_INT(gfs_store_refresh(s, PATH, NULL), -ENODATA);
	CHECK_INT(gfs_store_refresh(s, PATH, four), -ENODATA);
	json_decref(four);
	json_t *five = cm_at("5", "five");
	CHECK_INT(gfs_store_refresh(s, PATH, five), 0);
	json_decref(five);
	/* A part kept. */
	gfs_store_set_keep(s, keep_v, NULL);
	deliver(s, "6", "six", false);
	CHECK_INT(gfs_store_live(&live, s, PATH), 0);
	json_t *kept = gfs_object_kept(live);
	CHECK_STR(json_string_value(json_object_get(kept, "v")), "six");
	CHECK(gfs_object_doc(live) == NULL);
	CHECK(!gfs_object_whole(live));
	json_decref(kept);
	gfs_object_unref(live);
	/* The whole kept: rendered again without a document given. */
	gfs_store_set_keep(s, keep_v, s);
	deliver(s, "7", "seven", false);
	CHECK_INT(gfs_store_live(&live, s, PATH), 0);
	json_t *doc = gfs_object_doc(live), *want = cm_at("7", "seven");
	CHECK(gfs_object_whole(live) && json_equal(doc, want));
	json_decref(doc);
	json_decref(want);
	gfs_object_unref(live);
	CHECK_INT(gfs_store_refresh(s, PATH, NULL), 0);
	gfs_store_free(s);
	gfs_filter_free(f);
}

/* The facts read back as they were sent; the strings that repeat across
 * objects (kind, apiVersion, manager, operation) are one copy, one too
 * long to share stays the object's own. */
static void facts_read_back_and_repeated_strings_are_shared(void)
{
	char long_manager[400];
	memset(long_manager, 'm', sizeof(long_manager) - 1);
	long_manager[sizeof(long_manager) - 1] = '\0';
	struct gfs_object *a = NULL, *b = NULL;
	json_t *da = cm_at("5", "five"), *db = cm_at("6", "six");
	json_object_set_new(json_object_get(db, "metadata"), "managedFields",
			    json_pack("[{s:s, s:s, s:s}]", "manager", long_manager,
				      "operation", "Update", "time",
				      "2026-12-02T10:00:00Z"));
	CHECK_INT(gfs_object_new(&a, da, NULL), 0);
	CHECK_INT(gfs_object_new(&b, db, NULL), 0);
	CHECK_STR(gfs_object_kind(a), "ConfigMap");
	CHECK_STR(gfs_object_api_version(b), "v1");
	CHECK_STR(gfs_object_name(b), "app");
	CHECK_STR(gfs_object_namespace(b), "shop");
	CHECK_STR(gfs_object_uid(b), "u-1");
	CHECK_STR(gfs_object_resource_version(b), "6");
	CHECK(gfs_object_kind(a) == gfs_object_kind(b));
	CHECK(gfs_object_api_version(a) == gfs_object_api_version(b));
	struct gfs_manager_entry m;
	gfs_object_newest_manager(&m, b);
	CHECK_STR(m.manager, long_manager);
	CHECK_STR(m.operation, "Update");
	CHECK_STR(m.time, "2026-12-02T10:00:00Z");
	CHECK(m.time_ns == 1796205600LL * 1000000000);
	gfs_object_newest_manager(&m, a);
	CHECK(m.manager == NULL && m.time == NULL);
	gfs_object_unref(a);
	gfs_object_unref(b);
	/* A time the server's form does not rebuild is kept as it came. */
	static const char *const odd[] = {"2026-12-02T10:00:00.5Z",
					  "2026-12-02T11:00:00+01:00", "yesterday",
					  "1969-12-31T23:59:59Z"};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		json_t *d = cm_at("7", "seven");
		json_object_set_new(
		    json_object_get(d, "metadata"), "managedFields",
		    json_pack("[{s:s, s:s}]", "manager", "x", "time", odd[i]));
		CHECK_INT(gfs_object_new(&a, d, NULL), 0);
		gfs_object_newest_manager(&m, a);
		CHECK_STR(m.time, odd[i]);
		gfs_object_unref(a);
	}
}

int main(void)
{
	TAP_RUN(an_upsert_becomes_a_file);
	TAP_RUN(the_rendered_bytes_follow_every_change);
	TAP_RUN(an_older_version_never_replaces_a_newer_one);
	TAP_RUN(resource_versions_compare_as_numbers);
	TAP_RUN(a_deletion_is_not_undone_by_an_older_copy);
	TAP_RUN(a_snapshot_pairs_bytes_and_live_object);
	TAP_RUN(a_status_only_update_keeps_the_bytes_but_takes_the_object);
	TAP_RUN(a_hidden_file_shows_a_new_object_at_its_path);
	TAP_RUN(an_object_keeps_only_what_the_keep_hook_asks_for);
	TAP_RUN(facts_read_back_and_repeated_strings_are_shared);
	return tap_done();
}
