/*
 * cli.h - the command line of SPEC section 2, shared by the commands.
 */
#ifndef GFS_CLI_H
#define GFS_CLI_H

#include <stdbool.h>

#include "gfs_filter.h"

#define GFS_MAX_NAMESPACES 64

struct gfs_cli {
	const char *command; /* mount, export, status, sync, diff */
	const char *kubeconfig;
	const char *context;
	const char *namespaces[GFS_MAX_NAMESPACES + 1]; /* NULL-terminated */
	int n_namespaces;
	const char *sync; /* off | commit | apply */
	const char *branch;
	const char *state_dir;
	const char *config;
	const char *secrets;      /* redact | show | exclude (until the config file) */
	const char *metrics_addr; /* HOST:PORT, or NULL: no metrics endpoint */
	unsigned interval;
	bool push, prune, heal, read_only, foreground, debug, allow_cascade_delete;
	unsigned sync_timeout;   /* seconds to wait for the first list */
	unsigned health_timeout; /* --health-timeout; 0: the config's, else 300 */
	bool quiet;              /* no progress line on a terminal */
	char path[512];          /* --path DIR, checked and normalised; "" = root */
	const char *args[2];     /* positional: REPO MOUNTPOINT, or DIR, or MOUNTPOINT */
	int n_args;
};

/* Parses argv into cli; prints a message and returns -EINVAL on misuse. */
int gfs_cli_parse(struct gfs_cli *cli, int argc, char **argv);
void gfs_cli_usage(FILE *out);

/* Builds the filter the options ask for (defaults + secrets policy). */
struct gfs_filter *gfs_cli_filter(const struct gfs_cli *cli);

int gfs_cmd_mount(struct gfs_cli *cli);
int gfs_cmd_export(struct gfs_cli *cli);
int gfs_cmd_status(struct gfs_cli *cli);
int gfs_cmd_sync(struct gfs_cli *cli);
/* `gitopsfs wait [--timeout S] MOUNTPOINT [PATH...]`: its own command line
 * (any number of paths). Returns the exit code: 0 Current, 1 not, 2 misuse. */
int gfs_cmd_wait(int argc, char **argv);
/* Returns the exit status itself: 0 same, 1 different, 2 trouble. */
int gfs_cmd_diff(struct gfs_cli *cli);

#endif
