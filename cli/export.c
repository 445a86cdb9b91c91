/*
 * export.c - `gitopsfs export DIR`: the mount's tree, written once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "gfs_progress.h"

struct gfs_export_ctx {
	const char *dir;
	int dir_fd; /* DIR itself, the only path followed as given */
	/* The directory of the last file written (files come directory by
	 * directory): its path below DIR and an fd, so that each file costs
	 * its own open and not one per directory above it. */
	char last_rel[4096];
	int last_fd;
	unsigned long files;
	unsigned long long total; /* objects in the store, for the progress line */
	struct gfs_progress progress;
};

/* Opens (making it if needed) the directory `name` inside `parent`, never
 * through a symbolic link: a link planted in DIR cannot send files
 * elsewhere. Returns a new fd or -errno with the message set. */
static int gfs_export_subdir(int parent, const char *name, const char *shown)
{
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return gfs_error_set(-EINVAL, "refusing to write %s: not a plain path",
				     shown);
	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return gfs_error_set(-errno, "cannot create %s: %s", shown,
				     strerror(errno));
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return gfs_error_set(-ELOOP,
				     "%s is a symbolic link or not a directory; refusing "
				     "to write through it",
				     shown);
	if (fd < 0)
		return gfs_error_set(-errno, "cannot open %s: %s", shown,
				     strerror(errno));
	return fd;
}

/* Writes `content` as `name` in `dfd`: into a new file of its own (created
 * exclusively, never through a link), then renamed over whatever was
 * there - so an existing file or link at that name is replaced, not
 * written through, and a shown Secret's file is 0600 from its first
 * byte, even where a 0644 file stood. */
static int gfs_export_write(int dfd, const char *name, const struct gfs_blob *content,
			    unsigned mode, const char *shown)
{
	char tmp[300];
	int rc = 0;
	/* Nothing at that name yet (a fresh export): create it exclusively,
	 * which never follows a link either, and write it in place. */
	int fd =
	    openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	bool direct = fd >= 0;
	if (fd < 0 && errno != EEXIST)
		return gfs_error_set(-errno, "cannot write %s: %s", shown,
				     strerror(errno));
	for (unsigned i = 0; fd < 0 && i < 100; i++) {
		snprintf(tmp, sizeof(tmp), ".%.200s.gitopsfs-%08x", name,
			 (unsigned)(gfs_now_ns() ^ (uint64_t)getpid() << 16) + i);
		fd = openat(dfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return gfs_error_set(-errno, "cannot write %s: %s", shown,
				     strerror(errno));
	size_t off = 0;
	while (rc == 0 && off < content->len) {
		ssize_t n = write(fd, content->data + off, content->len - off);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && !direct && renameat(dfd, tmp, dfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, direct ? name : tmp, 0);
		return gfs_error_set(rc, "cannot write %s: %s", shown, strerror(-rc));
	}
	return 0;
}

static int gfs_export_file(const char *path, const struct gfs_blob *content,
			   const struct gfs_entry_attr *attr, void *payload)
{
	struct gfs_export_ctx *ctx = payload;
	char rel[4096], shown[4200];
	int dfd = ctx->dir_fd, rc = 0;
	snprintf(rel, sizeof(rel), "%s", path);
	const char *base = strrchr(path, '/');
	size_t dir_len = base ? (size_t)(base - path) : 0;
	char *name = rel;
	if (ctx->last_fd >= 0 && strlen(ctx->last_rel) == dir_len &&
	    strncmp(ctx->last_rel, path, dir_len) == 0) {
		dfd = ctx->last_fd; /* the same directory as the last file */
		name = rel + dir_len + 1;
	} else {
		if (ctx->last_fd >= 0)
			close(ctx->last_fd);
		ctx->last_fd = -1;
	}
	/* Walk down the directories of `path` one at a time. */
	for (char *slash; rc == 0 && dfd != ctx->last_fd && (slash = strchr(name, '/'));
	     name = slash + 1) {
		*slash = '\0';
		snprintf(shown, sizeof(shown), "%s/%s", ctx->dir, rel);
		int fd = gfs_export_subdir(dfd, name, shown);
		*slash = '/';
		if (dfd != ctx->dir_fd)
			close(dfd);
		dfd = fd;
		rc = fd < 0 ? fd : 0;
	}
	if (rc == 0 && dfd != ctx->dir_fd && dfd != ctx->last_fd) {
		ctx->last_fd = dfd; /* kept for the next file */
		snprintf(ctx->last_rel, sizeof(ctx->last_rel), "%.*s", (int)dir_len,
			 path);
	}
	snprintf(shown, sizeof(shown), "%s/%s", ctx->dir, path);
	if (rc == 0)
		rc = gfs_export_write(dfd, name, content, attr->mode, shown);
	if (rc == 0)
		ctx->files++;
	gfs_progress_show(&ctx->progress, "gitopsfs: writing files: %lu/%llu", ctx->files,
			  ctx->total);
	return rc;
}

int gfs_cmd_export(struct gfs_cli *cli)
{
	struct gfs_cluster c;
	struct gfs_export_ctx ctx = {.dir = cli->args[0], .dir_fd = -1, .last_fd = -1};
	if (cli->n_args != 1) {
		fprintf(stderr, "gitopsfs: usage: gitopsfs export [OPTIONS] DIR\n");
		return -EINVAL;
	}
	gfs_log_init(cli->debug ? GFS_LOG_DEBUG : GFS_LOG_WARN, NULL);
	struct gfs_config *cfg = NULL;
	int rc = gfs_cli_config(&cfg, cli, NULL, 0);
	memset(&c, 0, sizeof(c));
	if (rc == 0) {
		rc = gfs_cluster_open(&c, cli, cfg->filter);
		cfg->filter = NULL; /* the cluster owns it now */
	}
	if (rc == 0)
		rc = gfs_cluster_sops(&c, gfs_store_filter(c.store)->secrets, cfg, NULL,
				      0);
	gfs_config_free(cfg);
	if (rc == 0)
		rc = gfs_cluster_start(&c, cli);
	/* Stop watching before writing: the export is one consistent list. */
	gfs_cluster_stop(&c);
	if (rc == 0 && (rc = gfs_mkdir_p(ctx.dir, 0755)) < 0)
		gfs_error_set(rc, "cannot create %s: %s", ctx.dir, strerror(-rc));
	if (rc == 0 &&
	    (ctx.dir_fd = open(ctx.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc =
		    gfs_error_set(-errno, "cannot open %s: %s", ctx.dir, strerror(errno));
	if (rc == 0) {
		struct gfs_store_stats st;
		gfs_store_get_stats(&st, c.store);
		ctx.total = st.objects;
		gfs_progress_begin(&ctx.progress, cli->quiet);
		rc = gfs_store_foreach_file(c.store, gfs_export_file, &ctx);
		gfs_progress_end(&ctx.progress);
	}
	if (ctx.last_fd >= 0)
		close(ctx.last_fd);
	if (ctx.dir_fd >= 0)
		close(ctx.dir_fd);
	if (rc < 0)
		fprintf(stderr, "gitopsfs: %s\n", gfs_error_last());
	else
		fprintf(stderr, "gitopsfs: exported %lu objects from %s into %s\n",
			ctx.files, c.server, ctx.dir);
	gfs_cluster_release(&c);
	return rc;
}
