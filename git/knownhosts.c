/*
 * knownhosts.c - ssh host keys checked against known_hosts files.
 *
 * See gfs_knownhosts.h for what is read and why. HMAC-SHA1 (hashed host
 * names), SHA-256 (fingerprints) and base64 come from OpenSSL's
 * libcrypto.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_knownhosts.h"

#define KH_LINE_MAX (64 * 1024) /* a line longer than this is not a key */
#define KH_FILE_MAX (16 << 20)  /* nor a file larger than this a known_hosts */

/* Decodes the base64 of a known_hosts field into out (room for
 * KH_LINE_MAX bytes); returns the length, or -1 when it is not strict,
 * padded base64 (as ssh-keygen writes it) or is too long. */
static long kh_b64(unsigned char *out, const char *in, size_t len)
{
	unsigned char *buf = NULL;
	size_t n = 0;
	if (len > KH_LINE_MAX || gfs_base64_decode(&buf, &n, in, len, true) < 0)
		return -1;
	memcpy(out, buf, n); /* n <= len * 3 / 4 < KH_LINE_MAX */
	free(buf);
	return (long)n;
}

/* Does the hashed name "|1|salt|hash" stand for name? */
static bool kh_hashed_matches(const char *field, size_t len, const char *name)
{
	const char *salt = field + 3, *bar = memchr(salt, '|', len - 3);
	if (!bar)
		return false;
	unsigned char s[64], h[64], mac[EVP_MAX_MD_SIZE];
	size_t slen = (size_t)(bar - salt), hlen = len - 3 - slen - 1;
	if (slen > 80 || hlen > 80)
		return false;
	long sn = kh_b64(s, salt, slen), hn = kh_b64(h, bar + 1, hlen);
	unsigned maclen = 0;
	if (sn <= 0 || hn != 20 ||
	    !HMAC(EVP_sha1(), s, (int)sn, (const unsigned char *)name, strlen(name), mac,
		  &maclen) ||
	    maclen != 20)
		return false;
	return CRYPTO_memcmp(mac, h, 20) == 0;
}

/* ssh's own wildcards: `*` and `?` only (a `[` is literal, as in
 * "[host]:port"), case-insensitive. */
static bool kh_wild(const char *p, size_t plen, const char *s)
{
	/* Greedy, going back only to the last `*`: linear in practice, never
	 * exponential whatever the pattern. */
	size_t pi = 0, star = SIZE_MAX;
	const char *mark = NULL;
	while (*s) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = s;
		} else if (pi < plen &&
			   (p[pi] == '?' || tolower((unsigned char)p[pi]) ==
						tolower((unsigned char)*s))) {
			pi++;
			s++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* Does the pattern list (comma-separated, `!` negates) name `name`? */
static bool kh_patterns_match(const char *field, size_t len, const char *name)
{
	if (len > 3 && strncmp(field, "|1|", 3) == 0)
		return kh_hashed_matches(field, len, name);
	bool yes = false;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && field[j] != ',')
			j++;
		bool neg = field[i] == '!';
		size_t from = i + (neg ? 1 : 0);
		if (j > from) {
			if (kh_wild(field + from, j - from, name)) {
				if (neg)
					return false; /* a negated match rules the line
							 out */
				yes = true;
			}
		}
		i = j + 1;
	}
	return yes;
}

/* The next whitespace-separated field of [*p, end), or NULL. */
static const char *kh_field(const char **p, const char *end, size_t *len)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	const char *e = s;
	while (e < end && *e != ' ' && *e != '\t')
		e++;
	*p = e;
	*len = (size_t)(e - s);
	return e > s ? s : NULL;
}

enum gfs_hostkey_verdict gfs_knownhosts_match(const char *text, size_t len,
					      const char *host, unsigned port,
					      const unsigned char *key, size_t keylen)
{
	char name[300];
	if (port == 22 || port == 0)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%u", host, port);
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	bool named = false, ok = false;
	unsigned char *blob = malloc(KH_LINE_MAX);
	if (!blob)
		return GFS_HOSTKEY_UNKNOWN;
	const char *end = text + len;
	for (const char *line = text; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		const char *p = line;
		line = eol + 1;
		size_t n;
		const char *f = kh_field(&p, eol, &n);
		if (!f || *f == '#' || (size_t)(eol - f) > KH_LINE_MAX)
			continue;
		bool revoked = false;
		if (*f == '@') {
			if (n == 8 && strncmp(f, "@revoked", 8) == 0)
				revoked = true;
			else
				continue; /* @cert-authority and anything unknown */
			f = kh_field(&p, eol, &n);
			if (!f)
				continue;
		}
		const char *pats = f;
		size_t npats = n;
		size_t tlen, klen;
		const char *type = kh_field(&p, eol, &tlen);
		const char *b64 = kh_field(&p, eol, &klen);
		if (!type || !b64)
			continue;
		if (klen && b64[klen - 1] == '\r')
			klen--;
		long bl = kh_b64(blob, b64, klen);
		bool same =
		    bl > 0 && (size_t)bl == keylen && memcmp(blob, key, keylen) == 0;
		if (revoked) {
			if (same) { /* whatever host it names: a revoked key is never
				       trusted */
				free(blob);
				return GFS_HOSTKEY_REVOKED;
			}
			continue;
		}
		if (!kh_patterns_match(pats, npats, name))
			continue;
		named = true;
		ok = ok || same;
	}
	free(blob);
	return ok ? GFS_HOSTKEY_OK : named ? GFS_HOSTKEY_MISMATCH : GFS_HOSTKEY_UNKNOWN;
}

/* The whole of a file, or NULL. */
static char *kh_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(KH_FILE_MAX);
	size_t n = buf ? fread(buf, 1, KH_FILE_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	*len = n;
	return buf;
}

enum gfs_hostkey_verdict gfs_knownhosts_verify(const char *host, unsigned port,
					       const unsigned char *key, size_t keylen,
					       char *where, size_t wheresz)
{
	char files[2][4096];
	int nfiles = 0;
	const char *env = getenv(GFS_GIT_KNOWN_HOSTS_ENV);
	if (env && *env) {
		snprintf(files[nfiles++], sizeof(files[0]), "%s", env);
	} else {
		const char *home = getenv("HOME");
		if (home && *home)
			snprintf(files[nfiles++], sizeof(files[0]), "%s/.ssh/known_hosts",
				 home);
		snprintf(files[nfiles++], sizeof(files[0]), "/etc/ssh/ssh_known_hosts");
	}
	enum gfs_hostkey_verdict best = GFS_HOSTKEY_UNKNOWN;
	size_t w = 0;
	if (where && wheresz)
		where[0] = '\0';
	for (int i = 0; i < nfiles; i++) {
		size_t len = 0;
		char *text = kh_slurp(files[i], &len);
		if (!text)
			continue;
		if (where && w < wheresz)
			w += (size_t)snprintf(where + w, wheresz - w, "%s%s",
					      w ? ", " : "", files[i]);
		enum gfs_hostkey_verdict v =
		    gfs_knownhosts_match(text, len, host, port, key, keylen);
		free(text);
		if (v > best)
			best = v;
	}
	return best;
}

void gfs_knownhosts_fingerprint(char *out, size_t outsz, const unsigned char *key,
				size_t keylen)
{
	unsigned char md[32];
	unsigned char b64[64];
	unsigned mdlen = 0;
	if (!EVP_Digest(key, keylen, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		snprintf(out, outsz, "SHA256:?");
		return;
	}
	int n = EVP_EncodeBlock(b64, md, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, outsz, "SHA256:%.*s", n, (const char *)b64);
}
