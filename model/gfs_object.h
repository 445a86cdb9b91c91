/*
 * gfs_object.h - one Kubernetes object, parsed once, and the facts about
 * objects that every module needs (each of them here and nowhere else).
 *
 * A gfs_object is what is kept of the JSON document the API server sent
 * (a watch event, a list item, the answer to a write): the facts read from
 * it on arrival (identity, resourceVersion, newest manager, change time,
 * Secret-ness, ownership), and - only where a reader needs it - part or
 * all of the document as compact JSON text. Most objects of a cluster
 * keep no text at all: their file's rendered bytes (the store's) are what
 * is read, and a write GETs the object it changes. The health monitor
 * keeps what its rules read (gfs_health_view) of the objects whose
 * verdict needs parsing; the store keeps a sops-mode Secret whole (its
 * file is rendered again when a write changes what it remembers). A
 * parsed jansson tree costs about ten times its text, so no tree is kept:
 * readers parse the text with gfs_object_kept / gfs_object_doc. Immutable
 * once made; refcounted; a reference may be shared between threads freely
 * (nobody writes to it).
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

/* Keeps the facts of `doc` (a JSON object) and the text of `keep`: NULL
 * (nothing), doc itself (the whole document) or a document made from it
 * (borrowed for the call). Takes over the caller's reference to doc
 * (released before it returns; the caller may keep its own). Returns 0,
 * -EINVAL when doc is not a JSON object, or -ENOMEM. */
int gfs_object_new(struct gfs_object **out, json_t *doc, const json_t *keep);
/* A new reference (NULL-safe). */
struct gfs_object *gfs_object_ref(struct gfs_object *o);
void gfs_object_unref(struct gfs_object *o);

/* The document kept, parsed again: a new reference the caller owns (and
 * may change). NULL (per-thread error set) when none was kept (-ENODATA)
 * or out of memory. */
json_t *gfs_object_kept(const struct gfs_object *o);
/* The same, only when the whole document was kept (else -ENODATA):
 * exactly the document that was wrapped. */
json_t *gfs_object_doc(const struct gfs_object *o);
/* Was the whole document kept? */
bool gfs_object_whole(const struct gfs_object *o);
/* The bytes of the kept text (0: none). */
size_t gfs_object_size(const struct gfs_object *o);

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

/* The facts below, read once when the object was made. */
struct gfs_manager_entry;
/* gfs_json_newest_manager of the document (strings borrowed from o). */
void gfs_object_newest_manager(struct gfs_manager_entry *out, const struct gfs_object *o);
/* gfs_json_change_time of the document. */
int64_t gfs_object_change_time(const struct gfs_object *o);
/* gfs_json_is_secret of the document. */
bool gfs_object_is_secret(const struct gfs_object *o);
/* The document has a status member (of any value). */
bool gfs_object_has_status(const struct gfs_object *o);
/* Its metadata has a deletionTimestamp: it is being deleted. */
bool gfs_object_deleting(const struct gfs_object *o);
/* gfs_json_controller_owned of the document. */
bool gfs_object_controller_owned(const struct gfs_object *o);

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
	const char *time;      /* RFC 3339; may point into time_text */
	int64_t time_ns;       /* the same, 0 when absent or unreadable */
	/* gfs_object_newest_manager: the time written again from time_ns,
	 * where the object did not keep its text (it was exactly that). */
	char time_text[32];
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
