/*
 * server.c - /metrics, /healthz and /readyz over HTTP, served by
 * libmicrohttpd from its own thread (one thread, poll-based: a scrape
 * every few seconds needs no pool).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gfs_metrics.h"
#include "metrics_internal.h"

/* Big enough for thousands of resources' samples; a limit all the same. */
#define GFS_METRICS_MAX_BODY (16u << 20)

struct gfs_metrics_server {
	struct MHD_Daemon *mhd;
};

/* ---- the address ------------------------------------------------------------------- */

struct gfs_addr_parts {
	char host[256];
	char port[8];
};

/* HOST:PORT or [V6]:PORT into parts; -EINVAL with the reason otherwise. */
static int gfs_addr_split(struct gfs_addr_parts *p, const char *addr)
{
	const char *colon, *host = addr;
	size_t hlen;
	memset(p, 0, sizeof(*p));
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			goto bad;
		host = addr + 1;
		hlen = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			goto implicit;
		if (memchr(addr, ':', (size_t)(colon - addr)))
			goto bad; /* a bare IPv6 address needs brackets */
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0 || (hlen == 1 && host[0] == '*'))
		goto implicit;
	if (hlen >= sizeof(p->host))
		goto bad;
	memcpy(p->host, host, hlen);
	const char *port = colon + 1;
	char *end;
	unsigned long n = strtoul(port, &end, 10);
	if (!port[0] || *end || n == 0 || n > 65535)
		return gfs_error_set(
		    -EINVAL,
		    "--metrics-addr %s: the port must be a number from 1 "
		    "to 65535",
		    addr);
	snprintf(p->port, sizeof(p->port), "%lu", n);
	return 0;
implicit:
	return gfs_error_set(
	    -EINVAL,
	    "--metrics-addr %s: give the host to listen on: 127.0.0.1:PORT for this "
	    "machine only, or 0.0.0.0:PORT (or a host's address) to expose metrics on "
	    "the network on purpose; an address without a host is refused because it "
	    "would listen on every interface",
	    addr);
bad:
	return gfs_error_set(-EINVAL,
			     "--metrics-addr %s: expected HOST:PORT, e.g. 127.0.0.1:9100 "
			     "or [::1]:9100",
			     addr);
}

int gfs_metrics_addr_check(const char *addr)
{
	struct gfs_addr_parts p;
	return gfs_addr_split(&p, addr);
}

/* ---- the requests ------------------------------------------------------------------ */

static enum MHD_Result gfs_reply(struct MHD_Connection *conn, unsigned status,
				 const char *type, char *body, size_t len,
				 enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result gfs_text(struct MHD_Connection *conn, unsigned status,
				const char *text)
{
	return gfs_reply(conn, status, "text/plain; charset=utf-8", (char *)text,
			 strlen(text), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result gfs_serve_metrics(struct MHD_Connection *conn)
{
	struct gfs_buf b = GFS_BUF_INIT(GFS_METRICS_MAX_BODY);
	if (gfs_metrics_render(&b) < 0) {
		gfs_buf_release(&b);
		return gfs_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				"metrics: out of memory or too many samples\n");
	}
	size_t len = 0;
	char *body = gfs_buf_detach(&b, &len);
	if (!body)
		return MHD_NO;
	return gfs_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
			 body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result gfs_metrics_handler(void *cls, struct MHD_Connection *conn,
					   const char *url, const char *method,
					   const char *version, const char *upload_data,
					   size_t *upload_data_size, void **con_cls)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return gfs_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (*upload_data_size)
		return MHD_NO; /* a GET with a body: drop the connection */
	if (strcmp(url, "/metrics") == 0)
		return gfs_serve_metrics(conn);
	if (strcmp(url, "/healthz") == 0)
		return gfs_text(conn, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/readyz") == 0)
		return gfs_metrics_ready()
			   ? gfs_text(conn, MHD_HTTP_OK, "ready\n")
			   : gfs_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      "not ready: the first list (and, with --sync, the "
				      "first sync round) is not done yet\n");
	return gfs_text(conn, MHD_HTTP_NOT_FOUND,
			"not found: try /metrics, /healthz or /readyz\n");
}

/* ---- start and stop --------------------------------------------------------------- */

int gfs_metrics_server_start(struct gfs_metrics_server **out, const char *addr)
{
	struct gfs_addr_parts p;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
			*ai = NULL;
	*out = NULL;
	int rc = gfs_addr_split(&p, addr);
	if (rc < 0)
		return rc;
	int gai = getaddrinfo(p.host, p.port, &hints, &ai);
	if (gai != 0)
		return gfs_error_set(-EINVAL, "--metrics-addr %s: cannot resolve %s: %s",
				     addr, p.host, gai_strerror(gai));
	struct gfs_metrics_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	/* The first address the host resolves to (localhost: 127.0.0.1 or ::1). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, gfs_metrics_handler, NULL,
				    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				    MHD_OPTION_CONNECTION_LIMIT, 16u,
				    MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!srv->mhd) {
		int err = errno ? errno : EADDRINUSE;
		free(srv);
		return gfs_error_set(-err,
				     "--metrics-addr %s: cannot listen there (%s); is "
				     "another process using the port, or is the address "
				     "not this machine's?",
				     addr, strerror(err));
	}
	gfs_metrics_mark_started();
	gfs_info("metrics: serving /metrics, /healthz and /readyz on http://%s", addr);
	*out = srv;
	return 0;
}

void gfs_metrics_server_stop(struct gfs_metrics_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
