/*
 * gfs_packwrite.h - writes blobs into a repository's object database as
 * one pack (packwrite.c), for the first import of a cluster: one deflate
 * per blob, no delta search, indexed by libgit2's indexer.
 *
 * Owned by one thread at a time; no locks. The blobs are held by
 * reference until the next flush.
 */
#ifndef GFS_PACKWRITE_H
#define GFS_PACKWRITE_H

#include <git2.h>

#include "gfs_common.h"

struct gfs_packwrite;

int gfs_packwrite_new(struct gfs_packwrite **out, git_repository *repo);
void gfs_packwrite_free(struct gfs_packwrite *pw);
/* Sets *id to the blob's id and queues it for the next pack. A blob
 * queued twice before one flush is written once; after a flush, again
 * into the next pack (git reads an object from whichever pack has it).
 * 0 or -errno with a message. */
int gfs_packwrite_add(struct gfs_packwrite *pw, git_oid *id, struct gfs_blob *data);
/* The content bytes queued since the last flush. */
size_t gfs_packwrite_pending_bytes(const struct gfs_packwrite *pw);
/* Writes what is queued as one pack (and its index) into objects/pack;
 * nothing when nothing is queued. 0 or -errno with a message. */
int gfs_packwrite_flush(struct gfs_packwrite *pw);

#endif
