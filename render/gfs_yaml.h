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
 * booleans, ints, floats, null; quoted scalars are strings). Input is
 * refused, never altered: tags other than the standard ones (!!str,
 * !!int, !!float, !!bool, !!null, !!map, !!seq, !!timestamp, and the
 * non-specific !), integers outside int64, floats outside a double's
 * range, NaN and infinities are errors where kubectl would silently send
 * something else. Anchors and aliases are refused (they are a
 * resource-exhaustion risk and never needed in a manifest).
 *
 * Whatever the emitter writes, the parser reads back as an equal value
 * (numbers compare by value: a real 2.0 reads back as the integer 2).
 */
#ifndef GFS_YAML_H
#define GFS_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "gfs_common.h"

/* The deepest nesting of maps and lists (a root map is level 1) that the
 * emitter writes and the parser reads. It is jansson's own parsing limit,
 * so every object that came from the API server renders and parses back;
 * anything deeper is refused by both with an error. */
#define GFS_YAML_MAX_DEPTH 2048
_Static_assert(GFS_YAML_MAX_DEPTH >= JSON_PARSER_MAX_DEPTH,
	       "every object jansson parses must render and read back");

/* Where a parse failed: 1-based line and column, and libyaml's reason or
 * our own ("duplicate key \"x\"", "anchors are not supported", ...). */
struct gfs_yaml_error {
	int line;
	int column;
	char reason[200];
};

/* Appends the canonical YAML of `value` to out. Returns 0 or -errno
 * (-EFBIG when out's limit is reached, -EINVAL for a value the parser
 * would not read back: a NaN or infinity, nesting deeper than
 * GFS_YAML_MAX_DEPTH). On error out may hold a partial document. */
int gfs_yaml_emit(struct gfs_buf *out, const json_t *value);

/* Parses exactly one document (an empty input gives JSON null; more than
 * one document is an error). On success *out is a new reference owned by
 * the caller. On failure returns -EINVAL, fills *err when not NULL, and
 * sets the per-thread error to "line L, column C: reason". */
int gfs_yaml_parse(json_t **out, const char *data, size_t len,
		   struct gfs_yaml_error *err);

#endif
