/*
 * diff.c - `gitopsfs diff REPO|DIR`: for CI, is the cluster what Git
 * says? Lists the cluster once, renders both sides as the mount would
 * show them, and prints a unified diff. Exit status as diff(1)'s: 0 the
 * same, 1 different, 2 trouble. Nothing is written: not to the cluster
 * (not even the redaction key), not to REPO; a remote REPO is cloned
 * into a temporary directory that is removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "gfs_desired.h"

/* The config: --config, else .gitopsfs.yaml of the desired tree's --path
 * directory (as a mount of it would read it), else the defaults. */
static int gfs_diff_config(struct gfs_config **cfg, const struct gfs_cli *cli,
			   struct gfs_desired *d)
{
	struct gfs_buf text = GFS_BUF_INIT(1u << 20);
	int rc = gfs_desired_read(d, ".gitopsfs.yaml", &text);
	if (rc == -ENOENT)
		rc = 0;
	if (rc == 0)
		rc = gfs_cli_config(cfg, cli, text.len ? text.data : NULL, text.len);
	gfs_buf_release(&text);
	return rc;
}

int gfs_cmd_diff(struct gfs_cli *cli)
{
	struct gfs_cluster c;
	struct gfs_desired *d = NULL;
	struct gfs_config *cfg = NULL;
	size_t differ = 0;
	memset(&c, 0, sizeof(c));
	if (cli->n_args != 1) {
		fprintf(stderr, "gitopsfs: usage: gitopsfs diff [OPTIONS] REPO|DIR\n"
				"Try 'gitopsfs --help'.\n");
		return 2;
	}
	gfs_log_init(cli->debug ? GFS_LOG_DEBUG : GFS_LOG_WARN, NULL);
	int rc = gfs_desired_open(&d, cli->args[0], cli->branch, cli->path);
	if (rc == 0 && cli->path[0] && !gfs_desired_has_subdir(d))
		fprintf(stderr,
			"gitopsfs: warning: %s has no directory %s: every live "
			"object counts as new\n",
			gfs_desired_describe(d), cli->path);
	if (rc == 0)
		rc = gfs_diff_config(&cfg, cli, d);
	/* A diff ends up in CI logs: a Secret value never appears in it.
	 * Shown values are compared as their keyed digests instead - both
	 * sides, so equal values still compare equal. */
	/* secrets: sops the same: SOPS files in Git are decrypted (with the
	 * identity, when there is one) and compared as digests too. */
	bool sops = rc == 0 && cfg->filter->secrets == GFS_SECRETS_SOPS;
	if (rc == 0 && (cfg->filter->secrets == GFS_SECRETS_SHOW || sops))
		cfg->filter->secrets = GFS_SECRETS_REDACT;
	/* The desired side is read from --path already: the live side's
	 * paths are the cluster's own, as gfs_desired_diff compares them. */
	struct gfs_cli live = *cli;
	live.path[0] = '\0';
	if (rc == 0) {
		rc = gfs_cluster_open(&c, &live, cfg->filter);
		cfg->filter = NULL; /* the cluster owns it now */
		c.no_writes = true;
	}
	if (rc == 0 && sops && gfs_cluster_sops(&c, GFS_SECRETS_SOPS, cfg, NULL, 0) < 0)
		fprintf(stderr,
			"gitopsfs: warning: %s; SOPS-encrypted Secrets in Git cannot be "
			"compared\n",
			gfs_error_last());
	if (rc == 0)
		rc = gfs_cluster_start(&c, cli);
	/* One consistent list: stop watching before comparing. */
	gfs_cluster_stop(&c);
	if (rc == 0)
		rc = gfs_desired_diff(stdout, &differ, d, c.store);
	if (rc == 0 && fflush(stdout) != 0)
		rc = gfs_error_set(-EIO, "cannot write the diff: %s", strerror(errno));
	if (rc < 0)
		fprintf(stderr, "gitopsfs: diff: %s\n", gfs_error_last());
	else if (cli->debug)
		gfs_debug("%zu files differ between %s and %s", differ,
			  gfs_desired_describe(d), c.server);
	gfs_config_free(cfg);
	gfs_cluster_release(&c);
	gfs_desired_free(d);
	return rc < 0 ? 2 : differ ? 1 : 0;
}
