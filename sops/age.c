/*
 * age.c - age files to X25519 recipients. See gfs_age.h.
 *
 * The format (age-encryption.org/v1):
 *   age-encryption.org/v1
 *   -> X25519 <ephemeral share, base64>
 *   <file key wrapped for that recipient, base64>
 *   --- <HMAC-SHA256 of the header up to "---", base64>
 *   <16-byte nonce><payload in 64 KiB ChaCha20-Poly1305 chunks>
 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_age.h"

#define AGE_INTRO        "age-encryption.org/v1\n"
#define AGE_X25519_INFO  "age-encryption.org/v1/X25519"
#define AGE_FILE_KEY_LEN 16
#define AGE_NONCE_LEN    16
#define AGE_CHUNK        65536
#define AGE_TAG          16
#define AGE_COLUMNS      64
#define AGE_ARMOR_BEGIN  "-----BEGIN AGE ENCRYPTED FILE-----"
#define AGE_ARMOR_END    "-----END AGE ENCRYPTED FILE-----"
#define AGE_MAX_STANZAS  64
#define BECH32_RECIPIENT "age"
#define BECH32_IDENTITY  "age-secret-key-"
#define BECH32_MAX_LEN   256

/* ---- bech32 (BIP 173), as age uses it: no 90-character limit ---------------------- */

static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t bech32_polymod_step(uint32_t chk, unsigned v)
{
	static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
					0x2a1462b3};
	uint32_t top = chk >> 25;
	chk = ((chk & 0x1ffffff) << 5) ^ v;
	for (int i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

static uint32_t bech32_hrp_polymod(const char *hrp)
{
	uint32_t chk = 1;
	for (const char *p = hrp; *p; p++)
		chk = bech32_polymod_step(chk, (unsigned char)*p >> 5);
	chk = bech32_polymod_step(chk, 0);
	for (const char *p = hrp; *p; p++)
		chk = bech32_polymod_step(chk, (unsigned char)*p & 31);
	return chk;
}

/* Encodes 32 bytes under hrp (lower case) into out. */
static void bech32_encode(char *out, size_t size, const char *hrp,
			  const unsigned char data[GFS_AGE_KEY_LEN])
{
	unsigned char five[64];
	size_t n = 0, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < GFS_AGE_KEY_LEN; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			five[n++] = (acc >> bits) & 31;
		}
	}
	if (bits)
		five[n++] = (acc << (5 - bits)) & 31;
	uint32_t chk = bech32_hrp_polymod(hrp);
	for (size_t i = 0; i < n; i++)
		chk = bech32_polymod_step(chk, five[i]);
	for (int i = 0; i < 6; i++)
		chk = bech32_polymod_step(chk, 0);
	chk ^= 1;
	o = (size_t)snprintf(out, size, "%s1", hrp);
	for (size_t i = 0; i < n && o + 1 < size; i++)
		out[o++] = bech32_charset[five[i]];
	for (int i = 0; i < 6 && o + 1 < size; i++)
		out[o++] = bech32_charset[(chk >> (5 * (5 - i))) & 31];
	out[o] = '\0';
	explicit_bzero(five, sizeof(five));
}

/* Decodes text (all lower or all upper case) whose human-readable part is
 * `hrp` into exactly 32 bytes. 0 or -EINVAL. */
static int bech32_decode(unsigned char out[GFS_AGE_KEY_LEN], const char *hrp,
			 const char *text)
{
	char low[BECH32_MAX_LEN];
	size_t len = strlen(text), hrp_len = strlen(hrp);
	bool lower = false, upper = false;
	int rc = -EINVAL;
	if (len >= sizeof(low) || len < hrp_len + 1 + 6)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c < 33 || c > 126)
			return -EINVAL;
		lower |= c >= 'a' && c <= 'z';
		upper |= c >= 'A' && c <= 'Z';
		low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	low[len] = '\0';
	if ((lower && upper) || strncmp(low, hrp, hrp_len) != 0 || low[hrp_len] != '1' ||
	    strrchr(low, '1') != low + hrp_len)
		return -EINVAL;
	uint32_t chk = bech32_hrp_polymod(hrp), acc = 0;
	int bits = 0;
	size_t n = 0, data_end = len - 6;
	for (size_t i = hrp_len + 1; i < len; i++) {
		const char *p = strchr(bech32_charset, low[i]);
		if (!p || !*p)
			goto out;
		unsigned v = (unsigned)(p - bech32_charset);
		chk = bech32_polymod_step(chk, v);
		if (i >= data_end)
			continue;
		acc = (acc << 5) | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n == GFS_AGE_KEY_LEN)
				goto out;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	/* Padding: fewer than 5 bits left over, all zero. */
	if (chk == 1 && n == GFS_AGE_KEY_LEN && bits < 5 &&
	    (acc & ((1u << bits) - 1)) == 0)
		rc = 0;
out:
	explicit_bzero(low, sizeof(low));
	acc = 0;
	return rc;
}

/* ---- X25519, HKDF, HMAC, ChaCha20-Poly1305 from libcrypto -------------------------- */

int gfs_crypto_random(void *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1
		   ? 0
		   : gfs_error_set(-EIO, "the system random generator failed");
}

int gfs_crypto_hkdf(unsigned char *out, size_t out_len, const void *ikm, size_t ikm_len,
		    const void *salt, size_t salt_len, const char *info)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[5], *p = params;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	*p++ =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						 strlen(info));
	*p = OSSL_PARAM_construct_end();
	int ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : gfs_error_set(-EIO, "HKDF-SHA256 failed in libcrypto");
}

int gfs_crypto_hmac_sha256(unsigned char out[32], const void *key, size_t key_len,
			   const void *data, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	size_t n = 0;
	int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
		 EVP_MAC_update(ctx, data, len) && EVP_MAC_final(ctx, out, &n, 32) &&
		 n == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : gfs_error_set(-EIO, "HMAC-SHA256 failed in libcrypto");
}

/* X25519(secret, peer) into shared; -EINVAL for a peer that gives the
 * all-zero secret (a low-order point, which age refuses). */
static int x25519(unsigned char shared[32], const unsigned char secret[32],
		  const unsigned char peer[32])
{
	static const unsigned char zero[32];
	EVP_PKEY *me = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
	EVP_PKEY *them = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
	EVP_PKEY_CTX *ctx = me ? EVP_PKEY_CTX_new(me, NULL) : NULL;
	size_t n = 32;
	int ok = ctx && them && EVP_PKEY_derive_init(ctx) == 1 &&
		 EVP_PKEY_derive_set_peer(ctx, them) == 1 &&
		 EVP_PKEY_derive(ctx, shared, &n) == 1 && n == 32;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(them);
	EVP_PKEY_free(me);
	if (!ok)
		return gfs_error_set(-EIO, "X25519 failed in libcrypto");
	return CRYPTO_memcmp(shared, zero, 32) == 0 ? -EINVAL : 0;
}

static int x25519_public(unsigned char pub[32], const unsigned char secret[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
	size_t n = 32;
	int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
	EVP_PKEY_free(k);
	return ok ? 0 : gfs_error_set(-EIO, "X25519 failed in libcrypto");
}

/* ChaCha20-Poly1305 with a 12-byte nonce: seal writes len + 16 bytes,
 * open (len includes the tag) len - 16 bytes; -EINVAL when the tag does
 * not verify. */
static int chacha_poly(bool seal, unsigned char *out, const unsigned char key[32],
		       const unsigned char nonce[12], const unsigned char *in, size_t len)
{
	if (!seal && len < AGE_TAG)
		return -EINVAL;
	size_t body = seal ? len : len - AGE_TAG;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok = ctx && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key,
						 nonce, seal ? 1 : 0) == 1;
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AGE_TAG,
					 (void *)(in + body)) == 1;
	if (ok && body)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int)body) == 1;
	int fin = ok ? EVP_CipherFinal_ex(ctx, out + n, &n) : 0;
	if (ok && seal && fin == 1)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AGE_TAG,
					 out + body) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return gfs_error_set(-EIO, "ChaCha20-Poly1305 failed in libcrypto");
	return fin == 1 ? 0 : -EINVAL;
}

/* ---- keys ----------------------------------------------------------------------- */

int gfs_age_recipient_parse(unsigned char out[GFS_AGE_KEY_LEN], const char *text)
{
	/* Recipients are lower case by convention; accept what bech32 does. */
	return bech32_decode(out, BECH32_RECIPIENT, text);
}

void gfs_age_recipient_format(char out[GFS_AGE_RECIPIENT_SIZE],
			      const unsigned char pub[GFS_AGE_KEY_LEN])
{
	bech32_encode(out, GFS_AGE_RECIPIENT_SIZE, BECH32_RECIPIENT, pub);
}

int gfs_age_identity_parse(struct gfs_age_identity *out, const char *text)
{
	if (bech32_decode(out->secret, BECH32_IDENTITY, text) < 0)
		return -EINVAL;
	int rc = x25519_public(out->public, out->secret);
	if (rc < 0)
		explicit_bzero(out, sizeof(*out));
	return rc;
}

void gfs_age_identities_free(struct gfs_age_identity *ids, size_t n)
{
	if (ids)
		explicit_bzero(ids, n * sizeof(*ids));
	free(ids);
}

int gfs_age_identities_parse(struct gfs_age_identity **ids, size_t *n, const char *name,
			     const char *text, size_t len)
{
	char line[BECH32_MAX_LEN];
	size_t pos = 0;
	int lineno = 0, rc = 0;
	while (pos < len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, a = pos, b = end;
		pos = end + 1;
		lineno++;
		while (a < b && (text[a] == ' ' || text[a] == '\t'))
			a++;
		while (b > a &&
		       (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		if (a == b || text[a] == '#')
			continue;
		struct gfs_age_identity id;
		if (b - a >= sizeof(line)) {
			rc = -EINVAL;
		} else {
			memcpy(line, text + a, b - a);
			line[b - a] = '\0';
			rc = gfs_age_identity_parse(&id, line);
		}
		if (rc == -EINVAL) {
			rc = gfs_error_set(-EINVAL,
					   "%s, line %d: not an age X25519 identity "
					   "(expected AGE-SECRET-KEY-1..., as age-keygen "
					   "writes)",
					   name, lineno);
		} else if (rc == 0) {
			struct gfs_age_identity *grown =
			    malloc((*n + 1) * sizeof(*grown));
			if (!grown) {
				rc = -ENOMEM;
			} else {
				if (*n)
					memcpy(grown, *ids, *n * sizeof(*grown));
				gfs_age_identities_free(*ids, *n);
				grown[(*n)++] = id;
				*ids = grown;
			}
		}
		explicit_bzero(&id, sizeof(id));
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* ---- files ---------------------------------------------------------------------- */

/* The wrapping key of one X25519 stanza. */
static int age_wrap_key(unsigned char key[32], const unsigned char shared[32],
			const unsigned char share[32], const unsigned char recipient[32])
{
	unsigned char salt[64];
	memcpy(salt, share, 32);
	memcpy(salt + 32, recipient, 32);
	return gfs_crypto_hkdf(key, 32, shared, 32, salt, 64, AGE_X25519_INFO);
}

static int age_header_mac(unsigned char mac[32], const unsigned char file_key[16],
			  const void *header, size_t len)
{
	unsigned char key[32];
	int rc = gfs_crypto_hkdf(key, 32, file_key, AGE_FILE_KEY_LEN, NULL, 0, "header");
	if (rc == 0)
		rc = gfs_crypto_hmac_sha256(mac, key, 32, header, len);
	explicit_bzero(key, sizeof(key));
	return rc;
}

static int age_stanza_write(struct gfs_buf *out, const unsigned char file_key[16],
			    const unsigned char recipient[32])
{
	unsigned char eph[32], share[32], shared[32], wrap[32], body[32];
	static const unsigned char nonce[12];
	int rc = gfs_crypto_random(eph, 32);
	if (rc == 0)
		rc = x25519_public(share, eph);
	if (rc == 0 && (rc = x25519(shared, eph, recipient)) == -EINVAL)
		rc = gfs_error_set(-EINVAL, "an age recipient is not a usable key");
	if (rc == 0)
		rc = age_wrap_key(wrap, shared, share, recipient);
	if (rc == 0)
		rc = chacha_poly(true, body, wrap, nonce, file_key, AGE_FILE_KEY_LEN);
	if (rc == 0)
		rc = gfs_buf_adds(out, "-> X25519 ");
	if (rc == 0)
		rc = gfs_base64_encode(out, share, 32, false);
	if (rc == 0)
		rc = gfs_buf_adds(out, "\n");
	/* 32 bytes are 43 characters: one line, shorter than 64. */
	if (rc == 0)
		rc = gfs_base64_encode(out, body, 32, false);
	if (rc == 0)
		rc = gfs_buf_adds(out, "\n");
	explicit_bzero(eph, sizeof(eph));
	explicit_bzero(shared, sizeof(shared));
	explicit_bzero(wrap, sizeof(wrap));
	return rc;
}

/* Seals or opens the payload: ChaCha20-Poly1305 chunks of 64 KiB, the
 * nonce an 11-byte big-endian counter and a last-chunk flag. */
static int age_payload(bool seal, struct gfs_buf *out, const unsigned char file_key[16],
		       const unsigned char nonce[AGE_NONCE_LEN], const unsigned char *in,
		       size_t len)
{
	unsigned char key[32], n12[12] = {0};
	unsigned char *chunk = malloc(AGE_CHUNK + AGE_TAG);
	size_t step = seal ? AGE_CHUNK : AGE_CHUNK + AGE_TAG;
	uint64_t counter = 0;
	int rc = chunk ? gfs_crypto_hkdf(key, 32, file_key, AGE_FILE_KEY_LEN, nonce,
					 AGE_NONCE_LEN, "payload")
		       : -ENOMEM;
	if (rc == 0 && !seal && len < AGE_TAG)
		rc = gfs_error_set(-EINVAL, "the age payload is truncated");
	for (size_t pos = 0; rc == 0;) {
		size_t take = len - pos < step ? len - pos : step;
		bool last = pos + take == len;
		for (int i = 0; i < 8; i++)
			n12[10 - i] = (unsigned char)(counter >> (8 * i));
		n12[11] = last ? 1 : 0;
		rc = chacha_poly(seal, chunk, key, n12, in + pos, take);
		if (rc == -EINVAL)
			rc = gfs_error_set(-EINVAL, "the age payload does not verify "
						    "(tampered or truncated)");
		size_t got = seal ? take + AGE_TAG : take - AGE_TAG;
		if (rc == 0 && !seal && last && got == 0 && counter > 0)
			rc = gfs_error_set(-EINVAL, "the age payload ends with an empty "
						    "chunk");
		if (rc == 0)
			rc = gfs_buf_add(out, chunk, got);
		pos += take;
		counter++;
		if (last)
			break;
	}
	explicit_bzero(key, sizeof(key));
	if (chunk)
		explicit_bzero(chunk, AGE_CHUNK + AGE_TAG);
	free(chunk);
	return rc;
}

int gfs_age_encrypt(struct gfs_buf *out,
		    const unsigned char (*recipients)[GFS_AGE_KEY_LEN], size_t n,
		    const void *data, size_t len)
{
	unsigned char file_key[AGE_FILE_KEY_LEN], mac[32], nonce[AGE_NONCE_LEN];
	struct gfs_buf header = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT);
	if (n == 0 || n > AGE_MAX_STANZAS)
		return gfs_error_set(-EINVAL, "age needs 1 to %d recipients",
				     AGE_MAX_STANZAS);
	int rc = gfs_crypto_random(file_key, sizeof(file_key));
	if (rc == 0)
		rc = gfs_buf_adds(&header, AGE_INTRO);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = age_stanza_write(&header, file_key, recipients[i]);
	if (rc == 0)
		rc = gfs_buf_adds(&header, "---");
	if (rc == 0)
		rc = age_header_mac(mac, file_key, header.data, header.len);
	if (rc == 0)
		rc = gfs_buf_adds(&header, " ");
	if (rc == 0)
		rc = gfs_base64_encode(&header, mac, 32, false);
	if (rc == 0)
		rc = gfs_buf_adds(&header, "\n");
	if (rc == 0)
		rc = gfs_crypto_random(nonce, sizeof(nonce));
	if (rc == 0)
		rc = gfs_buf_add(out, header.data, header.len);
	if (rc == 0)
		rc = gfs_buf_add(out, nonce, sizeof(nonce));
	if (rc == 0)
		rc = age_payload(true, out, file_key, nonce, data, len);
	explicit_bzero(file_key, sizeof(file_key));
	gfs_buf_release(&header);
	return rc;
}

/* One line of the header at *pos (without its newline), or -EINVAL. */
static int age_line(const char **line, size_t *line_len, const char *f, size_t len,
		    size_t *pos)
{
	const char *nl = *pos < len ? memchr(f + *pos, '\n', len - *pos) : NULL;
	if (!nl)
		return gfs_error_set(-EINVAL, "the age header is truncated");
	*line = f + *pos;
	*line_len = (size_t)(nl - *line);
	*pos = (size_t)(nl - f) + 1;
	return 0;
}

/* Tries every identity on one X25519 stanza; 1 with file_key set when one
 * opens it, 0 when none does. */
static int age_stanza_open(unsigned char file_key[16], const char *share_b64,
			   size_t share_len, const char *body_b64, size_t body_len,
			   const struct gfs_age_identity *ids, size_t n_ids)
{
	unsigned char *share = NULL, *body = NULL, shared[32], wrap[32];
	static const unsigned char nonce[12];
	size_t sl = 0, bl = 0;
	int rc = 0;
	if (gfs_base64_decode(&share, &sl, share_b64, share_len, false) < 0 || sl != 32 ||
	    gfs_base64_decode(&body, &bl, body_b64, body_len, false) < 0 || bl != 32) {
		rc = gfs_error_set(-EINVAL, "an age X25519 stanza is malformed");
		goto out;
	}
	for (size_t i = 0; i < n_ids && rc == 0; i++) {
		if (x25519(shared, ids[i].secret, share) < 0 ||
		    age_wrap_key(wrap, shared, share, ids[i].public) < 0)
			continue;
		if (chacha_poly(false, file_key, wrap, nonce, body, 32) == 0)
			rc = 1;
	}
out:
	explicit_bzero(shared, sizeof(shared));
	explicit_bzero(wrap, sizeof(wrap));
	free(share);
	free(body);
	return rc;
}

int gfs_age_decrypt(unsigned char **out, size_t *out_len,
		    const struct gfs_age_identity *ids, size_t n_ids, const void *file,
		    size_t len)
{
	const char *f = file, *line = NULL;
	unsigned char file_key[AGE_FILE_KEY_LEN], mac[32], *want = NULL;
	size_t pos = strlen(AGE_INTRO), line_len = 0, want_len = 0;
	int rc = 0, found = 0, stanzas = 0;
	struct gfs_buf plain = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT);
	if (len > GFS_AGE_FILE_LIMIT || len < pos || memcmp(f, AGE_INTRO, pos) != 0)
		return gfs_error_set(-EINVAL, "not an age file (age-encryption.org/v1)");
	for (;;) {
		if ((rc = age_line(&line, &line_len, f, len, &pos)) < 0)
			goto out;
		if (line_len >= 3 && memcmp(line, "---", 3) == 0)
			break;
		if (line_len < 3 || memcmp(line, "-> ", 3) != 0 ||
		    ++stanzas > AGE_MAX_STANZAS) {
			rc = gfs_error_set(-EINVAL, "the age header is malformed");
			goto out;
		}
		/* The body: lines of 64 characters, ended by a shorter one. */
		const char *body = f + pos, *bl;
		size_t body_len = 0, bll;
		do {
			if ((rc = age_line(&bl, &bll, f, len, &pos)) < 0)
				goto out;
			if (bll > AGE_COLUMNS) {
				rc =
				    gfs_error_set(-EINVAL, "the age header is malformed");
				goto out;
			}
			body_len += bll;
		} while (bll == AGE_COLUMNS);
		const char *args = line + 3;
		size_t args_len = line_len - 3;
		if (found || args_len != 7 + 43 || memcmp(args, "X25519 ", 7) != 0)
			continue; /* another recipient type, or grease */
		if (body_len != 43) {
			rc = gfs_error_set(-EINVAL, "an age X25519 stanza is malformed");
			goto out;
		}
		rc = age_stanza_open(file_key, args + 7, 43, body, 43, ids, n_ids);
		if (rc < 0)
			goto out;
		found = rc;
	}
	if (!found) {
		rc = gfs_error_set(-EACCES, "none of the age identities opens the file");
		goto out;
	}
	/* "--- " and the MAC over the header up to and including "---". */
	if (line_len != 4 + 43 || line[3] != ' ' ||
	    gfs_base64_decode(&want, &want_len, line + 4, 43, false) < 0 ||
	    want_len != 32) {
		rc = gfs_error_set(-EINVAL, "the age header MAC is malformed");
		goto out;
	}
	if ((rc = age_header_mac(mac, file_key, f, (size_t)(line - f) + 3)) < 0)
		goto out;
	if (CRYPTO_memcmp(mac, want, 32) != 0) {
		rc = gfs_error_set(-EINVAL,
				   "the age header MAC does not verify (tampered)");
		goto out;
	}
	if (len - pos < AGE_NONCE_LEN) {
		rc = gfs_error_set(-EINVAL, "the age payload is truncated");
		goto out;
	}
	rc = age_payload(false, &plain, file_key, (const unsigned char *)f + pos,
			 (const unsigned char *)f + pos + AGE_NONCE_LEN,
			 len - pos - AGE_NONCE_LEN);
	if (rc == 0) {
		*out = (unsigned char *)gfs_buf_detach(&plain, out_len);
		rc = *out ? 0 : -ENOMEM;
	}
out:
	explicit_bzero(file_key, sizeof(file_key));
	if (plain.data)
		explicit_bzero(plain.data, plain.len);
	gfs_buf_release(&plain);
	free(want);
	return rc;
}

/* ---- armor ---------------------------------------------------------------------- */

int gfs_age_armor(struct gfs_buf *out, const void *file, size_t len)
{
	struct gfs_buf b64 = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT * 2);
	int rc = gfs_base64_encode(&b64, file, len, true);
	if (rc == 0)
		rc = gfs_buf_adds(out, AGE_ARMOR_BEGIN "\n");
	for (size_t i = 0; rc == 0 && i < b64.len; i += AGE_COLUMNS) {
		size_t n = b64.len - i < AGE_COLUMNS ? b64.len - i : AGE_COLUMNS;
		rc = gfs_buf_add(out, b64.data + i, n);
		if (rc == 0)
			rc = gfs_buf_adds(out, "\n");
	}
	if (rc == 0)
		rc = gfs_buf_adds(out, AGE_ARMOR_END "\n");
	gfs_buf_release(&b64);
	return rc;
}

int gfs_age_dearmor(unsigned char **out, size_t *out_len, const char *text, size_t len)
{
	size_t a = 0, b = len, bl = strlen(AGE_ARMOR_BEGIN), el = strlen(AGE_ARMOR_END);
	struct gfs_buf b64 = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT * 2);
	int rc = -EINVAL;
	while (a < b && strchr(" \t\r\n", text[a]))
		a++;
	while (b > a && strchr(" \t\r\n", text[b - 1]))
		b--;
	if (b - a < bl + el + 1 || memcmp(text + a, AGE_ARMOR_BEGIN, bl) != 0 ||
	    memcmp(text + b - el, AGE_ARMOR_END, el) != 0)
		goto out;
	size_t pos = a + bl, end = b - el;
	bool short_seen = false;
	while (pos < end) {
		if (text[pos] == '\r')
			pos++;
		if (pos >= end || text[pos] != '\n')
			goto out;
		pos++;
		const char *nl = memchr(text + pos, '\n', end - pos);
		size_t stop = nl ? (size_t)(nl - text) : end, n = stop - pos;
		if (n && text[stop - 1] == '\r')
			n--;
		/* Every line but the last is full. */
		if (n > AGE_COLUMNS || (n && short_seen))
			goto out;
		short_seen = n < AGE_COLUMNS;
		if ((rc = gfs_buf_add(&b64, text + pos, n)) < 0)
			goto out;
		rc = -EINVAL;
		pos = stop;
	}
	rc = gfs_base64_decode(out, out_len, b64.data, b64.len, true);
out:
	gfs_buf_release(&b64);
	return rc;
}
