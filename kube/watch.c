/*
 * watch.c - streams a watch: one JSON event per line, each handed to the
 * caller as it arrives.
 *
 * The write callback splits the stream into lines (each at most
 * GFS_KUBE_MAX_EVENT bytes) and parses them one by one, so memory stays
 * bounded however long the watch runs. A non-200 answer is not a stream
 * but a Status: it is collected and mapped like any other answer. The stop
 * flag and a silent connection are noticed in the progress callback,
 * which libcurl calls about once a second even when nothing arrives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_kube.h"
#include "gfs_metrics.h"
#include "kube_private.h"

/* A watch that receives nothing at all (not even a bookmark) for this
 * long is considered dead even if TCP keepalive did not notice. Our
 * watches ask for timeoutSeconds well below this. */
#define WATCH_IDLE_LIMIT_MS  (15 * 60 * 1000)
#define WATCH_MAX_ERROR_BODY (1u << 20)

struct gfs_kube_watch {
	struct gfs_kube_conn *conn;
	const char *path; /* borrowed from the caller of begin */
	gfs_watch_cb cb;
	void *payload;
	const atomic_bool *stop;             /* may be NULL */
	const struct gfs_watch_hooks *hooks; /* may be NULL */
	unsigned gen;                        /* of the credential used */
	int attempts;                        /* 401 retries so far */
	struct gfs_buf line;                 /* the incomplete last line */
	long status;                         /* HTTP status, once known */
	int rc;                              /* why a callback aborted the transfer */
	bool cb_ended;                       /* the caller's cb asked to end the watch */
	bool counted;                        /* in the request metrics already */
};

static int watch_type(const char *type, enum gfs_watch_event *out)
{
	static const struct {
		const char *name;
		enum gfs_watch_event type;
	} types[] = {
	    {"ADDED", GFS_WATCH_ADDED},
	    {"MODIFIED", GFS_WATCH_MODIFIED},
	    {"DELETED", GFS_WATCH_DELETED},
	    {"BOOKMARK", GFS_WATCH_BOOKMARK},
	};
	for (size_t i = 0; i < GFS_ARRAY_SIZE(types); i++) {
		if (strcmp(type, types[i].name) == 0) {
			*out = types[i].type;
			return 0;
		}
	}
	return -1;
}

/* An ERROR event carries a Status; 410 (Expired/Gone) means the
 * resourceVersion we resumed from is too old. */
static int watch_error_event(struct gfs_kube_watch *w, const json_t *status)
{
	long code = (long)json_integer_value(json_object_get(status, "code"));
	const char *reason = json_string_value(json_object_get(status, "reason"));
	const char *msg = json_string_value(json_object_get(status, "message"));
	int plen = (int)strcspn(w->path, "?");
	int err = code == 410 || (reason && (strcmp(reason, "Expired") == 0 ||
					     strcmp(reason, "Gone") == 0))
		      ? -ESTALE
		      : gfs_kube_errno(code ? code : 500, reason);
	return gfs_error_set(err, "watch %.*s: ERROR event %ld %s: %s", plen, w->path,
			     code, reason ? reason : "", msg ? msg : "(no message)");
}

/* Handles one complete line. Returns 0 to go on, 1 when the caller ended
 * the watch, or -errno. */
static int watch_line(struct gfs_kube_watch *w, const char *line, size_t len)
{
	enum gfs_watch_event type;
	int rc = 0;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *t = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int plen = (int)strcspn(w->path, "?");
	if (!t || !json_is_object(obj)) {
		rc = gfs_error_set(-EPROTO,
				   "watch %.*s: malformed event from the "
				   "server",
				   plen, w->path);
	} else if (strcmp(t, "ERROR") == 0) {
		rc = watch_error_event(w, obj);
	} else if (watch_type(t, &type) < 0) {
		gfs_debug("watch %.*s: ignoring event type %s", plen, w->path, t);
	} else if (w->cb(type, obj, w->payload) != 0) {
		rc = 1;
	}
	json_decref(ev);
	return rc;
}

/* Feeds a chunk of the stream: complete lines are handled straight from
 * the chunk, the incomplete rest waits in w->line. */
static int watch_feed(struct gfs_kube_watch *w, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		if (w->line.len + seg > GFS_KUBE_MAX_EVENT)
			return gfs_error_set(-EFBIG,
					     "watch %.*s: an event is larger "
					     "than %u MiB",
					     (int)strcspn(w->path, "?"), w->path,
					     GFS_KUBE_MAX_EVENT >> 20);
		if (!nl)
			return gfs_buf_add(&w->line, p, seg);
		int rc;
		if (w->line.len) {
			rc = gfs_buf_add(&w->line, p, seg);
			if (rc == 0)
				rc = watch_line(w, w->line.data, w->line.len);
			gfs_buf_reset(&w->line);
		} else {
			rc = watch_line(w, p, seg);
		}
		if (rc != 0)
			return rc;
		p += seg + 1;
		n -= seg + 1;
	}
	return 0;
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *payload)
{
	struct gfs_kube_watch *w = payload;
	size_t n = size * nmemb;
	w->conn->last_rx_ms = gfs_monotonic_ms();
	gfs_metrics_api_bytes(n, 0);
	if (!w->status) {
		curl_easy_getinfo(w->conn->curl, CURLINFO_RESPONSE_CODE, &w->status);
		gfs_kube_transport_saw(w->conn);
		if (w->status == 200 && w->hooks && w->hooks->opened)
			w->hooks->opened(w->payload);
		/* Counted once it answers: a watch may stay open for minutes
		 * (a streaming list goes on as one). */
		gfs_metrics_api_request("WATCH", w->status);
		w->counted = true;
	}
	if (w->status != 200) {
		/* A Status document, not a stream; a huge one is cut short. */
		(void)gfs_buf_add(&w->conn->body, ptr, n);
		return n;
	}
	int rc = watch_feed(w, ptr, n);
	if (rc == 0)
		return n;
	if (rc == 1)
		w->cb_ended = true;
	else
		w->rc = rc;
	return 0; /* aborts the transfer */
}

/* The result of one watch transfer that got an answer or failed. */
static int watch_finish(struct gfs_kube_watch *w, CURLcode cc)
{
	struct gfs_kube_conn *conn = w->conn;
	int plen = (int)strcspn(w->path, "?");
	if (w->cb_ended)
		return 0;
	if (w->rc < 0)
		return w->rc;
	if (cc == CURLE_ABORTED_BY_CALLBACK && conn->idle_expired)
		return gfs_error_set(-ETIMEDOUT,
				     "watch %.*s: nothing received for "
				     "%d s",
				     plen, w->path, WATCH_IDLE_LIMIT_MS / 1000);
	if (cc == CURLE_ABORTED_BY_CALLBACK &&
	    (conn->tick_ended || gfs_kube_conn_stopping(conn)))
		return 0;
	if (w->status && w->status != 200) {
		json_t *doc = json_loadb(conn->body.data, conn->body.len, 0, NULL);
		int rc = gfs_kube_status_error(conn, "GET", w->path, w->status, doc);
		json_decref(doc);
		return rc;
	}
	if (cc != CURLE_OK) {
		return gfs_kube_curl_errno(cc, gfs_kube_client_server(conn->client),
					   conn->errbuf, gfs_kube_conn_os_errno(conn));
	}
	/* The server ended the stream; a last line without '\n' still counts. */
	if (w->line.len) {
		int rc = watch_line(w, w->line.data, w->line.len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Sets up conn's handle for (another attempt at) the watch. */
static int watch_prepare(struct gfs_kube_watch *w)
{
	struct gfs_kube_conn *conn = w->conn;
	int rc = gfs_kube_conn_prepare(conn, "GET", w->path, NULL, true, &w->gen);
	if (rc < 0)
		return rc;
	conn->xfer_stop = w->stop;
	conn->idle_limit_ms = WATCH_IDLE_LIMIT_MS;
	conn->body.limit = WATCH_MAX_ERROR_BODY;
	conn->tick = w->hooks ? w->hooks->tick : NULL;
	conn->tick_payload = w->payload;
	curl_easy_setopt(conn->curl, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(conn->curl, CURLOPT_WRITEDATA, w);
	w->status = 0;
	w->counted = false;
	return 0;
}

/* Gives conn back as gfs_kube_conn_prepare expects it, and frees w. */
static void watch_free(struct gfs_kube_watch *w)
{
	struct gfs_kube_conn *conn = w->conn;
	conn->body.limit = GFS_KUBE_MAX_BODY;
	conn->xfer_stop = NULL;
	conn->idle_limit_ms = 0;
	conn->tick = NULL;
	gfs_buf_release(&w->line);
	free(w);
}

int gfs_kube_watch_begin(struct gfs_kube_watch **out, struct gfs_kube_conn *conn,
			 const char *path, gfs_watch_cb cb, void *payload,
			 const atomic_bool *stop, const struct gfs_watch_hooks *hooks)
{
	struct gfs_kube_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return gfs_error_set(-ENOMEM, "out of memory");
	*w = (struct gfs_kube_watch){.conn = conn,
				     .path = path,
				     .cb = cb,
				     .payload = payload,
				     .stop = stop,
				     .hooks = hooks};
	gfs_buf_init(&w->line, GFS_KUBE_MAX_EVENT);
	int rc = watch_prepare(w);
	if (rc < 0) {
		watch_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int gfs_kube_watch_end(struct gfs_kube_watch *w, CURLcode cc)
{
	struct gfs_kube_conn *conn = w->conn;
	int rc;
	if (!w->status)
		curl_easy_getinfo(conn->curl, CURLINFO_RESPONSE_CODE, &w->status);
	if (!w->counted)
		gfs_metrics_api_request("WATCH", w->status);
	/* As for requests: a rejected exec credential is renewed once. */
	if (w->status == 401 && w->attempts++ == 0 &&
	    gfs_kube_client_auth_failed(conn->client, w->gen)) {
		gfs_buf_reset(&conn->body);
		rc = watch_prepare(w);
		if (rc == 0)
			return GFS_KUBE_AGAIN;
	} else {
		rc = watch_finish(w, cc);
	}
	watch_free(w);
	return rc;
}

int gfs_kube_watch(struct gfs_kube_conn *conn, const char *path, gfs_watch_cb cb,
		   void *payload, const atomic_bool *stop)
{
	return gfs_kube_watch_ex(conn, path, cb, payload, stop, NULL);
}

int gfs_kube_watch_ex(struct gfs_kube_conn *conn, const char *path, gfs_watch_cb cb,
		      void *payload, const atomic_bool *stop,
		      const struct gfs_watch_hooks *hooks)
{
	struct gfs_kube_watch *w;
	int rc = gfs_kube_watch_begin(&w, conn, path, cb, payload, stop, hooks);
	if (rc < 0)
		return rc;
	do
		rc = gfs_kube_watch_end(w, gfs_kube_conn_perform(conn));
	while (rc == GFS_KUBE_AGAIN);
	return rc;
}
