/*
 * sops_value.c - one SOPS value: ENC[AES256_GCM,data:...,iv:...,tag:...,
 * type:...] as sops' aes/cipher.go writes and reads it (AES-256-GCM from
 * libcrypto with a 32-byte IV), and a leaf's bytes as sops.go's ToBytes
 * gives them.
 */
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sops_internal.h"

/* A plaintext leaf as sops hashes and encrypts it (ToBytes), and its
 * type name. 1 for a leaf to skip (null), 0, or -ENOMEM. */
int sops_leaf_bytes(struct gfs_buf *out, const char **type, const json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		*type = "str";
		return gfs_buf_add(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		*type = "int";
		return gfs_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: {
		/* Go's FormatFloat(f, 'f', -1, 64): the fewest digits after the
		 * point that read back as the same number, never an exponent. */
		double d = json_real_value(v);
		*type = "float";
		for (int prec = 0; prec <= 30; prec++) {
			snprintf(num, sizeof(num), "%.*f", prec, d);
			if (strtod(num, NULL) == d || !isfinite(d))
				break;
		}
		return gfs_buf_adds(out, num);
	}
	case JSON_TRUE:
	case JSON_FALSE:
		*type = "bool";
		return gfs_buf_adds(out, json_is_true(v) ? "True" : "False");
	default:
		return 1;
	}
}

/* The typed value sops' Decrypt gives for `type`. */
json_t *sops_leaf_value(const unsigned char *p, size_t len, const char *type)
{
	char num[64];
	if (strcmp(type, "str") == 0)
		return json_stringn((const char *)p, len);
	if (len >= sizeof(num))
		return NULL;
	memcpy(num, p, len);
	num[len] = '\0';
	char *end = NULL;
	if (strcmp(type, "int") == 0) {
		long long v = strtoll(num, &end, 10);
		return len && !*end ? json_integer(v) : NULL;
	}
	if (strcmp(type, "float") == 0) {
		double v = strtod(num, &end);
		return len && !*end ? json_real(v) : NULL;
	}
	if (strcmp(type, "bool") == 0) {
		/* Go's strconv.ParseBool. */
		static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
		static const char *const no[] = {"0",     "f",     "F",
						 "FALSE", "false", "False"};
		for (size_t i = 0; i < GFS_ARRAY_SIZE(yes); i++) {
			if (strcmp(num, yes[i]) == 0)
				return json_true();
			if (strcmp(num, no[i]) == 0)
				return json_false();
		}
	}
	return NULL;
}

/* AES-256-GCM with sops' 32-byte IV. Seal: out gets len bytes and tag;
 * open: -EINVAL when the tag does not verify. */
static int sops_gcm(bool seal, unsigned char *out, const unsigned char key[SOPS_KEY_LEN],
		    const unsigned char *iv, size_t iv_len, const char *aad,
		    const unsigned char *in, size_t len, unsigned char tag[SOPS_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	int ok =
	    ctx &&
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, seal) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
			     (int)strlen(aad)) == 1;
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SOPS_TAG_LEN, tag) ==
		     1;
	if (ok && len)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
	int fin = ok ? EVP_CipherFinal_ex(ctx, out + n, &n) : 0;
	if (ok && seal && fin == 1)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SOPS_TAG_LEN, tag) ==
		     1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return gfs_error_set(-EIO, "AES-256-GCM failed in libcrypto");
	return fin == 1 ? 0 : -EINVAL;
}

/* ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>] */
struct sops_enc {
	unsigned char *data, *iv, *tag;
	size_t data_len, iv_len, tag_len;
	char type[16];
};

static void sops_enc_release(struct sops_enc *e)
{
	free(e->data);
	free(e->iv);
	free(e->tag);
	memset(e, 0, sizeof(*e));
}

static int sops_enc_field(unsigned char **out, size_t *len, const char **p,
			  const char *name, const char *next)
{
	size_t nl = strlen(name);
	if (strncmp(*p, name, nl) != 0)
		return -EINVAL;
	const char *start = *p + nl, *end = strstr(start, next);
	if (!end)
		return -EINVAL;
	*p = end + 1;
	return gfs_base64_decode(out, len, start, (size_t)(end - start), true);
}

static int sops_enc_parse(struct sops_enc *e, const char *s)
{
	const char *p = s + strlen(SOPS_ENC_PREFIX);
	memset(e, 0, sizeof(*e));
	int rc = sops_enc_field(&e->data, &e->data_len, &p, "data:", ",iv:");
	if (rc == 0)
		rc = sops_enc_field(&e->iv, &e->iv_len, &p, "iv:", ",tag:");
	if (rc == 0)
		rc = sops_enc_field(&e->tag, &e->tag_len, &p, "tag:", ",type:");
	const char *end = rc == 0 ? strchr(p, ']') : NULL;
	if (rc == 0 && (strncmp(p, "type:", 5) != 0 || !end || end[1] ||
			(size_t)(end - p - 5) >= sizeof(e->type)))
		rc = -EINVAL;
	if (rc == 0) {
		memcpy(e->type, p + 5, (size_t)(end - p - 5));
		e->type[end - p - 5] = '\0';
	}
	if (rc == 0 && (e->tag_len != SOPS_TAG_LEN || e->iv_len == 0 || e->iv_len > 64))
		rc = -EINVAL;
	if (rc < 0)
		sops_enc_release(e);
	return rc == -ENOMEM ? rc : rc < 0 ? -EINVAL : 0;
}

/* Decrypts one ENC[...] string into *plain (malloc'ed, wiped by the
 * caller) and its type. -EINVAL when malformed or it does not verify. */
int sops_value_open(unsigned char **plain, size_t *len, char type[16],
		    const unsigned char key[SOPS_KEY_LEN], const char *s, const char *aad)
{
	struct sops_enc e;
	int rc = sops_enc_parse(&e, s);
	if (rc < 0)
		return rc;
	unsigned char *out = malloc(e.data_len + 1);
	rc = out ? sops_gcm(false, out, key, e.iv, e.iv_len, aad, e.data, e.data_len,
			    e.tag)
		 : -ENOMEM;
	if (rc == 0) {
		*plain = out;
		*len = e.data_len;
		memcpy(type, e.type, sizeof(e.type));
	} else {
		if (out)
			explicit_bzero(out, e.data_len);
		free(out);
	}
	sops_enc_release(&e);
	return rc;
}

int sops_value_seal(struct gfs_buf *out, const unsigned char key[SOPS_KEY_LEN],
		    const void *plain, size_t len, const char *type, const char *aad)
{
	unsigned char iv[SOPS_IV_LEN], tag[SOPS_TAG_LEN];
	unsigned char *ct = malloc(len + 1);
	int rc = ct ? gfs_crypto_random(iv, sizeof(iv)) : -ENOMEM;
	if (rc == 0)
		rc = sops_gcm(true, ct, key, iv, sizeof(iv), aad, plain, len, tag);
	if (rc == 0)
		rc = gfs_buf_adds(out, SOPS_ENC_PREFIX "data:");
	if (rc == 0)
		rc = gfs_base64_encode(out, ct, len, true);
	if (rc == 0)
		rc = gfs_buf_adds(out, ",iv:");
	if (rc == 0)
		rc = gfs_base64_encode(out, iv, sizeof(iv), true);
	if (rc == 0)
		rc = gfs_buf_adds(out, ",tag:");
	if (rc == 0)
		rc = gfs_base64_encode(out, tag, sizeof(tag), true);
	if (rc == 0)
		rc = gfs_buf_addf(out, ",type:%s]", type);
	free(ct);
	return rc;
}
