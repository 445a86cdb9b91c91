/*
 * gfs_sops.h - Secrets in the SOPS YAML format, encrypted to age
 * recipients (the `secrets: sops` mode, SPEC sections 4 and 7).
 *
 * A file in this format is the Secret with every value under a key named
 * `data` or `stringData` (sops' encrypted_regex ^(data|stringData)$)
 * replaced by ENC[AES256_GCM,data:...,iv:...,tag:...,type:str]: AES-256-GCM
 * under a random 32-byte data key, a 32-byte random IV, and as additional
 * data the value's key path as sops builds it ("data:password:"). The
 * top-level `sops:` map holds the data key encrypted to each age
 * recipient (age: [{recipient, enc}], enc an armored age file), the
 * `lastmodified` time, `encrypted_regex`, `version`, and `mac`: the
 * upper-case hex SHA-512 of every plaintext leaf of the document in file
 * order (sops' Tree.Encrypt), itself encrypted with the data key and
 * lastmodified as additional data. Such files are read and written by the
 * standard `sops` tool and by Flux.
 *
 * No false drift: a gfs_sops remembers, per file path, the last SOPS
 * document it showed or was given, and the one of the checked-out commit.
 * Encrypting a Secret again reuses that document's data key, each
 * ciphertext whose plaintext is unchanged, and - when nothing changed -
 * its whole `sops:` block, so an unchanged Secret gives the same bytes and
 * a changed value changes only its own line (and the MAC).
 *
 * Plaintext and keys are wiped after use and never appear in a message:
 * messages name the file's key path ("data.password") at most.
 *
 * Thread safety: every function may be called from any thread; the
 * remembered documents are guarded by the gfs_sops's own mutex, held
 * only to look up or replace an entry (never across crypto or I/O).
 */
#ifndef GFS_SOPS_H
#define GFS_SOPS_H

#include <jansson.h>
#include <stdbool.h>

#include "gfs_age.h"
#include "gfs_common.h"

#define GFS_SOPS_ENCRYPTED_REGEX "^(data|stringData)$"
#define GFS_SOPS_VERSION         "3.9.0"

struct gfs_sops;

struct gfs_sops_opts {
	/* Recipients ("age1...") for every file (.gitopsfs.yaml's sops.age),
	 * or NULL to take them from `rules`. Copied. */
	char *const *recipients;
	/* The text of a .sops.yaml (NULL: none): the first creation_rules
	 * entry whose path_regex matches a file's path gives its age
	 * recipients (`age: "age1..,age1.."`, a list, or key_groups[].age). */
	const char *rules;
	size_t rules_len;
	/* Identities that decrypt (copied). At least one. */
	const struct gfs_age_identity *ids;
	size_t n_ids;
};

/* 0, or -EINVAL with a message naming what to fix (no recipients, a bad
 * recipient, an invalid .sops.yaml or path_regex), or -ENOMEM. */
int gfs_sops_new(struct gfs_sops **out, const struct gfs_sops_opts *o);
void gfs_sops_free(struct gfs_sops *s);

/* The identities SOPS itself would use: SOPS_AGE_KEY (the key text),
 * SOPS_AGE_KEY_FILE (a key file), else $XDG_CONFIG_HOME/sops/age/keys.txt
 * (~/.config/sops/age/keys.txt). -ENOKEY, with a message saying how to
 * provide one, when there is none; -EINVAL for an unreadable or invalid
 * source. *ids: gfs_age_identities_free. */
int gfs_sops_identities_load(struct gfs_age_identity **ids, size_t *n);

/* Does doc carry a `sops:` map (a file in SOPS format)? */
bool gfs_sops_is_encrypted(const json_t *doc);

/* Verifies and decrypts a SOPS document: the data key is opened with one
 * of the identities, every ENC[...] value decrypted, the MAC recomputed
 * and compared. *out is a new plaintext document without `sops`. -EACCES
 * when no identity opens the data key, -EINVAL when the file is malformed
 * or the MAC does not match (tampered), with the reason set. */
int gfs_sops_decrypt(json_t **out, const struct gfs_sops *s, const json_t *doc);

/* Remembers a SOPS document as the last one of `path` (what the file
 * showed, or a file written in), for its ciphertexts to be reused. Only
 * ciphertexts that decrypt to the current value are reused, so an
 * unverified document does no harm. 0 or -ENOMEM. */
int gfs_sops_remember(struct gfs_sops *s, const char *path, const json_t *doc);
/* The same for the document of `path` in the checked-out commit: tried
 * after the last one, so that a value changed and changed back shows
 * Git's ciphertext again. */
int gfs_sops_seed(struct gfs_sops *s, const char *path, const json_t *doc);

/* The SOPS file of the plaintext Secret `plain` at `path`, appended to
 * out as canonical YAML (gfs_yaml_emit). Reuses what is remembered for
 * path as described above; with `remember`, what it renders is remembered
 * in turn (the mount's own rendering; a comparison passes false).
 * 0 or -errno with the message set. */
int gfs_sops_render(struct gfs_buf *out, struct gfs_sops *s, const char *path,
		    const json_t *plain, bool remember);

#endif
