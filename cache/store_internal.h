/*
 * store_internal.h - what the files of the store (store.c: the tree and
 * the informer callbacks; store_query.c: queries and filter changes)
 * share. Not for other modules: the contract is gfs_store.h.
 */
#ifndef GFS_STORE_INTERNAL_H
#define GFS_STORE_INTERNAL_H

#include <pthread.h>

#include "gfs_object.h"
#include "gfs_store.h"

#define GFS_STORE_MAX_SUBSCRIBERS 8

struct gfs_node {
	struct gfs_node *parent;
	uint64_t ino;
	int64_t mtime_ns;
	/* A directory's fields or a file's, never both (at 100k objects a
	 * word saved here is 0.8 MB): read the one is_dir says. */
	union {
		struct gfs_map *children; /* dirs: name (the child's own) -> node */
		struct {
			struct gfs_blob *content; /* rendered bytes of `live` */
			struct gfs_object *live;  /* the newest live object */
			uint64_t seen;            /* store->mark when last upserted */
		};
	};
	/* Bumped on each change of the file's bytes or the directory's
	 * entries; 32 bits wrap after 4 billion changes of one object. */
	uint32_t version;
	uint16_t mode;
	bool is_dir;
	bool hidden; /* files: deletion pending, invisible */
	/* One path component; "" for the root. The parent's children map
	 * borrows it as the key (gfs_map_new_borrowed). */
	char name[];
};

/* What the store knows of one watched resource. */
struct gfs_known_resource {
	bool namespaced;
	uint64_t list_start; /* mark at the last list_begin, per resource */
};

/* What the store knows of a resource discovery reports, watched or not:
 * enough to tell a resource that is served but not shown (excluded by the
 * filter, or cluster-scoped under a namespace filter) from one that is
 * not served at all (a CRD not created yet). */
struct gfs_served_resource {
	bool namespaced;
};

struct gfs_store {
	pthread_rwlock_t lock;
	/* Guarded by lock: */
	struct gfs_node *root;
	struct gfs_map *resources; /* dirname -> struct gfs_known_resource* */
	struct gfs_map *served;    /* dirname -> struct gfs_served_resource* */
	/* path -> struct gfs_tombstone*: the resourceVersion at which an
	 * object was deleted, so that an older copy (an apply's answer that
	 * arrives after the watch's DELETED) cannot bring it back. */
	struct gfs_map *tombstones;
	uint64_t objects;
	uint64_t rendered_bytes; /* sum of the files' content lengths */
	uint64_t mark;
	uint64_t unhealthy;
	int64_t last_change_ns;
	char last_error[512];
	/* The filter in force; swapped (under lock) by gfs_store_set_filter,
	 * read without the lock (a pointer load): filters are never freed
	 * before the store, so a reader holding an old one is safe. */
	const struct gfs_filter *_Atomic filter;
	struct gfs_filter **owned_filters; /* set_filter's, freed with the store */
	size_t n_owned_filters;
	/* Immutable after creation / before informers start: */
	char **namespaces; /* gfs_strv.h; NULL: all */
	char *prefix;      /* --path: where the cluster's tree is; "" = the root */
	size_t prefix_len;
	struct {
		gfs_store_change_cb cb;
		void *payload;
	} subs[GFS_STORE_MAX_SUBSCRIBERS];
	int n_subs;
	gfs_store_prepare_cb prepare;
	void *prepare_payload;
	gfs_store_keep_cb keep;
	void *keep_payload;
	/* Bumped by gfs_store_refresh when what the prepare hook reads
	 * changed: a rendering begun before it is not put (store.c). */
	_Atomic uint64_t render_gen;
	struct gfs_redact_key redact_key; /* len 0: none */
	struct gfs_sops *sops;            /* secrets: sops; owned; set before start */
};

/* The node at path (hidden ones included), or NULL; lock held. */
struct gfs_node *gfs_node_walk(struct gfs_node *root, const char *path);
/* The same for queries: hidden files do not exist. */
struct gfs_node *gfs_node_find(struct gfs_node *root, const char *path);
void gfs_node_attr(const struct gfs_node *n, struct gfs_entry_attr *a);
/* The directory node of the cluster's tree (the prefix's; the root
 * without one), or NULL while it has no object; lock held. */
struct gfs_node *gfs_store_cluster_root(struct gfs_store *s);
/* Is namespace ns (NULL: cluster scope) within the namespace filter? */
bool gfs_store_ns_allowed(const struct gfs_store *s, const char *ns);
/* Shows the live object o at its path under resource dirname (lock not
 * held): rendered, then put in the tree unless the store holds a newer
 * version of it (see gfs_store.h on ordering). doc is o's document when
 * the caller has it parsed (an informer's event), else NULL: parsed from
 * what o kept, or -ENODATA when o kept no whole document (nothing done;
 * an object the filter no longer wants is removed all the same). */
int gfs_store_upsert_object(struct gfs_store *s, const char *dirname, bool namespaced,
			    struct gfs_object *o, const json_t *doc);

#endif
