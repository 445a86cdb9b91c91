/*
 * test_list_split.c - a list page is decoded item by item as its bytes
 * arrive (kube/list.c): the same items and envelope whatever the chunk
 * sizes, strings that look like structure are not structure, memory is
 * bounded by one item, and what cannot be followed fails cleanly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kube/kube_private.h"
#include "gfs_common.h"
#include "tap.h"

struct seen {
	json_t *items; /* array of copies */
	size_t max_item_cap;
};

static int collect(json_t *item, void *payload)
{
	struct seen *s = payload;
	json_array_append(s->items, item);
	return 0;
}

/* Splits `doc` fed in chunks of `chunk` bytes; *env gets the envelope. */
static int split(struct seen *s, json_t **env, const char *doc, size_t chunk)
{
	struct gfs_list_split sp;
	gfs_list_split_init(&sp, collect, s);
	size_t n = strlen(doc);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < n; off += chunk)
		rc = gfs_list_split_feed(&sp, doc + off,
					 off + chunk > n ? n - off : chunk);
	if (rc == 0)
		rc = gfs_list_split_finish(&sp, env);
	if (sp.item.cap > s->max_item_cap)
		s->max_item_cap = sp.item.cap;
	gfs_list_split_release(&sp);
	return rc;
}

static const char *const tricky =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\","
    "\"metadata\":{\"resourceVersion\":\"42\",\"items\":[\"not these\"]},"
    "\"note\":\"items\",  \"items\" : [ "
    "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"}]{[\\\"items\\\":[\"}},"
    " 7, null, \"str\\\"}\","
    "{\"metadata\":{\"name\":\"b\"},\"list\":[{\"x\":[1,2,{}]},[]],"
    "\"s\":\"\\\\\"}\n"
    "],\"tail\":{\"continue\":\"tok\"}}";

static void items_and_envelope_whatever_the_chunks(void)
{
	json_t *want = json_loads(tricky, 0, NULL);
	CHECK(want != NULL);
	for (size_t chunk = 1; chunk <= strlen(tricky) + 1;
	     chunk += chunk < 20 ? 1 : 37) {
		struct seen s = {json_array(), 0};
		json_t *env = NULL;
		CHECK_INT(split(&s, &env, tricky, chunk), 0);
		/* Only the objects of the top-level items, in order. */
		json_t *items = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(want, "items"), i, v)
		{
			if (json_is_object(v))
				json_array_append(items, v);
		}
		CHECK(json_equal(s.items, items));
		json_t *envwant = json_deep_copy(want);
		json_object_set_new(envwant, "items", json_array());
		CHECK(json_equal(env, envwant));
		json_decref(envwant);
		json_decref(items);
		json_decref(env);
		json_decref(s.items);
	}
	json_decref(want);
}

static void a_list_without_items_is_just_an_envelope(void)
{
	struct seen s = {json_array(), 0};
	json_t *env = NULL;
	CHECK_INT(split(&s, &env, "{\"metadata\":{\"resourceVersion\":\"7\"}}", 3), 0);
	CHECK_INT((long)json_array_size(s.items), 0);
	CHECK(json_is_object(env));
	json_decref(env);
	json_decref(s.items);
}

/* 20,000 items of 4 KiB: 80 MB of list, never more than one item held. */
static void memory_is_bounded_by_one_item(void)
{
	struct gfs_list_split sp;
	struct seen s = {json_array(), 0};
	size_t count = 0;
	char item[4200], pad[4001];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	gfs_list_split_init(&sp, NULL, NULL);
	int rc = gfs_list_split_feed(&sp, "{\"items\":[", 10);
	for (int i = 0; rc == 0 && i < 20000; i++) {
		int n = snprintf(item, sizeof(item),
				 "%s{\"metadata\":{\"name\":\"cm-%d\"},"
				 "\"data\":{\"v\":\"%s\"}}",
				 i ? "," : "", i, pad);
		rc = gfs_list_split_feed(&sp, item, (size_t)n);
	}
	if (rc == 0)
		rc = gfs_list_split_feed(&sp, "],\"metadata\":{}}", 16);
	count = sp.items;
	json_t *env = NULL;
	if (rc == 0)
		rc = gfs_list_split_finish(&sp, &env);
	CHECK_INT(rc, 0);
	CHECK_INT((long)count, 20000);
	CHECK(sp.item.cap <= 16384);
	CHECK(sp.envelope.cap <= 1024);
	json_decref(env);
	json_decref(s.items);
	gfs_list_split_release(&sp);
}

static void an_oversized_item_is_refused(void)
{
	size_t big = GFS_KUBE_MAX_EVENT + 100;
	char *doc = malloc(big + 64);
	strcpy(doc, "{\"items\":[{\"v\":\"");
	size_t n = strlen(doc);
	memset(doc + n, 'a', big);
	strcpy(doc + n + big, "\"}]}");
	struct seen s = {json_array(), 0};
	json_t *env = NULL;
	CHECK_INT(split(&s, &env, doc, 1 << 20), -EFBIG);
	CHECK(strstr(gfs_error_last(), "item 0 of the list is larger than") != NULL);
	CHECK(s.max_item_cap <= 2u * GFS_KUBE_MAX_EVENT);
	free(doc);
	json_decref(s.items);
}

static void an_oversized_envelope_is_refused(void)
{
	size_t big = 2u << 20;
	char *doc = malloc(big + 64);
	strcpy(doc, "{\"junk\":\"");
	size_t n = strlen(doc);
	memset(doc + n, 'a', big);
	strcpy(doc + n + big, "\",\"items\":[]}");
	struct seen s = {json_array(), 0};
	json_t *env = NULL;
	CHECK_INT(split(&s, &env, doc, 65536), -EFBIG);
	CHECK(strstr(gfs_error_last(), "metadata is larger than") != NULL);
	free(doc);
	json_decref(s.items);
}

static void broken_json_fails_cleanly(void)
{
	static const char *const bad[] = {
	    "{\"items\":[{\"a\":1}",      /* cut short */
	    "{\"items\":[{\"a\":}]}",     /* an item that is not JSON */
	    "]]]",                        /* closes what never opened */
	    "{\"items\":[{\"a\":\"x]}]}", /* an unterminated string */
	    "[1,2,3]",                    /* not an object */
	};
	for (size_t i = 0; i < GFS_ARRAY_SIZE(bad); i++) {
		struct seen s = {json_array(), 0};
		json_t *env = NULL;
		CHECK_INT(split(&s, &env, bad[i], 2), -EPROTO);
		CHECK(env == NULL);
		json_decref(s.items);
	}
}

static int stop_at_second(json_t *item, void *payload)
{
	int *n = payload;
	return ++*n == 2 ? -ECANCELED : 0;
}

static void a_callback_error_ends_the_list(void)
{
	struct gfs_list_split sp;
	int n = 0;
	const char *doc = "{\"items\":[{},{},{}]}";
	gfs_list_split_init(&sp, stop_at_second, &n);
	CHECK_INT(gfs_list_split_feed(&sp, doc, strlen(doc)), -ECANCELED);
	CHECK_INT(n, 2);
	gfs_list_split_release(&sp);
}

int main(void)
{
	TAP_RUN(items_and_envelope_whatever_the_chunks);
	TAP_RUN(a_list_without_items_is_just_an_envelope);
	TAP_RUN(memory_is_bounded_by_one_item);
	TAP_RUN(an_oversized_item_is_refused);
	TAP_RUN(an_oversized_envelope_is_refused);
	TAP_RUN(broken_json_fails_cleanly);
	TAP_RUN(a_callback_error_ends_the_list);
	return tap_done();
}
