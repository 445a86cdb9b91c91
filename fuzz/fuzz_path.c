/*
 * fuzz_path.c - gfs_path_parse on any path the kernel hands us.
 *
 * Properties: a path that parses has valid parts and formats back to
 * itself.
 */
#include <errno.h>

#include "fuzz.h"
#include "gfs_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_path_parts p;
	char back[GFS_PATH_MAX];
	char *path = fuzz_cstring(data, size);

	if (!path)
		return 0;
	if (gfs_path_parse(&p, path) == 0) {
		FUZZ_CHECK(gfs_path_name_valid(p.name), "name \"%s\"", p.name);
		FUZZ_CHECK(!p.ns || gfs_path_name_valid(p.ns), "namespace \"%s\"", p.ns);
		FUZZ_CHECK(p.dirname[0] && !strchr(p.dirname, '/'), "dirname \"%s\"",
			   p.dirname);
		FUZZ_CHECK(gfs_path_format(back, sizeof(back), p.ns, p.dirname, p.name) ==
			       0,
			   "too long");
		FUZZ_CHECK(strcmp(back, path) == 0, "\"%s\" formats back as \"%s\"", path,
			   back);
	}
	free(path);
	return 0;
}
