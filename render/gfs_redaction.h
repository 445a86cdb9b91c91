/*
 * gfs_redaction.h - where the key of redacted Secret values lives.
 *
 * The digest that stands for a Secret value (gfs_render.h) is keyed, so
 * that nobody can brute-force a value from Git. The key is not in Git and
 * is the same for every mount and agent of one cluster, so that they all
 * show the same bytes (no false drift, one history): it lives in the
 * cluster, as the Secret kube-system/gitopsfs-redaction-key (data.key, 32
 * random bytes), created by the first gitopsfs that needs it and may.
 * Who can read that Secret could test guesses against the digests in Git;
 * who can read Secrets in kube-system can read the values themselves.
 *
 * When the Secret can neither be read nor created (RBAC), a
 * key kept on this machine is used instead, with a warning: it is the
 * same for every mount of that cluster by this user on this machine, but
 * other machines show other digests.
 */
#ifndef GFS_REDACTION_H
#define GFS_REDACTION_H

#include <stdbool.h>

#include "gfs_kube.h"
#include "gfs_render.h"

#define GFS_REDACTION_KEY_NAMESPACE "kube-system"
#define GFS_REDACTION_KEY_NAME      "gitopsfs-redaction-key"
#define GFS_REDACTION_KEY_FIELD     "key"

/* Reads the cluster's key into *out, creating the Secret when it does not
 * exist (also for a --read-only mount: it is gitopsfs's own bookkeeping,
 * not a change of the user's, and mounts must agree); falls back to the machine's key (in
 * $XDG_STATE_HOME/gitopsfs, else ~/.local/state/gitopsfs, one file per
 * API server, 0600) when the cluster refuses. Returns 0, or -errno with
 * the message set: the server cannot be reached, or the Secret exists but
 * holds no usable key (16 to 256 bytes, base64 in data.key). */
int gfs_redaction_key_load(struct gfs_redact_key *out, struct gfs_kube_client *c);

/* The same without writing anything: the cluster's key, else this
 * machine's when it has one; 1 when there is neither (redacted values
 * then show GFS_REDACTED_NO_KEY), or -errno as above. For `gitopsfs
 * diff`, which promises no writes. */
int gfs_redaction_key_read(struct gfs_redact_key *out, struct gfs_kube_client *c);

#endif
