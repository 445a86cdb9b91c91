/*
 * test_edit.c - a writer's edit carried onto the live object (gfs_edit.h):
 * exactly what changed between the shown and the written document
 * changes; everything hidden from the file survives.
 */
#include <jansson.h>
#include <stdlib.h>

#include "gfs_edit.h"
#include "tap.h"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		printf("# bad test JSON: %s\n", e.text);
	return j;
}

/* Carries written onto live (shown -> written) and compares with want. */
static int carried_is(const char *shown, const char *written, const char *live,
		      const char *want)
{
	json_t *s = J(shown), *w = J(written), *l = J(live), *expect = J(want);
	json_t *got = gfs_edit_carry(s, w, l);
	int same = got && json_equal(got, expect);
	if (!same) {
		char *g = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
		printf("#   got:  %s\n#   want: %s\n", g ? g : "(null)", want);
		free(g);
	}
	json_decref(s);
	json_decref(w);
	json_decref(l);
	json_decref(expect);
	json_decref(got);
	return same;
}

#define LIVE_CM                                                                          \
	"{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\",\"annotations\":{"      \
	"\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\",\"team\":\"x\"}},"  \
	"\"data\":{\"k\":\"1\",\"j\":\"2\"},\"status\":{\"history\":[1,2]}}"

static void an_unchanged_document_gives_the_live_object(void)
{
	CHECK(
	    carried_is("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"team\":\"x\"}},"
		       "\"data\":{\"k\":\"1\",\"j\":\"2\"}}",
		       "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"team\":\"x\"}},"
		       "\"data\":{\"k\":\"1\",\"j\":\"2\"}}",
		       LIVE_CM, LIVE_CM));
}

static void an_edit_keeps_hidden_annotations_and_status(void)
{
	CHECK(carried_is(
	    "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"team\":\"x\"}},"
	    "\"data\":{\"k\":\"1\",\"j\":\"2\"}}",
	    "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"team\":\"x\"}},"
	    "\"data\":{\"k\":\"changed\",\"j\":\"2\"}}",
	    LIVE_CM,
	    "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\",\"annotations\":{"
	    "\"kubectl.kubernetes.io/"
	    "last-applied-configuration\":\"{}\",\"team\":\"x\"}},"
	    "\"data\":{\"k\":\"changed\",\"j\":\"2\"},\"status\":{\"history\":[1,2]}}"));
}

static void a_deleted_field_is_deleted_and_an_added_one_added(void)
{
	CHECK(carried_is(
	    "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"team\":\"x\"}},"
	    "\"data\":{\"k\":\"1\",\"j\":\"2\"}}",
	    "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"1\",\"new\":\"3\"}}",
	    LIVE_CM,
	    "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"7\",\"annotations\":{"
	    "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
	    "\"data\":{\"k\":\"1\",\"new\":\"3\"},\"status\":{\"history\":[1,2]}}"));
}

/* A sparse rendering hides the defaults the server filled into each
 * container; an edit of one container keeps them in every container. */
static void list_elements_keep_their_hidden_defaults(void)
{
	const char *live =
	    "{\"c\":[{\"name\":\"a\",\"image\":\"x:1\",\"pull\":\"IfNotPresent\"},"
	    "{\"name\":\"b\",\"image\":\"y:1\",\"pull\":\"Always\"}]}";
	const char *shown = "{\"c\":[{\"name\":\"a\",\"image\":\"x:1\"},"
			    "{\"name\":\"b\",\"image\":\"y:1\"}]}";
	/* in place */
	CHECK(carried_is(
	    shown,
	    "{\"c\":[{\"name\":\"a\",\"image\":\"x:2\"},"
	    "{\"name\":\"b\",\"image\":\"y:1\"}]}",
	    live,
	    "{\"c\":[{\"name\":\"a\",\"image\":\"x:2\",\"pull\":\"IfNotPresent\"},"
	    "{\"name\":\"b\",\"image\":\"y:1\",\"pull\":\"Always\"}]}"));
	/* reordered */
	CHECK(
	    carried_is(shown,
		       "{\"c\":[{\"name\":\"b\",\"image\":\"y:1\"},"
		       "{\"name\":\"a\",\"image\":\"x:1\"}]}",
		       live,
		       "{\"c\":[{\"name\":\"b\",\"image\":\"y:1\",\"pull\":\"Always\"},"
		       "{\"name\":\"a\",\"image\":\"x:1\",\"pull\":\"IfNotPresent\"}]}"));
	/* one added at the front, one removed */
	CHECK(carried_is(shown,
			 "{\"c\":[{\"name\":\"new\",\"image\":\"z\"},"
			 "{\"name\":\"b\",\"image\":\"y:2\"}]}",
			 live,
			 "{\"c\":[{\"name\":\"new\",\"image\":\"z\"},"
			 "{\"name\":\"b\",\"image\":\"y:2\",\"pull\":\"Always\"}]}"));
}

static void lists_of_scalars_change_as_written(void)
{
	CHECK(carried_is("{\"args\":[\"a\",\"b\"]}", "{\"args\":[\"a\",\"c\"]}",
			 "{\"args\":[\"a\",\"b\"],\"h\":1}",
			 "{\"args\":[\"a\",\"c\"],\"h\":1}"));
	CHECK(carried_is("{\"args\":[\"a\",\"b\"]}", "{\"args\":[\"b\"]}",
			 "{\"args\":[\"a\",\"b\"],\"h\":1}",
			 "{\"args\":[\"b\"],\"h\":1}"));
}

static void a_value_set_over_a_hidden_one_is_taken_as_written(void)
{
	CHECK(carried_is(
	    "{\"spec\":{\"a\":1}}", "{\"spec\":{\"a\":1,\"strategy\":{\"type\":\"R\"}}}",
	    "{\"spec\":{\"a\":1,\"strategy\":{\"type\":\"Rolling\",\"x\":{}}}}",
	    "{\"spec\":{\"a\":1,\"strategy\":{\"type\":\"R\"}}}"));
}

static void a_type_change_is_taken_as_written(void)
{
	CHECK(carried_is("{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":{\"b\":1,\"c\":2}}",
			 "{\"a\":[1]}"));
}

int main(void)
{
	TAP_RUN(an_unchanged_document_gives_the_live_object);
	TAP_RUN(an_edit_keeps_hidden_annotations_and_status);
	TAP_RUN(a_deleted_field_is_deleted_and_an_added_one_added);
	TAP_RUN(list_elements_keep_their_hidden_defaults);
	TAP_RUN(lists_of_scalars_change_as_written);
	TAP_RUN(a_value_set_over_a_hidden_one_is_taken_as_written);
	TAP_RUN(a_type_change_is_taken_as_written);
	return tap_done();
}
