/*
 * main.c - gitopsfs's entry point: parse the command line, run a command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gfs_common.h"
#include "gfs_metrics.h"
#include "gfs_path.h"

#ifndef GFS_VERSION
#define GFS_VERSION "dev"
#endif

void gfs_cli_usage(FILE *out)
{
	fputs(
	    "usage:\n"
	    "  gitopsfs mount  [OPTIONS] REPO MOUNTPOINT   mount the cluster at "
	    "MOUNTPOINT\n"
	    "  gitopsfs sync   [OPTIONS] REPO              the sync loop alone, without "
	    "FUSE\n"
	    "  gitopsfs export [OPTIONS] DIR               write the cluster's files "
	    "into DIR\n"
	    "  gitopsfs status MOUNTPOINT                  print a mount's status "
	    "(JSON)\n"
	    "  gitopsfs wait [--timeout S] MOUNTPOINT [PATH...]  wait until the objects "
	    "(default:\n"
	    "                        the last apply's) are Current; exit 1 with reasons "
	    "if not\n"
	    "  gitopsfs diff   [OPTIONS] REPO|DIR          the branch's tree (or DIR) "
	    "against the\n"
	    "                                              live cluster: exit 0 same, 1 "
	    "differ, 2 error\n"
	    "  gitopsfs --help | --version\n"
	    "\n"
	    "options:\n"
	    "  --kubeconfig PATH     default $KUBECONFIG, then ~/.kube/config, then "
	    "in-cluster\n"
	    "  --context NAME        kubeconfig context (default: its current-context)\n"
	    "  --namespace NS        only this namespace (repeatable); leaves out "
	    "cluster scope\n"
	    "  --secrets MODE        redact (default: a digest keyed in the cluster) | "
	    "show\n"
	    "                        (not with --sync commit or --push) | exclude |\n"
	    "                        sops (encrypted to the config's age recipients;\n"
	    "                        identity from SOPS_AGE_KEY_FILE / SOPS_AGE_KEY)\n"
	    "  --state-dir DIR       where gitopsfs keeps its clone and ordinary files "
	    "(made\n"
	    "                        private: 0700)\n"
	    "                        (default "
	    "$XDG_STATE_HOME/gitopsfs/<mountpoint>-<hash>)\n"
	    "  --branch NAME         branch to check out (default: REPO's default "
	    "branch)\n"
	    "  --sync MODE           off (default) | commit: every cluster change "
	    "becomes a commit\n"
	    "                        | apply: the cluster follows the branch (fetch, "
	    "apply, heal)\n"
	    "  --push                commit: push each commit to origin\n"
	    "  --interval SECONDS    apply: how often origin is fetched (default 30)\n"
	    "  --prune               apply: delete objects gitopsfs applied that Git no "
	    "longer has\n"
	    "  --heal yes|no         apply: put drift back (default yes) or only report "
	    "it\n"
	    "  --config FILE         default: .gitopsfs.yaml of the tracked branch (in "
	    "--path)\n"
	    "  --read-only           no writes reach the cluster: every change fails "
	    "(EROFS)\n"
	    "  --allow-cascade-delete  let rm of a Namespace or CRD file delete it (and "
	    "all in it)\n"
	    "  --health-timeout SECONDS  how long an applied object may take to become "
	    "Current\n"
	    "                        before its deployment counts as failed (default "
	    "300)\n"
	    "  --timeout SECONDS     how long to wait for the first list (default 60)\n"
	    "  --metrics-addr HOST:PORT  serve Prometheus /metrics, /healthz and "
	    "/readyz\n"
	    "                        (off by default; e.g. 127.0.0.1:9100)\n"
	    "  --path DIR            the cluster's tree lives at DIR inside the "
	    "repository\n"
	    "                        (e.g. clusters/prod; default its root)\n"
	    "  -q, --quiet           no progress line on a terminal\n"
	    "  -f, --foreground      stay in the foreground, log to stderr\n"
	    "  -d, --debug           debug logging (and FUSE request tracing); implies "
	    "-f\n"
	    "\n"
	    "Git credentials (clone, fetch, push; for the origin's host and port only):\n"
	    "  GITOPSFS_GIT_TOKEN    https token (never over plain http but to "
	    "loopback)\n"
	    "  GITOPSFS_GIT_USER     its user name (default git)\n"
	    "  GITOPSFS_GIT_SSH_KEY  ssh private key file (default: the ssh-agent)\n",
	    out);
}

static const struct option gfs_long_options[] = {
    {"kubeconfig", required_argument, NULL, 'k'},
    {"context", required_argument, NULL, 'c'},
    {"namespace", required_argument, NULL, 'n'},
    {"sync", required_argument, NULL, 's'},
    {"branch", required_argument, NULL, 'b'},
    {"interval", required_argument, NULL, 'i'},
    {"push", no_argument, NULL, 'P'},
    {"prune", no_argument, NULL, 'R'},
    {"heal", required_argument, NULL, 'H'},
    {"config", required_argument, NULL, 'C'},
    {"read-only", no_argument, NULL, 'r'},
    {"allow-cascade-delete", no_argument, NULL, 'A'},
    {"state-dir", required_argument, NULL, 'S'},
    {"secrets", required_argument, NULL, 'x'},
    {"timeout", required_argument, NULL, 't'},
    {"metrics-addr", required_argument, NULL, 'M'},
    {"health-timeout", required_argument, NULL, 'T'},
    {"path", required_argument, NULL, 'p'},
    {"quiet", no_argument, NULL, 'q'},
    {"foreground", no_argument, NULL, 'f'},
    {"debug", no_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

__attribute__((format(printf, 1, 2))) static int gfs_cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gitopsfs: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'gitopsfs --help'.\n");
	return -EINVAL;
}

static int gfs_cli_option(struct gfs_cli *cli, int c, const char *arg)
{
	switch (c) {
	case 'k':
		cli->kubeconfig = arg;
		break;
	case 'c':
		cli->context = arg;
		break;
	case 'n':
		if (cli->n_namespaces >= GFS_MAX_NAMESPACES)
			return gfs_cli_fail("too many --namespace options (at most 64)");
		cli->namespaces[cli->n_namespaces++] = arg;
		break;
	case 's':
		cli->sync = arg;
		break;
	case 'b':
		cli->branch = arg;
		break;
	case 'i':
		cli->interval = (unsigned)strtoul(arg, NULL, 10);
		break;
	case 'P':
		cli->push = true;
		break;
	case 'R':
		cli->prune = true;
		break;
	case 'H':
		cli->heal = strcmp(arg, "no") != 0;
		break;
	case 'C':
		cli->config = arg;
		break;
	case 'r':
		cli->read_only = true;
		break;
	case 'A':
		cli->allow_cascade_delete = true;
		break;
	case 'S':
		cli->state_dir = arg;
		break;
	case 'x':
		cli->secrets = arg;
		break;
	case 't':
		cli->sync_timeout = (unsigned)strtoul(arg, NULL, 10);
		break;
	case 'M':
		cli->metrics_addr = arg;
		break;
	case 'T': {
		char *end = NULL;
		unsigned long secs = strtoul(arg, &end, 10);
		if (!*arg || *end || secs == 0 || secs > 86400)
			return gfs_cli_fail(
			    "--health-timeout takes seconds from 1 to 86400, "
			    "not '%s'",
			    arg);
		cli->health_timeout = (unsigned)secs;
		break;
	}
	case 'p':
		if (gfs_path_subdir_check(cli->path, sizeof(cli->path), arg) < 0)
			return gfs_cli_fail("%s", gfs_error_last());
		break;
	case 'q':
		cli->quiet = true;
		break;
	case 'f':
		cli->foreground = true;
		break;
	case 'd':
		cli->debug = cli->foreground = true;
		break;
	default:
		return gfs_cli_fail("invalid option for '%s'", cli->command);
	}
	return 0;
}

int gfs_cli_parse(struct gfs_cli *cli, int argc, char **argv)
{
	int c;
	memset(cli, 0, sizeof(*cli));
	cli->sync = "off";
	cli->interval = 30;
	cli->heal = true;
	cli->sync_timeout = 60;
	cli->command = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "+fdhq", gfs_long_options, NULL)) != -1) {
		if (c == 'h') {
			gfs_cli_usage(stdout);
			exit(0);
		}
		if (c == '?')
			return gfs_cli_fail("invalid option for '%s'", cli->command);
		if (gfs_cli_option(cli, c, optarg) < 0)
			return -EINVAL; /* the option said why */
	}
	for (; optind < argc; optind++) {
		if (cli->n_args >= 2)
			return gfs_cli_fail("unexpected argument '%s'", argv[optind]);
		cli->args[cli->n_args++] = argv[optind];
	}
	if (cli->secrets && strcmp(cli->secrets, "redact") &&
	    strcmp(cli->secrets, "show") && strcmp(cli->secrets, "exclude") &&
	    strcmp(cli->secrets, "sops"))
		return gfs_cli_fail(
		    "--secrets takes redact, show, exclude or sops, not '%s'",
		    cli->secrets);
	if (cli->metrics_addr && strcmp(cli->command, "mount") &&
	    strcmp(cli->command, "sync"))
		return gfs_cli_fail("--metrics-addr is for mount and sync, not '%s'",
				    cli->command);
	/* Refused here, before a mount forks, with the reason. */
	if (cli->metrics_addr && gfs_metrics_addr_check(cli->metrics_addr) < 0)
		return gfs_cli_fail("%s", gfs_error_last());
	if (strcmp(cli->sync, "off") && strcmp(cli->sync, "commit") &&
	    strcmp(cli->sync, "apply"))
		return gfs_cli_fail("--sync takes off, commit or apply, not '%s'",
				    cli->sync);
	return 0;
}

struct gfs_filter *gfs_cli_filter(const struct gfs_cli *cli)
{
	struct gfs_filter *f = gfs_filter_new_default();
	if (!f)
		return NULL;
	if (cli->secrets && strcmp(cli->secrets, "show") == 0)
		f->secrets = GFS_SECRETS_SHOW;
	else if (cli->secrets && strcmp(cli->secrets, "exclude") == 0)
		f->secrets = GFS_SECRETS_EXCLUDE;
	else if (cli->secrets && strcmp(cli->secrets, "sops") == 0)
		f->secrets = GFS_SECRETS_SOPS;
	return f;
}

int main(int argc, char **argv)
{
	struct gfs_cli cli;
	if (argc < 2) {
		gfs_cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		gfs_cli_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("gitopsfs %s\n", GFS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "wait") == 0)
		return gfs_cmd_wait(argc, argv);
	if (gfs_cli_parse(&cli, argc, argv) < 0)
		return 2;
	(void)gfs_raise_fd_limit();
	int rc;
	if (strcmp(cli.command, "mount") == 0)
		rc = gfs_cmd_mount(&cli);
	else if (strcmp(cli.command, "export") == 0)
		rc = gfs_cmd_export(&cli);
	else if (strcmp(cli.command, "status") == 0)
		rc = gfs_cmd_status(&cli);
	else if (strcmp(cli.command, "sync") == 0)
		rc = gfs_cmd_sync(&cli);
	else if (strcmp(cli.command, "diff") == 0)
		return gfs_cmd_diff(&cli); /* diff(1)'s exit status: 0, 1 or 2 */
	else {
		fprintf(stderr, "gitopsfs: unknown command '%s'\n", cli.command);
		gfs_cli_usage(stderr);
		return 2;
	}
	return rc == 0 ? 0 : 1;
}
