/*
 * gfs_applied.h - what gitopsfs applied, so that reading an object back
 * shows the manifest and not the server's defaults (SPEC section 4, "no
 * false drift").
 *
 * For every object gitopsfs applied we keep two documents: the manifest
 * it sent and the server's answer to it. A live object is then rendered
 * against both (gfs_applied_prune): a field the manifest did not have,
 * whose live value still equals the value in the server's answer, was
 * filled in by the server and nobody changed it since - it is left out. A
 * field someone changes later differs from the answer and shows as drift.
 *
 * The records are kept in memory and in files under a directory of the
 * state directory (one JSON file per object path), so they survive a
 * remount. Secret values are never written there: for Secrets, `data` and
 * `stringData` are dropped from both documents before saving (they are
 * never server-filled anyway).
 *
 * Thread-safe (one mutex). Documents handed out are new references.
 */
#ifndef GFS_APPLIED_H
#define GFS_APPLIED_H

#include <jansson.h>

struct gfs_applied;

/* Opens (creating if needed) the record directory and loads every record. */
int gfs_applied_open(struct gfs_applied **out, const char *dir);
void gfs_applied_free(struct gfs_applied *a);

/* Records (replacing) what was applied at path and the server's answer. */
int gfs_applied_set(struct gfs_applied *a, const char *path, const json_t *manifest,
		    const json_t *answer);
/* Forgets path (after the object was deleted). */
void gfs_applied_forget(struct gfs_applied *a, const char *path);
/* The record of path: new references, or -ENOENT. */
int gfs_applied_get(struct gfs_applied *a, const char *path, json_t **manifest,
		    json_t **answer);

/* Returns a new object: `live` without the fields the server filled in
 * (see above). Never modifies its inputs. NULL on out-of-memory. */
json_t *gfs_applied_prune(const json_t *live, const json_t *manifest,
			  const json_t *answer);

#endif
