/*
 * exec_credential.c - client.authentication.k8s.io exec plugins (the way
 * EKS, GKE and AKS hand out short-lived credentials): run the configured
 * command, read the ExecCredential it prints, hand back its token or
 * client certificate and when they expire.
 *
 * The plugin runs with stdin on /dev/null (we are never interactive), its
 * configured environment on top of ours, and KUBERNETES_EXEC_INFO saying
 * which apiVersion we speak. Its stdout may hold a credential, so it never
 * reaches a message; its stderr does, shortened, because that is where
 * plugins explain failures ("run aws sso login").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gfs_common.h"
#include "kube_private.h"

extern char **environ;

#define EXEC_MAX_STDERR (64u << 10)

/* ---- RFC 3339 -------------------------------------------------------------- */

int gfs_rfc3339_parse(int64_t *out_ns, const char *s)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t frac_ns = 0, scale = 100000000;
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac_ns += (*p - '0') * scale;
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* Exactly "+hh:mm", checked byte by byte up to the end of s. */
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
		    p[3] != ':' || !isdigit((unsigned char)p[4]) ||
		    !isdigit((unsigned char)p[5]))
			return -EINVAL;
		long hh = (p[1] - '0') * 10 + (p[2] - '0'),
		     mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -EINVAL;
		offset = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	int64_t secs = (int64_t)timegm(&tm) - offset;
	if (secs > INT64_MAX / 1000000000 - 1)
		*out_ns = INT64_MAX;
	else if (secs < INT64_MIN / 1000000000 + 1)
		*out_ns = INT64_MIN;
	else
		*out_ns = secs * 1000000000 + frac_ns;
	return 0;
}

/* ---- parsing --------------------------------------------------------------- */

void gfs_exec_cred_release(struct gfs_exec_cred *c)
{
	if (!c)
		return;
	gfs_secret_free(c->token, 0);
	free(c->cert_pem);
	gfs_secret_free(c->key_pem, c->key_len);
	memset(c, 0, sizeof(*c));
}

static int exec_status_fill(struct gfs_exec_cred *c, const json_t *st,
			    const char *command)
{
	const char *token = json_string_value(json_object_get(st, "token"));
	const char *cert =
	    json_string_value(json_object_get(st, "clientCertificateData"));
	const char *key = json_string_value(json_object_get(st, "clientKeyData"));
	const char *exp = json_string_value(json_object_get(st, "expirationTimestamp"));
	if (!token && !(cert && key))
		return gfs_error_set(-EACCES,
				     "exec plugin %s: its ExecCredential "
				     "has neither status.token nor both "
				     "status.clientCertificateData and "
				     "clientKeyData",
				     command);
	if (!cert != !key)
		return gfs_error_set(-EACCES,
				     "exec plugin %s: its ExecCredential "
				     "has a client %s without the matching %s",
				     command, cert ? "certificate" : "key",
				     cert ? "key" : "certificate");
	if (exp && gfs_rfc3339_parse(&c->expiry_ns, exp) < 0)
		return gfs_error_set(-EACCES,
				     "exec plugin %s: bad "
				     "status.expirationTimestamp \"%s\" (want "
				     "RFC 3339)",
				     command, exp);
	c->token = gfs_strdup(token);
	c->cert_pem = gfs_strdup(cert);
	c->key_pem = gfs_strdup(key);
	c->cert_len = cert ? strlen(cert) : 0;
	c->key_len = key ? strlen(key) : 0;
	if ((token && !c->token) || (cert && !c->cert_pem) || (key && !c->key_pem))
		return gfs_error_set(-ENOMEM, "out of memory");
	return 0;
}

int gfs_exec_cred_parse(struct gfs_exec_cred *out, const char *json, size_t len,
			const char *want_api_version, const char *command)
{
	struct gfs_exec_cred c = {0};
	json_t *root = json_loadb(json, len, 0, NULL);
	int rc = 0;
	/* The parse error text could quote the output: not used on purpose. */
	if (!json_is_object(root)) {
		rc = gfs_error_set(-EACCES,
				   "exec plugin %s: its output is not an "
				   "ExecCredential JSON object",
				   command);
		goto out;
	}
	const char *kind = json_string_value(json_object_get(root, "kind"));
	const char *api = json_string_value(json_object_get(root, "apiVersion"));
	if (!kind || strcmp(kind, "ExecCredential") != 0) {
		rc = gfs_error_set(-EACCES,
				   "exec plugin %s: printed kind \"%s\", "
				   "not ExecCredential",
				   command, kind ? kind : "");
		goto out;
	}
	if (!api || strcmp(api, want_api_version) != 0) {
		rc = gfs_error_set(-EACCES,
				   "exec plugin %s: printed apiVersion "
				   "\"%s\" but the kubeconfig asks for \"%s\"; fix "
				   "exec.apiVersion",
				   command, api ? api : "", want_api_version);
		goto out;
	}
	rc = exec_status_fill(&c, json_object_get(root, "status"), command);
	if (rc < 0)
		goto out;
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	gfs_exec_cred_release(&c);
	json_decref(root);
	return rc;
}

/* ---- running ----------------------------------------------------------------- */

static bool env_overridden(const char *entry, char *const *env)
{
	size_t n = strcspn(entry, "=");
	if (strncmp(entry, "KUBERNETES_EXEC_INFO=", 21) == 0)
		return true;
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], entry, n) == 0 && env[i][n] == '=')
			return true;
	return false;
}

/* Our environment, minus what the plugin config overrides, plus its env
 * and KUBERNETES_EXEC_INFO (the last entry, owned by the caller through
 * *info). The array itself is malloc'ed; its strings are borrowed. */
static char **exec_envp(const struct gfs_kube_exec *x, char **info)
{
	size_t n = 0, m = 0, k = 0;
	while (environ && environ[n])
		n++;
	while (x->env && x->env[m])
		m++;
	char **envp = calloc(n + m + 2, sizeof(*envp));
	if (!envp || asprintf(info,
			      "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\","
			      "\"kind\":\"ExecCredential\",\"spec\":"
			      "{\"interactive\":false}}",
			      x->api_version) < 0) {
		free(envp);
		*info = NULL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!env_overridden(environ[i], x->env))
			envp[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		envp[k++] = x->env[i];
	envp[k] = *info;
	return envp;
}

static char **exec_argv(const struct gfs_kube_exec *x)
{
	size_t n = 0;
	while (x->args && x->args[n])
		n++;
	char **argv = calloc(n + 2, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = x->command;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = x->args[i];
	return argv;
}

/* Reads what is available on fd into b; a full stderr buffer just drops
 * the rest. Returns 1 at EOF, 0 when more may come, -errno on error. */
static int exec_drain(int fd, struct gfs_buf *b, bool drop_overflow)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 1;
	int rc = gfs_buf_add(b, chunk, (size_t)n);
	explicit_bzero(chunk, sizeof(chunk));
	return rc == -EFBIG && drop_overflow ? 0 : rc;
}

/* Collects the child's stdout and stderr until both close or the
 * deadline passes (-ETIMEDOUT). */
static int exec_collect(int out_fd, int err_fd, struct gfs_buf *out, struct gfs_buf *err)
{
	int64_t deadline = gfs_monotonic_ms() + GFS_EXEC_TIMEOUT_MS;
	struct pollfd pf[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int64_t left = deadline - gfs_monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int n = poll(pf, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2 && n > 0; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			int rc = exec_drain(pf[i].fd, i ? err : out, i == 1);
			if (rc < 0)
				return rc;
			if (rc == 1)
				pf[i].fd = -1;
		}
	}
	return 0;
}

/* The plugin's stderr, shortened to its last ~300 bytes on one line. */
static const char *exec_stderr_tail(struct gfs_buf *err)
{
	while (err->len > 0 &&
	       (err->data[err->len - 1] == '\n' || err->data[err->len - 1] == ' '))
		gfs_buf_setlen(err, err->len - 1);
	char *s = err->data;
	size_t len = err->len;
	if (len > 300)
		s += len - 300;
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return *s ? s : "(no output on stderr)";
}

static int exec_spawn(pid_t *pid, const struct gfs_kube_exec *x, int out_w, int err_w)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *info = NULL;
	char **argv = exec_argv(x);
	char **envp = exec_envp(x, &info);
	int rc = -ENOMEM;
	if (!argv || !envp)
		goto out;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	/* A process group of its own: what the plugin starts (a helper, a
	 * shell pipeline) is killed with it. */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	rc = -posix_spawnp(pid, x->command, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
out:
	free(argv);
	free(envp);
	free(info);
	return rc;
}

/* Waits for the child; kills it and its whole process group first when
 * `kill_it`. Returns the exit status (or 128 + signal), or 0 when SIGCHLD
 * is ignored and the status is lost. */
static int exec_reap(pid_t pid, bool kill_it)
{
	int st = 0;
	if (kill_it) {
		/* The group is the child's own (exec_spawn), never ours. */
		if (getpgid(pid) == pid)
			kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 0;
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

int gfs_exec_cred_run(struct gfs_exec_cred *out, const struct gfs_kube_exec *x,
		      const char *user)
{
	struct gfs_buf sout = GFS_BUF_INIT(GFS_EXEC_MAX_OUTPUT);
	struct gfs_buf serr = GFS_BUF_INIT(EXEC_MAX_STDERR);
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	pid_t pid = -1;
	int rc;
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rc = gfs_error_set(-errno, "exec plugin %s: pipe: %s", x->command,
				   strerror(errno));
		goto out;
	}
	rc = exec_spawn(&pid, x, po[1], pe[1]);
	if (rc < 0) {
		pid = -1;
		gfs_error_set(rc,
			      "exec plugin %s for user \"%s\": cannot run it: "
			      "%s%s",
			      x->command, user ? user : "", strerror(-rc),
			      rc == -ENOENT ? "; install it or fix exec.command "
					      "in the kubeconfig"
					    : "");
		goto out;
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	rc = exec_collect(po[0], pe[0], &sout, &serr);
	int status = exec_reap(pid, rc < 0);
	pid = -1;
	if (rc == -ETIMEDOUT) {
		gfs_error_set(rc,
			      "exec plugin %s for user \"%s\": no answer "
			      "within %d s; killed",
			      x->command, user ? user : "", GFS_EXEC_TIMEOUT_MS / 1000);
	} else if (rc < 0) {
		gfs_error_set(rc == -EFBIG ? -EACCES : rc,
			      "exec plugin %s: reading "
			      "its output: %s",
			      x->command, strerror(-rc));
		rc = rc == -EFBIG ? -EACCES : rc;
	} else if (status != 0) {
		rc = gfs_error_set(-EACCES,
				   "exec plugin %s for user \"%s\" failed "
				   "(exit status %d): %s",
				   x->command, user ? user : "", status,
				   exec_stderr_tail(&serr));
	} else {
		rc = gfs_exec_cred_parse(out, sout.data, sout.len, x->api_version,
					 x->command);
	}
out:
	if (pid > 0)
		exec_reap(pid, true);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	explicit_bzero(sout.data, sout.len);
	gfs_buf_release(&sout);
	gfs_buf_release(&serr);
	return rc;
}
