/*
 * export.c - `gitopsfs export DIR`: the mount's tree, written once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"

struct gfs_export_ctx {
	const char *dir;
	unsigned long files;
};

static int gfs_export_file(const char *path, const struct gfs_blob *content,
			   const struct gfs_entry_attr *attr, void *payload)
{
	struct gfs_export_ctx *ctx = payload;
	char dst[4096], dir[4096];
	snprintf(dst, sizeof(dst), "%s/%s", ctx->dir, path);
	snprintf(dir, sizeof(dir), "%s", dst);
	*strrchr(dir, '/') = '\0';
	int rc = gfs_mkdir_p(dir, 0755);
	if (rc < 0)
		return gfs_error_set(rc, "cannot create %s: %s", dir, strerror(-rc));
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, attr->mode);
	if (fd < 0)
		return gfs_error_set(-errno, "cannot write %s: %s", dst, strerror(errno));
	ssize_t n = write(fd, content->data, content->len);
	rc = (n < 0 || (size_t)n != content->len) ? -EIO : 0;
	if (close(fd) < 0 || rc < 0)
		return gfs_error_set(-EIO, "cannot write %s", dst);
	ctx->files++;
	return 0;
}

int gfs_cmd_export(struct gfs_cli *cli)
{
	struct gfs_cluster c;
	struct gfs_export_ctx ctx = {.dir = cli->args[0]};
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
	gfs_config_free(cfg);
	if (rc == 0)
		rc = gfs_cluster_start(&c, cli);
	/* Stop watching before writing: the export is one consistent list. */
	gfs_cluster_stop(&c);
	if (rc == 0)
		rc = gfs_store_foreach_file(c.store, gfs_export_file, &ctx);
	if (rc < 0)
		fprintf(stderr, "gitopsfs: %s\n", gfs_error_last());
	else
		fprintf(stderr, "gitopsfs: exported %lu objects from %s into %s\n",
			ctx.files, c.server, ctx.dir);
	gfs_cluster_release(&c);
	return rc;
}
