/*
 * gfs_object.h - one Kubernetes object, parsed once, and the facts about
 * objects that every module needs (each of them here and nowhere else).
 *
 * A gfs_object wraps the JSON document the API server sent (a watch
 * event, a list item, the answer to a write). It is immutable once made:
 * the store keeps it as the live object behind a file, and the applier,
 * the sync thread and the queries read it through the accessors below
 * instead of re-parsing text. Refcounted; a reference may be shared
 * between threads freely (nobody writes to it).
 *
 * The free functions on `const json_t *` answer the same questions for any
 * document, manifests read from a file or from Git included.
 */
#ifndef GFS_OBJECT_H
#define GFS_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct gfs_object;

/* Wraps `doc` (a JSON object), taking over the caller's reference: doc
 * must not be modified afterwards by anyone. Returns 0, -EINVAL when doc
 * is not a JSON object (the reference is then released), or -ENOMEM. */
int gfs_object_new(struct gfs_object **out, json_t *doc);
/* A new reference (NULL-safe). */
struct gfs_object *gfs_object_ref(struct gfs_object *o);
void gfs_object_unref(struct gfs_object *o);

/* The document, borrowed for as long as the caller holds its reference;
 * never to be modified (json_deep_copy it to change it). */
const json_t *gfs_object_json(const struct gfs_object *o);

/* Borrowed strings, or NULL when the object has none. */
const char *gfs_object_kind(const struct gfs_object *o);
const char *gfs_object_api_version(const struct gfs_object *o);
const char *gfs_object_name(const struct gfs_object *o);
const char *gfs_object_namespace(const struct gfs_object *o);
const char *gfs_object_uid(const struct gfs_object *o);
const char *gfs_object_resource_version(const struct gfs_object *o);

/* Orders two resourceVersions. They are opaque to clients in general, but
 * kube-apiserver's are etcd revisions, decimal integers that grow with
 * every write; when both are such integers the result is <0, 0 or >0 as
 * a is older, the same or newer than b. Anything else (NULL, not a
 * number) compares as 0: "cannot tell", which callers treat as "newer". */
int gfs_rv_cmp(const char *a, const char *b);

/* ---- facts about any document -------------------------------------------- */

/* A core v1 Secret (its values are never logged, saved or committed). */
bool gfs_json_is_secret(const json_t *obj);
/* Owned by a controller: an ownerReferences entry with controller: true
 * (a Deployment's ReplicaSets, a ReplicaSet's Pods). */
bool gfs_json_controller_owned(const json_t *obj);

/* The metadata fields only the server writes. They are never shown in a
 * file and never sent back from one. NULL-terminated. */
extern const char *const gfs_server_metadata_fields[];
/* Deletes them from obj's metadata (a manifest about to be sent). */
void gfs_json_strip_server_metadata(json_t *obj);

/* Who changed the object last: its newest managedFields entry (borrowed
 * strings; all NULL when it has none). */
struct gfs_manager_entry {
	const char *manager;   /* "kubectl-edit" */
	const char *operation; /* "Update" or "Apply" */
	const char *time;      /* RFC 3339 */
	int64_t time_ns;       /* the same, 0 when absent or unreadable */
};
void gfs_json_newest_manager(struct gfs_manager_entry *out, const json_t *obj);

/* Reduces metadata.managedFields to its newest entry's manager, operation
 * and time, in place: all gitopsfs reads of it (gfs_json_newest_manager
 * gives the same answer before and after). The rest - fieldsV1 mirrors
 * every field of the object - is about half of a parsed object's memory,
 * is never shown, and is never sent back (the server keeps its field
 * ownership when an update carries none). Done to every object as it
 * arrives from a list or a watch. Returns 0, or -ENOMEM (obj unchanged). */
int gfs_json_trim_managed_fields(json_t *obj);

/* The object's last change according to its metadata, in nanoseconds
 * since the epoch: the newest managedFields time, else
 * creationTimestamp; 0 when it has neither. Stable across remounts. */
int64_t gfs_json_change_time(const json_t *obj);

#endif
