/*
 * indexwrite.c - a repository's index written from a list of files. See
 * gfs_indexwrite.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_indexwrite.h"

/* Bytes of an entry before its path: ctime, mtime (seconds and
 * nanoseconds each), dev, ino, mode, uid, gid, size (4 bytes each), the
 * 20-byte id and 2 bytes of flags. */
#define ENTRY_FIXED 62
#define MODE_FILE   0100644u
#define NAME_MASK   0x0fffu /* flags: the path's length, or 0xfff if longer */
#define OUT_CHUNK   (64u << 10)

struct index_out {
	int fd;
	EVP_MD_CTX *sha1;
	unsigned char buf[OUT_CHUNK];
	size_t len;
};

/* Writes what is buffered; hashed first unless it is the trailer. */
static int out_drain(struct index_out *o, bool hash)
{
	if (hash && EVP_DigestUpdate(o->sha1, o->buf, o->len) != 1)
		return gfs_error_set(-EIO, "SHA-1 failed");
	for (size_t done = 0; done < o->len;) {
		ssize_t w = write(o->fd, o->buf + done, o->len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return gfs_error_set(-errno, "cannot write the index: %s",
					     strerror(errno));
		done += (size_t)w;
	}
	o->len = 0;
	return 0;
}

static int out_add(struct index_out *o, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len) {
		if (o->len == sizeof(o->buf)) {
			int rc = out_drain(o, true);
			if (rc < 0)
				return rc;
		}
		size_t n = sizeof(o->buf) - o->len < len ? sizeof(o->buf) - o->len : len;
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
	}
	return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

void gfs_index_stat_of(struct gfs_index_stat *out, int64_t mtime_ns, uint64_t ino,
		       uint64_t size, uint32_t uid, uint32_t gid)
{
	out->sec = (uint32_t)(mtime_ns / 1000000000);
	out->nsec = (uint32_t)(mtime_ns % 1000000000);
	out->ino = (uint32_t)ino;
	out->uid = uid;
	out->gid = gid;
	out->size = (uint32_t)size;
}

static int entry_cmp(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: the index's order. */
	return strcmp(((const struct gfs_indexwrite_entry *)a)->path,
		      ((const struct gfs_indexwrite_entry *)b)->path);
}

static int write_entries(struct index_out *o, const struct gfs_indexwrite_entry *v,
			 size_t n, uint32_t uid, uint32_t gid)
{
	unsigned char head[12] = {'D', 'I', 'R', 'C'};
	put32(head + 4, 2);
	put32(head + 8, (uint32_t)n);
	int rc = out_add(o, head, sizeof(head));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char e[ENTRY_FIXED + 8];
		size_t len = strlen(v[i].path);
		/* 1 to 8 NULs after the path, to a multiple of eight. */
		size_t pad = 8 - (ENTRY_FIXED + len) % 8;
		memset(e, 0, sizeof(e));
		/* ctime and mtime, seconds and nanoseconds (the index keeps
		 * 32 bits of seconds); dev stays 0 (git compares it only when
		 * built with USE_STDEV). */
		struct gfs_index_stat st;
		gfs_index_stat_of(&st, v[i].mtime_ns, v[i].ino, v[i].size, uid, gid);
		put32(e + 0, st.sec);
		put32(e + 4, st.nsec);
		put32(e + 8, st.sec);
		put32(e + 12, st.nsec);
		put32(e + 20, st.ino);
		put32(e + 24, MODE_FILE);
		put32(e + 28, st.uid);
		put32(e + 32, st.gid);
		put32(e + 36, st.size);
		memcpy(e + 40, v[i].id.id, GIT_OID_RAWSZ);
		uint16_t flags = len < NAME_MASK ? (uint16_t)len : NAME_MASK;
		e[60] = (unsigned char)(flags >> 8);
		e[61] = (unsigned char)flags;
		rc = out_add(o, e, ENTRY_FIXED);
		if (rc == 0)
			rc = out_add(o, v[i].path, len);
		if (rc == 0)
			rc = out_add(o, e + ENTRY_FIXED, pad); /* zeroes */
	}
	return rc;
}

int gfs_indexwrite(const char *gitdir, struct gfs_indexwrite_entry *v, size_t n,
		   uint32_t uid, uint32_t gid)
{
	char path[4096], lock[4096];
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned sum_len = 0;
	const char *sep = *gitdir && gitdir[strlen(gitdir) - 1] == '/' ? "" : "/";
	if (n > UINT32_MAX)
		return gfs_error_set(-EFBIG, "too many files for one index");
	if ((size_t)snprintf(path, sizeof(path), "%s%sindex", gitdir, sep) >=
		sizeof(path) ||
	    (size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock))
		return gfs_error_set(-ENAMETOOLONG, "the repository's path is too long");
	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1].path, v[i].path) == 0)
			return gfs_error_set(-EEXIST, "two files at %s", v[i].path);
	struct index_out *o = calloc(1, sizeof(*o));
	if (!o || !(o->sha1 = EVP_MD_CTX_new()) ||
	    EVP_DigestInit_ex(o->sha1, EVP_sha1(), NULL) != 1) {
		if (o)
			EVP_MD_CTX_free(o->sha1);
		free(o);
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	int rc = 0;
	o->fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		rc = errno == EEXIST
			 ? gfs_error_set(-EEXIST,
					 "%s exists: another git is at work in the "
					 "repository (or one crashed: remove the file)",
					 lock)
			 : gfs_error_set(-errno, "cannot create %s: %s", lock,
					 strerror(errno));
		goto out;
	}
	rc = write_entries(o, v, n, uid, gid);
	if (rc == 0)
		rc = out_drain(o, true);
	if (rc == 0 &&
	    (EVP_DigestFinal_ex(o->sha1, sum, &sum_len) != 1 || sum_len != GIT_OID_RAWSZ))
		rc = gfs_error_set(-EIO, "SHA-1 failed");
	if (rc == 0) {
		memcpy(o->buf, sum, sum_len);
		o->len = sum_len;
		rc = out_drain(o, false);
	}
	if (close(o->fd) < 0 && rc == 0)
		rc = gfs_error_set(-errno, "cannot write the index: %s", strerror(errno));
	if (rc == 0 && rename(lock, path) < 0)
		rc =
		    gfs_error_set(-errno, "cannot replace %s: %s", path, strerror(errno));
	if (rc < 0)
		unlink(lock);
out:
	EVP_MD_CTX_free(o->sha1);
	free(o);
	return rc;
}
