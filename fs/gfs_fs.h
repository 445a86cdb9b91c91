/*
 * gfs_fs.h - the FUSE layer (libfuse3 low-level API).
 *
 * Serves, from memory, the tree of a gfs_store merged with the ordinary
 * files kept in a local directory (SPEC section 3: every path the mount
 * does not manage), plus special entries: the gitfile `.git`, and
 * `.gitopsfs/status`, `errors`, `health` and `last-apply`, whose contents
 * come from callbacks, as does each object file's xattr
 * `user.gitopsfs.health`. This module never includes libcurl or libgit2: everything it
 * needs of the rest of the program comes through gfs_fs_opts.
 *
 * Caching: entries and attributes are cached by the kernel for a long
 * time and file pages are kept across opens; when the store reports a
 * change, a dedicated thread (never a request handler: see
 * fuse_lowlevel.h on deadlocks) invalidates exactly the affected inodes
 * and entries the kernel knows.
 */
#ifndef GFS_FS_H
#define GFS_FS_H

#include <stdbool.h>

#include "gfs_common.h"
#include "gfs_store.h"

/* Appends the text of a special file to out. */
typedef int (*gfs_fs_text_cb)(void *payload, struct gfs_buf *out);

/* How writes reach the cluster (gfs_apply.h); NULL in gfs_fs_opts makes
 * the mount read-only (every change fails with EROFS). */
struct gfs_fs_writer {
	/* Applies the bytes written to an object path; -errno and the
	 * per-thread error on refusal. expect_version: see gfs_apply.h. */
	int (*apply)(void *payload, const char *path, const char *data, size_t len,
		     uint64_t expect_version);
	/* Deletes the object at path (deferred; see gfs_apply.h). */
	int (*remove)(void *payload, const char *path);
	void *payload;
};

struct gfs_fs_opts {
	const struct gfs_fs_writer *writer; /* borrowed; NULL = read-only */
	struct gfs_store *store;            /* borrowed; outlives the fs */
	const char *local_dir; /* ordinary files live here (created if missing) */
	const char *gitdir;    /* `.git` reads "gitdir: <gitdir>\n" */
	gfs_fs_text_cb status_json;
	gfs_fs_text_cb errors_text;
	gfs_fs_text_cb health_text;     /* .gitopsfs/health; NULL: empty */
	gfs_fs_text_cb last_apply_text; /* .gitopsfs/last-apply; NULL: empty */
	/* The xattr user.gitopsfs.health of the object file at path ("Failed:
	 * ..."), into out (cut to outsz): 0, or -ENOENT for no object file.
	 * Answered from memory. NULL: no such xattr. */
	int (*health_of)(void *payload, const char *path, char *out, size_t outsz);
	void *payload; /* for the callbacks */
	bool debug;
};

struct gfs_fs;

/* Creates the session and the invalidation thread, and subscribes to the
 * store's changes: call before the informers start. */
int gfs_fs_new(struct gfs_fs **out, const struct gfs_fs_opts *opts);

/* Mounts at `mountpoint`. On failure returns -errno with the per-thread
 * error saying why (e.g. "cannot mount on /x: not an empty directory"). */
int gfs_fs_mount(struct gfs_fs *fs, const char *mountpoint);

/* Serves requests on several threads until unmounted (fusermount3 -u) or
 * gfs_fs_exit. Returns 0 or -errno. */
int gfs_fs_loop(struct gfs_fs *fs);

/* Asks the loop to end (async-signal-safe). */
void gfs_fs_exit(struct gfs_fs *fs);

/* Unmounts if still mounted, stops the invalidation thread, frees. */
void gfs_fs_free(struct gfs_fs *fs);

#endif
