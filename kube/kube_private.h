/*
 * kube_private.h - what the files of kube/ share with each other (and
 * with their unit tests) and with nobody else: the exec credential plugin
 * runner, helpers for secrets and files, the connection struct that
 * client.c and watch.c both drive, watch hooks, and discovery's list of
 * groups that did not answer.
 *
 * Private to kube/ (hence not gfs_*.h): the public contract is gfs_kube.h,
 * gfs_kubeconfig.h and gfs_informer.h.
 */
#ifndef GFS_KUBE_PRIVATE_H
#define GFS_KUBE_PRIVATE_H

#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "gfs_common.h"
#include "gfs_kube.h"
#include "gfs_kubeconfig.h"
#include "gfs_strv.h"

/* ---- exec credential plugins (exec_credential.c) ------------------------ */

/* What one run of an exec plugin gave us. Secrets: wiped on release. */
struct gfs_exec_cred {
	char *token;    /* status.token, or NULL */
	char *cert_pem; /* status.clientCertificateData, or NULL */
	size_t cert_len;
	char *key_pem; /* status.clientKeyData, or NULL */
	size_t key_len;
	int64_t expiry_ns; /* status.expirationTimestamp; 0: never expires */
};

/* Runs the plugin (stdin /dev/null, its env plus KUBERNETES_EXEC_INFO),
 * waits at most GFS_EXEC_TIMEOUT_MS and parses its ExecCredential.
 * `user` only names the kubeconfig user in messages. On failure *out is
 * untouched and the per-thread error says what went wrong (the plugin's
 * stderr, never its stdout, which may hold a credential). */
int gfs_exec_cred_run(struct gfs_exec_cred *out, const struct gfs_kube_exec *exec,
		      const char *user);
void gfs_exec_cred_release(struct gfs_exec_cred *c);
/* Parses the ExecCredential a plugin printed; `command` only names it in
 * messages. Same contract as gfs_exec_cred_run. */
int gfs_exec_cred_parse(struct gfs_exec_cred *out, const char *json, size_t len,
			const char *want_api_version, const char *command);
/* "2024-05-01T10:00:00Z" (RFC 3339, fraction and offset allowed) to ns
 * since the epoch; -EINVAL when malformed. A time int64 nanoseconds
 * cannot hold (before 1678, after 2262: "9999-12-31T23:59:59Z" is a
 * plugin's "no expiry") gives INT64_MIN or INT64_MAX. */
int gfs_rfc3339_parse(int64_t *out_ns, const char *s);

#define GFS_EXEC_TIMEOUT_MS 60000
#define GFS_EXEC_MAX_OUTPUT (1u << 20)

/* Overwrites then frees a secret (len 0: strlen); NULL-safe. */
void gfs_secret_free(char *s, size_t len);
/* Reads a whole file of at most `limit` bytes into *out (NUL-terminated,
 * the caller frees). Returns 0 or -errno (-EFBIG when too big); sets no
 * message: callers know what the file was for. */
int gfs_kube_file_read(char **out, size_t *len, const char *path, size_t limit);

/* ---- connections (client.c, watch.c) ------------------------------------ */

/* One thread's connection. Everything is owned by that thread; only
 * *stop is written by others. */
struct gfs_kube_conn {
	struct gfs_kube_client *client; /* borrowed, outlives the conn */
	CURL *curl;                     /* keeps the connection alive between requests */
	struct curl_slist *headers;     /* of the current transfer; wiped (token) */
	char errbuf[CURL_ERROR_SIZE];
	struct gfs_buf body;          /* the current response, GFS_KUBE_MAX_BODY */
	bool body_overflow;           /* the answer was larger than body.limit */
	const atomic_bool *stop;      /* gfs_kube_conn_set_stop; may be NULL */
	const atomic_bool *xfer_stop; /* the current watch's stop; may be NULL */
	int64_t last_rx_ms;           /* monotonic time bytes last arrived */
	int64_t idle_limit_ms;        /* abort after this long without bytes; 0: never */
	bool idle_expired;            /* the transfer ended because of idle_limit_ms */
	int (*tick)(void *payload);   /* the current watch's tick hook, or NULL */
	void *tick_payload;
	bool tick_ended;  /* the transfer ended because tick said so */
	bool multiplexed; /* driven by a multi handle: HTTP/2 where offered */
	int socket_errno; /* why our socket callback refused, 0 if it did not */
	bool answered;    /* the current list or watch has its answer's status */
	/* gfs_kube_conn_wakeable: drives this conn's blocking transfers so
	 * that gfs_kube_conn_wake can cut their wait short. NULL: plain
	 * curl_easy_perform. Set before the conn is shared; then fixed. */
	CURLM *multi;
};

/* Descriptors a connection must leave free for the rest of the process
 * (FUSE, files, Git): a socket that would take one of them is refused,
 * with EMFILE and a message naming the limit. */
#define GFS_KUBE_FD_RESERVE 64

/* A begin/end pair's "perform the transfer again": the credential was
 * renewed after a 401 and the handle is set up for a second attempt. */
#define GFS_KUBE_AGAIN 1

/* True when the transfer on conn should end now: a stop flag, a silent
 * connection (idle_limit_ms) or the watch's tick hook (each sets its flag
 * for the end function to read). What libcurl's progress callback checks
 * in curl_easy_perform; an event loop calls it about once a second. */
bool gfs_kube_conn_should_end(struct gfs_kube_conn *conn);

/* The errno behind a failed connection: our socket callback's refusal,
 * else CURLINFO_OS_ERRNO. */
long gfs_kube_conn_os_errno(const struct gfs_kube_conn *conn);

/* Marks conn's list or watch answered and records the HTTP version of
 * the answer (multiplexed conns only), for gfs_kube_transport_get.
 * Called when the answer starts. */
void gfs_kube_transport_saw(struct gfs_kube_conn *conn);

/* Extra hooks of gfs_kube_watch_ex, both optional, both called on the
 * watching thread with the watch's payload. */
struct gfs_watch_hooks {
	/* The server accepted the watch (200): the stream is open. */
	void (*opened)(void *payload);
	/* About once a second (more often while data flows); non-zero ends
	 * the watch, which then returns 0. Used to coalesce bursts. */
	int (*tick)(void *payload);
};

/* One watch transfer, split for an event loop: begin sets up conn->curl
 * (path, cb, payload, stop and hooks are borrowed until end); the caller
 * performs it (curl_easy_perform, or a multi handle) and passes its
 * result to end, which returns what gfs_kube_watch would, or
 * GFS_KUBE_AGAIN: perform the same handle again. Otherwise the watch is
 * freed. */
struct gfs_kube_watch;
int gfs_kube_watch_begin(struct gfs_kube_watch **out, struct gfs_kube_conn *conn,
			 const char *path, gfs_watch_cb cb, void *payload,
			 const atomic_bool *stop, const struct gfs_watch_hooks *hooks);
int gfs_kube_watch_end(struct gfs_kube_watch *w, CURLcode cc);

/* gfs_kube_watch with hooks (may be NULL). */
int gfs_kube_watch_ex(struct gfs_kube_conn *conn, const char *path, gfs_watch_cb cb,
		      void *payload, const atomic_bool *stop,
		      const struct gfs_watch_hooks *hooks);

/* Makes every later request or watch on conn end within about a second
 * of *stop becoming true (-ECANCELED for a request, 0 for a watch).
 * `stop` is borrowed and must outlive the conn; NULL removes it. */
void gfs_kube_conn_set_stop(struct gfs_kube_conn *conn, const atomic_bool *stop);

/* ... and within milliseconds when the stopper calls gfs_kube_conn_wake
 * after setting *stop. libcurl notices a stop only in its progress
 * callback, about once a second on an idle transfer: a wakeable conn
 * performs through a multi handle of its own, whose poll another thread
 * can wake (curl_multi_wakeup, the one libcurl call meant for that).
 * Call after set_stop, before the conn is used. */
int gfs_kube_conn_wakeable(struct gfs_kube_conn *conn);
/* Any thread; a no-op for a conn that is not wakeable. */
void gfs_kube_conn_wake(struct gfs_kube_conn *conn);

/* curl_easy_perform of conn's prepared transfer, wakeable as above. */
CURLcode gfs_kube_conn_perform(struct gfs_kube_conn *conn);

/* Transport-level result of curl_easy_perform to -errno, with a message
 * naming the server and what to check. The one mapping for CURLcode;
 * os_errno is CURLINFO_OS_ERRNO (0 if unknown). */
int gfs_kube_curl_errno(CURLcode code, const char *server, const char *errbuf,
			long os_errno);

/* Prepares conn's easy handle for one transfer of `method` `path` (URL,
 * TLS, credentials, headers, timeouts; the response goes to conn->body).
 * `watch` drops the low-speed timeout. *auth_gen receives the generation
 * of the exec credential used, for gfs_kube_client_auth_failed. */
int gfs_kube_conn_prepare(struct gfs_kube_conn *conn, const char *method,
			  const char *path, const char *content_type, bool watch,
			  unsigned *auth_gen);
/* Marks conn as driven by a multi handle (the informers' event loop): its
 * transfers ask for HTTP/2 and wait to share a connection. */
void gfs_kube_conn_multiplex(struct gfs_kube_conn *conn);
/* True when the current transfer was aborted because a stop flag was set. */
bool gfs_kube_conn_stopping(const struct gfs_kube_conn *conn);

/* After a 401: forget the exec credential of generation `gen` so that the
 * next prepare runs the plugin again. Returns true when the client has an
 * exec plugin, i.e. when one retry may help. */
bool gfs_kube_client_auth_failed(struct gfs_kube_client *c, unsigned gen);

/* Sets the per-thread error for a non-2xx answer and returns its errno:
 * "GET /path: 409 Conflict: <Status message>", plus a hint for 401. */
int gfs_kube_status_error(const struct gfs_kube_conn *conn, const char *method,
			  const char *path, long status, const json_t *body);

/* ---- lists decoded as they arrive (list.c) -------------------------------- */

/* Called for each item of a list page, in order; `item` is borrowed for
 * the call. A negative return ends the list with that error. */
typedef int (*gfs_list_item_cb)(json_t *item, void *payload);

/* The splitter behind gfs_kube_list_page, on its own for tests: fed the
 * bytes of a list document in chunks of any size, it hands each object of
 * the top-level "items" array to cb as soon as it is complete and keeps
 * the rest (the envelope, "items" left empty). Holds at most one item
 * (GFS_KUBE_MAX_EVENT) and an envelope of 1 MiB; more is -EFBIG. */
struct gfs_list_split {
	gfs_list_item_cb cb;
	void *payload;
	struct gfs_buf item;     /* the item being collected */
	struct gfs_buf envelope; /* everything outside "items" */
	size_t items;            /* handed over so far */
	int depth;               /* open containers */
	bool in_string, escape;
	bool expect_key;    /* a string at depth 1 now would be a key */
	bool capturing_key; /* the current string is such a key */
	bool key_is_items;  /* the last key at depth 1 was "items" */
	bool items_seen, in_items, in_item;
	char key[8];
	size_t key_len;
};

void gfs_list_split_init(struct gfs_list_split *sp, gfs_list_item_cb cb, void *payload);
/* Returns 0 or -errno (-EFBIG, -EPROTO for JSON it cannot follow, or
 * what cb returned) with the per-thread error set. */
int gfs_list_split_feed(struct gfs_list_split *sp, const char *p, size_t n);
/* After the last byte: the envelope as a new reference in *envelope, or
 * -EPROTO when the document is incomplete or not an object. */
int gfs_list_split_finish(struct gfs_list_split *sp, json_t **envelope);
void gfs_list_split_release(struct gfs_list_split *sp);

/* GETs one page of a list (`path` with its limit/continue query) and
 * hands each item to cb as it arrives; *envelope gets the rest of the
 * page (metadata.continue, metadata.resourceVersion). Memory is bounded
 * by one item however large the page, even when the server ignores
 * `limit`. Errors as gfs_kube_request's; items already handed over stay
 * handed over. */
int gfs_kube_list_page(struct gfs_kube_conn *conn, json_t **envelope, const char *path,
		       gfs_list_item_cb cb, void *payload);

/* gfs_kube_list_page split for an event loop, as gfs_kube_watch_begin
 * and _end: end gives the envelope (or an error), or GFS_KUBE_AGAIN. */
struct gfs_kube_list;
int gfs_kube_list_begin(struct gfs_kube_list **out, struct gfs_kube_conn *conn,
			const char *path, gfs_list_item_cb cb, void *payload);
int gfs_kube_list_end(struct gfs_kube_list *x, CURLcode cc, json_t **envelope);

/* ---- discovery (discovery.c) -------------------------------------------- */

/* gfs_discovery_run, also giving the names of the API groups that did
 * not answer, wholly or at one of their versions (a string vector,
 * gfs_strv.h, the caller's; NULL when every group answered), so that
 * rediscovery keeps their informers instead of treating them as gone. */
int gfs_discovery_run_ex(struct gfs_resource_list **out, char ***failed_groups,
			 struct gfs_kube_conn *conn);

#endif
