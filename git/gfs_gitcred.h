/*
 * gfs_gitcred.h - Git credentials go to the origin and nowhere else.
 *
 * SPEC section 2: GITOPSFS_GIT_TOKEN (user GITOPSFS_GIT_USER, default
 * "git") and GITOPSFS_GIT_SSH_KEY (a key file; ssh-agent otherwise) serve
 * clone, fetch and push alike; they are offered only to the origin's
 * scheme, host and port, never after a redirect elsewhere, and a token
 * never goes over plain http except to a loopback address.
 *
 * libgit2 follows a redirect of the first request to another host and
 * then asks for credentials with the URL the remote was configured with,
 * not the one it is talking to. So the credential callback does not trust
 * that URL: every TCP connection libgit2 makes goes through a socket
 * stream registered here (gfs_gitcred_global_init), which records, per
 * thread, the host and port it connected to; credentials are handed out
 * only while that is the origin's.
 */
#ifndef GFS_GITCRED_H
#define GFS_GITCRED_H

#include <git2.h>
#include <stdbool.h>

#define GFS_GIT_TOKEN_ENV   "GITOPSFS_GIT_TOKEN"
#define GFS_GIT_USER_ENV    "GITOPSFS_GIT_USER"
#define GFS_GIT_SSH_KEY_ENV "GITOPSFS_GIT_SSH_KEY"
#define GFS_GIT_CAINFO_ENV  "GIT_SSL_CAINFO"
#define GFS_GIT_CAPATH_ENV  "GIT_SSL_CAPATH"

/* The origin of one clone, fetch or push; the payload of its credential
 * callback (caller-owned, lives as long as the operation). */
struct gfs_gitcred {
	char scheme[16]; /* "https", "http", "ssh", "git", or "" for a local path */
	char host[256];  /* lower case, without IPv6 brackets */
	unsigned port;   /* explicit, or the scheme's default */
	bool loopback;   /* localhost, 127.0.0.0/8 or ::1 */
	unsigned asked;  /* times the callback was called for this operation */
};

/* Registers the recording socket stream with libgit2; once per process,
 * after git_libgit2_init. Returns 0 or -errno. */
int gfs_gitcred_global_init(void);

/* An https origin with a private CA: git's own GIT_SSL_CAINFO (a PEM
 * file) and GIT_SSL_CAPATH (a directory) replace the system's CA
 * certificates for every clone, fetch and push, as they do for git.
 * Returns 0, or -EINVAL (message set) for a file that holds none. */
int gfs_gitcred_tls_setup(void);

/* Parses the origin: "https://host[:port]/p", "http://...", "ssh://...",
 * "git://...", scp-like "user@host:path" (ssh, port 22), "file://..." or
 * a local path (no network: scheme ""). -EINVAL for a URL without host. */
int gfs_gitcred_init(struct gfs_gitcred *c, const char *origin_url);

/* At start: refuses (-EACCES, message set) a token for a plain http
 * origin that is not a loopback address, before anything is sent. */
int gfs_gitcred_check_env(const struct gfs_gitcred *c);

/* The certificate check (git_transport_certificate_check_cb): an ssh
 * host key must be listed for the origin in known_hosts
 * (gfs_knownhosts.h), or nothing is sent; TLS certificates are left to
 * libgit2's own verification. */
int gfs_gitcred_check_hostkey(git_cert *cert, int valid, const char *host, void *payload);

/* Sets cb's credentials callback and certificate check (payload c). */
void gfs_gitcred_callbacks(git_remote_callbacks *cb, struct gfs_gitcred *c);

/* The callback itself (git_credential_acquire_cb), exposed for tests. */
int gfs_gitcred_acquire(git_credential **out, const char *url, const char *user_from_url,
			unsigned int allowed, void *payload);

/* What the recording stream does at each connection; for tests. host
 * NULL forgets the connection. */
void gfs_gitcred_note_connection(const char *host, const char *port);

#endif
