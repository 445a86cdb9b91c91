/*
 * fuzz.h - what the libFuzzer targets in fuzz/ share.
 *
 * Each target is one file with LLVMFuzzerTestOneInput, built by `make
 * fuzz` with clang's -fsanitize=fuzzer,address,undefined against the
 * project's own library, and run for a short time by `make fuzz-smoke`
 * (fuzz/smoke.sh) over the seeds in fuzz/corpus/<target>/. Besides the
 * sanitizers' findings, a target checks properties with FUZZ_CHECK: a
 * broken one prints why and aborts, and libFuzzer keeps the input.
 */
#ifndef GFS_FUZZ_H
#define GFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                            \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz: %s:%d: property failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                        \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* A value as compact JSON with sorted keys, for a failure message. The
 * result is leaked: the caller aborts. */
static inline const char *fuzz_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	return s ? s : "(cannot dump)";
}

/* json_equal, but for keys holding a NUL byte (jansson's compares
 * objects by NUL-terminated key) and, with by_value, for numbers of
 * either type by their value (a real 2.0 equals the integer 2). */
static inline int fuzz_equal(const json_t *a, const json_t *b, int by_value)
{
	if (by_value && json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t k = 0; k < json_array_size(a); k++)
			if (!fuzz_equal(json_array_get(a, k), json_array_get(b, k),
					by_value))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *key;
		size_t len;
		json_t *value, *other;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_keylen_foreach((json_t *)a, key, len, value)
		{
			other = json_object_getn(b, key, len);
			if (!other || !fuzz_equal(value, other, by_value))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

/* The input as a NUL-terminated string (free() it), or NULL when it
 * holds a NUL byte: C-string parsers never see one. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s;

	if (memchr(data, '\0', size))
		return NULL;
	s = malloc(size + 1);
	if (!s)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
