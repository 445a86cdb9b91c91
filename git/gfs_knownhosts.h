/*
 * gfs_knownhosts.h - an ssh origin is the server its host key says it is.
 *
 * libgit2 1.5 accepts any ssh host key unless the caller checks it, so
 * without this an attacker on the path could pose as the origin and hand
 * the sync agent manifests to apply. The key the server shows is checked
 * against OpenSSH known_hosts files, read the way ssh reads them: plain
 * and hashed (`|1|salt|hash`) host names, `[host]:port` for other ports
 * than 22, comma-separated patterns with `*`, `?` and `!` negation, and
 * `@revoked` lines; `@cert-authority` lines are skipped (host
 * certificates are not supported). Files: $GITOPSFS_GIT_KNOWN_HOSTS when
 * set (and only it), else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
 *
 * Pure functions over text, no state: no lock.
 */
#ifndef GFS_KNOWNHOSTS_H
#define GFS_KNOWNHOSTS_H

#include <stddef.h>

#define GFS_GIT_KNOWN_HOSTS_ENV "GITOPSFS_GIT_KNOWN_HOSTS"

enum gfs_hostkey_verdict {
	GFS_HOSTKEY_UNKNOWN,  /* no line names the host */
	GFS_HOSTKEY_MISMATCH, /* lines name the host, none with this key */
	GFS_HOSTKEY_OK,       /* a line names the host with this key */
	GFS_HOSTKEY_REVOKED,  /* an @revoked line has this key */
};

/* The verdict of known_hosts text `text` (len bytes, need not end in NUL)
 * on host:port showing the key blob `key` (the ssh wire encoding, as in
 * the file's base64 field). */
enum gfs_hostkey_verdict gfs_knownhosts_match(const char *text, size_t len,
					      const char *host, unsigned port,
					      const unsigned char *key, size_t keylen);

/* The same over the known_hosts files above; `where` (may be NULL) gets
 * the files read, for messages ("" when none could be read). */
enum gfs_hostkey_verdict gfs_knownhosts_verify(const char *host, unsigned port,
					       const unsigned char *key, size_t keylen,
					       char *where, size_t wheresz);

/* "SHA256:<base64 without padding>", as ssh prints a key's fingerprint. */
void gfs_knownhosts_fingerprint(char *out, size_t outsz, const unsigned char *key,
				size_t keylen);

#endif
