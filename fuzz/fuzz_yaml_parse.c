/*
 * fuzz_yaml_parse.c - gfs_yaml_parse on arbitrary bytes (every file
 * written into the mount, every manifest in Git, every kubeconfig).
 *
 * Properties: a refusal is -EINVAL with a line, a column and a reason;
 * whatever parses, the emitter writes, and its output parses back to an
 * equal value (types included) and writes again to the same bytes (the
 * canonical form is a fixed point).
 */
#include <errno.h>

#include "fuzz.h"
#include "gfs_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_buf first = GFS_BUF_INIT(64u << 20), second = GFS_BUF_INIT(64u << 20);
	struct gfs_yaml_error err;
	json_t *v = NULL, *back = NULL;
	int rc;

	rc = gfs_yaml_parse(&v, (const char *)data, size, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == -EINVAL && !v, "rc %d", rc);
		FUZZ_CHECK(err.line >= 1 && err.column >= 1 && err.reason[0],
			   "line %d, column %d, reason \"%s\"", err.line, err.column,
			   err.reason);
		return 0;
	}
	FUZZ_CHECK(v != NULL, "no value");
	rc = gfs_yaml_emit(&first, v);
	FUZZ_CHECK(rc == 0, "emit: %s", gfs_error_last());
	rc = gfs_yaml_parse(&back, first.data, first.len, &err);
	FUZZ_CHECK(
	    rc == 0,
	    "the emitter wrote what the parser refuses: line %d, column %d: %s\n%s",
	    err.line, err.column, err.reason, first.data);
	FUZZ_CHECK(fuzz_equal(v, back, 0), "read back as another value:\n%s\n%s\n%s",
		   first.data, fuzz_json(v), fuzz_json(back));
	rc = gfs_yaml_emit(&second, back);
	FUZZ_CHECK(rc == 0 && second.len == first.len &&
		       memcmp(second.data, first.data, first.len) == 0,
		   "not canonical:\n%s\n---\n%s", first.data,
		   second.data ? second.data : "");
	json_decref(back);
	json_decref(v);
	gfs_buf_release(&second);
	gfs_buf_release(&first);
	return 0;
}
