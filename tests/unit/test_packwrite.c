/*
 * test_packwrite.c - blobs written as one pack (git/packwrite.c): each
 * reads back byte for byte through libgit2, a blob queued twice is
 * written once, sizes that need one to four header bytes and content
 * larger than the deflate buffer round-trip, and `git fsck --full`
 * (real git, reading the pack and its index) finds nothing wrong but the
 * blobs being dangling, as nothing names them yet.
 */
#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_packwrite.h"
#include "tap.h"

static char scratch[] = "/tmp/gfs-test-packwrite.XXXXXX";

static struct gfs_blob *blob_of_size(size_t len, unsigned seed)
{
	char *p = malloc(len + 1);
	if (!p)
		return NULL;
	/* Text that deflates a little, like YAML, but not to nothing. */
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)('a' + (seed >> 16) % 26);
		if (i % 40 == 39)
			p[i] = '\n';
	}
	struct gfs_blob *b = gfs_blob_new(p, len);
	free(p);
	return b;
}

static void blobs_read_back_and_fsck_is_clean(void)
{
	git_repository *repo = NULL;
	struct gfs_packwrite *pw = NULL;
	static const size_t sizes[] = {0, 1, 15, 16, 2047, 2048, 300000, 5000000};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct gfs_blob *b[N];
	git_oid id[N], again;
	char cmd[512];
	CHECK_INT(git_repository_init(&repo, scratch, true), 0);
	CHECK_INT(gfs_packwrite_new(&pw, repo), 0);
	for (size_t i = 0; i < N; i++) {
		b[i] = blob_of_size(sizes[i], (unsigned)i);
		CHECK(b[i] != NULL);
		CHECK_INT(gfs_packwrite_add(pw, &id[i], b[i]), 0);
	}
	/* The same content again: the same id, not a second copy. */
	size_t pending = gfs_packwrite_pending_bytes(pw);
	CHECK_INT(gfs_packwrite_add(pw, &again, b[3]), 0);
	CHECK(git_oid_equal(&again, &id[3]));
	CHECK(gfs_packwrite_pending_bytes(pw) == pending);
	CHECK_INT(gfs_packwrite_flush(pw), 0);
	CHECK(gfs_packwrite_pending_bytes(pw) == 0);
	CHECK_INT(gfs_packwrite_flush(pw), 0); /* nothing queued: no pack */
	for (size_t i = 0; i < N; i++) {
		git_blob *blob = NULL;
		git_oid want;
		CHECK_INT(git_odb_hash(&want, b[i]->data, b[i]->len, GIT_OBJECT_BLOB), 0);
		CHECK(git_oid_equal(&want, &id[i]));
		CHECK_INT(git_blob_lookup(&blob, repo, &id[i]), 0);
		CHECK(blob && (size_t)git_blob_rawsize(blob) == b[i]->len &&
		      memcmp(git_blob_rawcontent(blob), b[i]->data, b[i]->len) == 0);
		git_blob_free(blob);
	}
	snprintf(cmd, sizeof(cmd),
		 "git --git-dir=%s fsck --full --strict --no-dangling 2>&1", scratch);
	FILE *p = popen(cmd, "r");
	char line[512];
	int bad = 0;
	while (p && fgets(line, sizeof(line), p))
		if (strncmp(line, "notice:", 7) != 0) {
			printf("# fsck: %s", line);
			bad++;
		}
	CHECK(p && pclose(p) == 0);
	CHECK_INT(bad, 0);
	/* A second pack beside the first. */
	struct gfs_blob *late = blob_of_size(100, 99);
	git_oid late_id;
	git_blob *blob = NULL;
	CHECK_INT(gfs_packwrite_add(pw, &late_id, late), 0);
	CHECK_INT(gfs_packwrite_flush(pw), 0);
	CHECK_INT(git_blob_lookup(&blob, repo, &late_id), 0);
	git_blob_free(blob);
	gfs_blob_unref(late);
	for (size_t i = 0; i < N; i++)
		gfs_blob_unref(b[i]);
	gfs_packwrite_free(pw);
	git_repository_free(repo);
}

int main(void)
{
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 1;
	}
	git_libgit2_init();
	TAP_RUN(blobs_read_back_and_fsck_is_clean);
	git_libgit2_shutdown();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", scratch);
	return tap_done();
}
