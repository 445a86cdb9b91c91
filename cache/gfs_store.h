/*
 * gfs_store.h - the in-memory cache the mount is served from.
 *
 * The store receives what the informers see (it provides their
 * gfs_informer_ops), keeps for each shown object its rendered file bytes
 * (rendered once per change, not per read), and derives the directory
 * tree of SPEC section 3 from the objects it holds: a directory exists
 * while it has an object below it. Besides, so that the first object of a
 * kind can be created with cp or an editor, every watched resource's
 * directory exists, empty, in every namespace the mount shows (one with a
 * Namespace object, or with objects) and in _cluster/, and a namespace
 * with a Namespace object exists even without objects: such *implied*
 * directories answer stat and list (no entries) but are not listed by
 * their parent, so listings show only directories with objects. No read
 * from the mount ever leads to an API request: every query below is
 * answered from memory.
 *
 * Stable attributes: an entry's inode number is a hash of its path (the
 * same across remounts), and its mtime changes only when its bytes do
 * (a status-only update re-renders to the same bytes and changes
 * nothing). A new object's mtime is its last change per metadata
 * (newest managedFields time, else creationTimestamp); a later change
 * gets the time it was seen.
 *
 * Ordering: every update carries the object's resourceVersion, and an
 * older one never replaces a newer one, whoever delivers it (a watch event
 * or the answer to gitopsfs' own write, which race); a deletion leaves a
 * tombstone for a minute so that an older copy cannot bring the object
 * back. resourceVersions that are not decimal numbers cannot be ordered
 * and are taken as they come.
 *
 * Locking: one rwlock guards the whole tree; queries take it shared,
 * informer updates take it exclusive for a short swap (rendering happens
 * before). Subscribers are called after the lock is released, from the
 * informer thread that made the change; they must not block.
 */
#ifndef GFS_STORE_H
#define GFS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gfs_common.h"
#include "gfs_filter.h"
#include "gfs_informer.h"
#include "gfs_object.h"
#include "gfs_render.h"
#include "gfs_sops.h"

struct gfs_store;

enum gfs_entry_type { GFS_ENTRY_DIR, GFS_ENTRY_FILE };

struct gfs_entry_attr {
	enum gfs_entry_type type;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;    /* permission bits: 0644, 0600 for shown Secrets, 0755 dirs */
	uint64_t version; /* changes whenever the bytes (file) or entries (dir) do */
	bool implied;     /* an empty directory that exists by rule (see top) */
};

enum gfs_change { GFS_CHANGE_ADDED, GFS_CHANGE_MODIFIED, GFS_CHANGE_REMOVED };

/* `path` is borrowed for the call. Called for files and for directories
 * that appear or disappear. */
typedef void (*gfs_store_change_cb)(void *payload, const char *path,
				    enum gfs_entry_type type, enum gfs_change change);

/* Optional hook run on each live object before rendering: returns a new
 * reference to the object to render (e.g. without the defaults the
 * server filled into what gitopsfs applied), or NULL to render it as is.
 * Called from informer threads without the store's lock. */
typedef json_t *(*gfs_store_prepare_cb)(void *payload, const char *path,
					const json_t *obj);

/* Optional hook: what to keep, as text, of each live object besides its
 * facts and rendered bytes (gfs_object.h) - a new reference to a document
 * made from obj, or NULL for nothing. Called from informer threads
 * without the store's lock. */
typedef json_t *(*gfs_store_keep_cb)(void *payload, const json_t *obj);

struct gfs_store_opts {
	const struct gfs_filter *filter; /* borrowed; must outlive the store */
	const char *const *namespaces;   /* NULL-terminated or NULL (all) */
	/* --path: the directory the cluster's tree lives in ("clusters/prod",
	 * checked by gfs_path_subdir_check), NULL or "" for the root. Every
	 * path the store takes or hands out is then relative to the
	 * repository's root: objects are at "<root>/<ns>/<dirname>/<name>.yaml",
	 * the directories above <root> exist (as directories of objects), and
	 * every path outside <root> is an ordinary file, never an object. */
	const char *root;
};

/* The cluster's directory (gfs_store_opts.root), "" for the root.
 * Borrowed; immutable. */
const char *gfs_store_root(const struct gfs_store *s);
/* The part of `path` inside the cluster's tree (gfs_store_opts.root):
 * "shop/configmaps/a.yaml" for "clusters/prod/shop/configmaps/a.yaml",
 * "" for the root itself, NULL for a path outside it. Borrowed from path.
 * Without a root, path itself. */
const char *gfs_store_cluster_path(const struct gfs_store *s, const char *path);

/* The filter in force (borrowed; valid until the store is freed, even
 * after a later gfs_store_set_filter). */
const struct gfs_filter *gfs_store_filter(struct gfs_store *s);

/* Replaces the filter (the store takes `f` over): newly excluded objects
 * disappear at once; objects that kept their document are rendered again
 * under it. The rest (most: gfs_object.h), and objects newly *included*
 * (never kept), need the caller to ask the informers to list again
 * (gfs_informers_refresh), whose items are rendered under the new ignore
 * rules and secrets policy as they come. The old filter stays valid for readers that
 * still hold it, until the store is freed. */
int gfs_store_set_filter(struct gfs_store *s, struct gfs_filter *f);

/* Installs the prepare hook; call before the informers start. */
void gfs_store_set_prepare(struct gfs_store *s, gfs_store_prepare_cb cb, void *payload);
/* Installs the keep hook; call before the informers start. */
void gfs_store_set_keep(struct gfs_store *s, gfs_store_keep_cb cb, void *payload);

/* The key redacted Secret values are digested with (gfs_render.h); copied.
 * Set before the informers start: without one, redacted values show
 * GFS_REDACTED_NO_KEY. */
void gfs_store_set_redaction_key(struct gfs_store *s, const struct gfs_redact_key *k);
/* The key in force (borrowed, valid while the store lives), for rendering
 * a manifest the way live objects are; NULL when there is none. */
const struct gfs_redact_key *gfs_store_redaction_key(const struct gfs_store *s);

/* The keys of `secrets: sops` (gfs_sops.h); the store takes it over and
 * frees it. Set before the informers start: in that mode a Secret without
 * them is not rendered at all (never in clear). */
void gfs_store_set_sops(struct gfs_store *s, struct gfs_sops *sops);
/* Borrowed, valid while the store lives; NULL when not in that mode. */
struct gfs_sops *gfs_store_sops(const struct gfs_store *s);

/* Hides a file (true) or shows it again (false): a hidden file is absent
 * from every query, as if deleted, while its deletion is pending. Returns
 * -ENOENT when there is no such file. */
int gfs_store_set_hidden(struct gfs_store *s, const char *path, bool hidden);

int gfs_store_new(struct gfs_store **out, const struct gfs_store_opts *opts);
void gfs_store_free(struct gfs_store *s);

/* The informer callbacks; pass the store as their payload. */
extern const struct gfs_informer_ops gfs_store_informer_ops;
/* A gfs_informer_opts.want function for the store's filter (payload =
 * store). It also records every resource discovery reports, wanted or
 * not, for gfs_store_is_object_path. */
bool gfs_store_want_resource(void *payload, const struct gfs_resource *r);

/* Does the mount show resource `dirname` at all (the filter in force wants
 * it, and it is namespaced if a namespace filter is in force)? Resources
 * watched for another reason (pods, for health) are passed to the store's
 * informer ops only when this says yes. */
bool gfs_store_resource_shown(struct gfs_store *s, const char *dirname, bool namespaced);

/* Registers a change subscriber (at most 8). Not thread-safe against
 * itself: subscribe before the informers start. */
int gfs_store_subscribe(struct gfs_store *s, gfs_store_change_cb cb, void *payload);

/* ---- queries (thread-safe, never block on the network) ---------------- */

/* path: "" for the root, "default", "default/configmaps/app.yaml".
 * Returns 0 or -ENOENT. Implied directories (see top) are found too, with
 * attr.implied set, version 1, and as mtime that of their Namespace
 * object (else of their namespace's directory, or of _cluster/): stable
 * while the namespace does not change, and across remounts. */
int gfs_store_stat(struct gfs_entry_attr *out, struct gfs_store *s, const char *path);

/* The current bytes of a file (a new reference for the caller to unref)
 * and its attributes. -ENOENT, or -EISDIR for a directory. */
int gfs_store_read(struct gfs_blob **out, struct gfs_entry_attr *attr,
		   struct gfs_store *s, const char *path);

/* Calls cb for each entry of directory `path` (under the shared lock: cb
 * must not call back into the store); an implied directory has none.
 * -ENOENT / -ENOTDIR. */
typedef int (*gfs_store_list_cb)(const char *name, const struct gfs_entry_attr *attr,
				 void *payload);
int gfs_store_list(struct gfs_store *s, const char *path, gfs_store_list_cb cb,
		   void *payload);

/* Calls cb for every file, in no particular order (shared lock held). */
typedef int (*gfs_store_file_cb)(const char *path, const struct gfs_blob *content,
				 const struct gfs_entry_attr *attr, void *payload);
int gfs_store_foreach_file(struct gfs_store *s, gfs_store_file_cb cb, void *payload);

/* Is `dirpath` ("default/configmaps", "_cluster/namespaces") a directory
 * whose *.yaml entries are objects the mount manages? False for unknown
 * or excluded resources and for namespaces outside the namespace filter:
 * such paths are ordinary files kept by gitopsfs. */
bool gfs_store_is_managed_dir(struct gfs_store *s, const char *dirpath);
/* Same question for a file path ("default/configmaps/app.yaml"). */
bool gfs_store_is_managed_path(struct gfs_store *s, const char *path);
/* Is `path` an object file, shown or to be created, rather than an
 * ordinary file? True for a managed path, and for <top>/<dirname>/<name>.yaml
 * when discovery reports no resource <dirname> at all but the name could
 * be a custom resource's (gfs_path_crd_dirname), <top> being _cluster or a
 * namespace name within the namespace filter, and the filter not
 * excluding it: a file written there waits for its CRD. False for
 * resources that are served but not shown (events, endpoints, ... or a
 * config rule), served in the other scope, and for every other path. */
bool gfs_store_is_object_path(struct gfs_store *s, const char *path);

/* The live object behind a file as the API server last sent it (a new
 * reference), or -ENOENT. */
int gfs_store_live(struct gfs_object **out, struct gfs_store *s, const char *path);

/* A file as one consistent snapshot: its bytes, the live object they are
 * the rendering of, and its attributes. Release with
 * gfs_store_file_release. */
struct gfs_store_file {
	struct gfs_blob *content;
	struct gfs_object *live;
	struct gfs_entry_attr attr;
};
/* 0, -ENOENT (no such file, or its deletion is pending) or -EISDIR. */
int gfs_store_get(struct gfs_store_file *out, struct gfs_store *s, const char *path);
void gfs_store_file_release(struct gfs_store_file *f);

/* Renders the file at path again from the live object the store holds
 * (after what the prepare hook depends on changed: gitopsfs applied the
 * object). doc is that object's document when the caller has it (the
 * answer to its write), else NULL. 0; -ENOENT; -ENODATA when the store
 * holds another version than doc and kept no document of it: the caller
 * GETs the object, hands it to the store (gfs_store_informer_ops.upsert)
 * and calls again with it. */
int gfs_store_refresh(struct gfs_store *s, const char *path, const json_t *doc);

/* Renders obj as the file at path (of resource dirname) would show it -
 * the prepare hook, the filter's ignore rules and secrets policy - into a
 * new blob. The one rendering pipeline: the store's own updates and the
 * applier's conflict check both use it. 0 or -errno. */
int gfs_store_render(struct gfs_blob **out, struct gfs_store *s, const char *path,
		     const char *dirname, const json_t *obj);

/* Renders a manifest (from Git, or any file in the layout) as the file at
 * path would show a live object equal to it: the name and namespace its
 * path implies filled in, a Secret's stringData folded into data as the
 * server does, the filter's ignore rules and secrets policy applied (no
 * prepare hook: a manifest is not a live object). Appends to out; 0, or
 * -EINVAL (not a path of an object, invalid YAML, not an object) with a
 * message naming the file, line and column. */
int gfs_store_render_manifest(struct gfs_buf *out, struct gfs_store *s, const char *path,
			      const char *data, size_t len);

struct gfs_store_stats {
	uint64_t objects;
	uint64_t rendered_bytes; /* the object files' bytes, held in memory */
	uint64_t resources;
	uint64_t unhealthy; /* informers currently failing */
	int64_t last_change_ns;
	char last_error[512]; /* newest informer failure, "" if none */
};
void gfs_store_get_stats(struct gfs_store_stats *out, struct gfs_store *s);

#endif
