/*
 * gitcred.c - Git credentials for the origin only (gfs_gitcred.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_gitcred.h"
#include "gfs_knownhosts.h"

/* A token or key is asked for a few times when the origin rejects it;
 * then the operation fails instead of looping. */
#define GITCRED_MAX_ASKS 3

/* ---- where libgit2 is connected ------------------------------------------------ */

/* The last connection libgit2 opened on this thread: libgit2 asks for
 * credentials on the thread that makes the request, right after the
 * answer that asked for them. */
static _Thread_local struct {
	bool valid;
	char host[256];
	unsigned port;
} gitcred_conn;

static unsigned gitcred_port(const char *s)
{
	char *end = NULL;
	unsigned long p = s && *s ? strtoul(s, &end, 10) : 0;
	if (end && *end == '\0' && p > 0 && p < 65536)
		return (unsigned)p;
	struct servent *se = s ? getservbyname(s, "tcp") : NULL;
	return se ? ntohs((uint16_t)se->s_port) : 0;
}

void gfs_gitcred_note_connection(const char *host, const char *port)
{
	gitcred_conn.valid = host != NULL;
	snprintf(gitcred_conn.host, sizeof(gitcred_conn.host), "%s", host ? host : "");
	gitcred_conn.port = gitcred_port(port);
}

/* ---- the recording socket stream ------------------------------------------------ */

/* A plain TCP stream, as libgit2's own; TLS (libgit2's) runs on top of
 * it. libgit2's ssh transport takes the socket out of the stream it gets
 * by casting it to its internal git_socket_stream {parent, host, port, s}
 * (libgit2 1.5 src/libgit2/transports/ssh.c) and hands that descriptor to
 * libssh2: this struct has exactly that layout, so ssh works through it
 * too (its connect still goes through us). */
struct gitcred_stream {
	git_stream parent;
	char *host;
	char *port;
	int fd; /* libgit2's GIT_SOCKET on Unix */
};
_Static_assert(offsetof(struct gitcred_stream, fd) ==
		   sizeof(git_stream) + 2 * sizeof(char *),
	       "the layout of libgit2's git_socket_stream");

static int gitcred_stream_connect(git_stream *s)
{
	struct gitcred_stream *st = (struct gitcred_stream *)s;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(st->host, st->port, &hints, &res);
	if (rc != 0) {
		git_error_set(GIT_ERROR_NET, "failed to resolve address for %s: %s",
			      st->host, gai_strerror(rc));
		return -1;
	}
	int err = 0;
	for (struct addrinfo *a = res; a && st->fd < 0; a = a->ai_next) {
		int fd =
		    socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			st->fd = fd;
			break;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (st->fd < 0) {
		git_error_set(GIT_ERROR_NET, "failed to connect to %s: %s", st->host,
			      strerror(err ? err : ECONNREFUSED));
		return -1;
	}
	gfs_gitcred_note_connection(st->host, st->port);
	return 0;
}

static ssize_t gitcred_stream_read(git_stream *s, void *data, size_t len)
{
	struct gitcred_stream *st = (struct gitcred_stream *)s;
	ssize_t n;
	do
		n = recv(st->fd, data, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		git_error_set(GIT_ERROR_NET, "error receiving data from socket: %s",
			      strerror(errno));
	return n;
}

static ssize_t gitcred_stream_write(git_stream *s, const char *data, size_t len,
				    int flags)
{
	struct gitcred_stream *st = (struct gitcred_stream *)s;
	ssize_t n;
	do
		n = send(st->fd, data, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		git_error_set(GIT_ERROR_NET, "error sending data: %s", strerror(errno));
	return n;
}

static int gitcred_stream_close(git_stream *s)
{
	struct gitcred_stream *st = (struct gitcred_stream *)s;
	int rc = st->fd >= 0 ? close(st->fd) : 0;
	st->fd = -1;
	return rc < 0 ? -1 : 0;
}

static void gitcred_stream_free(git_stream *s)
{
	struct gitcred_stream *st = (struct gitcred_stream *)s;
	if (st->fd >= 0)
		close(st->fd);
	free(st->host);
	free(st->port);
	free(st);
}

static int gitcred_stream_new(git_stream **out, const char *host, const char *port)
{
	struct gitcred_stream *st = calloc(1, sizeof(*st));
	if (!st || !(st->host = strdup(host)) || !(st->port = strdup(port))) {
		if (st)
			free(st->host);
		free(st);
		git_error_set_oom();
		return -1;
	}
	st->fd = -1;
	st->parent.version = GIT_STREAM_VERSION;
	st->parent.connect = gitcred_stream_connect;
	st->parent.read = gitcred_stream_read;
	st->parent.write = gitcred_stream_write;
	st->parent.close = gitcred_stream_close;
	st->parent.free = gitcred_stream_free;
	*out = &st->parent;
	return 0;
}

int gfs_gitcred_global_init(void)
{
	git_stream_registration reg = {.version = GIT_STREAM_VERSION,
				       .init = gitcred_stream_new};
	if (git_stream_register(GIT_STREAM_STANDARD, &reg) < 0)
		return gfs_error_set(-EIO, "cannot set up Git connections: %s",
				     git_error_last() ? git_error_last()->message : "?");
	return 0;
}

int gfs_gitcred_tls_setup(void)
{
	const char *file = getenv(GFS_GIT_CAINFO_ENV), *dir = getenv(GFS_GIT_CAPATH_ENV);
	file = file && *file ? file : NULL;
	dir = dir && *dir ? dir : NULL;
	if (!file && !dir)
		return 0; /* the system's CA certificates, as libgit2 was built */
	if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir) < 0)
		return gfs_error_set(
		    -EINVAL,
		    "cannot use the CA certificates in %s (%s): %s; it must name a PEM "
		    "file of "
		    "CA certificates (" GFS_GIT_CAPATH_ENV ": a directory of them)",
		    file ? file : dir, file ? GFS_GIT_CAINFO_ENV : GFS_GIT_CAPATH_ENV,
		    git_error_last() ? git_error_last()->message : "unknown error");
	return 0;
}

/* ---- the origin ------------------------------------------------------------------ */

static bool gitcred_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/* Host and port of "[user@]host[:port]" or "[user@][v6]:port" (up to
 * `end`), into c. */
static int gitcred_authority(struct gfs_gitcred *c, const char *p, const char *end,
			     unsigned default_port)
{
	const char *at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	const char *host = p, *host_end, *port = NULL;
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return -EINVAL;
		if (host_end + 1 < end && host_end[1] == ':')
			port = host_end + 2;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		host_end = colon ? colon : end;
		if (colon)
			port = colon + 1;
	}
	size_t hl = (size_t)(host_end - host);
	if (hl == 0 || hl >= sizeof(c->host))
		return -EINVAL;
	for (size_t i = 0; i < hl; i++)
		c->host[i] =
		    (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
	c->host[hl] = '\0';
	c->port = default_port;
	if (port && port < end) {
		char buf[16];
		size_t pl = (size_t)(end - port);
		if (pl >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, port, pl);
		buf[pl] = '\0';
		if (!(c->port = gitcred_port(buf)))
			return -EINVAL;
	}
	c->loopback = gitcred_loopback(c->host);
	return 0;
}

int gfs_gitcred_init(struct gfs_gitcred *c, const char *url)
{
	static const struct {
		const char *scheme;
		unsigned port;
	} schemes[] = {{"https", 443},  {"http", 80},    {"ssh", 22},
		       {"git+ssh", 22}, {"ssh+git", 22}, {"git", 9418}};
	memset(c, 0, sizeof(*c));
	const char *sep = strstr(url, "://");
	if (sep) {
		size_t sl = (size_t)(sep - url);
		if (sl == 4 && strncasecmp(url, "file", 4) == 0)
			return 0; /* local */
		for (size_t i = 0; i < GFS_ARRAY_SIZE(schemes); i++) {
			if (strlen(schemes[i].scheme) != sl ||
			    strncasecmp(url, schemes[i].scheme, sl) != 0)
				continue;
			snprintf(c->scheme, sizeof(c->scheme), "%s",
				 schemes[i].port == 22 ? "ssh" : schemes[i].scheme);
			const char *a = sep + 3;
			const char *end = a + strcspn(a, "/?#");
			if (gitcred_authority(c, a, end, schemes[i].port) < 0)
				return gfs_error_set(-EINVAL,
						     "cannot tell the host of %s", url);
			return 0;
		}
		return gfs_error_set(-EINVAL, "unsupported URL scheme in %s", url);
	}
	/* scp-like "[user@]host:path": a colon before any slash. */
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	if (colon && (!slash || colon < slash) && colon != url) {
		snprintf(c->scheme, sizeof(c->scheme), "ssh");
		const char *at = memchr(url, '@', (size_t)(colon - url));
		const char *host = at ? at + 1 : url;
		size_t hl = (size_t)(colon - host);
		if (hl == 0 || hl >= sizeof(c->host))
			return gfs_error_set(-EINVAL, "cannot tell the host of %s", url);
		for (size_t i = 0; i < hl; i++)
			c->host[i] =
			    (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32
								    : host[i]);
		c->host[hl] = '\0';
		c->port = 22;
		c->loopback = gitcred_loopback(c->host);
	}
	return 0; /* otherwise a local path */
}

int gfs_gitcred_check_env(const struct gfs_gitcred *c)
{
	const char *token = getenv(GFS_GIT_TOKEN_ENV);
	if (token && *token && strcmp(c->scheme, "http") == 0 && !c->loopback)
		return gfs_error_set(-EACCES,
				     "refusing to send " GFS_GIT_TOKEN_ENV
				     " in clear text over http to %s:%u; use an https "
				     "URL (plain http is allowed only to a loopback "
				     "address), or unset the token for a public "
				     "repository",
				     c->host, c->port);
	return 0;
}

/* ---- the callback ---------------------------------------------------------------- */

static int gitcred_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int gitcred_refuse(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gfs_warn("git: %s", msg);
	git_error_set_str(GIT_ERROR_NET, msg);
	return GIT_EUSER;
}

int gfs_gitcred_acquire(git_credential **out, const char *url, const char *user_from_url,
			unsigned int allowed, void *payload)
{
	struct gfs_gitcred *c = payload;
	const char *token = getenv(GFS_GIT_TOKEN_ENV);
	const char *user = getenv(GFS_GIT_USER_ENV);
	const char *key = getenv(GFS_GIT_SSH_KEY_ENV);
	bool web = strcmp(c->scheme, "https") == 0 || strcmp(c->scheme, "http") == 0;
	bool want_token =
	    web && token && *token && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT);
	bool want_key =
	    strcmp(c->scheme, "ssh") == 0 && (allowed & GIT_CREDENTIAL_SSH_KEY);
	if (!want_token && !want_key)
		return GIT_PASSTHROUGH; /* nothing of ours to offer */
	/* The connection libgit2 asks for, not the URL it names: after a
	 * redirect they differ. */
	if (!gitcred_conn.valid)
		return gitcred_refuse("not offering Git credentials: cannot tell which "
				      "server asks for them (expected the origin "
				      "%s:%u)",
				      c->host, c->port);
	if (strcasecmp(gitcred_conn.host, c->host) != 0 || gitcred_conn.port != c->port)
		return gitcred_refuse("not offering Git credentials to %s:%u: they are "
				      "for the origin %s:%u only (it redirected "
				      "there?); point REPO at the server that holds "
				      "the repository",
				      gitcred_conn.host, gitcred_conn.port, c->host,
				      c->port);
	if (want_token && strcmp(c->scheme, "http") == 0 && !c->loopback)
		return gitcred_refuse("refusing to send " GFS_GIT_TOKEN_ENV
				      " in clear text over http to %s:%u; use https",
				      c->host, c->port);
	if (++c->asked > GITCRED_MAX_ASKS)
		return gitcred_refuse("the origin %s:%u refused the credentials "
				      "(%s); check them",
				      c->host, c->port,
				      want_token ? GFS_GIT_TOKEN_ENV
				      : key      ? GFS_GIT_SSH_KEY_ENV
						 : "the ssh-agent's keys");
	if (want_token)
		return git_credential_userpass_plaintext_new(
		    out, user && *user ? user : "git", token);
	const char *u = user_from_url ? user_from_url : "git";
	if (key && *key)
		return git_credential_ssh_key_new(out, u, NULL, key, NULL);
	return git_credential_ssh_key_from_agent(out, u);
}

int gfs_gitcred_check_hostkey(git_cert *cert, int valid, const char *host, void *payload)
{
	const struct gfs_gitcred *c = payload;
	(void)valid;
	(void)host; /* the origin's name, as in known_hosts: c->host */
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH; /* TLS: libgit2 verifies the chain itself */
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey || !hk->hostkey_len)
		return gitcred_refuse("cannot verify the ssh host key of %s:%u: the "
				      "Git library did not hand it over",
				      c->host, c->port);
	char files[1024], fp[80], name[300];
	gfs_knownhosts_fingerprint(fp, sizeof(fp), (const unsigned char *)hk->hostkey,
				   hk->hostkey_len);
	if (c->port == 22)
		snprintf(name, sizeof(name), "%s", c->host);
	else
		snprintf(name, sizeof(name), "[%s]:%u", c->host, c->port);
	switch (gfs_knownhosts_verify(c->host, c->port,
				      (const unsigned char *)hk->hostkey, hk->hostkey_len,
				      files, sizeof(files))) {
	case GFS_HOSTKEY_OK:
		return 0;
	case GFS_HOSTKEY_REVOKED:
		return gitcred_refuse("the ssh host key of %s (%s) is marked @revoked in "
				      "%s; not connecting",
				      name, fp, files);
	case GFS_HOSTKEY_MISMATCH:
		return gitcred_refuse(
		    "the ssh host key of %s (%s) is not the one %s lists for it: someone "
		    "may "
		    "be posing as the origin, or its key changed; not connecting. If the "
		    "change is expected, replace its line (ssh-keygen -R '%s')",
		    name, fp, files, name);
	default: {
		char port[16] = "";
		if (c->port != 22)
			snprintf(port, sizeof(port), " -p %u", c->port);
		return gitcred_refuse(
		    "the ssh host key of %s (%s) is not in %s; not connecting. Check the "
		    "fingerprint with the server's owner, then add it (ssh-keyscan%s %s "
		    ">> "
		    "~/.ssh/known_hosts, or to the file named by " GFS_GIT_KNOWN_HOSTS_ENV
		    ")",
		    name, fp, *files ? files : "any known_hosts file (none found)", port,
		    c->host);
	}
	}
}

void gfs_gitcred_callbacks(git_remote_callbacks *cb, struct gfs_gitcred *c)
{
	cb->credentials = gfs_gitcred_acquire;
	cb->certificate_check = gfs_gitcred_check_hostkey;
	cb->payload = c;
}
