/*
 * status.c - `gitopsfs status MOUNTPOINT`: prints .gitopsfs/status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gfs_common.h"

int gfs_cmd_status(struct gfs_cli *cli)
{
	char path[4096], buf[8192];
	if (cli->n_args != 1) {
		fprintf(stderr, "gitopsfs: usage: gitopsfs status MOUNTPOINT\n");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/.gitopsfs/status", cli->args[0]);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr,
			"gitopsfs: %s is not a gitopsfs mount (cannot read %s: %s)\n",
			cli->args[0], path, strerror(errno));
		return -errno;
	}
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}
