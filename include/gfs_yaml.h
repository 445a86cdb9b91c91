/*
 * gfs_yaml.h - YAML <-> JSON values (libyaml + jansson).
 *
 * The emitter writes the canonical form every file in the mount uses
 * (SPEC section 4): keys sorted at every level, two-space indent, block
 * sequences with "- " at the parent key's indent (as kubectl writes them),
 * strings quoted only where YAML needs it (double quotes when the plain
 * form would read back as another type under YAML 1.1, e.g. "yes", "1.0",
 * "null", "0x1f"; otherwise whatever libyaml judges necessary, e.g. '*'),
 * strings with a newline as literal blocks, no line folding, no document
 * markers. The same json_t always gives the same bytes.
 *
 * The parser reads one YAML document into a json_t with the types a
 * Kubernetes client would give it (sigs.k8s.io/yaml semantics: YAML 1.1
 * booleans, ints, floats, null; quoted scalars are strings). Anchors and
 * aliases are refused (they are a resource-exhaustion risk and never
 * needed in a manifest).
 */
#ifndef GFS_YAML_H
#define GFS_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "gfs_common.h"

/* Where a parse failed: 1-based line and column, and libyaml's reason or
 * our own ("duplicate key \"x\"", "anchors are not supported", ...). */
struct gfs_yaml_error {
	int line;
	int column;
	char reason[200];
};

/* Appends the canonical YAML of `value` to out. Returns 0 or -errno
 * (-EFBIG when out's limit is reached, -EINVAL for a value YAML cannot
 * hold, e.g. a NaN). On error out may hold a partial document. */
int gfs_yaml_emit(struct gfs_buf *out, const json_t *value);

/* Parses exactly one document (an empty input gives JSON null; more than
 * one document is an error). On success *out is a new reference owned by
 * the caller. On failure returns -EINVAL, fills *err when not NULL, and
 * sets the per-thread error to "line L, column C: reason". */
int gfs_yaml_parse(json_t **out, const char *data, size_t len,
		   struct gfs_yaml_error *err);

#endif
