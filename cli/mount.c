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

#include "agent.h"
#include "gfs_statedir.h"
#include "gfs_errlog.h"
#include "gfs_fs.h"

struct gfs_mount_ctx {
	const struct gfs_cli *cli;
	struct gfs_agent agent;
	struct gfs_fs *fs;
	struct gfs_fs_writer writer;
	char mountpoint[PATH_MAX];
	int64_t started_ns;
};

static void gfs_iso_time(char *out, size_t outsz, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *gfs_status_time(int64_t ns)
{
	char t[32];
	gfs_iso_time(t, sizeof(t), ns);
	return json_string(t);
}

/* The JSON of .gitopsfs/status: what a person or a monitor asks first -
 * which way it syncs, whether the view is current, and what failed. */
/* How the mount reaches the API server: watches, connections, protocol,
 * and the descriptors they take against the limit. */
static json_t *gfs_mount_api_json(const struct gfs_agent *a)
{
	struct gfs_informers_stats is = {0};
	struct gfs_kube_transport tr;
	unsigned fds = 0;
	uint64_t limit = 0;
	if (a->cluster.informers)
		gfs_informers_get_stats(a->cluster.informers, &is);
	gfs_kube_transport_get(&tr);
	(void)gfs_self_fds(&fds, &limit);
	return json_pack("{s:I, s:I, s:I, s:s?, s:I, s:I}", "resources",
			 (json_int_t)is.informers, "watches", (json_int_t)is.watches,
			 "connections", (json_int_t)tr.connections, "http", tr.http,
			 "descriptors", (json_int_t)fds, "descriptor_limit",
			 (json_int_t)limit);
}

static int gfs_mount_status_json(void *payload, struct gfs_buf *out)
{
	struct gfs_mount_ctx *m = payload;
	struct gfs_agent *a = &m->agent;
	struct gfs_store_stats st;
	struct gfs_sync_status ss = {.last_sync = ""};
	char last_error[1024];
	gfs_store_get_stats(&st, a->cluster.store);
	gfs_errlog_last(last_error, sizeof(last_error));
	if (a->sync)
		gfs_sync_get_status(&ss, a->sync);
	const char *err = st.unhealthy       ? st.last_error
			  : ss.last_error[0] ? ss.last_error
			  : last_error[0]    ? last_error
					     : NULL;
	json_t *j = json_object(), *failing = NULL;
	if (!j)
		return -ENOMEM;
	json_object_set_new(j, "direction", json_string(m->cli->sync));
	json_object_set_new(j, "mountpoint", json_string(m->mountpoint));
	json_object_set_new(j, "repo", json_string(a->repo));
	json_object_set_new(j, "path", json_string(m->cli->path));
	json_object_set_new(j, "server", json_string(a->cluster.server));
	json_object_set_new(j, "head", json_string(gfs_gitstate_head(a->git)));
	json_object_set_new(j, "started", gfs_status_time(m->started_ns));
	json_object_set_new(j, "stale", json_boolean(st.unhealthy > 0));
	json_object_set_new(
	    j, "last_change",
	    gfs_status_time(st.last_change_ns ? st.last_change_ns : m->started_ns));
	json_object_set_new(j, "last_sync",
			    ss.last_sync[0] ? json_string(ss.last_sync) : json_null());
	json_object_set_new(j, "last_commit",
			    ss.last_commit[0] ? json_string(ss.last_commit)
					      : json_null());
	json_object_set_new(j, "last_error", err ? json_string(err) : json_null());
	json_object_set_new(j, "read_only", json_boolean(m->cli->read_only));
	json_object_set_new(
	    j, "counts",
	    json_pack("{s:I, s:I, s:I, s:I, s:I}", "objects", (json_int_t)st.objects,
		      "resources", (json_int_t)st.resources, "failing_watches",
		      (json_int_t)st.unhealthy, "errors", (json_int_t)gfs_errlog_count(),
		      "commits", (json_int_t)ss.commits));
	/* What the objects cost: their files' bytes, and the process. */
	uint64_t rss = 0, peak = 0;
	(void)gfs_self_memory(&rss, &peak);
	json_object_set_new(
	    j, "memory",
	    json_pack("{s:I, s:I, s:I}", "rendered_bytes", (json_int_t)st.rendered_bytes,
		      "rss_bytes", (json_int_t)rss, "peak_rss_bytes", (json_int_t)peak));
	json_object_set_new(j, "api", gfs_mount_api_json(a));
	if (a->alerter && gfs_alerter_failing_json(&failing, a->alerter) == 0)
		json_object_set_new(j, "failing", failing);
	/* Counts per health state and the objects not Current. */
	if (a->monitor)
		json_object_set_new(j, "health", gfs_monitor_status_json(a->monitor));
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

static int gfs_mount_health_text(void *payload, struct gfs_buf *out)
{
	struct gfs_mount_ctx *m = payload;
	return gfs_monitor_health_text(m->agent.monitor, out);
}

static int gfs_mount_last_apply_text(void *payload, struct gfs_buf *out)
{
	struct gfs_mount_ctx *m = payload;
	return gfs_monitor_last_apply_text(m->agent.monitor, out);
}

static int gfs_mount_health_of(void *payload, const char *path, char *out, size_t outsz)
{
	struct gfs_mount_ctx *m = payload;
	struct gfs_health h;
	int rc = gfs_monitor_health(&h, m->agent.monitor, path);
	if (rc == 0)
		gfs_health_format(out, outsz, &h);
	return rc;
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
			fprintf(stderr,
				"gitopsfs: mount failed (the daemon exited early)\n");
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
		return gfs_error_set(-EINVAL,
				     "usage: gitopsfs mount [OPTIONS] REPO MOUNTPOINT");
	if (!realpath(cli->args[1], m->mountpoint))
		return gfs_error_set(-errno, "mount point %s: %s", cli->args[1],
				     strerror(errno));
	/* A local repository is recorded by its absolute path; a URL as is. */
	if (!realpath(cli->args[0], m->agent.repo))
		snprintf(m->agent.repo, sizeof(m->agent.repo), "%s", cli->args[0]);
	if (cli->state_dir) {
		m->agent.state_dir = gfs_abspath(cli->state_dir);
	} else {
		m->agent.state_dir = gfs_gitstate_default_dir(m->mountpoint);
	}
	return m->agent.state_dir ? 0 : gfs_error_set(-ENOMEM, "out of memory");
}

/* The FUSE layer's writer: every write goes through the one applier. */
static int gfs_mount_apply(void *payload, const char *path, const char *data, size_t len,
			   uint64_t expect_version)
{
	struct gfs_mount_ctx *m = payload;
	int rc = gfs_applier_apply(m->agent.applier, path, data, len, expect_version);
	/* Accepted is not deployed: follow it until it is Current. A write in
	 * the mount is no commit (yet): the alert names none. */
	if (rc == 0)
		gfs_monitor_follow(m->agent.monitor, path, NULL);
	return rc;
}

static int gfs_mount_remove(void *payload, const char *path)
{
	struct gfs_mount_ctx *m = payload;
	return gfs_applier_delete(m->agent.applier, path);
}

static int gfs_mount_setup(struct gfs_mount_ctx *m)
{
	int rc = gfs_agent_open(&m->agent, m->cli, m->mountpoint);
	if (rc < 0)
		return rc;
	m->writer = (struct gfs_fs_writer){gfs_mount_apply, gfs_mount_remove, m};
	struct gfs_fs_opts fo = {
	    .writer = m->cli->read_only ? NULL : &m->writer,
	    .store = m->agent.cluster.store,
	    .local_dir = gfs_gitstate_local_dir(m->agent.git),
	    .gitdir = gfs_gitstate_gitdir(m->agent.git),
	    .status_json = gfs_mount_status_json,
	    .errors_text = gfs_mount_errors_text,
	    .health_text = gfs_mount_health_text,
	    .last_apply_text = gfs_mount_last_apply_text,
	    .health_of = gfs_mount_health_of,
	    .payload = m,
	    .debug = m->cli->debug,
	};
	rc = gfs_fs_new(&m->fs, &fo);
	if (rc == 0)
		rc = gfs_agent_start(&m->agent);
	return rc == 0 ? gfs_fs_mount(m->fs, m->mountpoint) : rc;
}

int gfs_cmd_mount(struct gfs_cli *cli)
{
	struct gfs_mount_ctx m = {.cli = cli, .started_ns = gfs_now_ns()};
	int report_fd = -1, rc;
	rc = gfs_mount_paths(&m);
	if (rc == 0)
		rc = gfs_statedir_secure(m.agent.state_dir);
	if (rc < 0) {
		fprintf(stderr, "gitopsfs: %s\n", gfs_error_last());
		free(m.agent.state_dir);
		return rc;
	}
	if (!cli->foreground)
		report_fd = gfs_daemon_fork();
	char logpath[PATH_MAX + 8];
	snprintf(logpath, sizeof(logpath), "%s/log", m.agent.state_dir);
	enum gfs_log_level level = cli->debug ? GFS_LOG_DEBUG : GFS_LOG_INFO;
	/* In the background everything goes to STATE/log; failures to
	 * mount also reach the user through the parent. */
	if (cli->foreground || gfs_log_init(level, logpath) < 0)
		gfs_log_init(level, NULL);
	rc = gfs_mount_setup(&m);
	gfs_daemon_report(report_fd, rc);
	if (rc == 0) {
		gfs_info("mounted %s at %s (state in %s)", m.agent.cluster.server,
			 m.mountpoint, m.agent.state_dir);
		struct sigaction ign = {.sa_handler = SIG_IGN};
		sigaction(SIGPIPE, &ign, NULL);
		rc = gfs_fs_loop(m.fs);
		gfs_info("unmounting %s", m.mountpoint);
	}
	gfs_agent_stop(&m.agent);
	gfs_fs_free(m.fs);
	gfs_agent_release(&m.agent);
	return rc;
}
