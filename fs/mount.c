/*
 * mount.c - session set-up, mounting, the request loop and tear-down.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_internal.h"

int gfs_fs_new(struct gfs_fs **out, const struct gfs_fs_opts *opts)
{
	struct gfs_fs *fs = calloc(1, sizeof(*fs));
	char *argv[] = {"gitopsfs", opts->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(opts->debug ? 2 : 1, argv);
	int rc;
	if (!fs)
		return -ENOMEM;
	fs->opts = *opts;
	fs->local_fd = -1;
	fs->uid = getuid();
	fs->gid = getgid();
	fs->start_ns = gfs_now_ns();
	pthread_mutex_init(&fs->lock, NULL);
	fs->pending = gfs_map_new();
	fs->errors = gfs_map_new();
	if (!fs->pending || !fs->errors ||
	    gfs_handles_new(&fs->handles, gfs_write_release, fs) < 0) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto fail;
	}
	fs->local_dir = strdup(opts->local_dir);
	if (!fs->local_dir || asprintf(&fs->gitfile, "gitdir: %s\n", opts->gitdir) < 0) {
		fs->gitfile = NULL;
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto fail;
	}
	rc = gfs_mkdir_p(fs->local_dir, 0700);
	if (rc < 0) {
		gfs_error_set(rc, "cannot create %s: %s", fs->local_dir, strerror(-rc));
		goto fail;
	}
	fs->local_fd = open(fs->local_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->local_fd < 0) {
		rc = gfs_error_set(-errno, "cannot open %s: %s", fs->local_dir,
				   strerror(errno));
		goto fail;
	}
	rc = gfs_inodes_new(&fs->inodes);
	if (rc == 0)
		rc = gfs_dirsnaps_new(&fs->dirsnaps);
	if (rc < 0)
		goto fail;
	fs->se = fuse_session_new(&args, &gfs_fs_ops, sizeof(gfs_fs_ops), fs);
	fuse_opt_free_args(&args); /* the session keeps what it needs */
	if (!fs->se) {
		rc = gfs_error_set(-EIO, "cannot create the FUSE session");
		goto fail;
	}
	rc = gfs_notifier_start(&fs->notifier, fs->se, fs->inodes);
	if (rc < 0)
		goto fail;
	rc = gfs_store_subscribe(opts->store, gfs_notifier_change, fs->notifier);
	if (rc < 0)
		goto fail;
	*out = fs;
	return 0;
fail:
	gfs_fs_free(fs);
	return rc;
}

/* A clear refusal when the mount point is unusable, instead of FUSE's
 * terse errors. */
static int gfs_check_mountpoint(const char *mountpoint)
{
	struct stat st, parent;
	char buf[4096];
	if (stat(mountpoint, &st) < 0) {
		if (errno == ENOTCONN)
			return gfs_error_set(
			    -EBUSY,
			    "mount point %s has a dead FUSE mount on it; "
			    "run: fusermount3 -u %s",
			    mountpoint, mountpoint);
		return gfs_error_set(-errno, "mount point %s: %s", mountpoint,
				     strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return gfs_error_set(-ENOTDIR, "mount point %s is not a directory",
				     mountpoint);
	snprintf(buf, sizeof(buf), "%s/..", mountpoint);
	if (stat(buf, &parent) == 0 && parent.st_dev != st.st_dev)
		return gfs_error_set(
		    -EBUSY,
		    "mount point %s is busy: something is already mounted "
		    "there (unmount it with fusermount3 -u %s)",
		    mountpoint, mountpoint);
	return 0;
}

int gfs_fs_mount(struct gfs_fs *fs, const char *mountpoint)
{
	int rc = gfs_check_mountpoint(mountpoint);
	if (rc < 0)
		return rc;
	if (fuse_session_mount(fs->se, mountpoint) != 0)
		return gfs_error_set(-EIO,
				     "cannot mount on %s (is /dev/fuse available and "
				     "fusermount3 installed?)",
				     mountpoint);
	fs->mountpoint = strdup(mountpoint);
	fs->mounted = true;
	return 0;
}

int gfs_fs_loop(struct gfs_fs *fs)
{
	/* SIGTERM, SIGINT and SIGHUP end the loop; we then unmount. */
	if (fuse_set_signal_handlers(fs->se) != 0)
		return gfs_error_set(-EIO, "cannot install signal handlers");
	int rc = gfs_dispatch_run(fs);
	fuse_remove_signal_handlers(fs->se);
	return rc < 0 ? rc : 0;
}

void gfs_fs_exit(struct gfs_fs *fs)
{
	if (fs && fs->se)
		fuse_session_exit(fs->se);
}

static int gfs_free_error_cb(const char *key, void *value, void *payload)
{
	free(value);
	return 0;
}

void gfs_fs_free(struct gfs_fs *fs)
{
	if (!fs)
		return;
	/* Stop sending invalidations before the session goes. */
	gfs_notifier_stop(fs->notifier);
	if (fs->mounted)
		fuse_session_unmount(fs->se);
	if (fs->se)
		fuse_session_destroy(fs->se);
	gfs_inodes_free(fs->inodes);
	gfs_dirsnaps_free(fs->dirsnaps);
	gfs_map_free(fs->pending); /* its open files are freed by release */
	gfs_handles_free(fs->handles);
	if (fs->errors) {
		gfs_map_foreach(fs->errors, gfs_free_error_cb, NULL);
		gfs_map_free(fs->errors);
	}
	if (fs->local_fd >= 0)
		close(fs->local_fd);
	free(fs->local_dir);
	free(fs->gitfile);
	free(fs->mountpoint);
	free(fs);
}
