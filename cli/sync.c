/*
 * sync.c - `gitopsfs sync REPO`: the sync loop alone, without FUSE, e.g.
 * as a pull-based agent inside the cluster. Runs in the foreground until
 * SIGTERM or SIGINT, then stops cleanly (a pending commit is made,
 * pending deletions are carried out).
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "agent.h"
#include "gfs_statedir.h"

static char *gfs_sync_default_state_dir(const char *repo)
{
	/* Named after the repository, as the mount's is after its mount
	 * point: several agents on one host keep apart. */
	return gfs_gitstate_default_dir(repo);
}

int gfs_cmd_sync(struct gfs_cli *cli)
{
	struct gfs_agent a = {0};
	sigset_t set;
	int rc, sig = 0;
	if (cli->n_args != 1) {
		fprintf(stderr, "gitopsfs: usage: gitopsfs sync --sync commit|apply "
				"[OPTIONS] REPO\n");
		return -EINVAL;
	}
	if (gfs_agent_direction(cli) == GFS_SYNC_OFF) {
		fprintf(
		    stderr,
		    "gitopsfs: sync needs a direction: --sync commit or --sync apply\n");
		return -EINVAL;
	}
	gfs_log_init(cli->debug ? GFS_LOG_DEBUG : GFS_LOG_INFO, NULL);
	if (!realpath(cli->args[0], a.repo))
		snprintf(a.repo, sizeof(a.repo), "%s", cli->args[0]);
	a.state_dir = cli->state_dir ? gfs_abspath(cli->state_dir)
				     : gfs_sync_default_state_dir(a.repo);
	if (!a.state_dir)
		return -ENOMEM;
	/* Signals are taken synchronously below; block them before any
	 * thread starts so that every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	char worktree[PATH_MAX + 16];
	snprintf(worktree, sizeof(worktree), "%s/files", a.state_dir);
	/* No mount: the clone's work tree is a plain directory of its own. */
	rc = gfs_statedir_secure(a.state_dir);
	if (rc == 0 && (rc = gfs_mkdir_p(worktree, 0700)) < 0)
		gfs_error_set(rc, "cannot create %s: %s", worktree, strerror(-rc));
	if (rc == 0)
		rc = gfs_agent_open(&a, cli, worktree);
	if (rc == 0)
		rc = gfs_agent_start(&a);
	if (rc < 0) {
		fprintf(stderr, "gitopsfs: %s\n", gfs_error_last());
	} else {
		gfs_info("sync: %s, %s <-> %s (state in %s)", cli->sync, a.repo,
			 a.cluster.server, a.state_dir);
		sigwait(&set, &sig);
		gfs_info("sync: signal %d, stopping", sig);
	}
	gfs_agent_release(&a);
	return rc;
}
