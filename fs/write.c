/*
 * write.c - the write side of the mount.
 *
 * Object files: the bytes written are collected per open file and applied
 * through gfs_fs_opts.writer when the file is flushed (close), fsync'ed or
 * released; a refusal becomes close()'s errno, the reason goes to the
 * file's xattr user.gitopsfs.error, and the file goes on showing the live
 * object. A temp file renamed onto an object path (editors, sed -i) is
 * applied the same way. Unlinking an object file deletes the object
 * (deferred, so git's unlink-then-create is an update).
 *
 * Which paths are object files is the store's decision
 * (gfs_store_is_object_path): those of watched resources, and those of a
 * resource not served yet whose name could be a CRD's - written there,
 * they wait in the applier for the CRD. Ordinary files (every other
 * path) are plain files in the local directory, never sent to the
 * cluster.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_internal.h"
#include "gfs_errlog.h"
#include "gfs_path.h"

#define GFS_XATTR_ERROR "user.gitopsfs.error"
/* Each object file's health (SPEC section 4): "Failed: <reason>". */
#define GFS_XATTR_HEALTH "user.gitopsfs.health"
#define GFS_WRITE_LIMIT  (8u << 20)
/* The write buffers of all open object files together: a manifest is
 * rarely more than kilobytes, so this is room for thousands of writers
 * or eight files at the size limit. */
#define GFS_WRITE_BUDGET (64u << 20)

static bool gfs_fs_writable(const struct gfs_fs *fs)
{
	return fs->opts.writer != NULL;
}

/* The parent's path and the child's path of a request. */
static int gfs_req_child(struct gfs_fs *fs, fuse_ino_t parent, const char *name,
			 char *ppath, char *path)
{
	int rc = gfs_inodes_path(ppath, GFS_PATH_MAX, fs->inodes, parent);
	return rc < 0 ? rc : gfs_child_path(path, GFS_PATH_MAX, ppath, name);
}

/* ---- per-path apply errors (xattr) ------------------------------------------ */

static void gfs_error_note(struct gfs_fs *fs, const char *path, const char *msg)
{
	char *copy = msg ? strdup(msg) : NULL;
	int err = 0;
	pthread_mutex_lock(&fs->lock);
	char *old = copy ? gfs_map_put(fs->errors, path, copy, &err)
			 : gfs_map_del(fs->errors, path);
	pthread_mutex_unlock(&fs->lock);
	if (err)
		free(copy);
	free(old);
}

/* Tells the kernel to drop what it cached of path (from the notifier
 * thread, never from this handler). */
static void gfs_write_refresh(struct gfs_fs *fs, const char *path)
{
	gfs_notifier_change(fs->notifier, path, GFS_ENTRY_FILE, GFS_CHANGE_MODIFIED);
}

/* ---- local files ---------------------------------------------------------------- */

/* Creates the local directories above path: its parents may exist only in
 * the store (e.g. default/configmaps/) until an ordinary file goes there. */
static int gfs_local_parents(struct gfs_fs *fs, const char *path)
{
	char parent[GFS_PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		return 0;
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	return gfs_mkdir_p_at(fs->local_fd, parent, 0755);
}

static int gfs_local_read(struct gfs_fs *fs, const char *path, struct gfs_buf *out)
{
	int fd = openat(fs->local_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	char chunk[65536];
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		rc = gfs_buf_add(out, chunk, (size_t)n);
	if (n < 0 && rc == 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* ---- pending new object files ---------------------------------------------------- */

bool gfs_write_pending_stat(struct gfs_fs *fs, const char *path, struct stat *st)
{
	pthread_mutex_lock(&fs->lock);
	struct gfs_open *of = gfs_map_get(fs->pending, path);
	size_t size = of ? atomic_load(&of->size) : 0;
	pthread_mutex_unlock(&fs->lock);
	if (!of)
		return false;
	memset(st, 0, sizeof(*st));
	st->st_ino = gfs_path_ino(path);
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)size;
	int64_t now = gfs_now_ns();
	st->st_mtim.tv_sec = now / 1000000000;
	st->st_mtim.tv_nsec = now % 1000000000;
	st->st_ctim = st->st_atim = st->st_mtim;
	return true;
}

static void gfs_pending_drop(struct gfs_fs *fs, struct gfs_open *of)
{
	if (!of->pending)
		return;
	pthread_mutex_lock(&fs->lock);
	if (gfs_map_get(fs->pending, of->path) == of)
		gfs_map_del(fs->pending, of->path);
	pthread_mutex_unlock(&fs->lock);
	of->pending = false;
}

/* ---- the budget of all write buffers ----------------------------------------------- */

/* Counts of's buffer as `end` bytes long before it grows there. Returns 0,
 * or -ENOSPC (the open file is then poisoned: nothing of it is applied)
 * when every writer together would hold more than GFS_WRITE_BUDGET. */
static int gfs_wbuf_reserve(struct gfs_fs *fs, struct gfs_open *of, size_t end)
{
	if (end <= of->charged)
		return 0;
	size_t more = end - of->charged;
	size_t before = atomic_fetch_add(&fs->wbuf_used, more);
	if (before + more > GFS_WRITE_BUDGET) {
		atomic_fetch_sub(&fs->wbuf_used, more);
		of->over_budget = of->dirty = true;
		return -ENOSPC;
	}
	of->charged = end;
	return 0;
}

static void gfs_wbuf_unreserve(struct gfs_fs *fs, struct gfs_open *of)
{
	atomic_fetch_sub(&fs->wbuf_used, of->charged);
	of->charged = 0;
}

/* ---- applying ------------------------------------------------------------------------
 */

/* A file that got a write past the size limit (or past the budget of all
 * writers) is never applied: the rest would be a truncated manifest. */
static int gfs_write_refuse_overflow(struct gfs_fs *fs, const struct gfs_open *of)
{
	int rc =
	    of->overflow
		? gfs_error_set(-EFBIG,
				"the file is larger than %u bytes: nothing applied",
				GFS_WRITE_LIMIT)
		: gfs_error_set(-ENOSPC,
				"the files open for writing hold more than %u MiB "
				"together: nothing applied; close some and write this "
				"one again",
				GFS_WRITE_BUDGET >> 20);
	gfs_errlog_add("%s: not applied: %s", of->path, gfs_error_last());
	gfs_error_note(fs, of->path, gfs_error_last());
	return rc;
}

/* Applies `bytes` (a copy of of->wbuf, freed here) with of->lock released
 * for the network request: called and returns with the lock held, and
 * marks the handle `applying` meanwhile. On success, later writes through
 * the handle build on the version applied. */
static int gfs_write_send(struct gfs_fs *fs, struct gfs_open *of, char *bytes, size_t len)
{
	const struct gfs_fs_writer *w = fs->opts.writer;
	uint64_t expect = of->expect_version;
	struct gfs_entry_attr a;
	of->applying = true;
	pthread_mutex_unlock(&of->lock);
	int rc = w->apply(w->payload, of->path, bytes, len, expect);
	free(bytes);
	gfs_error_note(fs, of->path, rc < 0 ? gfs_error_last() : NULL);
	bool stat = rc == 0 && gfs_store_stat(&a, fs->opts.store, of->path) == 0;
	pthread_mutex_lock(&of->lock);
	if (stat) {
		of->expect_version = a.version;
		gfs_inodes_note_written(fs->inodes, of->ino, a.version, of->pid);
	}
	of->applying = false;
	pthread_cond_broadcast(&of->applied);
	return rc;
}

/*
 * Applies what `of` holds, if anything. Called, and returns, with of->lock
 * held; the lock is released while the bytes are applied (a network
 * request), so that a slow server stalls no other request on the file.
 *
 * The bytes are copied under the lock, and dirty cleared with them: a
 * write that comes in meanwhile changes only the buffer and is applied by
 * the next flush (or at release). Applies of one open file run one at a
 * time, in the order they took their bytes (`applying` and the condition
 * `applied`): two flushes on one handle never race each other to the
 * server, and the second builds on the version the first one made.
 */
static void gfs_write_wait(struct gfs_open *of)
{
	while (of->applying)
		pthread_cond_wait(&of->applied, &of->lock);
}

static int gfs_write_apply(struct gfs_fs *fs, struct gfs_open *of)
{
	gfs_write_wait(of);
	if (!of->writable || !of->dirty)
		return 0;
	/* A refused part (over the size limit or the budget of all writers)
	 * means nothing of the file is applied: no copy is taken. */
	bool refused = of->overflow || of->over_budget;
	size_t len = of->wbuf.len;
	char *bytes = refused ? NULL : malloc(len + 1);
	if (!refused && !bytes)
		return gfs_error_set(-ENOMEM, "out of memory");
	if (bytes)
		memcpy(bytes, of->wbuf.data, len + 1);
	of->dirty = false;
	of->written = false;
	int rc = refused ? gfs_write_refuse_overflow(fs, of)
			 : gfs_write_send(fs, of, bytes, len);
	gfs_pending_drop(fs, of);
	gfs_write_refresh(fs, of->path);
	return rc;
}

int gfs_write_open(struct gfs_fs *fs, const char *path, const struct gfs_res *r,
		   fuse_ino_t ino, struct fuse_file_info *fi, struct gfs_open *of,
		   pid_t pid)
{
	if (!gfs_fs_writable(fs))
		return -EROFS;
	switch (r->kind) {
	case GFS_K_LOCAL: {
		int flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
		of->fd = openat(fs->local_fd, path, flags | O_CLOEXEC | O_NOFOLLOW);
		return of->fd < 0 ? -errno : 0;
	}
	case GFS_K_STORE_FILE:
		break;
	case GFS_K_PENDING:
		return -EBUSY; /* another writer is creating it right now */
	default:
		return -EACCES;
	}
	of->writable = true;
	of->ino = ino;
	of->pid = pid;
	/* What the writer was shown: the version it last read when it
	 * rewrites the file whole, else (it read nothing, or it edits the
	 * bytes this open hands it) the version at open. A write is checked
	 * against it: no lost update in any open mode. */
	of->expect_version =
	    (fi->flags & O_TRUNC) ? gfs_inodes_served(fs->inodes, ino, pid) : 0;
	if (!of->expect_version)
		of->expect_version = r->version;
	gfs_buf_init(&of->wbuf, GFS_WRITE_LIMIT);
	if (!(of->path = strdup(path)))
		return -ENOMEM;
	if (fi->flags & O_TRUNC) {
		of->dirty = true;
	} else {
		struct gfs_blob *b = NULL;
		int rc = gfs_store_read(&b, NULL, fs->opts.store, path);
		if (rc == 0)
			rc = gfs_wbuf_reserve(fs, of, b->len);
		if (rc == 0)
			rc = gfs_buf_add(&of->wbuf, b->data, b->len);
		atomic_store(&of->size, of->wbuf.len);
		gfs_blob_unref(b);
		if (rc < 0)
			return rc;
	}
	/* The bytes go to us, not the page cache: what other readers see is
	 * the live object until it is applied. */
	fi->direct_io = 1;
	return 0;
}

void gfs_write_release(void *payload, struct gfs_open *of)
{
	struct gfs_fs *fs = payload;
	/* The last reference: no other request holds the file, but the lock
	 * is taken all the same, as gfs_write_apply expects it. */
	pthread_mutex_lock(&of->lock);
	if (of->dirty && gfs_write_apply(fs, of) < 0)
		gfs_warn("%s: not applied at close: %s", of->path, gfs_error_last());
	gfs_pending_drop(fs, of);
	gfs_wbuf_unreserve(fs, of);
	pthread_mutex_unlock(&of->lock);
	gfs_open_free(of);
}

/* ---- handlers ---------------------------------------------------------------------- */

static void gfs_reply_entry_stat(fuse_req_t req, struct gfs_fs *fs, const char *path,
				 const struct stat *st, struct fuse_file_info *fi,
				 bool pending)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.attr = *st;
	e.attr_timeout = fi && fi->direct_io ? 0 : GFS_CACHE_SECONDS;
	/* A new object file exists only once it is applied: the kernel must
	 * not keep its entry, or a refused create would leave a name that
	 * stops the corrected write at the same path. */
	e.entry_timeout = pending ? 0 : GFS_CACHE_SECONDS;
	int rc = gfs_inodes_remember(fs->inodes, e.ino, path);
	if (rc < 0) {
		if (fi)
			gfs_handle_close(fs->handles, fi->fh);
		fuse_reply_err(req, -rc);
		return;
	}
	if (fi) {
		if (fuse_reply_create(req, &e, fi) != 0) {
			gfs_inodes_forget(fs->inodes, e.ino, 1);
			gfs_handle_close(fs->handles, fi->fh);
		}
	} else {
		fuse_reply_entry(req, &e);
	}
}

/* create: a new object file (applied when closed) or a new local file. */
void gfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char ppath[GFS_PATH_MAX], path[GFS_PATH_MAX];
	struct gfs_open *of = gfs_open_new(GFS_K_LOCAL);
	struct stat st;
	int rc = of ? gfs_req_child(fs, parent, name, ppath, path) : -ENOMEM;
	if (rc == 0 && !gfs_fs_writable(fs))
		rc = -EROFS;
	if (rc < 0)
		goto fail;
	if (gfs_store_is_object_path(fs->opts.store, path)) {
		struct gfs_res r;
		if (gfs_resolve(fs, path, &r) == 0) {
			/* O_CREAT on an existing object file: an ordinary open. */
			if (fi->flags & O_EXCL) {
				rc = -EEXIST;
				goto fail;
			}
			of->kind = r.kind;
			rc = gfs_write_open(fs, path, &r, r.st.st_ino, fi, of,
					    fuse_req_ctx(req)->pid);
			if (rc < 0)
				goto fail;
			st = r.st;
		} else {
			int err = 0;
			of->kind = GFS_K_PENDING;
			of->writable = of->dirty = true;
			gfs_buf_init(&of->wbuf, GFS_WRITE_LIMIT);
			if (!(of->path = strdup(path))) {
				rc = -ENOMEM;
				goto fail;
			}
			pthread_mutex_lock(&fs->lock);
			gfs_map_put(fs->pending, path, of, &err);
			pthread_mutex_unlock(&fs->lock);
			if (err) {
				rc = err;
				goto fail;
			}
			of->pending = true;
			fi->direct_io = 1;
			gfs_write_pending_stat(fs, path, &st);
		}
	} else {
		of->kind = GFS_K_LOCAL;
		rc = gfs_local_parents(fs, path);
		if (rc == 0) {
			of->fd = openat(fs->local_fd, path,
					(fi->flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW) &
					    ~O_NOCTTY,
					mode);
			if (of->fd < 0 || fstat(of->fd, &st) < 0)
				rc = -errno;
		}
		if (rc < 0)
			goto fail;
		st.st_ino = gfs_path_ino(path);
	}
	rc = gfs_handle_add(fs->handles, of, &fi->fh);
	if (rc < 0)
		goto fail;
	gfs_reply_entry_stat(req, fs, path, &st, fi, of->kind == GFS_K_PENDING);
	return;
fail:
	gfs_handle_put(fs->handles, of);
	fuse_reply_err(req, -rc);
}

/* Writes at any offset, as into a file: a gap is filled with zeros. */
static int gfs_buf_write_at(struct gfs_buf *b, size_t off, const char *data, size_t size)
{
	static const char zeros[4096];
	size_t end = off + size;
	while (b->len < end) {
		size_t n = end - b->len < sizeof(zeros) ? end - b->len : sizeof(zeros);
		int rc = gfs_buf_add(b, zeros, n);
		if (rc < 0)
			return rc;
	}
	if (size)
		memcpy(b->data + off, data, size);
	return 0;
}

static int gfs_write_locked(struct gfs_fs *fs, struct gfs_open *of, const char *buf,
			    size_t size, off_t off)
{
	if (of->fd >= 0) {
		ssize_t n = pwrite(of->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	if (!of->writable)
		return -EBADF;
	if (off < 0 || (uint64_t)off + size > of->wbuf.limit) {
		of->overflow = of->dirty = true;
		return -EFBIG;
	}
	int rc = gfs_wbuf_reserve(fs, of, (size_t)off + size);
	if (rc == 0)
		rc = gfs_buf_write_at(&of->wbuf, (size_t)off, buf, size);
	atomic_store(&of->size, of->wbuf.len);
	if (rc < 0)
		return rc;
	of->dirty = of->written = true;
	return (int)size;
}

void gfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	struct gfs_open *of = gfs_handle_lock(fs->handles, fi->fh);
	int rc = of ? gfs_write_locked(fs, of, buf, size, off) : -EBADF;
	gfs_handle_unlock(fs->handles, of);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

/* Every close() of a descriptor flushes, including the copies a shell
 * closes while setting up a redirection before anything is written: only
 * bytes actually written are applied here; a file opened with O_TRUNC or
 * created and never written is applied (and refused) at release. A close
 * returns after an apply of the same handle that is in flight. */
void gfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	if (gfs_handle_writable(fs->handles, fi->fh) &&
	    gfs_defer(req,
		      &(struct gfs_job){
			  .op = GFS_JOB_FLUSH, .ino = ino, .fi = *fi, .has_fi = true}))
		return;
	struct gfs_open *of = gfs_handle_lock(fs->handles, fi->fh);
	if (of)
		gfs_write_wait(of);
	int rc = of && of->written ? gfs_write_apply(fs, of) : 0;
	gfs_handle_unlock(fs->handles, of);
	fuse_reply_err(req, -rc);
}

void gfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	if (gfs_defer(req, &(struct gfs_job){.op = GFS_JOB_FSYNC,
					     .ino = ino,
					     .fi = *fi,
					     .has_fi = true,
					     .datasync = datasync}))
		return;
	struct gfs_open *of = gfs_handle_lock(fs->handles, fi->fh);
	int rc = -EBADF;
	if (of)
		rc = of->fd >= 0 ? (fdatasync(of->fd) < 0 ? -errno : 0)
				 : gfs_write_apply(fs, of);
	gfs_handle_unlock(fs->handles, of);
	fuse_reply_err(req, -rc);
}

static void gfs_reply_attr_path(fuse_req_t req, struct gfs_fs *fs, const char *path)
{
	struct gfs_res r;
	int rc = gfs_resolve(fs, path, &r);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &r.st, gfs_timeout(&r));
}

static int gfs_local_setattr(struct gfs_fs *fs, const char *path, struct stat *attr,
			     int to_set, struct gfs_open *of)
{
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    fchmodat(fs->local_fd, path, attr->st_mode, 0) < 0)
		return -errno;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		int rc = 0;
		if (of && of->fd >= 0) {
			rc = ftruncate(of->fd, attr->st_size);
		} else {
			int fd =
			    openat(fs->local_fd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
			rc = fd < 0 ? -1 : ftruncate(fd, attr->st_size);
			if (fd >= 0)
				close(fd);
		}
		if (rc < 0)
			return -errno;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		if (utimensat(fs->local_fd, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	return 0;
}

static void gfs_setattr_locked(fuse_req_t req, struct gfs_fs *fs, fuse_ino_t ino,
			       struct stat *attr, int to_set, struct gfs_open *of);

void gfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		    struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	struct gfs_open *of = fi ? gfs_handle_lock(fs->handles, fi->fh) : NULL;
	gfs_setattr_locked(req, fs, ino, attr, to_set, of);
	gfs_handle_unlock(fs->handles, of);
}

static void gfs_setattr_locked(fuse_req_t req, struct gfs_fs *fs, fuse_ino_t ino,
			       struct stat *attr, int to_set, struct gfs_open *of)
{
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	int rc = gfs_resolve_ino(fs, ino, path, sizeof(path), &r);
	if (rc == 0 && !gfs_fs_writable(fs))
		rc = -EROFS;
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (r.kind == GFS_K_LOCAL) {
		rc = gfs_local_setattr(fs, path, attr, to_set, of);
	} else if (to_set & FUSE_SET_ATTR_SIZE) {
		/* Truncating an object file only makes sense as part of
		 * rewriting it through an open handle. */
		if (of && of->writable) {
			if ((uint64_t)attr->st_size > of->wbuf.limit) {
				of->overflow = true;
				rc = -EFBIG;
			} else if ((size_t)attr->st_size <= of->wbuf.len)
				gfs_buf_setlen(&of->wbuf, (size_t)attr->st_size);
			else if ((rc = gfs_wbuf_reserve(fs, of, (size_t)attr->st_size)) ==
				 0)
				rc = gfs_buf_write_at(&of->wbuf, (size_t)attr->st_size,
						      "", 0);
			atomic_store(&of->size, of->wbuf.len);
			of->dirty = of->written = true;
		} else if ((uint64_t)attr->st_size != (uint64_t)r.st.st_size) {
			rc = -EINVAL;
		}
	}
	/* Mode, owner and times of an object file are the object's, not
	 * the user's: accepted and ignored (cp -p, touch, git). */
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (of && of->writable) {
		struct stat st = r.st;
		st.st_size = (off_t)of->wbuf.len;
		fuse_reply_attr(req, &st, 0);
		return;
	}
	gfs_reply_attr_path(req, fs, path);
}

/* The path of parent/name and what it shows, for a change to it: -ENOENT
 * when it does not exist, -EROFS on a read-only mount. */
static int gfs_req_existing_child(struct gfs_fs *fs, fuse_ino_t parent, const char *name,
				  char *path, struct gfs_res *r)
{
	char ppath[GFS_PATH_MAX];
	int rc = gfs_req_child(fs, parent, name, ppath, path);
	if (rc == 0)
		rc = gfs_resolve(fs, path, r);
	return rc == 0 && !gfs_fs_writable(fs) ? -EROFS : rc;
}

void gfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	int rc = gfs_req_existing_child(fs, parent, name, path, &r);
	/* Deleting an object asks the API server. */
	if (rc == 0 && r.kind == GFS_K_STORE_FILE &&
	    gfs_defer(req, &(struct gfs_job){
			       .op = GFS_JOB_UNLINK, .ino = parent, .name = name}))
		return;
	if (rc == 0) {
		switch (r.kind) {
		case GFS_K_LOCAL:
			rc = unlinkat(fs->local_fd, path, 0) < 0 ? -errno : 0;
			break;
		case GFS_K_STORE_FILE:
			rc = fs->opts.writer->remove(fs->opts.writer->payload, path);
			gfs_error_note(fs, path, rc < 0 ? gfs_error_last() : NULL);
			break;
		case GFS_K_PENDING:
			rc = -EBUSY;
			break;
		default:
			rc = -EPERM;
		}
	}
	fuse_reply_err(req, -rc);
}

static int gfs_count_entry(const char *name, const struct gfs_entry_attr *a,
			   void *payload)
{
	(*(size_t *)payload)++;
	return 0;
}

void gfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	int rc = gfs_req_existing_child(fs, parent, name, path, &r);
	if (rc == 0 && r.kind == GFS_K_STORE_DIR) {
		/* Objects still shown keep the directory; one whose objects
		 * are all being deleted may go (its local part, if any). */
		size_t entries = 0;
		gfs_store_list(fs->opts.store, path, gfs_count_entry, &entries);
		if (entries > 0)
			rc = -ENOTEMPTY;
		else if (unlinkat(fs->local_fd, path, AT_REMOVEDIR) < 0 &&
			 errno != ENOENT)
			rc = -errno;
	} else if (rc == 0 && r.kind == GFS_K_LOCAL) {
		rc = unlinkat(fs->local_fd, path, AT_REMOVEDIR) < 0 ? -errno : 0;
	} else if (rc == 0) {
		rc = -EPERM;
	}
	fuse_reply_err(req, -rc);
}

void gfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char ppath[GFS_PATH_MAX], path[GFS_PATH_MAX];
	struct gfs_res r;
	struct stat st;
	int rc = gfs_req_child(fs, parent, name, ppath, path);
	if (rc == 0 && !gfs_fs_writable(fs))
		rc = -EROFS;
	bool exists = rc == 0 && gfs_resolve(fs, path, &r) == 0;
	/* The kernel asks only when it believes the name absent: a store
	 * directory (a resource's, implied) it had not seen yet is simply
	 * there, so git's mkdir-then-lstat finds it. */
	if (exists && r.kind != GFS_K_STORE_DIR)
		rc = -EEXIST;
	/* Otherwise a directory is local until objects appear in it (a
	 * namespace or CRD that the same checkout creates). It never hides
	 * them: the store comes first in every lookup and listing, and
	 * object paths below it are never local files. */
	if (rc == 0 && !exists)
		rc = gfs_local_parents(fs, path);
	if (rc == 0 && !exists && mkdirat(fs->local_fd, path, mode) < 0)
		rc = -errno;
	if (rc == 0 && !exists)
		rc = gfs_resolve(fs, path, &r);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	st = r.st;
	gfs_reply_entry_stat(req, fs, path, &st, NULL, false);
}

void gfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char ppath[GFS_PATH_MAX], path[GFS_PATH_MAX];
	struct gfs_res r;
	int rc = gfs_req_child(fs, parent, name, ppath, path);
	if (rc == 0 && !gfs_fs_writable(fs))
		rc = -EROFS;
	if (rc == 0 && gfs_store_is_object_path(fs->opts.store, path))
		rc = -EPERM; /* an object file holds a manifest, not a link */
	if (rc == 0)
		rc = gfs_local_parents(fs, path);
	if (rc == 0 && symlinkat(link, fs->local_fd, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = gfs_resolve(fs, path, &r);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	gfs_reply_entry_stat(req, fs, path, &r.st, NULL, false);
}

/* A local file renamed onto an object path is applied, then removed. */
static int gfs_rename_apply(struct gfs_fs *fs, const char *src, const char *dst,
			    fuse_ino_t dst_ino, pid_t pid)
{
	struct gfs_buf b = GFS_BUF_INIT(GFS_WRITE_LIMIT);
	const struct gfs_fs_writer *w = fs->opts.writer;
	int rc = gfs_local_read(fs, src, &b);
	if (rc == 0) {
		rc = w->apply(w->payload, dst, b.data, b.len,
			      gfs_inodes_served(fs->inodes, dst_ino, pid));
		gfs_error_note(fs, dst, rc < 0 ? gfs_error_last() : NULL);
		gfs_write_refresh(fs, dst);
	}
	if (rc == 0 && unlinkat(fs->local_fd, src, 0) < 0)
		rc = -errno;
	gfs_buf_release(&b);
	return rc;
}

/* An object file renamed to an ordinary path (an editor's backup): the
 * bytes are kept there, and the object is deleted - unless, as editors
 * do, a new file is written at the old path right after. */
static int gfs_rename_away(struct gfs_fs *fs, const char *src, const char *dst)
{
	struct gfs_blob *b = NULL;
	int rc = gfs_store_read(&b, NULL, fs->opts.store, src);
	if (rc == 0)
		rc = gfs_local_parents(fs, dst);
	int fd = rc == 0
		     ? openat(fs->local_fd, dst,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)
		     : -1;
	if (rc == 0 && fd < 0)
		rc = -errno;
	if (rc == 0 && write(fd, b->data, b->len) != (ssize_t)b->len)
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	gfs_blob_unref(b);
	if (rc == 0)
		rc = fs->opts.writer->remove(fs->opts.writer->payload, src);
	return rc;
}

void gfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char sp[GFS_PATH_MAX], src[GFS_PATH_MAX], dp[GFS_PATH_MAX], dst[GFS_PATH_MAX];
	struct gfs_res sr, dr;
	int rc = gfs_req_child(fs, parent, name, sp, src);
	if (rc == 0)
		rc = gfs_req_child(fs, newparent, newname, dp, dst);
	/* Renaming to or from an object file applies or deletes it. */
	if (rc == 0 &&
	    (gfs_store_is_object_path(fs->opts.store, src) ||
	     gfs_store_is_object_path(fs->opts.store, dst)) &&
	    gfs_defer(req, &(struct gfs_job){.op = GFS_JOB_RENAME,
					     .ino = parent,
					     .name = name,
					     .newparent = newparent,
					     .newname = newname,
					     .flags = flags}))
		return;
	if (rc == 0 && !gfs_fs_writable(fs))
		rc = -EROFS;
	if (rc == 0)
		rc = gfs_resolve(fs, src, &sr);
	bool dst_exists = rc == 0 && gfs_resolve(fs, dst, &dr) == 0;
	bool dst_managed = gfs_store_is_object_path(fs->opts.store, dst);
	if (rc == 0 && (flags & RENAME_EXCHANGE))
		rc = -EINVAL;
	else if (rc == 0 && (flags & RENAME_NOREPLACE) && dst_exists)
		rc = -EEXIST;
	if (rc < 0)
		goto out;
	if (sr.kind == GFS_K_LOCAL && S_ISREG(sr.st.st_mode) && dst_managed)
		rc = gfs_rename_apply(fs, src, dst, dst_exists ? dr.st.st_ino : 0,
				      fuse_req_ctx(req)->pid);
	else if (sr.kind == GFS_K_STORE_FILE && !dst_managed)
		rc = gfs_rename_away(fs, src, dst);
	else if (sr.kind == GFS_K_LOCAL && !dst_managed) {
		rc = gfs_local_parents(fs, dst);
		if (rc == 0 && renameat(fs->local_fd, src, fs->local_fd, dst) < 0)
			rc = -errno;
	} else {
		/* Object to object would change its name: copy and delete
		 * instead (mv does that on EXDEV). */
		rc = -EXDEV;
	}
	if (rc == 0) {
		/* The kernel now holds src's inode under dst's name: make
		 * that inode stand for dst, and have the kernel look both
		 * names up again. */
		gfs_inodes_rename(fs->inodes, src, dst);
		gfs_notifier_forget_entry(fs->notifier, dst);
		gfs_notifier_forget_entry(fs->notifier, src);
	}
out:
	fuse_reply_err(req, -rc);
}

/* The health xattr's value for path, into value: true when path is an
 * object file (answered from memory, gfs_fs_opts.health_of). */
static bool gfs_health_xattr(struct gfs_fs *fs, const char *path, char *value,
			     size_t valuesz)
{
	return fs->opts.health_of &&
	       fs->opts.health_of(fs->opts.payload, path, value, valuesz) == 0;
}

void gfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX], value[1024] = "";
	bool found = false;
	if (gfs_inodes_path(path, sizeof(path), fs->inodes, ino) < 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (strcmp(name, GFS_XATTR_HEALTH) == 0) {
		found = gfs_health_xattr(fs, path, value, sizeof(value));
	} else if (strcmp(name, GFS_XATTR_ERROR) == 0) {
		pthread_mutex_lock(&fs->lock);
		const char *msg = gfs_map_get(fs->errors, path);
		if (msg)
			snprintf(value, sizeof(value), "%s", msg);
		pthread_mutex_unlock(&fs->lock);
		found = msg != NULL;
	}
	size_t len = strlen(value);
	if (!found)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

void gfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX],
	    names[sizeof(GFS_XATTR_ERROR) + sizeof(GFS_XATTR_HEALTH)], value[1024];
	size_t len = 0;
	if (gfs_inodes_path(path, sizeof(path), fs->inodes, ino) == 0) {
		pthread_mutex_lock(&fs->lock);
		bool has_error = gfs_map_get(fs->errors, path) != NULL;
		pthread_mutex_unlock(&fs->lock);
		/* Each name with its NUL, as listxattr(2) returns them. */
		if (has_error) {
			memcpy(names, GFS_XATTR_ERROR, sizeof(GFS_XATTR_ERROR));
			len += sizeof(GFS_XATTR_ERROR);
		}
		if (gfs_health_xattr(fs, path, value, sizeof(value))) {
			memcpy(names + len, GFS_XATTR_HEALTH, sizeof(GFS_XATTR_HEALTH));
			len += sizeof(GFS_XATTR_HEALTH);
		}
	}
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, len ? names : NULL, len);
}
