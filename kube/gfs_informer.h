/*
 * gfs_informer.h - keep a local copy of every resource current: for each
 * list-and-watchable resource (and, with a namespace filter, each
 * namespace), an informer lists it (a streaming list, or paged with
 * limit/continue) and then watches from the list's resourceVersion with
 * bookmarks, re-listing on
 * 410 Gone and backing off (exponential, capped, jittered) on 429, 5xx
 * and dropped connections. The set of resources follows discovery: it is
 * re-run when a CustomResourceDefinition changes and every
 * `rediscover_seconds`, so a CRD created while running shows up without a
 * restart, and informers of resources that went away are stopped.
 *
 * Details a receiver can rely on: with a namespace filter, cluster-scoped
 * resources are not watched at all; list_begin may come again without a
 * list_end in between (a list restarted part way); resource_gone also
 * comes when want() starts refusing a resource or its kind/version
 * changes; a 404 is reported unhealthy only after a few seconds (a
 * deleted CRD is about to leave discovery anyway). Each resource is
 * watched at the version discovery chose for it (gfs_resource.version);
 * when that choice changes (e.g. a CRD gained a version that its group
 * now prefers) the informer is replaced, with resource_gone first. A
 * change of the other served versions alone replaces nothing: the r
 * handed to the ops is the informer's copy from its start, while
 * gfs_informers_resources has the current `versions`.
 *
 * All informers run on one thread with one libcurl multi handle (HTTP/2
 * multiplexes their watches over one connection where the server offers
 * it), plus one discovery thread, whatever the number of resources.
 *
 * The informer owns no object store: it reports what it sees through
 * gfs_informer_ops, called from that one thread (the receiver still
 * locks: its readers run elsewhere). Objects are borrowed for the
 * duration of a call. An op must not block for long: every watch waits.
 */
#ifndef GFS_INFORMER_H
#define GFS_INFORMER_H

#include <jansson.h>
#include <stdbool.h>

#include "gfs_kube.h"

struct gfs_informer_ops {
	/* A (re-)list of r in namespace ns (NULL: all namespaces) begins.
	 * The receiver should mark r's objects in ns as unseen. */
	void (*list_begin)(void *payload, const struct gfs_resource *r, const char *ns);
	/* An object was listed, added or modified. */
	void (*upsert)(void *payload, const struct gfs_resource *r, json_t *obj);
	/* An object was deleted. */
	void (*remove)(void *payload, const struct gfs_resource *r, json_t *obj);
	/* The list is complete: objects of r in ns not upserted since
	 * list_begin are gone. The first list_end of every informer marks it
	 * synced. */
	void (*list_end)(void *payload, const struct gfs_resource *r, const char *ns);
	/* r is no longer served (its CRD was deleted): drop its objects. */
	void (*resource_gone)(void *payload, const struct gfs_resource *r);
	/* Health of one informer changed: ok=false with a message (no
	 * secrets) when its list/watch fails, ok=true when it recovered. */
	void (*health)(void *payload, const struct gfs_resource *r, bool ok,
		       const char *message);
};

struct gfs_informer_opts {
	const char *const *namespaces; /* NULL-terminated; NULL = all */
	/* Return false to not watch a resource at all (e.g. events). May be
	 * NULL (watch all). Called from informer threads for every resource
	 * each discovery run reports (cluster-scoped ones too, which a
	 * namespace filter leaves out whatever want() answers). */
	bool (*want)(void *payload, const struct gfs_resource *r);
	unsigned rediscover_seconds; /* 0: default 60 */
	unsigned page_size;          /* 0: default 500 */
	/* List in pages only, never with a streaming list (sendInitialEvents),
	 * as for a server that refuses those. */
	bool paged_lists;
};

struct gfs_informers;

/* Runs discovery once (failing here fails the call: the caller reports
 * it, e.g. "cannot reach https://...: connection refused"), then starts
 * the threads. `ops` and `payload` must outlive the informers. */
int gfs_informers_start(struct gfs_informers **out, struct gfs_kube_client *c,
			const struct gfs_informer_opts *opts,
			const struct gfs_informer_ops *ops, void *payload);

/* Waits until every informer has completed its first list, or timeout_ms
 * passes (-ETIMEDOUT, the per-thread error names the resources still
 * loading and their last error). */
int gfs_informers_wait_synced(struct gfs_informers *inf, unsigned timeout_ms);
/* The same, calling cb (without any lock held, on the waiting thread)
 * about every GFS_INFORMERS_TICK_MS while it waits, with how many of the
 * informers (one per resource, or per resource and namespace) have
 * finished their first list: for a progress line. */
#define GFS_INFORMERS_TICK_MS 100
typedef void (*gfs_informers_progress_cb)(void *payload, unsigned synced, unsigned total);
int gfs_informers_wait_synced_progress(struct gfs_informers *inf, unsigned timeout_ms,
				       gfs_informers_progress_cb cb, void *payload);

/* A snapshot copy of the resources currently watched (caller frees with
 * gfs_resource_list_free). Used to map paths and kinds to resources. */
int gfs_informers_resources(struct gfs_resource_list **out, struct gfs_informers *inf);

/* Calls cb with the resources currently watched, borrowed under the
 * informers' lock, and returns what cb returns: a lookup that copies only
 * what it needs (the applier's per-write lookup), where
 * gfs_informers_resources would copy every resource. cb must be quick
 * and must not call back into the informers. */
typedef int (*gfs_resources_cb)(const struct gfs_resource_list *l, void *payload);
int gfs_informers_with_resources(struct gfs_informers *inf, gfs_resources_cb cb,
				 void *payload);

/* What the informers hold now, for status. */
struct gfs_informers_stats {
	unsigned informers; /* one per resource (and namespace, with a filter) */
	unsigned watches;   /* of them, with a watch open (answered 200) */
};
void gfs_informers_get_stats(struct gfs_informers *inf, struct gfs_informers_stats *out);

/* Asks for discovery to run again now (want() may answer differently)
 * and for every informer to list its resource again, within about a
 * second: e.g. after the receiver's filter changed. Thread-safe. */
void gfs_informers_refresh(struct gfs_informers *inf);

/* Stops every thread (returns within about a second) and frees. */
void gfs_informers_stop(struct gfs_informers *inf);

#endif
