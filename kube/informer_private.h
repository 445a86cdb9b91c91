/*
 * informer_private.h - what informer.c (one list-and-watch thread) and
 * informers.c (the set of them and rediscovery) share.
 *
 * Locking: one mutex, set->lock, guards the list of informers, each
 * informer's synced/last_error and the snapshot of watched resources. It
 * is never held while calling the receiver's ops or joining a thread.
 */
#ifndef GFS_INFORMER_PRIVATE_H
#define GFS_INFORMER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gfs_informer.h"
#include "gfs_kube.h"

#define GFS_BACKOFF_MIN_MS 500u
#define GFS_BACKOFF_MAX_MS 30000u

/* One list-and-watch loop: one resource in one namespace (or all). */
struct gfs_informer {
	struct gfs_informers *set; /* borrowed, outlives us */
	struct gfs_resource res;   /* immutable copy */
	char *ns;                  /* immutable; NULL: all namespaces */
	char *base;                /* immutable: "/api/v1/namespaces/ns/pods" */
	pthread_t thread;
	bool started;              /* the thread exists; written before it is
				    * linked into set->informers */
	atomic_bool stop;          /* ends the thread; set by the discoverer or stop */
	struct gfs_informer *next; /* guarded by set->lock */

	/* Guarded by set->lock (read by wait_synced): */
	bool synced;          /* the first list completed */
	char last_error[300]; /* the last failure, "" once synced */

	/* Owned by the informer's thread: */
	struct gfs_kube_conn *conn;
	char *rv;                /* where the next watch resumes; NULL: list first */
	bool unhealthy;          /* what health() last said */
	unsigned backoff_ms;     /* the last back-off; 0 after a success */
	unsigned seed;           /* rand_r state for jitter */
	unsigned events;         /* events seen by the current watch */
	int64_t watch_opened_ms; /* the current watch answered 200, not yet
				  * counted as healthy; 0 otherwise */
	unsigned refresh_seen;   /* the set's refresh generation last acted on */
	bool initial;            /* a streaming list's initial events are
				  * still arriving (inf_watch) */
	bool initial_stalled;    /* ...and stopped arriving, with no end */
	bool paged_next;         /* a streaming list failed: list in pages */
	int64_t last_event_ms;   /* of the current watch (or its start) */
};

struct gfs_informers {
	/* Immutable after start: */
	struct gfs_kube_client *client;
	const struct gfs_informer_ops *ops; /* each op may be NULL */
	void *payload;
	char **namespaces; /* NULL: all */
	bool (*want)(void *payload, const struct gfs_resource *r);
	unsigned rediscover_ms;
	unsigned page_size;
	/* Whether the server streams lists (sendInitialEvents): 0 not known
	 * yet, -1 it refused them (then every informer lists in pages).
	 * Written by any informer thread, once. */
	atomic_int watch_list;

	pthread_mutex_t lock;
	pthread_cond_t synced_cond;        /* broadcast (with lock) when one syncs */
	struct gfs_informer *informers;    /* guarded by lock; changed only by
					    * start, the discoverer thread and stop */
	struct gfs_resource_list *watched; /* guarded by lock: their resources */

	atomic_bool stop; /* set by gfs_informers_stop */
	/* gfs_informers_refresh: bumped to make every informer list again
	 * and the discoverer rediscover now. */
	atomic_uint refresh_gen;
	atomic_bool refresh_disco;
	pthread_t discoverer;
	bool discoverer_started;
	/* Owned by the discoverer thread (by start before the thread runs): */
	struct gfs_kube_conn *disco_conn;
	char *crd_rv;          /* where the CRD watch resumes; NULL: find out */
	bool crd_dirty;        /* a CRD changed since the last discovery */
	int64_t crd_event_ms;  /* when the last CRD event arrived */
	int64_t disco_next_ms; /* when the periodic rediscovery is due */
	bool disco_failing;    /* the last rediscovery failed (warned once) */
};

/* A new, not yet started informer of r in ns (NULL: all namespaces);
 * NULL when out of memory. */
struct gfs_informer *gfs_informer_new(struct gfs_informers *set,
				      const struct gfs_resource *r, const char *ns);
/* The thread function: loops until inf->stop. */
void *gfs_informer_main(void *inf);
/* Sets stop on every informer of a chain (linked by next, already out of
 * set->informers), joins their threads and frees them. */
void gfs_informer_chain_stop(struct gfs_informer *chain);
void gfs_informer_free(struct gfs_informer *inf);

#endif
