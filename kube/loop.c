/*
 * loop.c - the one thread that drives every informer: a single libcurl
 * multi handle performs all their lists and watches. Over HTTP/2 (ALPN
 * h2, as kube-apiserver offers) they share a connection, or a few when
 * the server caps the streams per connection; over HTTP/1.1 each watch
 * needs a connection of its own (the protocol has no other way), and
 * nothing else: no thread, no second descriptor. The receiver's ops are
 * called on this thread, from libcurl's write callbacks.
 *
 * Each round: take the informers started or to retire (set->pending,
 * set->retiring), step those whose wait is over, let libcurl move data,
 * finish the transfers that ended, and about once a second ask every
 * transfer in flight whether it should end (a stop, a refresh, a silent
 * connection, a streaming list that stalled). Then sleep in
 * curl_multi_poll until a socket is ready, a timer is due, or another
 * thread calls gfs_loop_wake.
 *
 * Blocking here blocks every informer. What can: the receiver's ops
 * (they take the store's locks briefly), and running an exec credential
 * plugin when the token expired (gfs_kube_conn_prepare; once per expiry,
 * at most GFS_EXEC_TIMEOUT_MS).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "gfs_common.h"
#include "informer_private.h"

#define LOOP_TICK_MS 1000
/* Transfers started and not answered yet, at most: the rest wait their
 * turn. Before the server's SETTINGS arrive libcurl assumes an HTTP/2
 * connection takes 100 streams and opens another for the next ones; a
 * thousand informers starting at once would so open dozens of
 * connections (and over HTTP/1.1 a thousand TLS handshakes at once).
 * Started in waves, they all find the first connection with its real
 * limit. */
#define LOOP_MAX_STARTING 64
#define LOOP_HELD_MS      20
/* Streams we are willing to open on one HTTP/2 connection (libcurl's
 * default is 100): as many as the server allows. Its
 * SETTINGS_MAX_CONCURRENT_STREAMS is the real cap, and libcurl opens
 * another connection past it. */
#define LOOP_MAX_STREAMS 100000L

/* The loop thread's own state. */
struct loop {
	struct gfs_informers *set;
	struct gfs_informer *driven; /* linked by driven */
	int64_t next_tick;
};

static void loop_finish(struct loop *l, struct gfs_informer *inf, CURLcode cc);

/* Hands inf's prepared transfer to libcurl. */
static void loop_add(struct loop *l, struct gfs_informer *inf)
{
	CURL *curl = inf->conn->curl;
	curl_easy_setopt(curl, CURLOPT_PRIVATE, inf);
	CURLMcode mc = curl_multi_add_handle(l->set->multi, curl);
	if (mc == CURLM_OK) {
		inf->in_multi = true;
		return;
	}
	/* Only out of memory, in practice: the transfer fails and the
	 * informer backs off like after any failure. */
	gfs_debug("%s: curl_multi_add_handle: %s", inf->base, curl_multi_strerror(mc));
	if (gfs_informer_done(inf, CURLE_OUT_OF_MEMORY))
		loop_add(l, inf);
}

static void loop_finish(struct loop *l, struct gfs_informer *inf, CURLcode cc)
{
	curl_multi_remove_handle(l->set->multi, inf->conn->curl);
	inf->in_multi = false;
	if (gfs_informer_done(inf, cc))
		loop_add(l, inf);
}

static void loop_unlink(struct loop *l, struct gfs_informer *inf)
{
	for (struct gfs_informer **pp = &l->driven; *pp; pp = &(*pp)->driven) {
		if (*pp == inf) {
			*pp = inf->driven;
			inf->driven = NULL;
			return;
		}
	}
}

/* Stops an informer for good: out of the multi, its conn closed. */
static void loop_halt(struct loop *l, struct gfs_informer *inf)
{
	if (inf->in_multi) {
		curl_multi_remove_handle(l->set->multi, inf->conn->curl);
		inf->in_multi = false;
	}
	gfs_informer_halt(inf);
}

/* Takes what other threads handed over: new informers to drive, and a
 * chain to retire (halted, then the waiter in gfs_loop_retire is told). */
static void loop_take(struct loop *l)
{
	struct gfs_informers *set = l->set;
	pthread_mutex_lock(&set->lock);
	struct gfs_informer *fresh = set->pending, *retire = set->retiring;
	unsigned asked = set->retire_asked;
	set->pending = set->retiring = NULL;
	pthread_mutex_unlock(&set->lock);
	while (fresh) {
		struct gfs_informer *next = fresh->handed;
		fresh->handed = NULL;
		fresh->driven = l->driven;
		fresh->wake_ms = 0;
		l->driven = fresh;
		fresh = next;
	}
	if (asked == set->retire_done)
		return;
	for (struct gfs_informer *inf = retire; inf; inf = inf->next) {
		loop_unlink(l, inf);
		loop_halt(l, inf);
	}
	pthread_mutex_lock(&set->lock);
	set->retire_done = asked;
	pthread_cond_broadcast(&set->synced_cond);
	pthread_mutex_unlock(&set->lock);
}

/* Finishes the transfers libcurl reports done. */
static void loop_reap(struct loop *l)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(l->set->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is gone once its handle leaves the multi: copy first. */
		CURLcode cc = msg->data.result;
		char *p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		loop_finish(l, (struct gfs_informer *)(void *)p, cc);
	}
}

/* About once a second: transfers that should end are taken out, as if
 * libcurl's progress callback had aborted them. */
static void loop_tick(struct loop *l, int64_t now)
{
	if (now < l->next_tick)
		return;
	l->next_tick = now + LOOP_TICK_MS;
	for (struct gfs_informer *inf = l->driven; inf; inf = inf->driven)
		if (inf->in_multi && gfs_informer_tick(inf))
			loop_finish(l, inf, CURLE_ABORTED_BY_CALLBACK);
}

/* One round; returns how long the loop may sleep (ms). */
static long loop_round(struct loop *l)
{
	struct gfs_informers *set = l->set;
	int64_t now = gfs_monotonic_ms();
	int running = 0;
	unsigned starting = 0;
	bool held = false;
	loop_take(l);
	for (struct gfs_informer *inf = l->driven; inf; inf = inf->driven)
		starting += gfs_informer_starting(inf);
	for (struct gfs_informer *inf = l->driven; inf; inf = inf->driven) {
		if (inf->in_multi || inf->wake_ms > now)
			continue;
		if (starting >= LOOP_MAX_STARTING) {
			held = true; /* its turn comes when answers arrive */
			continue;
		}
		if (gfs_informer_step(inf)) {
			loop_add(l, inf);
			starting++;
		}
	}
	curl_multi_perform(set->multi, &running);
	loop_reap(l);
	now = gfs_monotonic_ms();
	loop_tick(l, now);

	int64_t wake = l->next_tick;
	unsigned watching = 0;
	for (struct gfs_informer *inf = l->driven; inf; inf = inf->driven) {
		watching += gfs_informer_watching(inf);
		if (!inf->in_multi && inf->wake_ms < wake && !held)
			wake = inf->wake_ms;
	}
	/* Held informers wait for answers, which wake the poll; a short
	 * timeout covers answers that came during this round. */
	if (held && wake > now + LOOP_HELD_MS)
		wake = now + LOOP_HELD_MS;
	atomic_store(&set->watches_open, watching);
	long curl_ms = -1;
	curl_multi_timeout(set->multi, &curl_ms);
	long ms = wake > now ? (long)(wake - now) : 0;
	return curl_ms >= 0 && curl_ms < ms ? curl_ms : ms;
}

static void *loop_main(void *p)
{
	struct loop l = {.set = p};
	struct gfs_informers *set = l.set;
	l.next_tick = gfs_monotonic_ms() + LOOP_TICK_MS;
	while (!atomic_load(&set->stop)) {
		long ms = loop_round(&l);
		if (!atomic_load(&set->stop))
			curl_multi_poll(set->multi, NULL, 0, (int)ms, NULL);
	}
	/* Halt everything, including what was handed over meanwhile; a
	 * retirer still waiting is released by loop_done. */
	loop_take(&l);
	while (l.driven) {
		struct gfs_informer *inf = l.driven;
		l.driven = inf->driven;
		inf->driven = NULL;
		loop_halt(&l, inf);
	}
	pthread_mutex_lock(&set->lock);
	set->loop_done = true;
	pthread_cond_broadcast(&set->synced_cond);
	pthread_mutex_unlock(&set->lock);
	return NULL;
}

int gfs_loop_start(struct gfs_informers *set)
{
	set->multi = curl_multi_init();
	if (!set->multi)
		return gfs_error_set(-ENOMEM, "cannot create a libcurl multi handle");
	curl_multi_setopt(set->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(set->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, LOOP_MAX_STREAMS);
	int err = pthread_create(&set->looper, NULL, loop_main, set);
	if (err)
		return gfs_error_set(-err, "cannot start the watch thread: %s",
				     strerror(err));
	set->looper_started = true;
	return 0;
}

void gfs_loop_wake(struct gfs_informers *set)
{
	if (set->multi)
		curl_multi_wakeup(set->multi);
}

void gfs_loop_retire(struct gfs_informers *set, struct gfs_informer *chain)
{
	if (!chain)
		return;
	pthread_mutex_lock(&set->lock);
	for (struct gfs_informer *i = chain; i; i = i->next)
		atomic_store(&i->stop, true);
	/* Those the loop has not taken yet it never will. */
	for (struct gfs_informer **pp = &set->pending; *pp;) {
		bool retired = false;
		for (struct gfs_informer *i = chain; i && !retired; i = i->next)
			retired = i == *pp;
		if (retired)
			*pp = (*pp)->handed;
		else
			pp = &(*pp)->handed;
	}
	/* Only the discoverer retires, one chain at a time. */
	set->retiring = chain;
	unsigned mine = ++set->retire_asked;
	pthread_mutex_unlock(&set->lock);
	gfs_loop_wake(set);
	pthread_mutex_lock(&set->lock);
	while (set->looper_started && !set->loop_done && set->retire_done != mine)
		pthread_cond_wait(&set->synced_cond, &set->lock);
	if (set->retiring == chain)
		set->retiring = NULL; /* the loop ended before taking it */
	pthread_mutex_unlock(&set->lock);
	while (chain) {
		struct gfs_informer *next = chain->next;
		gfs_informer_halt(chain); /* a no-op unless the loop never ran it */
		gfs_informer_free(chain);
		chain = next;
	}
}

void gfs_loop_stop(struct gfs_informers *set)
{
	gfs_loop_wake(set);
	if (set->looper_started)
		pthread_join(set->looper, NULL);
	if (set->multi)
		curl_multi_cleanup(set->multi);
	set->multi = NULL;
	set->looper_started = false;
}
