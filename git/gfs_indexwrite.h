/*
 * gfs_indexwrite.h - a repository's index written straight from a list of
 * files (indexwrite.c), for the first import of a cluster: what
 * git_index_add and git_index_write would write for the same entries,
 * without libgit2's in-memory index (an allocation, a path and a map slot
 * per entry: ~17 MB at 100,000 objects, held at the mount's peak).
 *
 * Format: Documentation/gitformat-index.txt, version 2 - "DIRC", the
 * version, the count; per entry the stat data, mode, size, blob id, flags
 * and path, padded with NULs to a multiple of eight; the SHA-1 of all of
 * it. No extensions.
 *
 * The stat data is what the mount will report for the file (its times,
 * inode number, owner and size): git compares it with lstat() and, when
 * it matches, trusts the entry without reading the file - the first
 * `git add -A` in the mount reads nothing through FUSE. When it does not
 * match (the object changed since, or a git that also compares st_dev),
 * git reads and hashes the file as it would anyway: stat data can cost
 * time, never a wrong answer.
 *
 * Owned by its caller's thread; no locks.
 */
#ifndef GFS_INDEXWRITE_H
#define GFS_INDEXWRITE_H

#include <git2.h>
#include <stddef.h>
#include <stdint.h>

/* One file of the index: a regular file (mode 100644) with this blob. */
struct gfs_indexwrite_entry {
	const char *path; /* relative to the work tree, no leading '/' */
	git_oid id;
	uint32_t size;    /* the file's size, as git keeps it (mod 2^32) */
	int64_t mtime_ns; /* its st_mtim (and st_ctim: the mount's are equal) */
	uint32_t ino;     /* its st_ino, the low 32 bits as git keeps them */
};

/* The stat data git keeps for a file, as the mount reports it
 * (fs/ops.c, gfs_fill_store_attr): its mtime as mtime and as ctime (the
 * index keeps 32 bits of seconds), the low 32 bits of its inode number
 * and of its size, and its owner. The one place that says how the
 * mount's attributes become an index entry's: the first import's index
 * (gfs_indexwrite) and HEAD's entries (gitstate.c) both use it. */
struct gfs_index_stat {
	uint32_t sec, nsec, ino, uid, gid, size;
};
void gfs_index_stat_of(struct gfs_index_stat *out, int64_t mtime_ns, uint64_t ino,
		       uint64_t size, uint32_t uid, uint32_t gid);

/* Sorts v[0..n) by path (the index's order: bytes, unsigned) and writes
 * them as the index of the repository at gitdir (replacing any index
 * there), through gitdir/index.lock as git does; uid and gid are every
 * file's owner. The blobs are not looked up: the caller has written
 * them. 0, or -errno with a message: -EEXIST for two entries with one
 * path, or when index.lock exists (another git is at work). */
int gfs_indexwrite(const char *gitdir, struct gfs_indexwrite_entry *v, size_t n,
		   uint32_t uid, uint32_t gid);

#endif
