/*
 * test_packwrite.c - the first import's writers. Blobs written as one
 * pack (git/packwrite.c): each reads back byte for byte through libgit2,
 * a blob queued twice is written once, sizes that need one to four header
 * bytes and content larger than the deflate buffer round-trip, and `git
 * fsck --full` (real git, reading the pack and its index) finds nothing
 * wrong but the blobs being dangling, as nothing names them yet. The
 * index written whole (git/indexwrite.c): byte for byte what libgit2's
 * git_index_add and git_index_write write for the same files and stat
 * data, in the index's order whatever the order given, read by real git
 * as staged.
 */
#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_indexwrite.h"
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

/* The number after prefix on a line of cmd's output; -1 if none. */
static long command_number(const char *cmd, const char *prefix)
{
	char line[512];
	long v = -1;
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			v = strtol(line + strlen(prefix), NULL, 10);
	if (p)
		pclose(p);
	return v;
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
	CHECK_INT(gfs_packwrite_add(pw, &again, b[3]), 0);
	CHECK(git_oid_equal(&again, &id[3]));
	CHECK_INT(gfs_packwrite_flush(pw), 0);
	snprintf(cmd, sizeof(cmd), "git --git-dir=%s count-objects -v", scratch);
	CHECK_INT(command_number(cmd, "in-pack: "), N);
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

static char *slurp(const char *path, size_t *len)
/* (the whole file, malloc'ed; NULL if unreadable) */
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		rewind(f);
		data = n >= 0 ? malloc((size_t)n + 1) : NULL;
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return data;
}

/* Paths whose byte order is not their directory order ('-' and '.' sort
 * before '/'), one byte above 0x7f, one longer than the 12 bits of the
 * flags, given in reverse. */
static void the_index_is_what_libgit2_writes(void)
{
	static char longpath[4096]; /* 4095 bytes: flags say 0xfff */
	const char *paths[] = {"b.yaml",
			       "a/x.yaml",
			       "a-b/x.yaml",
			       "a.b/y.yaml",
			       "a/b/c/d.yaml",
			       "\xc3\xa9t\xc3\xa9.yaml",
			       "_cluster/namespaces/default.yaml",
			       longpath};
	enum { N = sizeof(paths) / sizeof(paths[0]) };
	struct gfs_indexwrite_entry v[N];
	char ours[300], theirs[300], file[400], cmd[900];
	git_repository *repo = NULL, *ref = NULL;
	git_index *index = NULL;
	/* Components of 100 bytes: a file system refuses longer names. */
	memset(longpath, 'l', sizeof(longpath) - 6);
	for (size_t i = 100; i < sizeof(longpath) - 6; i += 101)
		longpath[i] = '/';
	strcpy(longpath + sizeof(longpath) - 6, ".yaml");
	snprintf(ours, sizeof(ours), "%s/ours", scratch);
	snprintf(theirs, sizeof(theirs), "%s/theirs", scratch);
	CHECK_INT(git_repository_init(&repo, ours, false), 0);
	CHECK_INT(git_repository_init(&ref, theirs, false), 0);
	CHECK_INT(git_repository_index(&index, ref), 0);
	for (size_t i = 0; i < N; i++) {
		char text[64];
		size_t k = N - 1 - i;
		int len = snprintf(text, sizeof(text), "file %zu\n", k);
		git_oid in_ref;
		CHECK_INT(git_blob_create_from_buffer(&v[i].id, repo, text, (size_t)len),
			  0);
		CHECK_INT(git_blob_create_from_buffer(&in_ref, ref, text, (size_t)len),
			  0);
		v[i].path = paths[k];
		v[i].size = (uint32_t)len;
		v[i].mtime_ns = 1700000000123456789LL + (int64_t)k * 1000000007;
		v[i].ino = 0x80000000u + (uint32_t)k;
		git_index_entry e;
		memset(&e, 0, sizeof(e));
		e.path = paths[k];
		e.mode = GIT_FILEMODE_BLOB;
		e.file_size = (uint32_t)len;
		e.mtime.seconds = (int32_t)(v[i].mtime_ns / 1000000000);
		e.mtime.nanoseconds = (uint32_t)(v[i].mtime_ns % 1000000000);
		e.ctime = e.mtime;
		e.ino = v[i].ino;
		e.uid = 1234;
		e.gid = 5678;
		git_oid_cpy(&e.id, &in_ref);
		CHECK_INT(git_index_add(index, &e), 0);
	}
	CHECK_INT(git_index_write(index), 0);
	CHECK_INT(gfs_indexwrite(git_repository_path(repo), v, N, 1234, 5678), 0);
	for (size_t i = 1; i < N; i++)
		CHECK(strcmp(v[i - 1].path, v[i].path) < 0);
	size_t n_ours = 0, n_theirs = 0;
	snprintf(file, sizeof(file), "%s/.git/index", ours);
	char *a = slurp(file, &n_ours);
	snprintf(file, sizeof(file), "%s/.git/index", theirs);
	char *b = slurp(file, &n_theirs);
	CHECK(a && b && n_ours == n_theirs && memcmp(a, b, n_ours) == 0);
	free(a);
	free(b);
	/* Real git reads it: every file added, none in the work tree. */
	snprintf(cmd, sizeof(cmd), "git -C %s status --porcelain 2>&1 | grep -c '^AD '",
		 ours);
	CHECK_INT(command_number(cmd, ""), N);
	/* Two files at one path; a lock that is there. */
	v[1].path = v[0].path;
	CHECK_INT(gfs_indexwrite(git_repository_path(repo), v, N, 0, 0), -EEXIST);
	snprintf(file, sizeof(file), "%s/.git/index.lock", ours);
	FILE *f = fopen(file, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	v[1].path = paths[0];
	CHECK_INT(gfs_indexwrite(git_repository_path(repo), v, N, 0, 0), -EEXIST);
	CHECK(access(file, F_OK) == 0); /* someone else's: left alone */
	git_index_free(index);
	git_repository_free(ref);
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
	TAP_RUN(the_index_is_what_libgit2_writes);
	git_libgit2_shutdown();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", scratch);
	return tap_done();
}
