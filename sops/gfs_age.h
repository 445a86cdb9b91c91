/*
 * gfs_age.h - age (https://age-encryption.org/v1) files to X25519
 * recipients, as SOPS uses them to carry its data key.
 *
 * Every primitive comes from OpenSSL's libcrypto: X25519 (EVP_PKEY),
 * HKDF-SHA256 (EVP_KDF), ChaCha20-Poly1305 (EVP_CIPHER), HMAC-SHA256
 * (EVP_MAC), the random bytes (RAND_bytes). Only the encodings - bech32
 * keys, unpadded base64, the header, the ASCII armor - are written here.
 *
 * Keys: a recipient is "age1..." (bech32 of the 32-byte public key), an
 * identity "AGE-SECRET-KEY-1..." (bech32 of the 32-byte scalar,
 * upper case). Identities are secrets: they are wiped when freed and never
 * appear in a message.
 */
#ifndef GFS_AGE_H
#define GFS_AGE_H

#include <stdbool.h>
#include <stddef.h>

#include "gfs_common.h"

#define GFS_AGE_KEY_LEN 32
/* "age1" + 52 data characters + 6 checksum characters, and a NUL. */
#define GFS_AGE_RECIPIENT_SIZE 64
/* The largest age file (or armored text) taken in: SOPS carries 32 bytes. */
#define GFS_AGE_FILE_LIMIT (1u << 20)

struct gfs_age_identity {
	unsigned char secret[GFS_AGE_KEY_LEN];
	unsigned char public[GFS_AGE_KEY_LEN];
};

/* Parses "age1..." into the public key. 0 or -EINVAL. */
int gfs_age_recipient_parse(unsigned char out[GFS_AGE_KEY_LEN], const char *text);
/* Writes "age1..." for a public key. */
void gfs_age_recipient_format(char out[GFS_AGE_RECIPIENT_SIZE],
			      const unsigned char pub[GFS_AGE_KEY_LEN]);
/* Parses "AGE-SECRET-KEY-1..." and derives its public key. 0 or -EINVAL
 * (no message: the text is a secret). */
int gfs_age_identity_parse(struct gfs_age_identity *out, const char *text);

/* The identities of a key file's text (age-keygen's format: one identity
 * a line, '#' comments and blank lines ignored), appended to *ids (a
 * malloc'ed array of *n; free with gfs_age_identities_free). `name` names
 * the source in messages, which give a line number, never a line.
 * 0, -EINVAL or -ENOMEM. */
int gfs_age_identities_parse(struct gfs_age_identity **ids, size_t *n, const char *name,
			     const char *text, size_t len);
void gfs_age_identities_free(struct gfs_age_identity *ids, size_t n);

/* Encrypts `len` bytes to the n recipients (public keys) into out: a
 * binary age file. 0 or -errno with the message set. */
int gfs_age_encrypt(struct gfs_buf *out,
		    const unsigned char (*recipients)[GFS_AGE_KEY_LEN], size_t n,
		    const void *data, size_t len);
/* Decrypts a binary age file with whichever identity opens one of its
 * X25519 stanzas; the header MAC and every payload chunk are verified.
 * *out is malloc'ed (the caller wipes and frees it). -EACCES when no
 * identity opens it, -EINVAL for a malformed or tampered file. */
int gfs_age_decrypt(unsigned char **out, size_t *out_len,
		    const struct gfs_age_identity *ids, size_t n_ids, const void *file,
		    size_t len);

/* The ASCII armor ("-----BEGIN AGE ENCRYPTED FILE-----", base64 lines of
 * 64 characters, the END line and a newline) of a binary file. */
int gfs_age_armor(struct gfs_buf *out, const void *file, size_t len);
/* The binary file inside armored text (surrounding whitespace allowed).
 * *out is malloc'ed. 0, -EINVAL or -ENOMEM. */
int gfs_age_dearmor(unsigned char **out, size_t *out_len, const char *text, size_t len);

/* Whole-message primitives from libcrypto, shared with gfs_sops. */
int gfs_crypto_hkdf(unsigned char *out, size_t out_len, const void *ikm, size_t ikm_len,
		    const void *salt, size_t salt_len, const char *info);
int gfs_crypto_hmac_sha256(unsigned char out[32], const void *key, size_t key_len,
			   const void *data, size_t len);
/* 0, or -EIO when the random generator fails. */
int gfs_crypto_random(void *out, size_t len);

#endif
