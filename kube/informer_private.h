/*
 * informer_private.h - what informer.c (one list-and-watch state
 * machine), loop.c (the one thread and curl multi handle that drive them
 * all) and informers.c (the set of them and rediscovery) share.
 *
 * Threads: the loop thread runs every informer (its transfers, and the
 * receiver's ops); the discoverer thread runs discovery and the CRD
 * watch, and starts and retires informers through set->pending and
 * set->retiring; callers of the public functions only read.
 *
 * Locking: one mutex, set->lock, guards the list of informers, each
 * informer's synced/last_error, the snapshot of watched resources and
 * the hand-over lists. It is never held while calling the receiver's ops,
 * libcurl, or waiting for the loop.
 */
#ifndef GFS_INFORMER_PRIVATE_H
#define GFS_INFORMER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "gfs_informer.h"
#include "gfs_kube.h"
#include "kube_private.h"

#define GFS_BACKOFF_MIN_MS 500u
#define GFS_BACKOFF_MAX_MS 30000u

/* One list-and-watch state machine: one resource in one namespace (or
 * all). Between transfers it waits (wake_ms); a transfer is a list page
 * or a watch on its own conn's easy handle, performed by the loop. */
struct gfs_informer {
	struct gfs_informers *set;   /* borrowed, outlives us */
	struct gfs_resource res;     /* immutable copy */
	char *ns;                    /* immutable; NULL: all namespaces */
	char *base;                  /* immutable: "/api/v1/namespaces/ns/pods" */
	atomic_bool stop;            /* set by the discoverer or stop */
	struct gfs_informer *next;   /* set->informers or a retired chain;
				      * guarded by set->lock */
	struct gfs_informer *handed; /* set->pending; guarded by set->lock */

	/* Guarded by set->lock (read by wait_synced): */
	bool synced;          /* the first list completed */
	char last_error[300]; /* the last failure, "" once synced */
	bool out_of_fds;      /* the last failure was EMFILE */

	/* Owned by the loop thread: */
	struct gfs_informer *driven;  /* the loop's list */
	bool in_multi;                /* conn->curl is in the multi handle */
	int64_t wake_ms;              /* not in_multi: when to go on */
	struct gfs_kube_watch *watch; /* the transfer in flight, or NULL */
	struct gfs_kube_list *list;   /* ... or this one */
	char *path;                   /* of the transfer in flight */
	char *cont;                   /* a paged list's next continue token */
	unsigned list_restarts;       /* expired continue tokens in a row */
	int64_t watch_t0;             /* when the watch in flight began */
	struct gfs_kube_conn *conn;
	char *rv;                /* where the next watch resumes; NULL: list first */
	bool unhealthy;          /* what health() last said */
	unsigned backoff_ms;     /* the last back-off; 0 after a success */
	unsigned seed;           /* rand_r state for jitter */
	unsigned events;         /* events seen by the current watch */
	bool watch_open;         /* the current watch answered 200 */
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
	pthread_cond_t synced_cond;        /* broadcast (with lock) when one syncs,
					    * or the loop retired a chain */
	struct gfs_informer *informers;    /* guarded by lock; changed only by
					    * start, the discoverer thread and stop */
	struct gfs_resource_list *watched; /* guarded by lock: their resources */

	/* The event loop (loop.c): */
	CURLM *multi; /* the loop thread's; curl_multi_wakeup from any */
	pthread_t looper;
	bool looper_started;
	/* Guarded by lock: informers started and not yet taken by the loop
	 * (linked by handed); a chain to retire (linked by next) and the
	 * count of chains asked for and retired. */
	struct gfs_informer *pending;
	struct gfs_informer *retiring;
	unsigned retire_asked, retire_done;
	bool loop_done; /* the loop thread halted everything and ended */
	/* Written by the loop after each round, for status: */
	atomic_uint watches_open;

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
/* Frees an informer the loop no longer drives (or never did). */
void gfs_informer_free(struct gfs_informer *inf);

/* ---- informer.c, called on the loop thread only ---- */

/* inf's wait is over (wake_ms passed): starts its next transfer. True
 * when conn->curl is to be added to the multi handle; false when it
 * waits again (wake_ms set, e.g. a back-off). */
bool gfs_informer_step(struct gfs_informer *inf);
/* inf's transfer ended with cc (its handle is out of the multi already).
 * The same answer as gfs_informer_step for what comes next. */
bool gfs_informer_done(struct gfs_informer *inf, CURLcode cc);
/* About once a second while a transfer is in flight: true when it should
 * end now (stop, refresh, a silent connection, stalled initial events);
 * the loop then takes it out and calls gfs_informer_done. */
bool gfs_informer_tick(struct gfs_informer *inf);
/* Whether inf's transfer is in the multi handle and not answered yet
 * (connecting, or waiting for the server). */
bool gfs_informer_starting(const struct gfs_informer *inf);
/* Whether inf has a watch open (answered 200). */
bool gfs_informer_watching(const struct gfs_informer *inf);
/* Ends whatever inf was doing (its handle out of the multi already) and
 * closes its conn: it will not call the receiver again. */
void gfs_informer_halt(struct gfs_informer *inf);

/* ---- loop.c ---- */

/* Starts the loop thread (with set->multi). */
int gfs_loop_start(struct gfs_informers *set);
/* Wakes the loop: new informers are pending, a chain is to retire, a
 * refresh or stop was asked. Any thread. */
void gfs_loop_wake(struct gfs_informers *set);
/* Stops every informer of the chain (linked by next, already out of
 * set->informers), waits until the loop has halted them, frees them. */
void gfs_loop_retire(struct gfs_informers *set, struct gfs_informer *chain);
/* After set->stop: joins the loop thread (which halts every informer it
 * drives) and frees the multi handle. */
void gfs_loop_stop(struct gfs_informers *set);

#endif
