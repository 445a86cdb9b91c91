/*
 * fuzz_watch.c - the watch stream as the server sends it: bytes split
 * into lines (kube/watch.c's watch_feed), each line a JSON event.
 *
 * watch_feed and watch_line are static: this file includes watch.c
 * itself (its extern functions then come from here, so the linker never
 * takes watch.o from the library). The first input byte chooses how the
 * rest is cut into chunks (or not), as curl may hand it over in any
 * pieces.
 * Properties: an event reaches the callback only with a known type and an
 * object; a failure is a negative errno with a message.
 */
#include "../kube/watch.c"

#include "fuzz.h"

static int fuzz_watch_cb(enum gfs_watch_event type, json_t *obj, void *payload)
{
	unsigned *seen = payload;
	FUZZ_CHECK(type == GFS_WATCH_ADDED || type == GFS_WATCH_MODIFIED ||
		       type == GFS_WATCH_DELETED || type == GFS_WATCH_BOOKMARK,
		   "type %d", (int)type);
	FUZZ_CHECK(json_is_object(obj), "not an object");
	/* Ending the watch early is the callback's choice too. */
	return ++*seen == 7;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned seen = 0;
	struct gfs_kube_watch w = {.path = "/api/v1/configmaps?watch=1&resourceVersion=1",
				   .cb = fuzz_watch_cb,
				   .payload = &seen};
	size_t chunk;
	int rc = 0;

	if (size == 0)
		return 0;
	chunk = data[0] & 0x80 ? size : data[0] % 16u + 1;
	data++;
	size--;
	gfs_buf_init(&w.line, GFS_KUBE_MAX_EVENT);
	while (size > 0 && rc == 0) {
		size_t n = size < chunk ? size : chunk;
		rc = watch_feed(&w, (const char *)data, n);
		data += n;
		size -= n;
	}
	/* The server ended the stream: a last line without '\n' counts. */
	if (rc == 0 && w.line.len)
		rc = watch_line(&w, w.line.data, w.line.len);
	FUZZ_CHECK(rc == 0 || rc == 1 || (rc < 0 && gfs_error_last()[0]), "rc %d", rc);
	gfs_buf_release(&w.line);
	return 0;
}
