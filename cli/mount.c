/*
 * mount.c - `gitopsfs mount`: connect, load, clone, mount, serve.
 *
 * Unless -f, the process forks before anything starts a thread; the
 * parent waits on a pipe and exits only when the child reports the mount
 * ready (exit 0) or why it could not mount (the message, exit 1). So a
 * script can `ls` the mount right after `gitopsfs mount` returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "gfs_apply.h"
#include "gfs_errlog.h"
#include "gfs_fs.h"
#include "gfs_gitstate.h"
#include "gfs_sync.h"

struct gfs_mount_ctx {
	const struct gfs_cli *cli;
	struct gfs_cluster cluster;
	struct gfs_gitstate *git;
	struct gfs_fs *fs;
	struct gfs_applied *applied;
	struct gfs_applier *applier;
	struct gfs_sync *sync;
	struct gfs_fs_writer writer;
	char mountpoint[PATH_MAX];
	char repo[PATH_MAX];
	char *state_dir;
	int64_t started_ns;
};

static void gfs_iso_time(char *out, size_t outsz, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The JSON of .gitopsfs/status. */
static int gfs_mount_status_json(void *payload, struct gfs_buf *out)
{
	struct gfs_mount_ctx *m = payload;
	struct gfs_store_stats st;
	char started[32], changed[32], last_error[1024];
	gfs_store_get_stats(m->cluster.store, &st);
	gfs_iso_time(started, sizeof(started), m->started_ns);
	gfs_iso_time(changed, sizeof(changed), st.last_change_ns ? st.last_change_ns
								  : m->started_ns);
	gfs_errlog_last(last_error, sizeof(last_error));
	struct gfs_sync_status ss = {.last_sync = ""};
	if (m->sync)
		gfs_sync_get_status(m->sync, &ss);
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s?, s:s?, s:{s:I, s:I, s:I, s:I},"
		" s:b}",
		"direction", m->cli->sync, "mountpoint", m->mountpoint, "repo", m->repo,
		"server", m->cluster.server, "head", gfs_gitstate_head(m->git), "started",
		started, "stale", st.unhealthy > 0, "last_change", changed, "last_sync", ss.last_sync[0] ? ss.last_sync : NULL,
		"last_error", st.unhealthy ? st.last_error : (last_error[0] ? last_error : NULL),
		"counts", "objects", (json_int_t)st.objects, "resources",
		(json_int_t)st.resources, "failing_watches", (json_int_t)st.unhealthy,
		"errors", (json_int_t)gfs_errlog_count(), "read_only", m->cli->read_only);
	if (!j)
		return -ENOMEM;
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	int rc = gfs_buf_addf(out, "%s\n", s);
	free(s);
	return rc;
}

static int gfs_mount_errors_text(void *payload, struct gfs_buf *out)
{
	return gfs_errlog_text(out);
}

/* ---- background start ---------------------------------------------------------- */

/* Forks; the parent waits for the child's verdict and exits with it. In
 * the child, returns the write end of the pipe. */
static int gfs_daemon_fork(void)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		perror("gitopsfs: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("gitopsfs: fork");
		exit(1);
	}
	if (pid > 0) {
		char msg[4096];
		close(fds[1]);
		ssize_t n, used = 0;
		while (used < (ssize_t)sizeof(msg) - 1 &&
		       (n = read(fds[0], msg + used, sizeof(msg) - 1 - (size_t)used)) > 0)
			used += n;
		msg[used] = '\0';
		if (used > 0 && msg[0] == '0')
			exit(0);
		if (used == 0) {
			int status = 0;
			waitpid(pid, &status, 0);
			fprintf(stderr, "gitopsfs: mount failed (the daemon exited early)\n");
		} else {
			fprintf(stderr, "gitopsfs: %s\n", msg + 1);
		}
		exit(1);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

static void gfs_daemon_report(int fd, int rc)
{
	if (fd < 0) {
		if (rc < 0)
			fprintf(stderr, "gitopsfs: %s\n", gfs_error_last());
		return;
	}
	char msg[2048];
	int n = snprintf(msg, sizeof(msg), "%c%s", rc < 0 ? '1' : '0',
			 rc < 0 ? gfs_error_last() : "");
	if (write(fd, msg, (size_t)n) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(fd);
	if (rc == 0) {
		/* Detach from the terminal: the log file has everything. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			close(null);
		}
		if (chdir("/") < 0) {
			/* harmless: we only use absolute paths */
		}
	}
}

/* ---- the mount ------------------------------------------------------------------- */

static int gfs_mount_paths(struct gfs_mount_ctx *m)
{
	const struct gfs_cli *cli = m->cli;
	if (cli->n_args != 2)
		return gfs_error_set(-EINVAL, "usage: gitopsfs mount [OPTIONS] REPO MOUNTPOINT");
	if (!realpath(cli->args[1], m->mountpoint))
		return gfs_error_set(-errno, "mount point %s: %s", cli->args[1],
				     strerror(errno));
	/* A local repository is recorded by its absolute path; a URL as is. */
	if (!realpath(cli->args[0], m->repo))
		snprintf(m->repo, sizeof(m->repo), "%s", cli->args[0]);
	if (cli->state_dir) {
		char abs[PATH_MAX];
		m->state_dir = strdup(realpath(cli->state_dir, abs) ? abs : cli->state_dir);
	} else {
		m->state_dir = gfs_gitstate_default_dir(m->mountpoint);
	}
	return m->state_dir ? 0 : gfs_error_set(-ENOMEM, "out of memory");
}

/* The FUSE layer's writer: every write goes through the one applier. */
static int gfs_mount_apply(void *payload, const char *path, const char *data, size_t len,
			   uint64_t expect_version)
{
	struct gfs_mount_ctx *m = payload;
	return gfs_applier_apply(m->applier, path, data, len, expect_version);
}

static int gfs_mount_remove(void *payload, const char *path)
{
	struct gfs_mount_ctx *m = payload;
	return gfs_applier_delete(m->applier, path);
}

/* The config of the tracked branch (or --config), refused when invalid. */
static int gfs_mount_config(struct gfs_mount_ctx *m, struct gfs_config **cfg)
{
	char *text = NULL;
	size_t len = 0;
	int rc = gfs_gitstate_read_file(m->git, ".gitopsfs.yaml", &text, &len);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = gfs_cli_config(cfg, m->cli, text, len);
	free(text);
	return rc;
}

static int gfs_mount_setup(struct gfs_mount_ctx *m)
{
	char dir[PATH_MAX + 16];
	struct gfs_config *cfg = NULL;
	int rc = gfs_gitstate_open(&m->git, m->repo, m->state_dir, m->mountpoint,
				   m->cli->branch);
	if (rc == 0)
		rc = gfs_mount_config(m, &cfg);
	if (rc == 0) {
		rc = gfs_cluster_open(&m->cluster, m->cli, cfg->filter);
		cfg->filter = NULL; /* the cluster owns it now */
	}
	gfs_config_free(cfg);
	if (rc < 0)
		return rc;
	/* What gitopsfs applied before (this or an earlier mount) keeps the
	 * server's defaults out of the files from the first list on. */
	snprintf(dir, sizeof(dir), "%s/applied", m->state_dir);
	rc = gfs_applied_open(&m->applied, dir);
	if (rc < 0)
		return rc;
	gfs_store_set_prepare(m->cluster.store, gfs_applier_prepare, m->applied);
	m->writer = (struct gfs_fs_writer){gfs_mount_apply, gfs_mount_remove, m};
	struct gfs_fs_opts fo = {
		.writer = m->cli->read_only ? NULL : &m->writer,
		.store = m->cluster.store,
		.local_dir = gfs_gitstate_local_dir(m->git),
		.gitdir = gfs_gitstate_gitdir(m->git),
		.status_json = gfs_mount_status_json,
		.errors_text = gfs_mount_errors_text,
		.payload = m,
		.debug = m->cli->debug,
	};
	rc = gfs_fs_new(&m->fs, &fo);
	if (rc < 0)
		return rc;
	if (strcmp(m->cli->sync, "commit") == 0) {
		struct gfs_sync_opts so = {
			.direction = GFS_SYNC_COMMIT,
			.gitdir = gfs_gitstate_gitdir(m->git),
			.state_dir = m->state_dir,
			.branch = m->cli->branch,
			.push = m->cli->push,
			.store = m->cluster.store,
			.filter = m->cluster.filter,
		};
		rc = gfs_sync_new(&m->sync, &so);
		if (rc < 0)
			return rc;
	}
	rc = gfs_cluster_start(&m->cluster, m->cli);
	if (rc < 0)
		return rc;
	struct gfs_applier_opts ao = {
		.client = m->cluster.client,
		.store = m->cluster.store,
		.informers = m->cluster.informers,
		.applied = m->applied,
		.filter = m->cluster.filter,
		.allow_cascade_delete = m->cli->allow_cascade_delete,
	};
	rc = gfs_applier_new(&m->applier, &ao);
	if (rc < 0)
		return rc;
	rc = gfs_gitstate_prepare(m->git, m->cluster.store);
	if (rc < 0)
		return rc;
	if (m->sync)
		gfs_sync_ready(m->sync);
	return gfs_fs_mount(m->fs, m->mountpoint);
}

int gfs_cmd_mount(struct gfs_cli *cli)
{
	struct gfs_mount_ctx m = {.cli = cli, .started_ns = gfs_now_ns()};
	int report_fd = -1, rc;
	rc = gfs_mount_paths(&m);
	if (rc < 0) {
		fprintf(stderr, "gitopsfs: %s\n", gfs_error_last());
		free(m.state_dir);
		return rc;
	}
	if (!cli->foreground)
		report_fd = gfs_daemon_fork();
	char logpath[PATH_MAX + 8];
	snprintf(logpath, sizeof(logpath), "%s/log", m.state_dir);
	enum gfs_log_level level = cli->debug ? GFS_LOG_DEBUG : GFS_LOG_INFO;
	/* In the background everything goes to STATE/log; failures to
	 * mount also reach the user through the parent. */
	if (cli->foreground || gfs_mkdir_p(m.state_dir, 0700) < 0 ||
	    gfs_log_init(level, logpath) < 0)
		gfs_log_init(level, NULL);
	rc = gfs_mount_setup(&m);
	gfs_daemon_report(report_fd, rc);
	if (rc == 0) {
		gfs_info("mounted %s at %s (state in %s)", m.cluster.server, m.mountpoint,
			 m.state_dir);
		struct sigaction ign = {.sa_handler = SIG_IGN};
		sigaction(SIGPIPE, &ign, NULL);
		rc = gfs_fs_loop(m.fs);
		gfs_info("unmounting %s", m.mountpoint);
	}
	/* Unmounted: no new writes can come. Carry out pending deletions,
	 * then stop watching. */
	gfs_applier_free(m.applier);
	gfs_cluster_stop(&m.cluster);
	gfs_sync_free(m.sync); /* after the informers: nothing reaches it now */
	gfs_fs_free(m.fs);
	gfs_applied_free(m.applied);
	gfs_gitstate_free(m.git);
	gfs_cluster_release(&m.cluster);
	free(m.state_dir);
	return rc;
}
