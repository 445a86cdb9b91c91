/*
 * gfs_edit.h - a writer's edit of a file, carried onto the live object
 * (SPEC section 5: "a write changes exactly what the writer changed").
 *
 * A file shows a rendering of the live object: without status, without
 * server-owned metadata, without the defaults the server filled into what
 * gitopsfs applied, without ignored fields, with Secret values redacted.
 * Sending the written file as it is would drop all of that. Instead the
 * difference between what the writer was shown and what it wrote is
 * applied to the full live object, the way `kubectl edit` patches: every
 * key the writer added, changed or deleted is added, changed or deleted;
 * everything else - shown or hidden - keeps its live value.
 *
 * Lists: an element of the written list is matched to the element of the
 * shown list it came from (the same value, else the same merge key -
 * name, containerPort, port, mountPath, ... - else the same position when
 * the list kept its length), and its edit is carried onto the live
 * element at that place; a new element is taken as written. When the
 * shown and live lists do not line up (they always do for a rendering of
 * that live object), the written list is taken whole.
 */
#ifndef GFS_EDIT_H
#define GFS_EDIT_H

#include <jansson.h>

/* Returns a new document (the caller's): `live` with exactly the changes
 * between `shown` and `written`. None of the inputs is modified. NULL on
 * out-of-memory. */
json_t *gfs_edit_carry(const json_t *shown, const json_t *written, const json_t *live);

#endif
