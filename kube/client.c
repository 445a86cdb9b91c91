/*
 * client.c - requests to the API server with libcurl: TLS and credentials
 * from the kubeconfig, one easy handle per thread (so keep-alive and TLS
 * sessions are reused), bodies bounded by GFS_KUBE_MAX_BODY, and the one
 * place where HTTP statuses and CURLcodes become errno values.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_kube.h"
#include "gfs_metrics.h"
#include "kube_private.h"

#ifndef GFS_VERSION
#define GFS_VERSION "0.0.0"
#endif

#define KUBE_CONNECT_TIMEOUT_MS 5000L
/* A normal request that moves no byte for this long is dead. A big list
 * can take the server a while to start sending, hence not shorter. */
#define KUBE_LOW_SPEED_SECONDS 60L
/* Retry-After, as client-go honours it: a few tries, each wait capped,
 * and all of them within a budget a person at a write can bear. */
#define KUBE_RETRY_MAX       5
#define KUBE_RETRY_WAIT_MAX  5000
#define KUBE_RETRY_BUDGET_MS 10000
#define KUBE_TOKEN_FILE_MAX  (1u << 20)
/* An exec credential is renewed this long before it expires. */
#define KUBE_EXEC_MARGIN_NS (10LL * 1000000000)

struct gfs_kube_client {
	/* Immutable after gfs_kube_client_new. */
	char *server;   /* as configured, for messages */
	char *url_base; /* server, with its host replaced by tls_server_name */
	struct curl_slist *connect_to; /* "tlsname:port:host:port" or NULL */
	char *host_header;             /* "Host: host:port" when connect_to is set */
	char *user;                    /* kubeconfig user name, for messages */
	bool insecure;
	char *ca_pem;
	size_t ca_len;
	char *cert_pem;
	size_t cert_len;
	char *key_pem; /* secret */
	size_t key_len;
	char *token; /* secret */
	char *token_file;
	struct gfs_kube_exec exec; /* exec.command NULL: no plugin */
	char user_agent[64];

	/* Guards the credential caches below. Never held while the exec
	 * plugin runs (up to 60 s): one thread runs it with `refreshing` set
	 * and the lock released; the others that need a credential meanwhile
	 * wait on `refreshed` for its result (single flight). Taken last:
	 * nothing else is locked while it is held. */
	pthread_mutex_t lock;
	pthread_cond_t refreshed;       /* broadcast when a plugin run ends */
	bool refreshing;                /* a thread is running the plugin */
	char *file_token;               /* last token read from token_file (secret) */
	struct stat file_stat;          /* token_file's identity when it was read */
	struct gfs_exec_cred exec_cred; /* valid when exec_valid */
	bool exec_valid;
	unsigned exec_gen; /* bumped whenever exec_cred is dropped */
};

/* What one transfer authenticates with: copies, wiped after use. */
struct kube_auth {
	char *token;
	char *cert;
	size_t cert_len;
	char *key;
	size_t key_len;
	unsigned gen;
};

/* ---- error mapping -------------------------------------------------------- */

int gfs_kube_errno(long http_status, const char *reason)
{
	if (http_status >= 200 && http_status < 300)
		return 0;
	switch (http_status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return reason && strcmp(reason, "AlreadyExists") == 0 ? -EEXIST : -EBUSY;
	case 410:
		return -ESTALE;
	case 413:
		return -EFBIG;
	case 429:
		return -EAGAIN;
	}
	if (http_status >= 500)
		return -EIO;
	if (http_status >= 400)
		return -EINVAL;
	return -EPROTO; /* 1xx/3xx: we follow no redirects */
}

static const char *kube_status_text(long status)
{
	static const struct {
		long code;
		const char *text;
	} texts[] = {
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {406, "Not Acceptable"},
	    {409, "Conflict"},
	    {410, "Gone"},
	    {413, "Request Entity Too Large"},
	    {415, "Unsupported Media Type"},
	    {422, "Unprocessable Entity"},
	    {429, "Too Many Requests"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	for (size_t i = 0; i < GFS_ARRAY_SIZE(texts); i++)
		if (texts[i].code == status)
			return texts[i].text;
	return "HTTP error";
}

int gfs_kube_status_error(const struct gfs_kube_conn *conn, const char *method,
			  const char *path, long status, const json_t *body)
{
	const char *reason = json_string_value(json_object_get(body, "reason"));
	const char *msg = json_string_value(json_object_get(body, "message"));
	int plen = (int)strcspn(path, "?"); /* continue tokens are noise */
	int err = gfs_kube_errno(status, reason);
	const char *hint = "";
	if (status == 401)
		hint = "; the server rejected the credentials (expired token? "
		       "check the user in the kubeconfig)";
	return gfs_error_set(err, "%s %.*s: %ld %s%s%s%s", method, plen, path, status,
			     kube_status_text(status), msg ? ": " : "", msg ? msg : "",
			     hint);
}

int gfs_kube_curl_errno(CURLcode code, const char *server, const char *errbuf,
			long os_errno)
{
	const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(code);
	if (os_errno == EMFILE || os_errno == ENFILE) {
		/* Say which limit, and the two ways out: a descriptor per
		 * connection is what HTTP/1.1 costs for every watch. */
		struct rlimit lim = {0};
		(void)getrlimit(RLIMIT_NOFILE, &lim);
		if (os_errno == ENFILE)
			return gfs_error_set(-EMFILE,
					     "cannot open a connection to %s: the system "
					     "is out of file descriptors (fs.file-max)",
					     server);
		return gfs_error_set(
		    -EMFILE,
		    "cannot open a connection to %s: the process is at its limit of "
		    "%llu open file descriptors (ulimit -n; %d are kept for files "
		    "and Git); raise the limit (ulimit -n, LimitNOFILE= in a systemd "
		    "unit) or reach the API server over HTTP/2, which carries every "
		    "watch on one connection",
		    server, (unsigned long long)lim.rlim_cur, GFS_KUBE_FD_RESERVE);
	}
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		/* The system's reason says it best ("Connection refused"). */
		if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
			return gfs_error_set(-EHOSTUNREACH, "cannot reach %s: %s", server,
					     strerror((int)os_errno));
		if (os_errno == ETIMEDOUT)
			return gfs_error_set(-ETIMEDOUT, "cannot reach %s: %s", server,
					     strerror((int)os_errno));
		return gfs_error_set(-ECONNREFUSED, "cannot reach %s: %s", server,
				     os_errno ? strerror((int)os_errno) : detail);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return gfs_error_set(-EHOSTUNREACH,
				     "cannot reach %s: %s; check the "
				     "server name in the kubeconfig",
				     server, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return gfs_error_set(-ETIMEDOUT, "%s: timed out: %s", server, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return gfs_error_set(-EPROTO,
				     "TLS with %s: the server's certificate "
				     "is not trusted: %s; check certificate-"
				     "authority(-data) and tls-server-name in the "
				     "kubeconfig",
				     server, detail);
	case CURLE_SSL_CERTPROBLEM:
		return gfs_error_set(-EPROTO,
				     "TLS with %s: bad client certificate: "
				     "%s; check client-certificate and client-key in "
				     "the kubeconfig",
				     server, detail);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_USE_SSL_FAILED:
		return gfs_error_set(-EPROTO, "TLS with %s failed: %s", server, detail);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return gfs_error_set(-ECONNRESET, "connection to %s lost: %s", server,
				     detail);
	case CURLE_WEIRD_SERVER_REPLY:
		return gfs_error_set(-EPROTO,
				     "%s answered something that is not "
				     "HTTP: %s (http:// for an https server?)",
				     server, detail);
	case CURLE_ABORTED_BY_CALLBACK:
		return gfs_error_set(-ECANCELED, "request to %s cancelled", server);
	case CURLE_OUT_OF_MEMORY:
		return gfs_error_set(-ENOMEM, "out of memory");
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return gfs_error_set(-EINVAL,
				     "server URL %s is not valid: %s; fix "
				     "clusters[].cluster.server",
				     server, detail);
	default:
		return gfs_error_set(-EIO, "request to %s failed: %s", server, detail);
	}
}

/* ---- the client ------------------------------------------------------------- */

static char *kube_mem_dup(const char *p, size_t len)
{
	if (!p)
		return NULL;
	char *r = malloc(len + 1);
	if (r) {
		memcpy(r, p, len);
		r[len] = '\0';
	}
	return r;
}

/* With tls-server-name, we connect to the configured host but speak TLS
 * (SNI and certificate check) for the other name: libcurl does that when
 * the URL carries that name and CONNECT_TO maps it to the real address. */
static int kube_client_tls_name(struct gfs_kube_client *c, const char *tls_name)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *url = NULL, *entry = NULL;
	int rc = -EINVAL;
	if (!u)
		return gfs_error_set(-ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, c->server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, tls_name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		rc = gfs_error_set(-EINVAL,
				   "server URL %s or tls-server-name %s is "
				   "not valid",
				   c->server, tls_name);
		goto out;
	}
	free(c->url_base);
	c->url_base = strdup(url);
	if (!c->url_base ||
	    asprintf(&entry, "%s:%s:%s:%s", tls_name, port, host, port) < 0 ||
	    !(c->connect_to = curl_slist_append(NULL, entry)) ||
	    asprintf(&c->host_header, "Host: %s:%s", host, port) < 0) {
		c->host_header = NULL;
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto out;
	}
	size_t n = strlen(c->url_base);
	while (n > 0 && c->url_base[n - 1] == '/')
		c->url_base[--n] = '\0';
	rc = 0;
out:
	free(entry);
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

static int kube_client_copy(struct gfs_kube_client *c, const struct gfs_kube_creds *cr)
{
	c->server = strdup(cr->server);
	c->url_base = strdup(cr->server);
	c->user = gfs_strdup(cr->user ? cr->user : "");
	c->insecure = cr->insecure;
	c->ca_pem = kube_mem_dup(cr->ca_pem, cr->ca_pem_len);
	c->ca_len = cr->ca_pem_len;
	c->cert_pem = kube_mem_dup(cr->cert_pem, cr->cert_pem_len);
	c->cert_len = cr->cert_pem_len;
	c->key_pem = kube_mem_dup(cr->key_pem, cr->key_pem_len);
	c->key_len = cr->key_pem_len;
	c->token = gfs_strdup(cr->token);
	c->token_file = gfs_strdup(cr->token_file);
	if (!c->server || !c->url_base || !c->user || (cr->ca_pem && !c->ca_pem) ||
	    (cr->cert_pem && !c->cert_pem) || (cr->key_pem && !c->key_pem) ||
	    (cr->token && !c->token) || (cr->token_file && !c->token_file))
		return gfs_error_set(-ENOMEM, "out of memory");
	if (cr->exec.command) {
		c->exec.command = strdup(cr->exec.command);
		c->exec.api_version = strdup(cr->exec.api_version);
		if (!c->exec.command || !c->exec.api_version ||
		    gfs_strv_dup(&c->exec.args, (const char *const *)cr->exec.args) < 0 ||
		    gfs_strv_dup(&c->exec.env, (const char *const *)cr->exec.env) < 0)
			return gfs_error_set(-ENOMEM, "out of memory");
	}
	if (cr->tls_server_name)
		return kube_client_tls_name(c, cr->tls_server_name);
	return 0;
}

int gfs_kube_client_new(struct gfs_kube_client **out, const struct gfs_kube_creds *creds)
{
	int rc = gfs_global_curl_init();
	if (rc < 0)
		return rc;
	if (!creds || !creds->server)
		return gfs_error_set(-EINVAL, "no API server URL configured");
	struct gfs_kube_client *c = calloc(1, sizeof(*c));
	if (!c)
		return gfs_error_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	rc = gfs_cond_init_monotonic(&c->refreshed);
	if (rc < 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return gfs_error_set(rc, "cannot create a condition variable");
	}
	snprintf(c->user_agent, sizeof(c->user_agent), "gitopsfs/%s", GFS_VERSION);
	rc = kube_client_copy(c, creds);
	if (rc < 0) {
		gfs_kube_client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void gfs_kube_client_free(struct gfs_kube_client *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->url_base);
	curl_slist_free_all(c->connect_to);
	free(c->host_header);
	free(c->user);
	free(c->ca_pem);
	free(c->cert_pem);
	gfs_secret_free(c->key_pem, c->key_len);
	gfs_secret_free(c->token, 0);
	free(c->token_file);
	free(c->exec.command);
	free(c->exec.api_version);
	gfs_strv_free_secret(c->exec.args); /* env may carry secrets */
	gfs_strv_free_secret(c->exec.env);
	gfs_secret_free(c->file_token, 0);
	gfs_exec_cred_release(&c->exec_cred);
	pthread_cond_destroy(&c->refreshed);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const char *gfs_kube_client_server(const struct gfs_kube_client *c)
{
	return c->server;
}

/* ---- credentials of one transfer -------------------------------------------- */

static void kube_auth_release(struct kube_auth *a)
{
	gfs_secret_free(a->token, 0);
	free(a->cert);
	gfs_secret_free(a->key, a->key_len);
	memset(a, 0, sizeof(*a));
}

/* Re-reads token_file when it changed (rotated service account tokens).
 * Called with c->lock held. A read failure keeps the last good token. */
static int kube_token_file_refresh(struct gfs_kube_client *c)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	if (stat(c->token_file, &st) == 0 && c->file_token &&
	    st.st_ino == c->file_stat.st_ino && st.st_size == c->file_stat.st_size &&
	    st.st_mtim.tv_sec == c->file_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == c->file_stat.st_mtim.tv_nsec)
		return 0;
	int rc = gfs_kube_file_read(&data, &len, c->token_file, KUBE_TOKEN_FILE_MAX);
	if (rc < 0) {
		if (c->file_token)
			return 0;
		return gfs_error_set(rc == -EFBIG ? -EACCES : rc,
				     "token file %s: "
				     "%s",
				     c->token_file, strerror(-rc));
	}
	while (len > 0 && strchr(" \t\r\n", data[len - 1]))
		data[--len] = '\0';
	gfs_secret_free(c->file_token, 0);
	c->file_token = data;
	c->file_stat = st;
	return 0;
}

static bool kube_exec_fresh(const struct gfs_kube_client *c)
{
	return c->exec_valid &&
	       (c->exec_cred.expiry_ns == 0 ||
		/* Saturated expiries (year 9999 = "never") must not overflow:
		 * now + margin stays far from INT64_MAX. */
		gfs_now_ns() + KUBE_EXEC_MARGIN_NS < c->exec_cred.expiry_ns);
}

/* Runs the exec plugin when there is no credential or it (nearly)
 * expired. Called with c->lock held, which it releases while the plugin
 * runs: a thread that finds another one running it waits for that run
 * instead of starting its own; if that run failed, it tries itself (and
 * reports its own error). */
static int kube_exec_refresh(struct gfs_kube_client *c)
{
	while (!kube_exec_fresh(c) && c->refreshing)
		pthread_cond_wait(&c->refreshed, &c->lock);
	if (kube_exec_fresh(c))
		return 0;
	struct gfs_exec_cred fresh = {0};
	c->refreshing = true;
	pthread_mutex_unlock(&c->lock);
	int rc = gfs_exec_cred_run(&fresh, &c->exec, c->user);
	pthread_mutex_lock(&c->lock);
	c->refreshing = false;
	pthread_cond_broadcast(&c->refreshed);
	if (rc < 0)
		return rc;
	gfs_exec_cred_release(&c->exec_cred);
	c->exec_cred = fresh;
	c->exec_valid = true;
	c->exec_gen++;
	return 0;
}

static int kube_auth_get(struct gfs_kube_client *c, struct kube_auth *a)
{
	const char *token = c->token, *cert = c->cert_pem, *key = c->key_pem;
	size_t cert_len = c->cert_len, key_len = c->key_len;
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	/* First, as it may release the lock while the plugin runs: what is
	 * read below is read in one hold of the lock. */
	if (c->exec.command)
		rc = kube_exec_refresh(c);
	if (rc == 0 && c->token_file) {
		rc = kube_token_file_refresh(c);
		if (rc < 0 && token)
			rc = 0; /* the static token is the fallback */
		else if (rc == 0)
			token = c->file_token;
	}
	if (rc == 0 && c->exec.command) {
		if (c->exec_cred.token)
			token = c->exec_cred.token;
		if (c->exec_cred.cert_pem) {
			cert = c->exec_cred.cert_pem;
			cert_len = c->exec_cred.cert_len;
			key = c->exec_cred.key_pem;
			key_len = c->exec_cred.key_len;
		}
	}
	if (rc == 0) {
		a->gen = c->exec_gen;
		a->token = gfs_strdup(token);
		a->cert = kube_mem_dup(cert, cert_len);
		a->cert_len = cert_len;
		a->key = kube_mem_dup(key, key_len);
		a->key_len = key_len;
		if ((token && !a->token) || (cert && !a->cert) || (key && !a->key))
			rc = gfs_error_set(-ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

bool gfs_kube_client_auth_failed(struct gfs_kube_client *c, unsigned gen)
{
	if (!c->exec.command)
		return false;
	pthread_mutex_lock(&c->lock);
	if (c->exec_valid && c->exec_gen == gen) {
		gfs_exec_cred_release(&c->exec_cred);
		c->exec_valid = false;
		c->exec_gen++;
	}
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* ---- connections -------------------------------------------------------------- */

int gfs_kube_conn_open(struct gfs_kube_conn **out, struct gfs_kube_client *c)
{
	struct gfs_kube_conn *conn = calloc(1, sizeof(*conn));
	if (!conn)
		return gfs_error_set(-ENOMEM, "out of memory");
	conn->client = c;
	gfs_buf_init(&conn->body, GFS_KUBE_MAX_BODY);
	conn->curl = curl_easy_init();
	if (!conn->curl) {
		free(conn);
		return gfs_error_set(-ENOMEM, "cannot create a libcurl handle");
	}
	*out = conn;
	return 0;
}

/* Frees the header list, wiping the Authorization line first. */
static void kube_headers_free(struct gfs_kube_conn *conn)
{
	for (struct curl_slist *h = conn->headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(conn->headers);
	conn->headers = NULL;
}

void gfs_kube_conn_close(struct gfs_kube_conn *conn)
{
	if (!conn)
		return;
	curl_easy_cleanup(conn->curl);
	if (conn->multi)
		curl_multi_cleanup(conn->multi);
	kube_headers_free(conn);
	gfs_buf_release(&conn->body);
	free(conn);
}

void gfs_kube_conn_set_stop(struct gfs_kube_conn *conn, const atomic_bool *stop)
{
	conn->stop = stop;
}

int gfs_kube_conn_wakeable(struct gfs_kube_conn *conn)
{
	if (!conn->multi && !(conn->multi = curl_multi_init()))
		return gfs_error_set(-ENOMEM, "cannot create a libcurl multi handle");
	return 0;
}

void gfs_kube_conn_wake(struct gfs_kube_conn *conn)
{
	if (conn && conn->multi)
		curl_multi_wakeup(conn->multi);
}

CURLcode gfs_kube_conn_perform(struct gfs_kube_conn *conn)
{
	if (!conn->multi || curl_multi_add_handle(conn->multi, conn->curl) != CURLM_OK)
		return curl_easy_perform(conn->curl);
	/* What curl_easy_perform does, but for the poll a stopper can wake.
	 * The progress callback (kube_xferinfo) still runs from
	 * curl_multi_perform and ends the transfer as before. */
	CURLcode cc = CURLE_OK;
	for (bool done = false; !done;) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(conn->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(conn->multi, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == conn->curl) {
				cc = msg->data.result;
				done = true;
			}
		if (done)
			break;
		if (mc != CURLM_OK) {
			cc = CURLE_OUT_OF_MEMORY; /* the multi handle itself failed */
			break;
		}
		if (gfs_kube_conn_stopping(conn)) {
			cc =
			    CURLE_ABORTED_BY_CALLBACK; /* as the callback would, sooner */
			break;
		}
		/* libcurl shortens the wait to its own next timer. */
		curl_multi_poll(conn->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(conn->multi, conn->curl);
	return cc;
}

void gfs_kube_conn_multiplex(struct gfs_kube_conn *conn)
{
	conn->multiplexed = true;
}

bool gfs_kube_conn_stopping(const struct gfs_kube_conn *conn)
{
	return (conn->stop && atomic_load(conn->stop)) ||
	       (conn->xfer_stop && atomic_load(conn->xfer_stop));
}

bool gfs_kube_conn_should_end(struct gfs_kube_conn *conn)
{
	if (gfs_kube_conn_stopping(conn))
		return true;
	if (conn->idle_limit_ms &&
	    gfs_monotonic_ms() - conn->last_rx_ms > conn->idle_limit_ms) {
		conn->idle_expired = true;
		return true;
	}
	if (conn->tick && conn->tick(conn->tick_payload)) {
		conn->tick_ended = true;
		return true;
	}
	return false;
}

/* Called by libcurl at least about once a second, even when idle: the
 * place to notice a stop request or a silent connection. */
static int kube_xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow,
			 curl_off_t ultotal, curl_off_t ulnow)
{
	return gfs_kube_conn_should_end(p);
}

/* ---- sockets: counted, and never the last descriptors ------------------------ */

/* Connections to the API server open now (every conn of the process). */
static atomic_uint kube_sockets;
/* The HTTP version of the latest answer to a multiplexed conn: 0 none yet,
 * else CURL_HTTP_VERSION_1_1 or _2_0. */
static atomic_int kube_http_version;

static curl_socket_t kube_open_socket(void *p, curlsocktype purpose,
				      struct curl_sockaddr *addr)
{
	struct gfs_kube_conn *conn = p;
	struct rlimit lim;
	int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd < 0) {
		conn->socket_errno = errno;
		return CURL_SOCKET_BAD;
	}
	/* Descriptors are handed out lowest first: one this high means
	 * fewer than the reserve are left for the mount's files and Git. */
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)fd + GFS_KUBE_FD_RESERVE >= lim.rlim_cur) {
		close(fd);
		conn->socket_errno = EMFILE;
		return CURL_SOCKET_BAD;
	}
	atomic_fetch_add(&kube_sockets, 1);
	return fd;
}

static int kube_close_socket(void *p, curl_socket_t fd)
{
	atomic_fetch_sub(&kube_sockets, 1);
	return close(fd);
}

void gfs_kube_transport_get(struct gfs_kube_transport *out)
{
	int v = atomic_load(&kube_http_version);
	out->connections = atomic_load(&kube_sockets);
	out->http = v == CURL_HTTP_VERSION_2_0 ? "2" : v ? "1.1" : NULL;
}

void gfs_kube_transport_saw(struct gfs_kube_conn *conn)
{
	long v = 0;
	conn->answered = true;
	if (conn->multiplexed &&
	    curl_easy_getinfo(conn->curl, CURLINFO_HTTP_VERSION, &v) == CURLE_OK && v)
		atomic_store(&kube_http_version, (int)v);
}

long gfs_kube_conn_os_errno(const struct gfs_kube_conn *conn)
{
	long os_errno = 0;
	if (conn->socket_errno)
		return conn->socket_errno;
	curl_easy_getinfo(conn->curl, CURLINFO_OS_ERRNO, &os_errno);
	return os_errno;
}

static size_t kube_body_write(char *ptr, size_t size, size_t n, void *p)
{
	struct gfs_kube_conn *conn = p;
	conn->last_rx_ms = gfs_monotonic_ms();
	gfs_metrics_api_bytes(size * n, 0);
	if (gfs_buf_add(&conn->body, ptr, size * n) < 0) {
		conn->body_overflow = true;
		return 0;
	}
	return size * n;
}

static int kube_headers_build(struct gfs_kube_conn *conn, const struct kube_auth *a,
			      const char *content_type)
{
	struct gfs_kube_client *c = conn->client;
	char *auth = NULL;
	struct curl_slist *h = NULL;
	int rc = 0;
	kube_headers_free(conn);
	h = curl_slist_append(h, "Accept: application/json");
	/* No "Expect: 100-continue" round trip before bodies. */
	h = h ? curl_slist_append(h, "Expect:") : NULL;
	if (h && c->host_header)
		h = curl_slist_append(h, c->host_header);
	if (h && content_type) {
		char ct[256];
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		h = curl_slist_append(h, ct);
	}
	if (h && a->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", a->token) < 0)
			auth = NULL;
		h = auth ? curl_slist_append(h, auth) : NULL;
		gfs_secret_free(auth, 0);
	}
	if (!h)
		rc = gfs_error_set(-ENOMEM, "out of memory");
	conn->headers = h;
	return rc;
}

static void kube_tls_setup(CURL *curl, const struct gfs_kube_client *c,
			   const struct kube_auth *a)
{
	if (c->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca_pem) {
		/* Only the cluster's CA is trusted, as client-go does. */
		struct curl_blob ca = {c->ca_pem, c->ca_len, CURL_BLOB_COPY};
		curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (a->cert && a->key) {
		struct curl_blob cert = {a->cert, a->cert_len, CURL_BLOB_COPY};
		struct curl_blob key = {a->key, a->key_len, CURL_BLOB_COPY};
		curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
	}
}

static void kube_method_setup(CURL *curl, const char *method)
{
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
}

int gfs_kube_conn_prepare(struct gfs_kube_conn *conn, const char *method,
			  const char *path, const char *content_type, bool watch,
			  unsigned *auth_gen)
{
	struct gfs_kube_client *c = conn->client;
	struct kube_auth a = {0};
	CURL *curl = conn->curl;
	char *url = NULL;
	int rc = kube_auth_get(c, &a);
	if (rc < 0)
		goto out;
	rc = kube_headers_build(conn, &a, content_type);
	if (rc < 0 || asprintf(&url, "%s%s", c->url_base, path) < 0) {
		url = NULL;
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto out;
	}
	/* reset keeps the live connection and the TLS session cache. */
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (conn->multiplexed) {
		/* HTTP/2 where the server offers it (ALPN h2, as kube-apiserver
		 * does): every transfer of the multi handle then shares one
		 * connection. PIPEWAIT makes a transfer that starts while the
		 * first connection is still being set up wait to learn whether
		 * it can share it, instead of opening its own. */
		curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
				 (long)CURL_HTTP_VERSION_2TLS);
		curl_easy_setopt(curl, CURLOPT_PIPEWAIT, 1L);
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	}
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, kube_open_socket);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, conn);
	curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, kube_close_socket);
	curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, NULL);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, conn->headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, conn->errbuf);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, KUBE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 10L);
	if (!watch) {
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, KUBE_LOW_SPEED_SECONDS);
	}
	/* curl does not copy lists: the client's is immutable and outlives us. */
	if (c->connect_to)
		curl_easy_setopt(curl, CURLOPT_CONNECT_TO, c->connect_to);
	kube_tls_setup(curl, c, &a);
	kube_method_setup(curl, method);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, kube_xferinfo);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, conn);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, kube_body_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, conn);
	gfs_buf_reset(&conn->body);
	conn->body_overflow = false;
	conn->errbuf[0] = '\0';
	conn->socket_errno = 0;
	conn->answered = false;
	conn->xfer_stop = NULL;
	conn->idle_limit_ms = 0;
	conn->idle_expired = false;
	conn->tick = NULL;
	conn->tick_payload = NULL;
	conn->tick_ended = false;
	conn->last_rx_ms = gfs_monotonic_ms();
	*auth_gen = a.gen;
out:
	free(url);
	kube_auth_release(&a);
	return rc;
}

/* ---- requests ------------------------------------------------------------------ */

static void kube_body_setup(CURL *curl, const char *method, const char *body, size_t len)
{
	if (!body && strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0)
		body = ""; /* POST/PUT/PATCH always carry a body, maybe empty */
	if (!body)
		return;
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
}

/* One attempt. Returns the transport result as -errno (the HTTP status
 * is judged by the caller). */
static int kube_perform(struct gfs_kube_conn *conn, long *status, const char *method,
			const char *path)
{
	CURLcode cc = gfs_kube_conn_perform(conn);
	curl_off_t sent = 0;
	*status = 0;
	curl_easy_getinfo(conn->curl, CURLINFO_RESPONSE_CODE, status);
	gfs_metrics_api_request(method, *status);
	if (curl_easy_getinfo(conn->curl, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK &&
	    sent > 0)
		gfs_metrics_api_bytes(0, (size_t)sent);
	if (cc == CURLE_OK)
		return 0;
	int plen = (int)strcspn(path, "?");
	if (conn->body_overflow)
		return gfs_error_set(-EFBIG,
				     "%s %.*s: the answer is larger than "
				     "%u MiB",
				     method, plen, path, GFS_KUBE_MAX_BODY >> 20);
	if (cc == CURLE_ABORTED_BY_CALLBACK && gfs_kube_conn_stopping(conn))
		return gfs_error_set(-ECANCELED, "%s %.*s: cancelled (stopping)", method,
				     plen, path);
	return gfs_kube_curl_errno(cc, conn->client->server, conn->errbuf,
				   gfs_kube_conn_os_errno(conn));
}

/* Should an answer be tried again, after the wait it asks for? As
 * client-go does: a 429 (the server did not carry the request out,
 * whatever its verb) or, for a read, a 5xx, that carries Retry-After
 * seconds. Waits here (a stop request cuts the wait short) and adds the
 * wait to *waited_ms. */
static bool kube_retry_after(struct gfs_kube_conn *conn, const char *method, long code,
			     int attempt, int64_t *waited_ms)
{
	struct curl_header *h = NULL;
	if (attempt >= KUBE_RETRY_MAX ||
	    (code != 429 && !(code >= 500 && strcmp(method, "GET") == 0)) ||
	    curl_easy_header(conn->curl, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
		CURLHE_OK)
		return false;
	char *end = NULL;
	long secs = strtol(h->value, &end, 10);
	if (end == h->value || secs < 0)
		return false; /* an HTTP date: not what an API server sends */
	int64_t ms =
	    secs > KUBE_RETRY_WAIT_MAX / 1000 ? KUBE_RETRY_WAIT_MAX : secs * 1000;
	if (ms == 0)
		ms = 100;
	if (*waited_ms + ms > KUBE_RETRY_BUDGET_MS)
		return false;
	*waited_ms += ms;
	gfs_debug("%s: %ld, retrying after %lld ms as the server asks", method, code,
		  (long long)ms);
	for (int64_t end_ms = gfs_monotonic_ms() + ms; gfs_monotonic_ms() < end_ms;) {
		if (conn->stop && atomic_load(conn->stop))
			return false;
		struct timespec nap = {0, 50 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
	return true;
}

int gfs_kube_request(struct gfs_kube_conn *conn, json_t **out, long *status,
		     const char *method, const char *path, const char *content_type,
		     const char *body, size_t body_len)
{
	long code = 0;
	unsigned gen = 0;
	json_t *doc = NULL;
	int64_t waited_ms = 0;
	int rc;
	if (out)
		*out = NULL;
	for (int attempt = 0;; attempt++) {
		rc = gfs_kube_conn_prepare(conn, method, path, content_type, false, &gen);
		if (rc < 0)
			goto out;
		kube_body_setup(conn->curl, method, body, body_len);
		rc = kube_perform(conn, &code, method, path);
		if (rc < 0)
			goto out;
		/* A rejected exec credential may just have been revoked early:
		 * run the plugin again once, as client-go does. */
		if (code == 401 && attempt == 0 &&
		    gfs_kube_client_auth_failed(conn->client, gen))
			continue;
		if (kube_retry_after(conn, method, code, attempt, &waited_ms))
			continue;
		break;
	}
	gfs_debug("%s %.*s: %ld", method, (int)strcspn(path, "?"), path, code);
	if (conn->body.len)
		doc = json_loadb(conn->body.data, conn->body.len, 0, NULL);
	rc = code >= 200 && code < 300
		 ? 0
		 : gfs_kube_status_error(conn, method, path, code, doc);
	if (out) {
		*out = doc;
		doc = NULL;
	}
out:
	if (status)
		*status = code;
	json_decref(doc);
	/* Keep the memory of an ordinary answer, not of a huge list. */
	if (conn->body.cap > (1u << 20))
		gfs_buf_release(&conn->body);
	return rc;
}
