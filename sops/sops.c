/*
 * sops.c - SOPS YAML documents encrypted to age. See gfs_sops.h.
 *
 * The rules here follow sops itself (sops.go Tree.Encrypt/Decrypt and
 * ToBytes, aes/cipher.go, stores/yaml): leaves are walked in document
 * order, the additional data of a value is its key path joined with ':'
 * and ended by ':', list elements share their list's path, null is
 * skipped, booleans hash as "True"/"False", and an empty string stays
 * empty (unencrypted).
 */
#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_strv.h"
#include "gfs_yaml.h"
#include "sops_internal.h"

#define SOPS_MAX_DEPTH 64
#define SOPS_AAD_MAX   4096

/* sops.go MACOnlyEncryptedInitialization: prefixes the hash when
 * mac_only_encrypted is set. */
static const unsigned char sops_mac_only_init[32] = {
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34,
    0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f,
    0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69};

/* ---- the tree walk -------------------------------------------------------------- */

struct sops_walk {
	bool seal;        /* encrypt plaintext (else decrypt ENC values) */
	bool mac_only;    /* mac_only_encrypted: hash encrypted leaves only */
	EVP_MD_CTX *hash; /* SHA-512 of the leaves */
	const unsigned char *key;
	const char *path[SOPS_MAX_DEPTH];
	int depth;
	const char *bad; /* the key path of a value that failed */
	char bad_path[256];
};

/* The additional data: "a:b:c:". */
static int sops_aad(char out[SOPS_AAD_MAX], const struct sops_walk *w)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < w->depth; i++) {
		int k = snprintf(out + n, SOPS_AAD_MAX - n, "%s:", w->path[i]);
		if (k < 0 || (size_t)k >= SOPS_AAD_MAX - n)
			return -EINVAL;
		n += (size_t)k;
	}
	return 0;
}

/* Our files encrypt what sops' encrypted_regex ^(data|stringData)$
 * selects: a leaf any of whose path keys is data or stringData. */
static bool sops_path_encrypted(const struct sops_walk *w)
{
	for (int i = 0; i < w->depth; i++)
		if (strcmp(w->path[i], "data") == 0 ||
		    strcmp(w->path[i], "stringData") == 0)
			return true;
	return false;
}

static void sops_walk_fail(struct sops_walk *w)
{
	size_t n = 0;
	w->bad_path[0] = '\0';
	for (int i = 0; i < w->depth && n + 2 < sizeof(w->bad_path); i++) {
		int k = snprintf(w->bad_path + n, sizeof(w->bad_path) - n, "%s%s",
				 i ? "." : "", w->path[i]);
		if (k < 0)
			break;
		n += (size_t)k;
	}
	w->bad = w->bad_path;
}

/* One leaf: hashes its plaintext and returns (in *repl, a new reference)
 * what replaces it, or NULL for "unchanged". `prev` holds the leaves at
 * the same place in the remembered documents (seal only; may be NULL). */
struct sops_prev {
	const json_t *n[2];
};

/* A remembered ciphertext that holds this very value under this key path,
 * as a new string; NULL when there is none. */
static json_t *sops_reuse(const struct sops_walk *w, struct sops_prev prev,
			  const struct gfs_buf *plain, const char *t, const char *aad)
{
	for (int i = 0; i < 2; i++) {
		const char *ps = json_string_value(prev.n[i]);
		unsigned char *opened = NULL;
		size_t len = 0;
		char type[16];
		if (!ps || strncmp(ps, SOPS_ENC_PREFIX, strlen(SOPS_ENC_PREFIX)) != 0 ||
		    sops_value_open(&opened, &len, type, w->key, ps, aad) < 0)
			continue;
		bool same = strcmp(type, t) == 0 && len == plain->len &&
			    CRYPTO_memcmp(opened, plain->data, len) == 0;
		explicit_bzero(opened, len);
		free(opened);
		if (same)
			return json_string(ps);
	}
	return NULL;
}

static int sops_leaf(struct sops_walk *w, json_t **repl, const json_t *v,
		     struct sops_prev prev)
{
	struct gfs_buf plain = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT);
	struct gfs_buf enc = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT * 2);
	char aad[SOPS_AAD_MAX], type[16];
	const char *t = NULL;
	unsigned char *opened = NULL;
	size_t opened_len = 0;
	bool encrypted = false;
	int rc;
	*repl = NULL;
	if ((rc = sops_aad(aad, w)) < 0)
		goto fail;
	const char *s = json_string_value(v);
	if (!w->seal && s && strncmp(s, SOPS_ENC_PREFIX, strlen(SOPS_ENC_PREFIX)) == 0) {
		rc = sops_value_open(&opened, &opened_len, type, w->key, s, aad);
		if (rc == 0 && !(*repl = sops_leaf_value(opened, opened_len, type)))
			rc = -EINVAL;
		if (rc < 0)
			goto fail;
		encrypted = true;
		rc = gfs_buf_add(&plain, opened, opened_len);
	} else {
		rc = sops_leaf_bytes(&plain, &t, v);
		if (rc == 1) {
			rc = 0;
			goto out; /* null: neither hashed nor encrypted */
		}
		/* An empty string stays as it is (sops' isEmpty). */
		encrypted = w->seal && sops_path_encrypted(w) && !(s && !*s);
	}
	if (rc < 0)
		goto out;
	if ((!w->mac_only || encrypted) &&
	    EVP_DigestUpdate(w->hash, plain.data, plain.len) != 1) {
		rc = gfs_error_set(-EIO, "SHA-512 failed in libcrypto");
		goto out;
	}
	if (!w->seal || !encrypted)
		goto out;
	/* A remembered ciphertext, when it holds this very value. */
	if (!(*repl = sops_reuse(w, prev, &plain, t, aad))) {
		rc = sops_value_seal(&enc, w->key, plain.data, plain.len, t, aad);
		if (rc == 0)
			*repl = json_stringn(enc.data, enc.len);
	}
	if (rc == 0 && !*repl)
		rc = -ENOMEM;
	goto out;
fail:
	if (rc != -ENOMEM)
		rc = -EINVAL;
	sops_walk_fail(w);
out:
	if (opened) {
		explicit_bzero(opened, opened_len);
		free(opened);
	}
	explicit_bzero(plain.data, plain.len);
	gfs_buf_release(&plain);
	gfs_buf_release(&enc);
	explicit_bzero(aad, sizeof(aad));
	return rc;
}

static int sops_walk_node(struct sops_walk *w, json_t *node, struct sops_prev prev);

static struct sops_prev sops_prev_child(struct sops_prev prev, const char *key)
{
	struct sops_prev c = {
	    {json_object_get(prev.n[0], key), json_object_get(prev.n[1], key)}};
	return c;
}

/* Walks a member or element, replacing a leaf in place. */
static int sops_walk_child(struct sops_walk *w, json_t *parent, const char *key,
			   size_t index, json_t *child, struct sops_prev prev)
{
	if (json_is_object(child) || json_is_array(child))
		return sops_walk_node(w, child, prev);
	json_t *repl = NULL;
	int rc = sops_leaf(w, &repl, child, prev);
	if (rc == 0 && repl)
		rc = key ? json_object_set_new(parent, key, repl)
			 : json_array_set_new(parent, index, repl);
	return rc < 0 ? rc : 0;
}

static int sops_walk_node(struct sops_walk *w, json_t *node, struct sops_prev prev)
{
	static const struct sops_prev none;
	int rc = 0;
	if (w->depth >= SOPS_MAX_DEPTH) {
		sops_walk_fail(w);
		return gfs_error_set(-EINVAL, "nested deeper than %d levels",
				     SOPS_MAX_DEPTH);
	}
	if (json_is_array(node)) {
		/* Elements share the list's path; their ciphertexts are not
		 * matched up with the remembered ones. */
		for (size_t i = 0; rc == 0 && i < json_array_size(node); i++)
			rc = sops_walk_child(w, node, NULL, i, json_array_get(node, i),
					     none);
		return rc;
	}
	/* Keys are read before any replacement: json_object_set_new on an
	 * existing key keeps its place in the order. */
	for (void *it = json_object_iter(node); rc == 0 && it;
	     it = json_object_iter_next(node, it)) {
		const char *key = json_object_iter_key(it);
		if (w->depth == 0 && strcmp(key, "sops") == 0)
			continue;
		w->path[w->depth++] = key;
		rc = sops_walk_child(w, node, key, 0, json_object_iter_value(it),
				     sops_prev_child(prev, key));
		if (rc == 0)
			w->depth--;
	}
	return rc;
}

/* Walks doc (modified in place) and writes the MAC as upper-case hex. */
static int sops_walk_doc(struct sops_walk *w, json_t *doc, struct sops_prev prev,
			 char mac[129])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[64];
	unsigned n = 0;
	int rc = 0;
	w->hash = EVP_MD_CTX_new();
	if (!w->hash || EVP_DigestInit_ex(w->hash, EVP_sha512(), NULL) != 1 ||
	    (w->mac_only && EVP_DigestUpdate(w->hash, sops_mac_only_init,
					     sizeof(sops_mac_only_init)) != 1))
		rc = gfs_error_set(-EIO, "SHA-512 failed in libcrypto");
	if (rc == 0)
		rc = sops_walk_node(w, doc, prev);
	if (rc == 0 && (EVP_DigestFinal_ex(w->hash, md, &n) != 1 || n != 64))
		rc = gfs_error_set(-EIO, "SHA-512 failed in libcrypto");
	for (unsigned i = 0; rc == 0 && i < 64; i++) {
		mac[2 * i] = hex[md[i] >> 4];
		mac[2 * i + 1] = hex[md[i] & 15];
	}
	mac[rc == 0 ? 128 : 0] = '\0';
	EVP_MD_CTX_free(w->hash);
	w->hash = NULL;
	return rc;
}

static bool gfs_str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ---- the sops block ------------------------------------------------------------- */

bool gfs_sops_is_encrypted(const json_t *doc)
{
	return json_is_object(json_object_get(doc, "sops"));
}

/* The data key, opened by one of the identities from sops.age[].enc. */
static int sops_data_key(unsigned char key[SOPS_KEY_LEN], const struct gfs_sops *s,
			 const json_t *meta)
{
	const json_t *age = json_object_get(meta, "age"), *entry;
	size_t i;
	int rc = -EACCES;
	json_array_foreach(age, i, entry)
	{
		const char *enc = json_string_value(json_object_get(entry, "enc"));
		unsigned char *file = NULL, *plain = NULL;
		size_t flen = 0, plen = 0;
		if (!enc || gfs_age_dearmor(&file, &flen, enc, strlen(enc)) < 0) {
			free(file);
			continue;
		}
		int r = gfs_age_decrypt(&plain, &plen, s->ids, s->n_ids, file, flen);
		free(file);
		if (r == 0 && plen == SOPS_KEY_LEN) {
			memcpy(key, plain, SOPS_KEY_LEN);
			rc = 0;
		}
		if (plain) {
			explicit_bzero(plain, plen);
			free(plain);
		}
		if (rc == 0)
			return 0;
	}
	if (!json_array_size(age))
		return gfs_error_set(-EACCES,
				     "the file has no age recipient (sops.age is "
				     "empty); gitopsfs decrypts age only");
	return gfs_error_set(
	    -EACCES, "none of the age identities (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY) "
		     "opens the file's data key");
}

/* The MAC stored in the block, decrypted. */
static int sops_mac_open(char mac[129], const unsigned char key[SOPS_KEY_LEN],
			 const json_t *meta)
{
	const char *enc = json_string_value(json_object_get(meta, "mac"));
	const char *lm = json_string_value(json_object_get(meta, "lastmodified"));
	unsigned char *plain = NULL;
	size_t len = 0;
	char type[16];
	if (!enc || !lm || strncmp(enc, SOPS_ENC_PREFIX, strlen(SOPS_ENC_PREFIX)) != 0)
		return gfs_error_set(-EINVAL,
				     "the sops block has no mac or lastmodified");
	int rc = sops_value_open(&plain, &len, type, key, enc, lm);
	if (rc == -EINVAL)
		rc = gfs_error_set(-EINVAL, "the MAC does not decrypt (the file was "
					    "changed without sops, or its lastmodified)");
	if (rc == 0 && len >= 129)
		rc = gfs_error_set(-EINVAL, "the sops MAC is malformed");
	if (rc == 0) {
		memcpy(mac, plain, len);
		mac[len] = '\0';
	}
	free(plain);
	return rc;
}

int gfs_sops_decrypt(json_t **out, const struct gfs_sops *s, const json_t *doc)
{
	unsigned char key[SOPS_KEY_LEN];
	char want[129], got[129];
	const json_t *meta = json_object_get(doc, "sops");
	json_t *copy = NULL;
	if (!json_is_object(meta))
		return gfs_error_set(-EINVAL, "not a SOPS file (no sops: block)");
	int rc = sops_data_key(key, s, meta);
	if (rc == 0)
		rc = sops_mac_open(want, key, meta);
	struct sops_walk w = {
	    .key = key,
	    .mac_only = json_is_true(json_object_get(meta, "mac_only_encrypted")),
	};
	if (rc == 0 && !(copy = json_deep_copy(doc)))
		rc = -ENOMEM;
	if (rc == 0) {
		json_object_del(copy, "sops");
		rc = sops_walk_doc(&w, copy, (struct sops_prev){{NULL, NULL}}, got);
		if (rc == -EINVAL && w.bad)
			rc = gfs_error_set(-EINVAL,
					   "%s does not decrypt with the file's data key "
					   "(tampered, or moved from another key)",
					   w.bad);
	}
	if (rc == 0 &&
	    (strlen(got) != strlen(want) || CRYPTO_memcmp(got, want, strlen(got)) != 0))
		rc = gfs_error_set(-EINVAL, "the MAC does not match the values: the file "
					    "was changed after it was encrypted");
	explicit_bzero(key, sizeof(key));
	if (rc < 0) {
		json_decref(copy);
		return rc;
	}
	*out = copy;
	return 0;
}

int gfs_sops_remember(struct gfs_sops *s, const char *path, const json_t *doc)
{
	pthread_mutex_lock(&s->lock);
	int rc = json_object_set(s->last, path, (json_t *)doc);
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? -ENOMEM : 0;
}

int gfs_sops_seed(struct gfs_sops *s, const char *path, const json_t *doc)
{
	pthread_mutex_lock(&s->lock);
	int rc = json_object_set(s->base, path, (json_t *)doc);
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? -ENOMEM : 0;
}

/* ---- recipients ----------------------------------------------------------------- */

/* Are the recipients of the block exactly these (in any order)? */
static bool sops_same_recipients(const json_t *meta, char *const *r)
{
	const json_t *age = json_object_get(meta, "age"), *e;
	size_t i;
	if (json_array_size(age) != gfs_strv_len(r))
		return false;
	json_array_foreach(age, i, e)
	{
		const char *rec = json_string_value(json_object_get(e, "recipient"));
		if (!rec || !gfs_strv_has(r, rec))
			return false;
	}
	return true;
}

/* age: [{recipient, enc}] with the data key encrypted to each. */
static int sops_age_list(json_t **out, const unsigned char key[SOPS_KEY_LEN],
			 char *const *r)
{
	json_t *list = json_array();
	int rc = list ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && r[i]; i++) {
		unsigned char pub[GFS_AGE_KEY_LEN];
		struct gfs_buf file = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT);
		struct gfs_buf armor = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT * 2);
		rc = gfs_age_recipient_parse(pub, r[i]);
		if (rc < 0)
			rc = gfs_error_set(-EINVAL, "%s is not an age recipient", r[i]);
		const unsigned char(*one)[GFS_AGE_KEY_LEN] = &pub;
		if (rc == 0)
			rc = gfs_age_encrypt(&file, one, 1, key, SOPS_KEY_LEN);
		if (rc == 0)
			rc = gfs_age_armor(&armor, file.data, file.len);
		json_t *e = rc == 0 ? json_pack("{s:s, s:s}", "recipient", r[i], "enc",
						armor.data)
				    : NULL;
		if (rc == 0 && (!e || json_array_append_new(list, e) < 0))
			rc = -ENOMEM;
		gfs_buf_release(&file);
		gfs_buf_release(&armor);
	}
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* A new sops block: the age list (the remembered one when the recipients
 * did not change), now as lastmodified, the MAC encrypted under it. */
static json_t *sops_block_new(const unsigned char key[SOPS_KEY_LEN], char *const *r,
			      const json_t *prev_meta, const char *mac)
{
	char lm[32];
	struct tm tm;
	time_t now = time(NULL);
	struct gfs_buf enc = GFS_BUF_INIT(4096);
	json_t *age = NULL, *meta = NULL;
	gmtime_r(&now, &tm);
	strftime(lm, sizeof(lm), "%Y-%m-%dT%H:%M:%SZ", &tm);
	int rc = 0;
	if (prev_meta && sops_same_recipients(prev_meta, r))
		age = json_deep_copy(json_object_get(prev_meta, "age"));
	else
		rc = sops_age_list(&age, key, r);
	if (rc == 0)
		rc = sops_value_seal(&enc, key, mac, strlen(mac), "str", lm);
	if (rc == 0 && age)
		meta = json_pack("{s:O, s:s, s:s, s:s, s:s}", "age", age, "lastmodified",
				 lm, "mac", enc.data, "encrypted_regex",
				 GFS_SOPS_ENCRYPTED_REGEX, "version", GFS_SOPS_VERSION);
	if (rc == 0 && !meta)
		gfs_error_set(-ENOMEM, "out of memory");
	json_decref(age);
	gfs_buf_release(&enc);
	return meta;
}

/* The remembered document's data key and block, when they can be reused:
 * 1 with key set, 0 when not (a fresh key is made). */
static int sops_prev_key(unsigned char key[SOPS_KEY_LEN], const struct gfs_sops *s,
			 const json_t *prev)
{
	const json_t *meta = json_object_get(prev, "sops");
	if (!json_is_object(meta))
		return 0;
	return sops_data_key(key, s, meta) == 0 ? 1 : 0;
}

static int sops_seal(json_t **out, struct gfs_sops *s, const char *path,
		     const json_t *plain)
{
	unsigned char key[SOPS_KEY_LEN];
	char mac[129] = "", old[129] = "";
	struct gfs_buf text = GFS_BUF_INIT(GFS_AGE_FILE_LIMIT * 4);
	json_t *doc = NULL, *last = NULL, *base = NULL, *meta = NULL;
	char *const *r = sops_recipients_for(s, path);
	int rc = 0;
	if (!r || !r[0])
		return gfs_error_set(-EINVAL,
				     "%s: no age recipient to encrypt to: name them in "
				     ".gitopsfs.yaml (sops: {age: [age1...]}) or in a "
				     ".sops.yaml creation rule that matches the path",
				     path);
	pthread_mutex_lock(&s->lock);
	last = json_incref(json_object_get(s->last, path));
	base = json_incref(json_object_get(s->base, path));
	pthread_mutex_unlock(&s->lock);
	/* The data key of what the file showed last, else of the commit
	 * (gitopsfs keeps a Secret's data key, so the two usually share it:
	 * a value changed and changed back gets the commit's ciphertext). */
	struct sops_prev prev = {{last, base}};
	if (!sops_prev_key(key, s, last) && !sops_prev_key(key, s, base))
		rc = gfs_crypto_random(key, sizeof(key));
	/* The MAC follows the order of the file as written: emit the
	 * plaintext and read it back, so the walk sees the emitted order
	 * and the scalars as any reader of the file will. */
	if (rc == 0)
		rc = gfs_yaml_emit(&text, plain);
	if (rc == 0)
		rc = gfs_yaml_parse(&doc, text.data, text.len, NULL);
	if (rc == 0 && !json_is_object(doc))
		rc = gfs_error_set(-EINVAL, "%s: not a mapping", path);
	struct sops_walk w = {.seal = true, .key = key};
	if (rc == 0)
		rc = sops_walk_doc(&w, doc, prev, mac);
	/* Nothing changed: the remembered block as it is (lastmodified, mac). */
	const json_t *same = NULL, *prev_meta = NULL;
	for (int i = 0; rc == 0 && i < 2 && !same; i++) {
		const json_t *m = json_object_get(prev.n[i], "sops");
		if (m && !prev_meta && sops_mac_open(old, key, m) == 0)
			prev_meta = m; /* under this data key */
		if (m && sops_same_recipients(m, r) &&
		    gfs_str_eq(json_string_value(json_object_get(m, "encrypted_regex")),
			       GFS_SOPS_ENCRYPTED_REGEX) &&
		    !json_object_get(m, "mac_only_encrypted") &&
		    sops_mac_open(old, key, m) == 0 && strcmp(old, mac) == 0)
			same = m;
	}
	if (rc == 0)
		meta =
		    same ? json_deep_copy(same) : sops_block_new(key, r, prev_meta, mac);
	if (rc == 0 && (!meta || json_object_set_new(doc, "sops", meta) < 0))
		rc = rc ? rc : -ENOMEM;
	explicit_bzero(key, sizeof(key));
	explicit_bzero(text.data, text.len);
	gfs_buf_release(&text);
	json_decref(last);
	json_decref(base);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int gfs_sops_render(struct gfs_buf *out, struct gfs_sops *s, const char *path,
		    const json_t *plain, bool remember)
{
	json_t *doc = NULL;
	int rc = sops_seal(&doc, s, path, plain);
	if (rc == 0)
		rc = gfs_yaml_emit(out, doc);
	if (rc == 0 && remember)
		rc = gfs_sops_remember(s, path, doc);
	json_decref(doc);
	return rc;
}
