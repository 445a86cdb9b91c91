/*
 * fuzz_render.c - what the API server sends, rendered: JSON (parsed by
 * jansson with the client's flags) through gfs_yaml_emit and
 * gfs_render_object.
 *
 * Properties: every value jansson accepts renders (its depth limit is
 * GFS_YAML_MAX_DEPTH's), and the file parses back to the same value,
 * numbers compared by value (a real 2.0 reads back as the integer 2).
 */
#include <errno.h>

#include "fuzz.h"
#include "gfs_render.h"
#include "gfs_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_buf out = GFS_BUF_INIT(64u << 20);
	struct gfs_render_opts opts = {.secrets = GFS_SECRETS_REDACT};
	struct gfs_yaml_error err;
	json_t *v, *back = NULL;
	int rc;

	/* The client's flags (kube/client.c), any root for more reach. */
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!v)
		return 0;
	rc = gfs_yaml_emit(&out, v);
	FUZZ_CHECK(rc == 0, "emit: %s", gfs_error_last());
	rc = gfs_yaml_parse(&back, out.data, out.len, &err);
	FUZZ_CHECK(
	    rc == 0,
	    "the emitter wrote what the parser refuses: line %d, column %d: %s\n%s",
	    err.line, err.column, err.reason, out.data);
	FUZZ_CHECK(fuzz_equal(v, back, 1), "read back as another value:\n%s", out.data);
	json_decref(back);
	back = NULL;
	gfs_buf_reset(&out);
	rc = gfs_render_object(&out, v, &opts);
	FUZZ_CHECK(rc == 0, "render: %s", gfs_error_last());
	rc = gfs_yaml_parse(&back, out.data, out.len, &err);
	FUZZ_CHECK(rc == 0, "a rendered file does not parse: line %d, column %d: %s\n%s",
		   err.line, err.column, err.reason, out.data);
	json_decref(back);
	json_decref(v);
	gfs_buf_release(&out);
	return 0;
}
