/*
 * ops.c - the FUSE request handlers: resolve a path to what it shows
 * (store object, store directory, ordinary local file, or one of the
 * special entries), and answer from memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_internal.h"
#include "gfs_path.h"

struct gfs_fs *gfs_req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void gfs_timespec(struct timespec *ts, int64_t ns)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

void gfs_fill_store_attr(struct gfs_fs *fs, const struct gfs_entry_attr *a,
			 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = (a->type == GFS_ENTRY_DIR ? S_IFDIR : S_IFREG) | a->mode;
	st->st_nlink = a->type == GFS_ENTRY_DIR ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	gfs_timespec(&st->st_mtim, a->mtime_ns);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void gfs_fill_special_attr(struct gfs_fs *fs, const char *path, bool dir,
				  size_t size, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = gfs_path_ino(path);
	st->st_mode = dir ? S_IFDIR | 0755 : S_IFREG | 0444;
	st->st_nlink = dir ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)size;
	gfs_timespec(&st->st_mtim, fs->start_ns);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

/* Renders a special file's current text. */
static int gfs_special_text(struct gfs_fs *fs, enum gfs_kind kind, struct gfs_blob **out)
{
	struct gfs_buf b = GFS_BUF_INIT(GFS_SPECIAL_LIMIT);
	int rc;
	if (kind == GFS_K_GITFILE)
		rc = gfs_buf_adds(&b, fs->gitfile);
	else if (kind == GFS_K_STATUS)
		rc =
		    fs->opts.status_json ? fs->opts.status_json(fs->opts.payload, &b) : 0;
	else if (kind == GFS_K_HEALTH)
		rc =
		    fs->opts.health_text ? fs->opts.health_text(fs->opts.payload, &b) : 0;
	else if (kind == GFS_K_LAST_APPLY)
		rc = fs->opts.last_apply_text
			 ? fs->opts.last_apply_text(fs->opts.payload, &b)
			 : 0;
	else
		rc =
		    fs->opts.errors_text ? fs->opts.errors_text(fs->opts.payload, &b) : 0;
	if (rc == 0) {
		*out = gfs_blob_new(b.data, b.len);
		rc = *out ? 0 : -ENOMEM;
	}
	gfs_buf_release(&b);
	return rc;
}

static bool gfs_is_reserved_top(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, GFS_META_DIR) == 0;
}

static int gfs_resolve_special(struct gfs_fs *fs, const char *path, struct gfs_res *r)
{
	enum gfs_kind kind;
	if (strcmp(path, ".git") == 0)
		kind = GFS_K_GITFILE;
	else if (strcmp(path, GFS_META_DIR) == 0)
		kind = GFS_K_META_DIR;
	else if (strcmp(path, GFS_META_DIR "/status") == 0)
		kind = GFS_K_STATUS;
	else if (strcmp(path, GFS_META_DIR "/errors") == 0)
		kind = GFS_K_ERRORS;
	else if (strcmp(path, GFS_META_DIR "/health") == 0)
		kind = GFS_K_HEALTH;
	else if (strcmp(path, GFS_META_DIR "/last-apply") == 0)
		kind = GFS_K_LAST_APPLY;
	else if (strncmp(path, GFS_META_DIR "/", sizeof(GFS_META_DIR)) == 0)
		return -ENOENT;
	else
		return 1; /* not special */
	r->kind = kind;
	r->version = 0;
	r->implied = false;
	size_t size = 0;
	if (kind != GFS_K_META_DIR) {
		struct gfs_blob *b = NULL;
		int rc = gfs_special_text(fs, kind, &b);
		if (rc < 0)
			return rc;
		size = b->len;
		gfs_blob_unref(b);
	}
	gfs_fill_special_attr(fs, path, kind == GFS_K_META_DIR, size, &r->st);
	return 0;
}

/* Whether answering for `path` renders a special file (status, health:
 * a walk over every object), which is left to a worker (dispatch.c). */
static bool gfs_path_renders(const char *path)
{
	size_t n = sizeof(GFS_META_DIR) - 1;
	return strncmp(path, GFS_META_DIR, n) == 0 && (!path[n] || path[n] == '/');
}

/* What `path` shows. Returns 0 or -ENOENT (or another -errno). */
int gfs_resolve(struct gfs_fs *fs, const char *path, struct gfs_res *r)
{
	int rc = gfs_resolve_special(fs, path, r);
	if (rc <= 0)
		return rc;
	r->implied = false;
	if (gfs_write_pending_stat(fs, path, &r->st)) {
		r->kind = GFS_K_PENDING;
		r->version = 0;
		return 0;
	}
	struct gfs_entry_attr a;
	if (gfs_store_stat(&a, fs->opts.store, path) == 0) {
		r->kind = a.type == GFS_ENTRY_DIR ? GFS_K_STORE_DIR : GFS_K_STORE_FILE;
		r->version = a.version;
		r->implied = a.implied;
		gfs_fill_store_attr(fs, &a, &r->st);
		return 0;
	}
	/* An object the cluster does not have (yet): never a local file, even
	 * one left there earlier, so that it cannot pass for the object. */
	if (gfs_store_is_object_path(fs->opts.store, path))
		return -ENOENT;
	if (fstatat(fs->local_fd, *path ? path : ".", &r->st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	r->kind = GFS_K_LOCAL;
	r->version = 0;
	r->st.st_ino = gfs_path_ino(path);
	return 0;
}

int gfs_child_path(char *out, size_t outsz, const char *parent, const char *name)
{
	int n = snprintf(out, outsz, "%s%s%s", parent, *parent ? "/" : "", name);
	return (n < 0 || (size_t)n >= outsz) ? -ENAMETOOLONG : 0;
}

double gfs_timeout(const struct gfs_res *r)
{
	/* The special files change on their own; a new object file being
	 * written is not there until applied (and may never be). */
	if (r->kind == GFS_K_STATUS || r->kind == GFS_K_ERRORS ||
	    r->kind == GFS_K_HEALTH || r->kind == GFS_K_LAST_APPLY ||
	    r->kind == GFS_K_PENDING)
		return 0.0;
	return r->implied ? GFS_BRIEF_SECONDS : GFS_CACHE_SECONDS;
}

/* How long the kernel may remember that `path` does not exist: a
 * namespace or resource directory can appear without a change event for
 * it (implied directories), anything deeper is invalidated by notify.c. */
static double gfs_negative_timeout(const char *path)
{
	const char *slash = strchr(path, '/');
	return slash && strchr(slash + 1, '/') ? GFS_CACHE_SECONDS : GFS_BRIEF_SECONDS;
}

/* ---- lookup / forget / getattr -------------------------------------------- */

static void gfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char ppath[GFS_PATH_MAX], path[GFS_PATH_MAX];
	struct gfs_res r;
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	int rc = gfs_inodes_path(ppath, sizeof(ppath), fs->inodes, parent);
	if (rc == 0)
		rc = gfs_child_path(path, sizeof(path), ppath, name);
	if (rc == 0 && gfs_path_renders(path) &&
	    gfs_defer(req, &(struct gfs_job){
			       .op = GFS_JOB_LOOKUP, .ino = parent, .name = name}))
		return;
	/* The inode is known before what it shows is read: a change that
	 * lands after this read is then invalidated (notify.c skips inodes
	 * the kernel does not hold), and one before it is what we answer. */
	uint64_t ino = gfs_path_ino(path);
	bool held = false;
	if (rc == 0)
		held = (rc = gfs_inodes_remember(fs->inodes, ino, path)) == 0;
	if (rc == 0)
		rc = gfs_resolve(fs, path, &r);
	if (held && rc < 0)
		gfs_inodes_forget(fs->inodes, ino, 1);
	if (rc == -ENOENT) {
		/* A cached negative entry: when the name appears, notify.c
		 * invalidates it. */
		e.ino = 0;
		e.entry_timeout = gfs_negative_timeout(path);
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = r.st.st_ino;
	e.attr = r.st;
	e.attr_timeout = gfs_timeout(&r);
	e.entry_timeout = gfs_timeout(&r);
	fuse_reply_entry(req, &e);
}

static void gfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	gfs_inodes_forget(gfs_req_fs(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void gfs_op_forget_multi(fuse_req_t req, size_t count,
				struct fuse_forget_data *forgets)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	for (size_t i = 0; i < count; i++)
		gfs_inodes_forget(fs->inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

int gfs_resolve_ino(struct gfs_fs *fs, fuse_ino_t ino, char *path, size_t pathsz,
		    struct gfs_res *r)
{
	int rc = gfs_inodes_path(path, pathsz, fs->inodes, ino);
	return rc < 0 ? rc : gfs_resolve(fs, path, r);
}

/* A worker answers for the special files (gfs_path_renders): true when
 * the request at ino was handed over as `job`. */
static bool gfs_defer_renders(fuse_req_t req, fuse_ino_t ino, enum gfs_job_op op,
			      struct fuse_file_info *fi, size_t size, off_t off)
{
	char path[GFS_PATH_MAX];
	struct gfs_job job = {
	    .op = op, .ino = ino, .has_fi = fi != NULL, .size = size, .off = off};
	if (fi)
		job.fi = *fi;
	return gfs_inodes_path(path, sizeof(path), gfs_req_fs(req)->inodes, ino) == 0 &&
	       gfs_path_renders(path) && gfs_defer(req, &job);
}

static void gfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	if (gfs_defer_renders(req, ino, GFS_JOB_GETATTR, fi, 0, 0))
		return;
	int rc = gfs_resolve_ino(fs, ino, path, sizeof(path), &r);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_attr(req, &r.st, gfs_timeout(&r));
}

/* ---- files ------------------------------------------------------------------ */

static void gfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	struct gfs_open *of = NULL;
	if (gfs_defer_renders(req, ino, GFS_JOB_OPEN, fi, 0, 0))
		return;
	int rc = gfs_resolve_ino(fs, ino, path, sizeof(path), &r);
	if (rc < 0)
		goto out;
	of = gfs_open_new(r.kind);
	if (!of) {
		rc = -ENOMEM;
		goto out;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		rc = gfs_write_open(fs, path, &r, ino, fi, of, fuse_req_ctx(req)->pid);
		goto out;
	}
	/* A reader's close has nothing to apply (gfs_op_flush): the kernel
	 * need not ask (FOPEN_NOFLUSH, Linux 5.16+; older kernels ask). */
	fi->noflush = 1;
	switch (r.kind) {
	case GFS_K_STORE_FILE: {
		struct gfs_entry_attr a;
		rc = gfs_store_read(&of->blob, &a, fs->opts.store, path);
		/* Keep the kernel's pages only when they hold this version. */
		bool keep = false;
		if (rc == 0)
			rc = gfs_inodes_note_open(fs->inodes, ino, a.version,
						  fuse_req_ctx(req)->pid, &keep);
		fi->keep_cache = keep;
		break;
	}
	case GFS_K_LOCAL:
		of->fd = openat(fs->local_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		rc = of->fd < 0 ? -errno : 0;
		break;
	case GFS_K_GITFILE:
	case GFS_K_STATUS:
	case GFS_K_ERRORS:
	case GFS_K_HEALTH:
	case GFS_K_LAST_APPLY:
		rc = gfs_special_text(fs, r.kind, &of->blob);
		fi->direct_io = r.kind != GFS_K_GITFILE;
		break;
	default:
		rc = -EISDIR;
	}
out:
	if (rc == 0)
		rc = gfs_handle_add(fs->handles, of, &fi->fh);
	if (rc < 0) {
		gfs_handle_put(fs->handles, of);
		fuse_reply_err(req, -rc);
		return;
	}
	if (fuse_reply_open(req, fi) != 0)
		gfs_handle_close(fs->handles, fi->fh); /* the opener is gone */
}

static void gfs_read_reply(fuse_req_t req, struct gfs_open *of, size_t size, off_t off)
{
	if (of->writable) {
		/* Reading back what this handle wrote so far. */
		size_t len = of->wbuf.len;
		size_t n = (uint64_t)off < len ? len - (size_t)off : 0;
		fuse_reply_buf(req, n ? of->wbuf.data + off : NULL, n < size ? n : size);
		return;
	}
	if (of->fd >= 0) {
		struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = of->fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	const struct gfs_blob *b = of->blob;
	if (!b || off < 0 || (uint64_t)off >= b->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = b->len - (size_t)off;
	fuse_reply_buf(req, b->data + off, n < size ? n : size);
}

static void gfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	struct gfs_open *of = gfs_handle_lock(fs->handles, fi->fh);
	if (!of) {
		fuse_reply_err(req, EBADF);
		return;
	}
	gfs_read_reply(req, of, size, off);
	gfs_handle_unlock(fs->handles, of);
}

static void gfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* Releasing a file opened for writing may apply it. */
	if (((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) &&
	    gfs_defer(req,
		      &(struct gfs_job){
			  .op = GFS_JOB_RELEASE, .ino = ino, .fi = *fi, .has_fi = true}))
		return;
	gfs_handle_close(gfs_req_fs(req)->handles, fi->fh);
	fuse_reply_err(req, 0);
}

static void gfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX], target[GFS_PATH_MAX];
	struct gfs_res r;
	int rc = gfs_resolve_ino(fs, ino, path, sizeof(path), &r);
	if (rc == 0 && r.kind != GFS_K_LOCAL)
		rc = -EINVAL;
	ssize_t n =
	    rc == 0 ? readlinkat(fs->local_fd, path, target, sizeof(target) - 1) : -1;
	if (rc == 0 && n < 0)
		rc = -errno;
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	target[n] = '\0';
	fuse_reply_readlink(req, target);
}

/* ---- directories ------------------------------------------------------------- */

struct gfs_list_payload {
	struct gfs_fs *fs;
	struct gfs_dirlist *list;
	struct gfs_map *seen; /* names already listed */
};

static int gfs_list_store_entry(const char *name, const struct gfs_entry_attr *a,
				void *payload)
{
	struct gfs_list_payload *p = payload;
	struct stat st;
	int err = 0;
	gfs_fill_store_attr(p->fs, a, &st);
	gfs_map_put(p->seen, name, (void *)1, &err);
	return err ? err : gfs_dirlist_add(p->list, name, &st, true);
}

/* Adds the ordinary files of the local directory that are not shadowed by
 * a store entry, a managed path or a reserved top-level name. */
static int gfs_list_local(struct gfs_list_payload *p, const char *path)
{
	struct gfs_fs *fs = p->fs;
	int fd =
	    openat(fs->local_fd, *path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		char child[GFS_PATH_MAX];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    gfs_map_get(p->seen, de->d_name) ||
		    (!*path && gfs_is_reserved_top(de->d_name)))
			continue;
		if (gfs_child_path(child, sizeof(child), path, de->d_name) < 0 ||
		    gfs_store_is_object_path(fs->opts.store, child))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		st.st_ino = gfs_path_ino(child);
		rc = gfs_dirlist_add(p->list, de->d_name, &st, true);
	}
	closedir(d);
	return rc;
}

static int gfs_dirlist_build(struct gfs_fs *fs, const char *path, const struct gfs_res *r,
			     struct gfs_dirlist **out)
{
	struct gfs_dirlist *l = gfs_dirlist_new();
	struct gfs_list_payload p = {fs, l, gfs_map_new()};
	int rc = (!l || !p.seen) ? -ENOMEM : 0;
	if (rc == 0 && !*path) {
		struct gfs_res sr;
		const char *specials[] = {".git", GFS_META_DIR};
		for (size_t i = 0; i < 2 && rc == 0; i++) {
			rc = gfs_resolve_special(fs, specials[i], &sr);
			if (rc == 0)
				rc = gfs_dirlist_add(l, specials[i], &sr.st, false);
		}
	}
	if (rc == 0 && r->kind == GFS_K_META_DIR) {
		struct gfs_res sr;
		const char *names[] = {"status", "errors", "health", "last-apply"};
		for (size_t i = 0; i < GFS_ARRAY_SIZE(names) && rc == 0; i++) {
			char child[GFS_PATH_MAX];
			rc = gfs_child_path(child, sizeof(child), path, names[i]);
			if (rc == 0)
				rc = gfs_resolve_special(fs, child, &sr);
			if (rc == 0)
				rc = gfs_dirlist_add(l, names[i], &sr.st, false);
		}
	}
	if (rc == 0 && r->kind == GFS_K_STORE_DIR) {
		rc = gfs_store_list(fs->opts.store, path, gfs_list_store_entry, &p);
		if (rc == -ENOENT)
			rc = 0; /* vanished meanwhile: list what is left */
	}
	if (rc == 0 && r->kind != GFS_K_META_DIR)
		rc = gfs_list_local(&p, path);
	gfs_map_free(p.seen);
	if (rc < 0) {
		gfs_dirlist_unref(l);
		return rc;
	}
	gfs_dirlist_seal(l);
	*out = l;
	return 0;
}

/* The listing of directory ino for a readdir at `off` when the kernel
 * opened it itself (no handle): a new one from the start, else the one
 * kept since the previous reply (dirlist.c). */
static int gfs_dirlist_for(struct gfs_fs *fs, fuse_ino_t ino, off_t off,
			   struct gfs_dirlist **out)
{
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	if (off > 0 && (*out = gfs_dirsnaps_get(fs->dirsnaps, ino)))
		return 0;
	int rc = gfs_resolve_ino(fs, ino, path, sizeof(path), &r);
	if (rc == 0 && !S_ISDIR(r.st.st_mode))
		rc = -ENOTDIR;
	if (rc == 0)
		rc = gfs_dirlist_build(fs, path, &r, out);
	if (rc == 0)
		gfs_dirsnaps_put(fs->dirsnaps, ino, *out);
	return rc;
}

static void gfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	char path[GFS_PATH_MAX];
	struct gfs_res r;
	struct gfs_dirlist *l = NULL;
	/* Nothing to open: the kernel then opens every directory without
	 * asking (two requests less per directory: `git status` and `find`
	 * open them all) and keeps the listings (as with FOPEN_CACHE_DIR);
	 * readdir builds them (gfs_dirlist_for). */
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (gfs_defer_renders(req, ino, GFS_JOB_OPENDIR, fi, 0, 0))
		return;
	int rc = gfs_resolve_ino(fs, ino, path, sizeof(path), &r);
	if (rc == 0 && !S_ISDIR(r.st.st_mode))
		rc = -ENOTDIR;
	if (rc == 0)
		rc = gfs_dirlist_build(fs, path, &r, &l);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)l;
	/* The kernel may keep the listing: directory changes are
	 * invalidated by notify.c (local ones go through us anyway). */
	fi->cache_readdir = r.kind != GFS_K_META_DIR;
	fi->keep_cache = fi->cache_readdir;
	fuse_reply_open(req, fi);
}

static void gfs_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			       struct fuse_file_info *fi, bool plus)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	struct gfs_dirlist *l = NULL;
	char *buf = NULL, ppath[GFS_PATH_MAX];
	size_t used = 0;
	int rc = 0;
	if (fi->fh) {
		l = gfs_dirlist_ref((struct gfs_dirlist *)(uintptr_t)fi->fh);
	} else {
		/* Building the listing of .gitopsfs renders its files. */
		if (gfs_defer_renders(req, ino,
				      plus ? GFS_JOB_READDIRPLUS : GFS_JOB_READDIR, fi,
				      size, off))
			return;
		rc = gfs_dirlist_for(fs, ino, off, &l);
	}
	if (rc == 0)
		buf = malloc(size);
	if (!buf) {
		gfs_dirlist_unref(l);
		fuse_reply_err(req, rc < 0 ? -rc : ENOMEM);
		return;
	}
	if (plus && gfs_inodes_path(ppath, sizeof(ppath), fs->inodes, ino) < 0)
		plus = false;
	size_t first = gfs_dirlist_seek(l, off), i;
	for (i = first; i < l->n; i++) {
		const struct gfs_dirent *de = &l->items[i];
		size_t n;
		if (plus) {
			char child[GFS_PATH_MAX];
			struct fuse_entry_param e;
			struct gfs_res r;
			memset(&e, 0, sizeof(e));
			e.ino = de->st.st_ino;
			e.attr = de->st;
			e.attr_timeout = de->cacheable ? GFS_CACHE_SECONDS : 0;
			/* An entry returned by readdirplus counts as a lookup:
			 * known first, then its attributes read again, as in
			 * gfs_op_lookup (the listing may be older than a
			 * change whose invalidation found the inode unknown). */
			bool held =
			    gfs_child_path(child, sizeof(child), ppath, de->name) == 0 &&
			    gfs_inodes_remember(fs->inodes, e.ino, child) == 0;
			if (held && de->cacheable) {
				if (gfs_resolve(fs, child, &r) == 0 &&
				    r.st.st_ino == e.ino)
					e.attr = r.st;
				else
					e.attr_timeout = 0; /* gone or changed kind */
			}
			e.entry_timeout = e.attr_timeout;
			n = fuse_add_direntry_plus(req, buf + used, size - used, de->name,
						   &e, de->cookie);
			if (n > size - used) {
				if (held) /* not handed to the kernel after all */
					gfs_inodes_forget(fs->inodes, e.ino, 1);
				break;
			}
		} else {
			n = fuse_add_direntry(req, buf + used, size - used, de->name,
					      &de->st, de->cookie);
			if (n > size - used)
				break;
		}
		used += n;
	}
	/* Read to its end: a kept listing is not needed any more. */
	if (!fi->fh && i == l->n)
		gfs_dirsnaps_drop(fs->dirsnaps, ino, l);
	gfs_dirlist_unref(l);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void gfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	gfs_readdir_common(req, ino, size, off, fi, false);
}

static void gfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			       struct fuse_file_info *fi)
{
	gfs_readdir_common(req, ino, size, off, fi, true);
}

static void gfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	gfs_dirlist_unref((struct gfs_dirlist *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- the rest ---------------------------------------------------------------- */

static void gfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void gfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Let the kernel keep what we serve; notify.c keeps it right. */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* O_TRUNC arrives with open, not as a separate truncate: a file
	 * is never seen empty between the two. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* Directories opened by the kernel alone (Linux 5.1+). */
	struct gfs_fs *fs = userdata;
	fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
}

const struct fuse_lowlevel_ops gfs_fs_ops = {
    .init = gfs_op_init,
    .lookup = gfs_op_lookup,
    .forget = gfs_op_forget,
    .forget_multi = gfs_op_forget_multi,
    .getattr = gfs_op_getattr,
    .readlink = gfs_op_readlink,
    .open = gfs_op_open,
    .read = gfs_op_read,
    .release = gfs_op_release,
    .opendir = gfs_op_opendir,
    .readdir = gfs_op_readdir,
    .readdirplus = gfs_op_readdirplus,
    .releasedir = gfs_op_releasedir,
    .statfs = gfs_op_statfs,
    .getxattr = gfs_op_getxattr,
    .listxattr = gfs_op_listxattr,
    .create = gfs_op_create,
    .write = gfs_op_write,
    .flush = gfs_op_flush,
    .fsync = gfs_op_fsync,
    .setattr = gfs_op_setattr,
    .mkdir = gfs_op_mkdir,
    .unlink = gfs_op_unlink,
    .rmdir = gfs_op_rmdir,
    .rename = gfs_op_rename,
    .symlink = gfs_op_symlink,
};
