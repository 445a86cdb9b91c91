/*
 * fs_internal.h - what the files of fs/ share: the inode table, the
 * invalidation queue and the struct behind a mount. Not for other modules.
 */
#ifndef GFS_FS_INTERNAL_H
#define GFS_FS_INTERNAL_H

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "gfs_fs.h"

/* ---- inode table (inodes.c) --------------------------------------------- */

/* The kernel's view: every node id we handed out in a lookup, with its
 * lookup count. Node ids are the stable inode numbers (a hash of the
 * path), so an id alone tells the path, and the same path gets the same
 * id on every mount. The table's own mutex guards it. */
struct gfs_inodes;

int gfs_inodes_new(struct gfs_inodes **out);
void gfs_inodes_free(struct gfs_inodes *t);
/* One more kernel reference to ino (created with path if new). */
int gfs_inodes_remember(struct gfs_inodes *t, uint64_t ino, const char *path);
/* The kernel dropped n references; the entry goes at zero. */
void gfs_inodes_forget(struct gfs_inodes *t, uint64_t ino, uint64_t n);
/* After a rename the kernel keeps src's inodes under the new name: they
 * (and, for a directory, everything below) now stand for dst. */
void gfs_inodes_rename(struct gfs_inodes *t, const char *src, const char *dst);
/* Copies ino's path into out; -ENOENT for an id the kernel cannot hold. */
int gfs_inodes_path(char *out, size_t outsz, struct gfs_inodes *t, uint64_t ino);
bool gfs_inodes_known(struct gfs_inodes *t, uint64_t ino);
/* Records that process `pid` opened ino and was served content `version`
 * (it takes the record of one of the last GFS_READERS readers, preferring
 * a process that has exited);
 * *keep is set true when the previous open (by anyone) served the same
 * version, i.e. the kernel's cached pages are still right
 * (FOPEN_KEEP_CACHE). 0, or -ENOMEM when the record could not be made (the
 * open must fail: a write by that process could not be checked against
 * what it read). */
int gfs_inodes_note_open(struct gfs_inodes *t, uint64_t ino, uint64_t version, pid_t pid,
			 bool *keep);
/* The content version process `pid` last read of ino, or 0 when it read
 * nothing (recently): what a write by that process is checked against. */
uint64_t gfs_inodes_served(struct gfs_inodes *t, uint64_t ino, pid_t pid);
/* Process `pid` had its write of ino applied as content `version`: what it
 * last read is now what it wrote. Without this an editor that reads once
 * and saves twice would have its second save refused as a conflict with
 * its own first one. Changes nothing for a process that never read ino. */
void gfs_inodes_note_written(struct gfs_inodes *t, uint64_t ino, uint64_t version,
			     pid_t pid);
/* Tests: how the table tells whether a reader's process still exists
 * (kill(pid, 0) unless set). */
void gfs_inodes_set_alive(struct gfs_inodes *t, bool (*alive)(pid_t pid));

/* ---- directory listings (dirlist.c) -------------------------------------- */

/* One entry of a listing; `cookie` is where a listing resumes after it
 * (a hash of the name: the same in every listing of the directory). */
struct gfs_dirent {
	char *name;
	struct stat st;
	bool cacheable; /* the kernel may keep its attributes */
	off_t cookie;
};

/* A listing: built whole (ops.c, gfs_dirlist_add), then sealed (sorted by
 * cookie) and immutable; refcounted, as a kept listing may be read by a
 * request while the table replaces it. */
struct gfs_dirlist {
	struct gfs_dirent *items;
	size_t n, cap;
	atomic_int refs;
};

struct gfs_dirlist *gfs_dirlist_new(void);
int gfs_dirlist_add(struct gfs_dirlist *l, const char *name, const struct stat *st,
		    bool cacheable);
void gfs_dirlist_seal(struct gfs_dirlist *l);
/* The index of the first entry after `cookie` (0: from the start). */
size_t gfs_dirlist_seek(const struct gfs_dirlist *l, off_t cookie);
struct gfs_dirlist *gfs_dirlist_ref(struct gfs_dirlist *l);
void gfs_dirlist_unref(struct gfs_dirlist *l); /* NULL-safe */

/* The listings kept between the readdir calls of one directory (the
 * kernel opens directories without telling us: no handle holds them). */
struct gfs_dirsnaps;
int gfs_dirsnaps_new(struct gfs_dirsnaps **out);
void gfs_dirsnaps_free(struct gfs_dirsnaps *t);
/* A reference to the kept listing of ino, or NULL. */
struct gfs_dirlist *gfs_dirsnaps_get(struct gfs_dirsnaps *t, uint64_t ino);
/* Keeps l (a reference of its own) as ino's, replacing the older one or
 * the least recently used. */
void gfs_dirsnaps_put(struct gfs_dirsnaps *t, uint64_t ino, struct gfs_dirlist *l);
/* Forgets ino's kept listing if it is still l (a listing read to its end). */
void gfs_dirsnaps_drop(struct gfs_dirsnaps *t, uint64_t ino, const struct gfs_dirlist *l);

/* ---- invalidation thread (notify.c) -------------------------------------- */

struct gfs_notifier;

int gfs_notifier_start(struct gfs_notifier **out, struct fuse_session *se,
		       struct gfs_inodes *inodes);
/* Queues a change (store subscriber signature; payload = notifier). */
void gfs_notifier_change(void *payload, const char *path, enum gfs_entry_type type,
			 enum gfs_change change);
void gfs_notifier_stop(struct gfs_notifier *n);
/* Queues the invalidation of one directory entry (after a rename, so the
 * kernel looks the name up again). */
void gfs_notifier_forget_entry(struct gfs_notifier *n, const char *path);

/* ---- what a path shows (ops.c) ------------------------------------------ */

/* Long kernel cache lifetimes are safe: every change to what we serve is
 * invalidated by notify.c. The special files change on their own and are
 * never cached. */
#define GFS_CACHE_SECONDS 86400.0
/* What may appear or vanish without a change event: implied directories
 * (gfs_store.h) and the absence of a namespace or resource directory
 * (a Namespace created, a CRD discovered). */
#define GFS_BRIEF_SECONDS 1.0
#define GFS_META_DIR      ".gitopsfs"
#define GFS_SPECIAL_LIMIT (4u << 20)

enum gfs_kind {
	GFS_K_STORE_DIR,
	GFS_K_STORE_FILE,
	GFS_K_LOCAL,
	GFS_K_GITFILE,
	GFS_K_META_DIR,
	GFS_K_STATUS,
	GFS_K_ERRORS,
	GFS_K_HEALTH,     /* .gitopsfs/health */
	GFS_K_LAST_APPLY, /* .gitopsfs/last-apply */
	GFS_K_PENDING,    /* a new object file being written, not applied yet */
};

struct gfs_res {
	enum gfs_kind kind;
	struct stat st;
	uint64_t version;
	bool implied; /* GFS_K_STORE_DIR that exists by rule, without objects */
};

/* An open file. Object files opened for writing collect the new bytes in
 * `wbuf` and apply them on flush/fsync/release (write.c).
 *
 * `lock` serialises the requests on this handle: every field below it
 * that is not immutable or atomic is guarded by it. It is released while
 * the bytes are applied (gfs_write_apply: a network request), with
 * `applying` set, so that one apply at a time runs per handle. */
struct gfs_open {
	/* Immutable once the handle is in the table: */
	enum gfs_kind kind;
	struct gfs_blob *blob; /* store files and special files (reading) */
	int fd;                /* local files */
	bool writable;         /* an object file opened for writing */
	char *path;
	uint64_t ino; /* writable: the inode and the process that opened it */
	pid_t pid;
	atomic_int refs; /* the handle table's + requests in progress */
	/* wbuf.len, readable without the lock (gfs_write_pending_stat, under
	 * gfs_fs.lock): written under the lock whenever wbuf changes size. */
	atomic_size_t size;

	pthread_mutex_t lock;
	pthread_cond_t applied; /* broadcast when an apply ends */
	bool applying;          /* an apply of this handle is in flight */
	bool dirty;             /* wbuf holds bytes not applied yet */
	bool written;           /* write() or truncate since the last apply */
	bool pending;           /* registered in gfs_fs.pending */
	bool overflow;          /* a write past the size limit was refused */
	bool over_budget;       /* a write past the budget of all writers was refused */
	size_t charged;         /* bytes of wbuf counted in gfs_fs.wbuf_used */
	uint64_t expect_version;
	struct gfs_buf wbuf;
};

/* ---- open-file handles (handles.c) ------------------------------------------ */

/* fi->fh is a handle id, not a pointer: a request still being answered
 * when the kernel releases the file keeps its gfs_open alive, and one that
 * arrives after the release finds nothing instead of freed memory. The
 * table knows nothing of FUSE: what happens to a file when its last
 * reference goes is the release function given to gfs_handles_new
 * (write.c's gfs_write_release: apply, then gfs_open_free). Its own mutex
 * guards the table; ids are never reused. */
struct gfs_handles;
typedef void (*gfs_handle_release_fn)(void *payload, struct gfs_open *of);

int gfs_handles_new(struct gfs_handles **out, gfs_handle_release_fn release,
		    void *payload);
/* Frees the table, not the files: every one must have been released. */
void gfs_handles_free(struct gfs_handles *t);
/* Enters `of` (its one reference becomes the table's) under a new id. */
int gfs_handle_add(struct gfs_handles *t, struct gfs_open *of, uint64_t *id);
/* A reference to the open file of `id` (NULL: already released); every
 * request on a file takes one and gives it back with gfs_handle_put. */
struct gfs_open *gfs_handle_get(struct gfs_handles *t, uint64_t id);
/* Drops a reference; the last one calls the release function. NULL-safe. */
void gfs_handle_put(struct gfs_handles *t, struct gfs_open *of);
/* gfs_handle_get plus the handle's lock, as every request on an open file
 * takes them; NULL when already released. Undone by gfs_handle_unlock
 * (NULL-safe). */
struct gfs_open *gfs_handle_lock(struct gfs_handles *t, uint64_t id);
void gfs_handle_unlock(struct gfs_handles *t, struct gfs_open *of);
/* Whether `id` is an object file opened for writing (whose flush and
 * release apply it); false when released. */
bool gfs_handle_writable(struct gfs_handles *t, uint64_t id);
/* release: takes the id out of the table and drops the table's reference. */
void gfs_handle_close(struct gfs_handles *t, uint64_t id);
/* A new gfs_open with one reference (for gfs_handle_add, or
 * gfs_open_free), and gfs_open_free, which frees it and what it holds. */
struct gfs_open *gfs_open_new(enum gfs_kind kind);
void gfs_open_free(struct gfs_open *of);

struct gfs_fs *gfs_req_fs(fuse_req_t req);
int gfs_resolve(struct gfs_fs *fs, const char *path, struct gfs_res *r);
int gfs_resolve_ino(struct gfs_fs *fs, fuse_ino_t ino, char *path, size_t pathsz,
		    struct gfs_res *r);
int gfs_child_path(char *out, size_t outsz, const char *parent, const char *name);
double gfs_timeout(const struct gfs_res *r);
void gfs_fill_store_attr(struct gfs_fs *fs, const struct gfs_entry_attr *a,
			 struct stat *st);

/* ---- writing (write.c) ----------------------------------------------------- */

/* Opens an object or local file for writing; 0 or -errno. */
int gfs_write_open(struct gfs_fs *fs, const char *path, const struct gfs_res *r,
		   fuse_ino_t ino, struct fuse_file_info *fi, struct gfs_open *of,
		   pid_t pid);
/* A pending new object file at path, or false. Fills st. */
bool gfs_write_pending_stat(struct gfs_fs *fs, const char *path, struct stat *st);
/* The handle table's release function (payload: the gfs_fs): applies what
 * is not applied yet, then frees the file. */
void gfs_write_release(void *payload, struct gfs_open *of);
void gfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   struct fuse_file_info *fi);
void gfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi);
void gfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);
void gfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		    struct fuse_file_info *fi);
void gfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void gfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void gfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void gfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname, unsigned int flags);
void gfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name);
void gfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void gfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/* ---- the mount ------------------------------------------------------------- */

struct gfs_fs {
	struct gfs_fs_opts opts; /* strings below are our copies */
	char *local_dir;
	char *gitfile; /* "gitdir: ...\n" */
	char *mountpoint;
	int local_fd; /* O_PATH-ish dir fd of local_dir */
	uid_t uid;
	gid_t gid;
	int64_t start_ns;
	struct fuse_session *se;
	struct gfs_inodes *inodes;
	struct gfs_handles *handles;
	struct gfs_notifier *notifier;
	/* Set by gfs_dispatch_run for its duration; read on the dispatcher
	 * thread only (gfs_defer). */
	struct gfs_dispatch *dispatch;
	struct gfs_dirsnaps *dirsnaps;
	/* The kernel opens directories itself (set at init, read after). */
	bool no_opendir;
	bool mounted;
	/* Bytes held by the write buffers of every open object file: one
	 * budget (GFS_WRITE_BUDGET) for all, so that many writers cannot
	 * exhaust memory 8 MiB at a time. */
	atomic_size_t wbuf_used;
	pthread_mutex_t lock;
	/* Guarded by lock: */
	struct gfs_map *pending; /* path -> struct gfs_open* of new object files */
	struct gfs_map *errors;  /* path -> char* last apply error (xattr) */
};

extern const struct fuse_lowlevel_ops gfs_fs_ops;

/* ---- who answers a request (dispatch.c) ---------------------------------- */

/* A request handed from the dispatcher to a worker: the handler's
 * arguments, copied (the kernel's buffer is reused for the next one). */
enum gfs_job_op {
	GFS_JOB_LOOKUP,
	GFS_JOB_GETATTR,
	GFS_JOB_OPEN,
	GFS_JOB_OPENDIR,
	GFS_JOB_READDIR,
	GFS_JOB_READDIRPLUS,
	GFS_JOB_FLUSH,
	GFS_JOB_FSYNC,
	GFS_JOB_RELEASE,
	GFS_JOB_UNLINK,
	GFS_JOB_RENAME,
};

struct gfs_job {
	struct gfs_job *next;
	enum gfs_job_op op;
	fuse_req_t req;
	fuse_ino_t ino; /* the parent, for lookup, unlink and rename */
	fuse_ino_t newparent;
	const char *name, *newname; /* owned copies once queued */
	struct fuse_file_info fi;
	bool has_fi;
	int datasync;
	unsigned int flags; /* rename's */
	size_t size;        /* readdir's */
	off_t off;
};

/* Serves the session's requests on this thread until it ends (unmount or
 * a signal); returns 0, or -errno with gfs_error_last() set. */
int gfs_dispatch_run(struct gfs_fs *fs);
/* Called first by a handler that may wait (for the API server, or on
 * rendering a special file): true when the request was handed to a worker
 * (or answered with ENOMEM) and the handler must return at once; false
 * when it is to go on here - it runs on a worker already, or no
 * dispatcher runs. */
bool gfs_defer(fuse_req_t req, const struct gfs_job *args);

#endif
