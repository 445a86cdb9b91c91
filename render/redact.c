/*
 * redact.c - the keyed digest that stands for a Secret value, and Secret
 * manifests folded as the server stores them (gfs_render.h).
 *
 * HMAC-SHA256 and base64 come from OpenSSL's libcrypto: no cryptography
 * is written here.
 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_render.h"
#include "redact_internal.h"

/* Versioned, so that a later scheme can never produce the same input. */
#define REDACT_DOMAIN "gitopsfs-redact-v1"

static EVP_MAC *redact_mac; /* fetched once, shared (EVP_MACs are thread-safe) */
static pthread_once_t redact_once = PTHREAD_ONCE_INIT;

static void redact_mac_fetch(void)
{
	redact_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* The parts of the message, each followed by a NUL so that no two
 * different (ns, name, key, value) give the same bytes: the names cannot
 * hold a NUL, and the value comes last. */
static int redact_hmac(unsigned char out[32], const struct gfs_redact_key *k,
		       const char *const parts[3], const void *value, size_t len)
{
	char digest_name[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
	    OSSL_PARAM_construct_end(),
	};
	size_t outlen = 0;
	pthread_once(&redact_once, redact_mac_fetch);
	EVP_MAC_CTX *ctx = redact_mac ? EVP_MAC_CTX_new(redact_mac) : NULL;
	int ok = ctx && EVP_MAC_init(ctx, k->bytes, k->len, params) &&
		 EVP_MAC_update(ctx, (const unsigned char *)REDACT_DOMAIN,
				sizeof(REDACT_DOMAIN));
	for (int i = 0; ok && i < 3; i++)
		ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i],
				    strlen(parts[i]) + 1);
	ok = ok && EVP_MAC_update(ctx, value, len) &&
	     EVP_MAC_final(ctx, out, &outlen, 32) && outlen == 32;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

int gfs_render_redacted_form(char out[GFS_REDACTED_SIZE], const struct gfs_redact_key *k,
			     const char *ns, const char *name, const char *key,
			     const void *value, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const char *parts[3] = {ns ? ns : "", name ? name : "", key ? key : ""};
	unsigned char digest[32];
	snprintf(out, GFS_REDACTED_SIZE, "%s", GFS_REDACTED_NO_KEY);
	if (!k || k->len < GFS_REDACT_KEY_MIN)
		return 0;
	int rc = redact_hmac(digest, k, parts, value, len);
	if (rc < 0)
		return rc;
	size_t n = strlen(GFS_REDACTED_HMAC_PREFIX);
	memcpy(out, GFS_REDACTED_HMAC_PREFIX, n);
	for (int i = 0; i < GFS_REDACTED_DIGITS / 2; i++) {
		out[n++] = hex[digest[i] >> 4];
		out[n++] = hex[digest[i] & 0xF];
	}
	out[n] = '\0';
	OPENSSL_cleanse(digest, sizeof(digest));
	return 0;
}

int gfs_render_secret_fold(json_t *secret)
{
	json_t *sd = json_object_get(secret, "stringData");
	json_t *data = json_object_get(secret, "data");
	const char *key;
	json_t *v;
	if (!json_is_object(sd))
		return 0;
	if (!json_is_object(data)) {
		data = json_object();
		if (!data || json_object_set_new(secret, "data", data) < 0)
			return -ENOMEM;
	}
	json_object_foreach(sd, key, v)
	{
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		json_t *moved;
		if (!s) {
			moved =
			    json_copy(v); /* not a string: the server would refuse it */
		} else if (strncmp(s, GFS_REDACTED_PREFIX, strlen(GFS_REDACTED_PREFIX)) ==
			   0) {
			moved = json_string(s);
		} else {
			char *b64 = malloc(4 * ((len + 2) / 3) + 1);
			if (!b64)
				return -ENOMEM;
			EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)s,
					(int)len);
			moved = json_string(b64);
			free(b64);
		}
		if (!moved || json_object_set_new(data, key, moved) < 0)
			return -ENOMEM;
	}
	json_object_del(secret, "stringData");
	return 0;
}

int gfs_render_base64_decode(unsigned char **out, size_t *out_len, const char *in,
			     size_t len)
{
	/* Strict standard base64 with padding, as the API server sends it. */
	if (len % 4 != 0 || len > (size_t)0x7fffffff)
		return -EINVAL;
	unsigned char *buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	int n = len ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) : 0;
	if (n < 0) {
		free(buf);
		return -EINVAL;
	}
	size_t pad =
	    len >= 1 && in[len - 1] == '=' ? (len >= 2 && in[len - 2] == '=' ? 2 : 1) : 0;
	*out = buf;
	*out_len = (size_t)n - pad;
	return 0;
}
