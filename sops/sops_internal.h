/*
 * sops_internal.h - what the files of sops/ share (gfs_sops.h is the
 * module's interface).
 */
#ifndef GFS_SOPS_INTERNAL_H
#define GFS_SOPS_INTERNAL_H

#include <pthread.h>
#include <regex.h>

#include "gfs_sops.h"

#define SOPS_KEY_LEN    32
#define SOPS_IV_LEN     32
#define SOPS_TAG_LEN    16
#define SOPS_ENC_PREFIX "ENC[AES256_GCM,"
#define SOPS_MAX_RULES  256

struct sops_rule {
	regex_t re;
	bool has_re;
	char **age; /* recipients, NULL: the rule names none */
};

struct gfs_sops {
	char **recipients; /* from the config, or NULL */
	struct sops_rule *rules;
	size_t n_rules;
	struct gfs_age_identity *ids;
	size_t n_ids;
	pthread_mutex_t lock;
	json_t *last; /* path -> last SOPS document shown or written; guarded by lock */
	json_t *base; /* path -> its SOPS document in the commit; guarded by lock */
};

/* sops_value.c - one value. */

/* A plaintext leaf as sops hashes and encrypts it (ToBytes), and its
 * type name. 1 for a leaf to skip (null), 0, or -ENOMEM. */
int sops_leaf_bytes(struct gfs_buf *out, const char **type, const json_t *v);
/* The typed value sops' Decrypt gives for `type`; NULL when the bytes are
 * not one. */
json_t *sops_leaf_value(const unsigned char *p, size_t len, const char *type);
/* Decrypts one ENC[...] string into *plain (malloc'ed, wiped by the
 * caller) and its type. -EINVAL when malformed or it does not verify. */
int sops_value_open(unsigned char **plain, size_t *len, char type[16],
		    const unsigned char key[SOPS_KEY_LEN], const char *s,
		    const char *aad);
/* Appends ENC[...] of `len` bytes of type `type` under a random IV. */
int sops_value_seal(struct gfs_buf *out, const unsigned char key[SOPS_KEY_LEN],
		    const void *plain, size_t len, const char *type, const char *aad);

/* sops_setup.c - the keys. The recipients for a file's path (NULL:
 * none). */
char *const *sops_recipients_for(const struct gfs_sops *s, const char *path);

#endif
