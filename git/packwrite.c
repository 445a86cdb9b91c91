/*
 * packwrite.c - blobs into a repository as one pack, in one pass. See
 * gfs_packwrite.h.
 *
 * Why not git_packbuilder: for the first import of a cluster it looked
 * for deltas between ten thousand small files (and found none worth
 * keeping), read every blob back from the in-memory backend, hashed it
 * again, deflated it, and then had the indexer inflate and hash it once
 * more: 70% of staging, which is 40% of a first mount (perf, 10,000
 * ConfigMaps). Here each blob is deflated once, straight from the bytes
 * the store already holds, into a version 2 pack stream
 * (Documentation/gitformat-pack.txt: "PACK", version, count; per object a
 * type-and-size header and its zlib stream; the SHA-1 of all that) that
 * libgit2's own indexer (git_odb_write_pack) checks and indexes.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gfs_common.h"
#include "gfs_git.h"
#include "gfs_packwrite.h"

/* Bytes handed to the indexer at a time. */
#define PACKWRITE_CHUNK (256u << 10)
#define PACK_TYPE_BLOB  3

struct gfs_packwrite_entry {
	git_oid id;
	struct gfs_blob *data; /* a reference */
};

struct gfs_packwrite {
	git_repository *repo;
	struct gfs_packwrite_entry *v;
	size_t n, cap, bytes;
};

int gfs_packwrite_new(struct gfs_packwrite **out, git_repository *repo)
{
	struct gfs_packwrite *pw = calloc(1, sizeof(*pw));
	if (!pw)
		return gfs_error_set(-ENOMEM, "out of memory");
	pw->repo = repo;
	*out = pw;
	return 0;
}

static void packwrite_clear(struct gfs_packwrite *pw)
{
	for (size_t i = 0; i < pw->n; i++)
		gfs_blob_unref(pw->v[i].data);
	pw->n = 0;
	pw->bytes = 0;
}

void gfs_packwrite_free(struct gfs_packwrite *pw)
{
	if (!pw)
		return;
	packwrite_clear(pw);
	free(pw->v);
	free(pw);
}

int gfs_packwrite_add(struct gfs_packwrite *pw, git_oid *id, struct gfs_blob *data)
{
	int rc = git_odb_hash(id, data->data, data->len, GIT_OBJECT_BLOB);
	if (rc < 0)
		return gfs_git_error(rc, "cannot hash a blob");
	if (pw->n == pw->cap) {
		size_t cap = pw->cap ? pw->cap * 2 : 1024;
		struct gfs_packwrite_entry *v = realloc(pw->v, cap * sizeof(*v));
		if (!v)
			return gfs_error_set(-ENOMEM, "out of memory");
		pw->v = v;
		pw->cap = cap;
	}
	git_oid_cpy(&pw->v[pw->n].id, id);
	pw->v[pw->n++].data = gfs_blob_ref(data);
	pw->bytes += data->len;
	return 0;
}

size_t gfs_packwrite_pending_bytes(const struct gfs_packwrite *pw)
{
	return pw->bytes;
}

/* The pack stream under construction: bytes not yet handed over, the
 * running SHA-1 of all of them, and where they go. */
struct pack_out {
	struct gfs_buf buf;
	EVP_MD_CTX *sha1;
	git_odb_writepack *wp;
	git_indexer_progress stats;
};

static int pack_out_drain(struct pack_out *o)
{
	if (o->buf.len == 0)
		return 0;
	if (EVP_DigestUpdate(o->sha1, o->buf.data, o->buf.len) != 1)
		return gfs_error_set(-EIO, "SHA-1 failed");
	int rc = o->wp->append(o->wp, o->buf.data, o->buf.len, &o->stats);
	if (rc < 0)
		return gfs_git_error(rc, "cannot write the pack");
	gfs_buf_reset(&o->buf);
	return 0;
}

static int pack_out_add(struct pack_out *o, const void *data, size_t len)
{
	if (gfs_buf_add(&o->buf, data, len) < 0)
		return gfs_error_set(-ENOMEM, "out of memory");
	return o->buf.len >= PACKWRITE_CHUNK ? pack_out_drain(o) : 0;
}

/* One object: its header (type, then the size 4 bits and then 7 bits at a
 * time, low bits first, each byte but the last with its top bit set) and
 * its content deflated. */
static int pack_out_blob(struct pack_out *o, z_stream *z, const struct gfs_blob *b)
{
	unsigned char hdr[16], out[16384];
	size_t n = 0, size = b->len;
	hdr[n] = (unsigned char)((PACK_TYPE_BLOB << 4) | (size & 0x0f));
	for (size >>= 4; size; size >>= 7) {
		hdr[n++] |= 0x80;
		hdr[n] = (unsigned char)(size & 0x7f);
	}
	int rc = pack_out_add(o, hdr, n + 1);
	if (rc < 0)
		return rc;
	if (deflateReset(z) != Z_OK)
		return gfs_error_set(-EIO, "zlib failed");
	z->next_in = (unsigned char *)b->data;
	z->avail_in = (uInt)b->len;
	int zr;
	do {
		z->next_out = out;
		z->avail_out = sizeof(out);
		zr = deflate(z, Z_FINISH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return gfs_error_set(-EIO, "zlib failed");
		rc = pack_out_add(o, out, sizeof(out) - z->avail_out);
		if (rc < 0)
			return rc;
	} while (zr != Z_STREAM_END);
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return git_oid_cmp(&((const struct gfs_packwrite_entry *)a)->id,
			   &((const struct gfs_packwrite_entry *)b)->id);
}

int gfs_packwrite_flush(struct gfs_packwrite *pw)
{
	git_odb *odb = NULL;
	z_stream z;
	bool z_ok = false;
	unsigned char head[12] = {'P', 'A', 'C', 'K', 0, 0, 0, 2};
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned sum_len = 0;
	struct pack_out o = {.buf = GFS_BUF_INIT(2 * PACKWRITE_CHUNK)};
	if (pw->n == 0)
		return 0;
	if (pw->n > UINT32_MAX)
		return gfs_error_set(-EFBIG, "too many objects for one pack");
	/* A blob queued twice is written once: sorted by id, a repeat is
	 * next to its first (a map of the ids seen cost ~6 MB at 100k). */
	qsort(pw->v, pw->n, sizeof(*pw->v), entry_cmp);
	size_t unique = 1;
	for (size_t i = 1; i < pw->n; i++)
		unique += !git_oid_equal(&pw->v[i - 1].id, &pw->v[i].id);
	memset(&z, 0, sizeof(z));
	int rc = git_repository_odb(&odb, pw->repo);
	if (rc == 0)
		rc = git_odb_write_pack(&o.wp, odb, NULL, NULL);
	if (rc < 0) {
		rc = gfs_git_error(rc, "cannot write the objects of the import");
		goto out;
	}
	o.sha1 = EVP_MD_CTX_new();
	if (!o.sha1 || EVP_DigestInit_ex(o.sha1, EVP_sha1(), NULL) != 1) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto out;
	}
	/* Level 1: these are small YAML files; the time matters more. */
	if (deflateInit(&z, Z_BEST_SPEED) != Z_OK) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto out;
	}
	z_ok = true;
	for (int i = 0; i < 4; i++)
		head[8 + i] = (unsigned char)((uint32_t)unique >> (24 - 8 * i));
	rc = pack_out_add(&o, head, sizeof(head));
	for (size_t i = 0; rc == 0 && i < pw->n; i++)
		if (i == 0 || !git_oid_equal(&pw->v[i - 1].id, &pw->v[i].id))
			rc = pack_out_blob(&o, &z, pw->v[i].data);
	if (rc == 0)
		rc = pack_out_drain(&o);
	if (rc == 0 && (EVP_DigestFinal_ex(o.sha1, sum, &sum_len) != 1 || sum_len != 20))
		rc = gfs_error_set(-EIO, "SHA-1 failed");
	if (rc == 0 && (rc = o.wp->append(o.wp, sum, sum_len, &o.stats)) < 0)
		rc = gfs_git_error(rc, "cannot write the pack");
	if (rc == 0 && (rc = o.wp->commit(o.wp, &o.stats)) < 0)
		rc = gfs_git_error(rc, "cannot write the pack");
	if (rc == 0)
		packwrite_clear(pw);
out:
	if (z_ok)
		deflateEnd(&z);
	EVP_MD_CTX_free(o.sha1);
	if (o.wp)
		o.wp->free(o.wp);
	git_odb_free(odb);
	gfs_buf_release(&o.buf);
	return rc;
}
