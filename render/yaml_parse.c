/*
 * yaml_parse.c - one YAML document to a json_t, typed the way
 * sigs.k8s.io/yaml (go-yaml v2, then JSON) types it, so that a file we
 * apply becomes the object `kubectl apply -f` would send:
 *  - plain scalars resolve under YAML 1.1 (yaml_scalar.c): yes/no/on/off
 *    are booleans, 0x1f and 017 are ints, 1e3 is a number, 2024-01-15 is
 *    a string; quoted and block scalars are strings;
 *  - a float with an integral value becomes an integer (JSON has one
 *    number type and encoding/json writes 1.0 as 1);
 *  - keys are strings: a plain key 80 is "80", yes is "true" and 1.5 is
 *    "1.5" (sigs.k8s.io/yaml's conversion, floats at float32 precision);
 *  - explicit tags: !!str makes a string; !!int, !!float, !!bool, !!null
 *    and !!timestamp check the text; !!map and !!seq check the node; the
 *    non-specific "!" makes a scalar a string.
 * Where kubectl would quietly send something other than what the file
 * says, we refuse instead, with a located message: any other tag (go-yaml
 * drops it, or decodes !!binary to raw bytes), an integer outside int64
 * (go-yaml makes a float of it), a float past a double's range or one
 * that rounds to zero, NaN and infinities (JSON has none). Also refused:
 * anchors and aliases, merge keys (<<), duplicate keys, non-scalar keys,
 * null keys, more than one document, nesting deeper than
 * GFS_YAML_MAX_DEPTH (the emitter's limit too, so every file we render
 * reads back).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gfs_yaml.h"
#include "yaml_scalar.h"

#define GFS_YAML_TAG_PREFIX "tag:yaml.org,2002:"

struct gfs_yaml_reader {
	yaml_parser_t parser;
	yaml_event_t event; /* the current event (YAML_NO_EVENT before the first) */
	const char *data;
	size_t len;
	struct gfs_yaml_error *err; /* never NULL */
};

/* ---- errors ---- */

static int gfs_yaml_failv(struct gfs_yaml_reader *r, size_t line, size_t column,
			  const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int gfs_yaml_failv(struct gfs_yaml_reader *r, size_t line, size_t column,
			  const char *fmt, va_list ap)
{
	r->err->line = (int)(line + 1);
	r->err->column = (int)(column + 1);
	vsnprintf(r->err->reason, sizeof(r->err->reason), fmt, ap);
	return gfs_error_set(-EINVAL, "line %d, column %d: %s", r->err->line,
			     r->err->column, r->err->reason);
}

/* Records "line L, column C: reason" at a libyaml mark; returns -EINVAL. */
static int gfs_yaml_fail(struct gfs_yaml_reader *r, yaml_mark_t mark, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));

static int gfs_yaml_fail(struct gfs_yaml_reader *r, yaml_mark_t mark, const char *fmt,
			 ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = gfs_yaml_failv(r, mark.line, mark.column, fmt, ap);
	va_end(ap);
	return rc;
}

/* libyaml's reader reports a byte offset only: count lines and
 * characters up to it. */
static yaml_mark_t gfs_yaml_offset_mark(const struct gfs_yaml_reader *r, size_t offset)
{
	yaml_mark_t mark = {.index = offset};

	for (size_t k = 0; k < offset && k < r->len; k++) {
		char c = r->data[k];
		if (c == '\n' ||
		    (c == '\r' && (k + 1 >= r->len || r->data[k + 1] != '\n'))) {
			mark.line++;
			mark.column = 0;
		} else if (((unsigned char)c & 0xC0) != 0x80) {
			mark.column++;
		}
	}
	return mark;
}

/* Maps a libyaml parser failure to our error (the one mapping function
 * for libyaml's error space). */
static int gfs_yaml_parser_fail(struct gfs_yaml_reader *r)
{
	const yaml_parser_t *p = &r->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return gfs_error_set(-ENOMEM, "out of memory");
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			return gfs_yaml_fail(
			    r, gfs_yaml_offset_mark(r, p->problem_offset),
			    "%s (byte 0x%02X)", problem, p->problem_value & 0xFF);
		return gfs_yaml_fail(r, gfs_yaml_offset_mark(r, p->problem_offset), "%s",
				     problem);
	default:
		break;
	}
	/* libyaml's words for an indenting tab do not say "tab". */
	if (p->problem_mark.index < r->len && r->data[p->problem_mark.index] == '\t')
		return gfs_yaml_fail(r, p->problem_mark,
				     "%s (a tab; YAML indents with spaces)", problem);
	if (p->context)
		return gfs_yaml_fail(
		    r, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
		    p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	return gfs_yaml_fail(r, p->problem_mark, "%s", problem);
}

/* Replaces the current event with the next one. */
static int gfs_yaml_next(struct gfs_yaml_reader *r)
{
	yaml_event_delete(&r->event);
	if (!yaml_parser_parse(&r->parser, &r->event))
		return gfs_yaml_parser_fail(r);
	return 0;
}

/* ---- tags and scalars ---- */

/* What an explicit tag asks for: a scalar kind, or one of these. */
enum {
	GFS_YAML_TAG_UNKNOWN = -1,
	GFS_YAML_TAG_BINARY = -2,
	GFS_YAML_TAG_MAP = -3,
	GFS_YAML_TAG_SEQ = -4,
};

/* The tag for messages, as it would be written: "!!int" for
 * "tag:yaml.org,2002:int", "!<tag:x.com,2000:a>" for another URI, at most
 * 64 bytes of it (cut between characters), anything unprintable as '?'
 * (a tag's %-escapes may decode to any byte). */
static const char *gfs_yaml_tag_short(const char *tag, char buf[80])
{
	size_t n = strlen(GFS_YAML_TAG_PREFIX), k = 0, start;
	const char *s = tag;

	if (strncmp(tag, GFS_YAML_TAG_PREFIX, n) == 0) {
		k = (size_t)snprintf(buf, 80, "!!");
		s = tag + n;
	} else if (tag[0] != '!') {
		k = (size_t)snprintf(buf, 80, "!<");
	}
	start = k;
	for (; *s && k < start + 64; s++)
		buf[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	while (k > start && ((unsigned char)*s & 0xC0) == 0x80) {
		k--;
		s--;
	}
	buf[k] = '\0';
	if (*s)
		snprintf(buf + k, 80 - k, "...");
	if (start == 2 && buf[0] == '!' && buf[1] == '<')
		snprintf(buf + strlen(buf), 80 - strlen(buf), ">");
	return buf;
}

/* The YAML tags a manifest may carry (sigs.k8s.io/yaml resolves these
 * and no others): the core schema's, and YAML 1.1's !!timestamp, which
 * go-yaml checks and then keeps as the text. go-yaml decodes !!binary
 * into raw bytes, which a JSON string cannot always hold, and leaves the
 * text of any other tag a string: both would change what was written. */
static int gfs_yaml_tag_kind(const char *tag)
{
	static const struct {
		const char *name;
		int kind;
	} tags[] = {
	    {"str", GFS_YAML_STR},           {"null", GFS_YAML_NULL},
	    {"bool", GFS_YAML_BOOL},         {"int", GFS_YAML_INT},
	    {"float", GFS_YAML_FLOAT},       {"timestamp", GFS_YAML_TIMESTAMP},
	    {"binary", GFS_YAML_TAG_BINARY}, {"map", GFS_YAML_TAG_MAP},
	    {"seq", GFS_YAML_TAG_SEQ},
	};
	size_t n = strlen(GFS_YAML_TAG_PREFIX);

	if (strncmp(tag, GFS_YAML_TAG_PREFIX, n) != 0)
		return GFS_YAML_TAG_UNKNOWN;
	for (size_t k = 0; k < GFS_ARRAY_SIZE(tags); k++)
		if (strcmp(tag + n, tags[k].name) == 0)
			return tags[k].kind;
	return GFS_YAML_TAG_UNKNOWN;
}

/* Sets *kind to what `tag` asks for, or refuses a tag we do not
 * resolve; a known tag on the wrong kind of node is the caller's to
 * report. Returns 0 or -EINVAL. */
static int gfs_yaml_tag_known(struct gfs_yaml_reader *r, int *kind, yaml_mark_t mark,
			      const char *tag)
{
	char tbuf[80];

	*kind = gfs_yaml_tag_kind(tag);
	if (*kind == GFS_YAML_TAG_BINARY)
		return gfs_yaml_fail(r, mark,
				     "!!binary is not supported (write the base64 text "
				     "without the tag)");
	if (*kind == GFS_YAML_TAG_UNKNOWN)
		return gfs_yaml_fail(r, mark,
				     "unknown tag %s (only !!str, !!int, !!float, "
				     "!!bool, !!null, !!map and !!seq are supported)",
				     gfs_yaml_tag_short(tag, tbuf));
	return 0;
}

/* Checks the tag of the collection that starts at the current event:
 * none, the non-specific "!", or !!map / !!seq as fits. */
static int gfs_yaml_collection_tag_check(struct gfs_yaml_reader *r)
{
	const yaml_event_t *e = &r->event;
	bool map = e->type == YAML_MAPPING_START_EVENT;
	const char *tag =
	    (const char *)(map ? e->data.mapping_start.tag : e->data.sequence_start.tag);
	char tbuf[80];
	int want;

	if (!tag || strcmp(tag, "!") == 0)
		return 0;
	if (gfs_yaml_tag_known(r, &want, e->start_mark, tag) < 0)
		return -EINVAL;
	if (want == (map ? GFS_YAML_TAG_MAP : GFS_YAML_TAG_SEQ))
		return 0;
	return gfs_yaml_fail(r, e->start_mark, "the value does not match its tag %s",
			     gfs_yaml_tag_short(tag, tbuf));
}

/* Refuses a number that does not fit, rather than changing it. */
static int gfs_yaml_range_check(struct gfs_yaml_reader *r,
				const struct gfs_yaml_scalar *sc)
{
	if (sc->kind == GFS_YAML_INT_RANGE)
		return gfs_yaml_fail(
		    r, r->event.start_mark,
		    "integer out of range; quote it to make it a string");
	if (sc->kind == GFS_YAML_FLOAT_RANGE)
		return gfs_yaml_fail(r, r->event.start_mark,
				     "number out of range; quote it to make it a string");
	return 0;
}

/* Types the current scalar event (go-yaml's decoder.scalar). */
static int gfs_yaml_scalar_type(struct gfs_yaml_reader *r, struct gfs_yaml_scalar *sc)
{
	const yaml_event_t *e = &r->event;
	const char *s = (const char *)e->data.scalar.value;
	const char *tag = (const char *)e->data.scalar.tag;
	size_t len = e->data.scalar.length;
	char tbuf[80];

	memset(sc, 0, sizeof(*sc));
	sc->kind = GFS_YAML_STR;
	/* "!" is YAML's non-specific tag: a scalar that is a string. */
	if (!tag || strcmp(tag, "!") == 0) {
		if (!tag && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			gfs_yaml_scalar_resolve(sc, s, len, true);
		return gfs_yaml_range_check(r, sc);
	}
	int want;
	if (gfs_yaml_tag_known(r, &want, e->start_mark, tag) < 0)
		return -EINVAL;
	if (want == GFS_YAML_STR)
		return 0;
	if (want >= 0) {
		gfs_yaml_scalar_resolve(sc, s, len, want == GFS_YAML_TIMESTAMP);
		if (gfs_yaml_range_check(r, sc) < 0)
			return -EINVAL;
		if ((int)sc->kind == want)
			return 0;
		if (want == GFS_YAML_FLOAT && sc->kind == GFS_YAML_INT) {
			sc->kind = GFS_YAML_FLOAT;
			sc->f = (double)sc->i;
			return 0;
		}
	}
	/* The text itself stays out of the message: it may be a secret. */
	return gfs_yaml_fail(r, e->start_mark, "the value does not match its tag %s",
			     gfs_yaml_tag_short(tag, tbuf));
}

static int gfs_yaml_scalar_read(struct gfs_yaml_reader *r, json_t **out)
{
	const yaml_event_t *e = &r->event;
	struct gfs_yaml_scalar sc;
	int64_t i;
	uint64_t u;
	int rc;

	rc = gfs_yaml_scalar_type(r, &sc);
	if (rc < 0)
		return rc;
	switch (sc.kind) {
	case GFS_YAML_NULL:
		*out = json_null();
		break;
	case GFS_YAML_BOOL:
		*out = json_boolean(sc.b);
		break;
	case GFS_YAML_INT:
		*out = json_integer(sc.i);
		break;
	case GFS_YAML_FLOAT:
		if (!isfinite(sc.f))
			return gfs_yaml_fail(
			    r, e->start_mark,
			    "NaN and infinity are not valid JSON numbers");
		if (gfs_yaml_float_classify(sc.f, &i, &u) == GFS_YAML_INT)
			*out = json_integer(i);
		else
			*out = json_real(sc.f);
		break;
	default:
		*out = json_stringn((const char *)e->data.scalar.value,
				    e->data.scalar.length);
	}
	return *out ? 0 : gfs_error_set(-ENOMEM, "out of memory");
}

/* ---- keys ---- */

/* go-yaml merges the map under a plain << key (or one tagged !!merge)
 * into the enclosing one; we do not. */
static bool gfs_yaml_is_merge_key(const yaml_event_t *e)
{
	const char *tag = (const char *)e->data.scalar.tag;

	if (tag)
		return strcmp(tag, GFS_YAML_TAG_PREFIX "merge") == 0;
	return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       e->data.scalar.length == 2 && memcmp(e->data.scalar.value, "<<", 2) == 0;
}

/* The current event as a mapping key: *out (malloc'd, *out_len bytes,
 * may hold NULs) is the string sigs.k8s.io/yaml would make of it. */
static int gfs_yaml_key_read(struct gfs_yaml_reader *r, char **out, size_t *out_len)
{
	const yaml_event_t *e = &r->event;
	struct gfs_yaml_scalar sc;
	char text[48];
	const char *s = text;
	size_t len;
	int rc;

	if (e->type == YAML_ALIAS_EVENT)
		return gfs_yaml_fail(r, e->start_mark, "aliases are not supported");
	if (e->type != YAML_SCALAR_EVENT)
		return gfs_yaml_fail(
		    r, e->start_mark, "a mapping key must be a string, not a %s",
		    e->type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
	if (e->data.scalar.anchor)
		return gfs_yaml_fail(r, e->start_mark, "anchors are not supported");
	if (gfs_yaml_is_merge_key(e))
		return gfs_yaml_fail(r, e->start_mark,
				     "merge keys (<<) are not supported");
	rc = gfs_yaml_scalar_type(r, &sc);
	if (rc < 0)
		return rc;
	switch (sc.kind) {
	case GFS_YAML_NULL:
		return gfs_yaml_fail(r, e->start_mark, "a mapping key cannot be null");
	case GFS_YAML_BOOL:
		s = sc.b ? "true" : "false";
		break;
	case GFS_YAML_INT:
		snprintf(text, sizeof(text), "%lld", (long long)sc.i);
		break;
	case GFS_YAML_FLOAT:
		gfs_yaml_float_format(text, sc.f, 32);
		break;
	default:
		s = (const char *)e->data.scalar.value;
	}
	len = s == (const char *)e->data.scalar.value ? e->data.scalar.length : strlen(s);
	*out = malloc(len + 1);
	if (!*out)
		return gfs_error_set(-ENOMEM, "out of memory");
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	*out_len = len;
	return 0;
}

/* ---- collections ---- */

static int gfs_yaml_node_read(struct gfs_yaml_reader *r, json_t **out, int depth);

static int gfs_yaml_sequence_read(struct gfs_yaml_reader *r, json_t **out, int depth)
{
	json_t *array = json_array(), *item = NULL;
	int rc = 0;

	if (!array)
		return gfs_error_set(-ENOMEM, "out of memory");
	for (;;) {
		rc = gfs_yaml_next(r);
		if (rc < 0 || r->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		rc = gfs_yaml_node_read(r, &item, depth + 1);
		if (rc < 0)
			break;
		if (json_array_append_new(array, item) < 0) {
			rc = gfs_error_set(-ENOMEM, "out of memory");
			break;
		}
	}
	if (rc == 0) {
		*out = array;
		array = NULL;
	}
	json_decref(array);
	return rc;
}

/* Reads one key and its value into object. */
static int gfs_yaml_entry_read(struct gfs_yaml_reader *r, json_t *object, int depth)
{
	yaml_mark_t mark = r->event.start_mark;
	json_t *value = NULL;
	char *key = NULL;
	size_t len = 0;
	int rc;

	rc = gfs_yaml_key_read(r, &key, &len);
	if (rc < 0)
		goto out;
	if (json_object_getn(object, key, len)) {
		rc = gfs_yaml_fail(r, mark, "duplicate key \"%.*s\"%s",
				   len > 64 ? 64 : (int)len, key, len > 64 ? "..." : "");
		goto out;
	}
	rc = gfs_yaml_next(r);
	if (rc == 0)
		rc = gfs_yaml_node_read(r, &value, depth + 1);
	if (rc < 0)
		goto out;
	if (json_object_setn_new(object, key, len, value) < 0)
		rc = gfs_error_set(-ENOMEM, "out of memory");
out:
	free(key);
	return rc;
}

static int gfs_yaml_mapping_read(struct gfs_yaml_reader *r, json_t **out, int depth)
{
	json_t *object = json_object();
	int rc = 0;

	if (!object)
		return gfs_error_set(-ENOMEM, "out of memory");
	for (;;) {
		rc = gfs_yaml_next(r);
		if (rc < 0 || r->event.type == YAML_MAPPING_END_EVENT)
			break;
		rc = gfs_yaml_entry_read(r, object, depth);
		if (rc < 0)
			break;
	}
	if (rc == 0) {
		*out = object;
		object = NULL;
	}
	json_decref(object);
	return rc;
}

/* Reads the node that starts at the current event; on return the current
 * event is its last one (the scalar, or the end of the collection). */
static int gfs_yaml_node_read(struct gfs_yaml_reader *r, json_t **out, int depth)
{
	const yaml_event_t *e = &r->event;

	switch (e->type) {
	case YAML_SCALAR_EVENT:
		if (e->data.scalar.anchor)
			break;
		return gfs_yaml_scalar_read(r, out);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (e->type == YAML_SEQUENCE_START_EVENT
			? e->data.sequence_start.anchor != NULL
			: e->data.mapping_start.anchor != NULL)
			break;
		if (depth >= GFS_YAML_MAX_DEPTH)
			return gfs_yaml_fail(r, e->start_mark,
					     "nested deeper than %d levels",
					     GFS_YAML_MAX_DEPTH);
		if (gfs_yaml_collection_tag_check(r) < 0)
			return -EINVAL;
		if (e->type == YAML_SEQUENCE_START_EVENT)
			return gfs_yaml_sequence_read(r, out, depth);
		return gfs_yaml_mapping_read(r, out, depth);
	case YAML_ALIAS_EVENT:
		return gfs_yaml_fail(r, e->start_mark, "aliases are not supported");
	default:
		return gfs_yaml_fail(r, e->start_mark, "unexpected YAML event");
	}
	return gfs_yaml_fail(r, e->start_mark, "anchors are not supported");
}

/* Stream start, at most one document, stream end. */
static int gfs_yaml_stream_read(struct gfs_yaml_reader *r, json_t **out)
{
	json_t *value = NULL;
	int rc;

	rc = gfs_yaml_next(r); /* STREAM-START */
	if (rc == 0)
		rc = gfs_yaml_next(r);
	if (rc < 0)
		return rc;
	if (r->event.type == YAML_STREAM_END_EVENT) {
		*out = json_null();
		return 0;
	}
	rc = gfs_yaml_next(r); /* past DOCUMENT-START */
	if (rc == 0)
		rc = gfs_yaml_node_read(r, &value, 0);
	if (rc == 0)
		rc = gfs_yaml_next(r); /* DOCUMENT-END */
	if (rc == 0)
		rc = gfs_yaml_next(r);
	if (rc == 0 && r->event.type != YAML_STREAM_END_EVENT)
		rc = gfs_yaml_fail(r, r->event.start_mark,
				   "more than one document (a file holds one object)");
	if (rc == 0) {
		*out = value;
		value = NULL;
	}
	json_decref(value);
	return rc;
}

int gfs_yaml_parse(json_t **out, const char *data, size_t len, struct gfs_yaml_error *err)
{
	struct gfs_yaml_error local = {0};
	struct gfs_yaml_reader r = {
	    .data = data, .len = data ? len : 0, .err = err ? err : &local};
	int rc;

	*out = NULL;
	memset(r.err, 0, sizeof(*r.err));
	if (!yaml_parser_initialize(&r.parser))
		return gfs_error_set(-ENOMEM, "out of memory");
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)(data ? data : ""),
				     r.len);
	yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
	rc = gfs_yaml_stream_read(&r, out);
	yaml_event_delete(&r.event);
	yaml_parser_delete(&r.parser);
	return rc;
}
