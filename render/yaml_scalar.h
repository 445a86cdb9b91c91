/*
 * yaml_scalar.h - how go-yaml v2 types a plain YAML 1.1 scalar and writes
 * a number. Internal to render/: yaml_emit.c asks it whether a string
 * needs quotes (it does when the plain form would read back as another
 * type), yaml_parse.c asks it what a plain scalar means.
 *
 * go-yaml v2 is what kubectl and sigs.k8s.io/yaml use, so matching its
 * resolver keeps our files byte-identical to `kubectl get -o yaml` and
 * our parse identical to what `kubectl apply` would send.
 */
#ifndef GFS_YAML_SCALAR_H
#define GFS_YAML_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gfs_yaml_kind {
	GFS_YAML_STR,
	GFS_YAML_NULL,
	GFS_YAML_BOOL,
	GFS_YAML_INT,  /* fits int64: .i */
	GFS_YAML_UINT, /* gfs_yaml_float_classify only: above INT64_MAX */
	GFS_YAML_FLOAT,
	GFS_YAML_TIMESTAMP, /* read as a string, but never written plain */
	/* Numbers that do not fit: never written plain, refused when read.
	 * An integer (any base) outside int64, where go-yaml would make a
	 * float of it (30 digits), or a string (0x and 20 hex digits). */
	GFS_YAML_INT_RANGE,
	/* A float whose value is past a double's range (1e400, where
	 * go-yaml makes a string) or a nonzero text that rounds to 0
	 * (1e-400, where go-yaml makes 0). */
	GFS_YAML_FLOAT_RANGE,
};

struct gfs_yaml_scalar {
	enum gfs_yaml_kind kind;
	bool b;
	int64_t i;
	double f; /* may be NaN or infinite (".nan", ".inf") */
};

/* Types the plain scalar s[0..len) as go-yaml v2's resolve("", s) does,
 * except for numbers that do not fit (the two _RANGE kinds). With
 * timestamps false, timestamp-like text is not recognised (go-yaml only
 * looks for them in untagged scalars and under !!timestamp). */
void gfs_yaml_scalar_resolve(struct gfs_yaml_scalar *out, const char *s, size_t len,
			     bool timestamps);

/* True for YAML 1.1 base-60 numbers like "1:20". go-yaml v2 reads them as
 * strings but quotes them when writing, for other YAML 1.1 readers. */
bool gfs_yaml_scalar_is_base60(const char *s, size_t len);

/* Go's strconv.FormatFloat(f, 'g', -1, bits), bits 32 or 64: the shortest
 * text that reads back as the same float, exponent from 1e+06 and below
 * 1e-04 ("1e+06", "1.5e-05"), ".inf"/"-.inf"/".nan" for the specials. */
void gfs_yaml_float_format(char buf[40], double f, int bits);

/* How kubectl sees a float64: Go's encoding/json writes it, go-yaml reads
 * the text back. An integral value below 1e21 comes out as an integer
 * (GFS_YAML_INT in *i, or GFS_YAML_UINT in *u when above INT64_MAX);
 * anything else stays GFS_YAML_FLOAT. f must be finite. */
enum gfs_yaml_kind gfs_yaml_float_classify(double f, int64_t *i, uint64_t *u);

#endif
