/*
 * yaml_emit.c - json_t to canonical YAML, byte for byte what
 * `kubectl get -o yaml` prints (sigs.k8s.io/yaml: encoding/json, then
 * go-yaml v2's encoder, itself a port of libyaml's emitter).
 *
 * We drive libyaml's emitter with the events go-yaml's encoder produces:
 *  - mappings and sequences in block style (libyaml itself writes an
 *    empty one as {} or [], and puts a sequence inside a mapping at the
 *    key's indent);
 *  - keys in go-yaml's order (gfs_yaml_runes_less: not byte order; runs
 *    of digits compare as numbers, a9 < a10, and non-letters sort before
 *    letters, _b < A);
 *  - strings: literal block when they contain "\n"; double quotes when the
 *    plain text would read back as another type (yes, 1.0, null, 0x1f,
 *    2024-01-15, 1:20); otherwise plain, which libyaml turns into single
 *    quotes when plain is impossible ('*', '  lead');
 *  - numbers as kubectl prints them (gfs_yaml_float_classify/_format),
 *    except an integral float past int64 (1e19): kubectl writes its
 *    digits, which read back as an integer out of range; we write
 *    1e+19, which reads back as the same float;
 *  - maps and lists nested at most GFS_YAML_MAX_DEPTH deep, as the
 *    parser reads them; a deeper value is refused;
 *  - unicode on, indent 2, and no folding of long lines (GFS_YAML_WIDTH:
 *    the one place where we knowingly differ from kubectl).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gfs_yaml.h"
#include "unicode_class.h"
#include "yaml_scalar.h"

/* kubectl folds long strings at 80 columns (go-yaml v2's default; go-yaml
 * offers FutureLineWrap to turn that off, and kubectl does not call it).
 * gfs_yaml.h promises no folding: a long string stays on one line, so an
 * edit to it is a one-line diff and grep finds it. 80 gives kubectl's
 * bytes exactly. */
#define GFS_YAML_WIDTH (-1)

struct gfs_yaml_writer {
	yaml_emitter_t emitter;
	struct gfs_buf *out;
	int err; /* from the output buffer (-EFBIG, -ENOMEM) */
};

struct gfs_yaml_key {
	const char *s;
	size_t len;
	json_t *value;
};

static int gfs_yaml_write(void *data, unsigned char *buffer, size_t size)
{
	struct gfs_yaml_writer *w = data;
	int rc = gfs_buf_add(w->out, buffer, size);
	if (rc < 0) {
		w->err = rc;
		return 0;
	}
	return 1;
}

/* Hands one event to libyaml (which takes it over, even on failure) and
 * maps a failure to an errno: the output buffer's own error first. */
static int gfs_yaml_writer_emit(struct gfs_yaml_writer *w, yaml_event_t *event)
{
	if (yaml_emitter_emit(&w->emitter, event))
		return 0;
	if (w->err)
		return w->err;
	if (w->emitter.error == YAML_MEMORY_ERROR)
		return gfs_error_set(-ENOMEM, "out of memory");
	return gfs_error_set(-EINVAL, "cannot write YAML: %s",
			     w->emitter.problem ? w->emitter.problem : "unknown error");
}

static int gfs_yaml_scalar_emit(struct gfs_yaml_writer *w, const char *s, size_t len,
				yaml_scalar_style_t style)
{
	yaml_event_t event;

	if (len > INT_MAX)
		return gfs_error_set(-EFBIG, "string of %zu bytes is too long for YAML",
				     len);
	if (!yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)len,
					  1, 1, style))
		return gfs_error_set(-ENOMEM, "out of memory");
	return gfs_yaml_writer_emit(w, &event);
}

/* go-yaml's stringv: quote exactly when the plain text would not read
 * back as this string. One addition: a key "<<" is quoted, because plain
 * it reads back as a merge key (go-yaml writes it plain, and then cannot
 * read its own output). */
static yaml_scalar_style_t gfs_yaml_string_style(const char *s, size_t len, bool key)
{
	struct gfs_yaml_scalar r;

	if (memchr(s, '\n', len))
		return YAML_LITERAL_SCALAR_STYLE;
	if (key && len == 2 && memcmp(s, "<<", 2) == 0)
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	gfs_yaml_scalar_resolve(&r, s, len, true);
	if (r.kind != GFS_YAML_STR || gfs_yaml_scalar_is_base60(s, len))
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return YAML_ANY_SCALAR_STYLE;
}

static int gfs_yaml_string_emit(struct gfs_yaml_writer *w, const char *s, size_t len,
				bool key)
{
	return gfs_yaml_scalar_emit(w, s, len, gfs_yaml_string_style(s, len, key));
}

static int gfs_yaml_number_emit(struct gfs_yaml_writer *w, const json_t *value)
{
	char text[48];
	int64_t i;
	uint64_t u;

	if (json_is_integer(value)) {
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(value));
	} else {
		double f = json_real_value(value);
		if (!isfinite(f))
			return gfs_error_set(-EINVAL,
					     "cannot write %g as YAML for Kubernetes", f);
		switch (gfs_yaml_float_classify(f, &i, &u)) {
		case GFS_YAML_INT:
			snprintf(text, sizeof(text), "%lld", (long long)i);
			break;
		default: /* GFS_YAML_UINT too, see the top of the file */
			gfs_yaml_float_format(text, f, 64);
		}
	}
	return gfs_yaml_scalar_emit(w, text, strlen(text), YAML_PLAIN_SCALAR_STYLE);
}

/* ---- key order ---- */

/* Next code point of s[*k..len), U+FFFD for a bad byte (as Go's []rune). */
static uint32_t gfs_utf8_next(const char *s, size_t len, size_t *k)
{
	const unsigned char *p = (const unsigned char *)s + *k;
	size_t left = len - *k;
	uint32_t c = p[0];
	size_t n = c < 0x80             ? 1
		   : (c & 0xE0) == 0xC0 ? 2
		   : (c & 0xF0) == 0xE0 ? 3
		   : (c & 0xF8) == 0xF0 ? 4
					: 0;

	if (n == 0 || n > left) {
		(*k)++;
		return c < 0x80 ? c : 0xFFFD;
	}
	if (n > 1)
		c &= 0xFF >> (n + 1);
	for (size_t j = 1; j < n; j++) {
		if ((p[j] & 0xC0) != 0x80) {
			(*k)++;
			return 0xFFFD;
		}
		c = (c << 6) | (p[j] & 0x3F);
	}
	*k += n;
	return c;
}

static size_t gfs_utf8_decode(uint32_t *runes, const char *s, size_t len)
{
	size_t n = 0, k = 0;
	while (k < len)
		runes[n++] = gfs_utf8_next(s, len, &k);
	return n;
}

/* go-yaml v2's keyList.Less (sorter.go) on two decoded strings. Runs of
 * digits compare as numbers, accumulated like Go's int64 arithmetic
 * (wrapping; a non-ASCII digit adds its code point minus '0'). */
static bool gfs_yaml_runes_less(const uint32_t *a, size_t na, const uint32_t *b,
				size_t nb)
{
	for (size_t i = 0; i < na && i < nb; i++) {
		if (a[i] == b[i])
			continue;
		bool al = gfs_unicode_is_letter(a[i]), bl = gfs_unicode_is_letter(b[i]);
		if (al && bl)
			return a[i] < b[i];
		if (al || bl)
			return bl;
		uint64_t an = 0, bn = 0;
		size_t ai, bi;
		if (a[i] == '0' || b[i] == '0') {
			for (size_t j = i; j-- > 0 && gfs_unicode_is_digit(a[j]);) {
				if (a[j] != '0') {
					an = bn = 1;
					break;
				}
			}
		}
		for (ai = i; ai < na && gfs_unicode_is_digit(a[ai]); ai++)
			an = an * 10 + (uint64_t)(a[ai] - '0');
		for (bi = i; bi < nb && gfs_unicode_is_digit(b[bi]); bi++)
			bn = bn * 10 + (uint64_t)(b[bi] - '0');
		if (an != bn)
			return (int64_t)an < (int64_t)bn;
		if (ai != bi)
			return ai < bi;
		return a[i] < b[i];
	}
	return na < nb;
}

static int gfs_yaml_key_bytes_cmp(const struct gfs_yaml_key *x,
				  const struct gfs_yaml_key *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Is y before x? In go-yaml's order when ra/rb are given (they hold the
 * decoded runes, each sized for the longest key), else in byte order. */
static bool gfs_yaml_key_before(const struct gfs_yaml_key *y,
				const struct gfs_yaml_key *x, uint32_t *ra, uint32_t *rb)
{
	if (!ra)
		return gfs_yaml_key_bytes_cmp(y, x) < 0;
	size_t ny = gfs_utf8_decode(ra, y->s, y->len);
	size_t nx = gfs_utf8_decode(rb, x->s, x->len);
	return gfs_yaml_runes_less(ra, ny, rb, nx);
}

/* A stable merge sort; unlike qsort it stays well-defined when the order
 * is not transitive, which go-yaml's is not for some sets of keys with
 * digits ("0o1" < "20" < "08" < "0o1"). */
static void gfs_yaml_keys_sort(struct gfs_yaml_key *keys, struct gfs_yaml_key *tmp,
			       size_t n, uint32_t *ra, uint32_t *rb)
{
	if (n < 2)
		return;
	size_t half = n / 2, i = 0, j = half, k = 0;
	gfs_yaml_keys_sort(keys, tmp, half, ra, rb);
	gfs_yaml_keys_sort(keys + half, tmp, n - half, ra, rb);
	while (i < half && j < n)
		tmp[k++] = gfs_yaml_key_before(&keys[j], &keys[i], ra, rb) ? keys[j++]
									   : keys[i++];
	while (i < half)
		tmp[k++] = keys[i++];
	while (j < n)
		tmp[k++] = keys[j++];
	memcpy(keys, tmp, n * sizeof(*keys));
}

/* ---- values ---- */

static int gfs_yaml_value_emit(struct gfs_yaml_writer *w, const json_t *value, int depth);

/* The object's *out_n keys in emit order; *out_keys is the caller's to
 * free. */
static int gfs_yaml_keys_collect(struct gfs_yaml_key **out_keys, size_t *out_n,
				 const json_t *object)
{
	size_t n = json_object_size(object), k = 0, longest = 0;
	struct gfs_yaml_key *keys = calloc(n ? n : 1, sizeof(*keys));
	struct gfs_yaml_key *tmp = calloc(n ? n : 1, sizeof(*tmp));
	uint32_t *ra = NULL, *rb = NULL;
	int rc = -ENOMEM;

	if (!keys || !tmp)
		goto out;
	for (void *it = json_object_iter((json_t *)object); it && k < n;
	     it = json_object_iter_next((json_t *)object, it), k++) {
		keys[k].s = json_object_iter_key(it);
		keys[k].len = json_object_iter_key_len(it);
		keys[k].value = json_object_iter_value(it);
		if (keys[k].len > longest)
			longest = keys[k].len;
	}
	ra = calloc(longest + 1, sizeof(*ra));
	rb = calloc(longest + 1, sizeof(*rb));
	if (!ra || !rb)
		goto out;
	/* Byte order first, then go-yaml's: for a key set that go-yaml cannot
	 * order consistently kubectl's output follows Go's random map order;
	 * ours depends only on the set of keys. */
	gfs_yaml_keys_sort(keys, tmp, k, NULL, NULL);
	gfs_yaml_keys_sort(keys, tmp, k, ra, rb);
	*out_keys = keys;
	*out_n = k;
	keys = NULL;
	rc = 0;
out:
	if (rc < 0)
		gfs_error_set(rc, "out of memory");
	free(rb);
	free(ra);
	free(tmp);
	free(keys);
	return rc;
}

static int gfs_yaml_object_emit(struct gfs_yaml_writer *w, const json_t *object,
				int depth)
{
	struct gfs_yaml_key *keys = NULL;
	size_t n = 0;
	yaml_event_t event;
	int rc;

	rc = gfs_yaml_keys_collect(&keys, &n, object);
	if (rc < 0)
		goto out;
	/* Event initializers only fail copying an anchor or tag: none here. */
	yaml_mapping_start_event_initialize(&event, NULL, NULL, 1,
					    YAML_BLOCK_MAPPING_STYLE);
	rc = gfs_yaml_writer_emit(w, &event);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		rc = gfs_yaml_string_emit(w, keys[k].s, keys[k].len, true);
		if (rc == 0)
			rc = gfs_yaml_value_emit(w, keys[k].value, depth + 1);
	}
	if (rc < 0)
		goto out;
	yaml_mapping_end_event_initialize(&event);
	rc = gfs_yaml_writer_emit(w, &event);
out:
	free(keys);
	return rc;
}

static int gfs_yaml_array_emit(struct gfs_yaml_writer *w, const json_t *array, int depth)
{
	yaml_event_t event;
	int rc;

	yaml_sequence_start_event_initialize(&event, NULL, NULL, 1,
					     YAML_BLOCK_SEQUENCE_STYLE);
	rc = gfs_yaml_writer_emit(w, &event);
	for (size_t k = 0; rc == 0 && k < json_array_size(array); k++)
		rc = gfs_yaml_value_emit(w, json_array_get(array, k), depth + 1);
	if (rc < 0)
		return rc;
	yaml_sequence_end_event_initialize(&event);
	return gfs_yaml_writer_emit(w, &event);
}

static int gfs_yaml_value_emit(struct gfs_yaml_writer *w, const json_t *value, int depth)
{
	if (depth >= GFS_YAML_MAX_DEPTH &&
	    (json_is_object(value) || json_is_array(value)))
		return gfs_error_set(-EINVAL,
				     "cannot write YAML: maps and lists nested deeper "
				     "than %d levels",
				     GFS_YAML_MAX_DEPTH);
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return gfs_yaml_object_emit(w, value, depth);
	case JSON_ARRAY:
		return gfs_yaml_array_emit(w, value, depth);
	case JSON_STRING:
		return gfs_yaml_string_emit(w, json_string_value(value),
					    json_string_length(value), false);
	case JSON_INTEGER:
	case JSON_REAL:
		return gfs_yaml_number_emit(w, value);
	case JSON_TRUE:
		return gfs_yaml_scalar_emit(w, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return gfs_yaml_scalar_emit(w, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return gfs_yaml_scalar_emit(w, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
	return gfs_error_set(-EINVAL, "unknown JSON value type");
}

/* Stream and document around the value, both implicit (no --- or ...). */
static int gfs_yaml_document_emit(struct gfs_yaml_writer *w, const json_t *value)
{
	yaml_event_t event;
	int rc;

	yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING);
	rc = gfs_yaml_writer_emit(w, &event);
	if (rc == 0) {
		yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1);
		rc = gfs_yaml_writer_emit(w, &event);
	}
	if (rc == 0)
		rc = gfs_yaml_value_emit(w, value, 0);
	if (rc == 0) {
		yaml_document_end_event_initialize(&event, 1);
		rc = gfs_yaml_writer_emit(w, &event);
	}
	if (rc < 0)
		return rc;
	/* A last literal block kept with "|+" leaves libyaml wanting to close
	 * the stream with "..."; go-yaml's encoder clears the flag first
	 * (encoder.finish), and so do we. */
	w->emitter.open_ended = 0;
	yaml_stream_end_event_initialize(&event);
	return gfs_yaml_writer_emit(w, &event);
}

int gfs_yaml_emit(struct gfs_buf *out, const json_t *value)
{
	struct gfs_yaml_writer w = {.out = out};
	int rc;

	if (!value)
		return gfs_error_set(-EINVAL, "no value to write as YAML");
	if (!yaml_emitter_initialize(&w.emitter))
		return gfs_error_set(-ENOMEM, "out of memory");
	yaml_emitter_set_output(&w.emitter, gfs_yaml_write, &w);
	yaml_emitter_set_unicode(&w.emitter, 1);
	yaml_emitter_set_indent(&w.emitter, 2);
	yaml_emitter_set_width(&w.emitter, GFS_YAML_WIDTH);
	yaml_emitter_set_break(&w.emitter, YAML_LN_BREAK);
	rc = gfs_yaml_document_emit(&w, value);
	yaml_emitter_delete(&w.emitter);
	return rc;
}
