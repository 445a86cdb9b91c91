/*
 * testproc.h - helpers for unit tests that run a helper server (the
 * emulated API server, a webhook receiver) as a child process in a
 * scratch directory.
 */
#ifndef GFS_TESTPROC_H
#define GFS_TESTPROC_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gfs_common.h"

/* The test's scratch directory; set by the test before use. */
static char testproc_dir[256];

/* "<scratch dir>/<name>", in one of four rotating buffers. */
static const char *dir_path(const char *name)
{
	static char path[4][512];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(path[slot], sizeof(path[slot]), "%s/%s", testproc_dir, name);
	return path[slot];
}

/* Stops a child politely (SIGTERM, up to 5 s), then firmly; *pid = -1. */
static inline void testproc_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return;
		}
		gfs_sleep_ms(100, NULL);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = -1;
}

/* The emulated API server's script: tests/apiserver/kube_emulator.py
 * below $GFS_ROOT (or the current directory). */
static inline const char *testproc_emu_script(void)
{
	static char path[512];
	const char *root = getenv("GFS_ROOT");
	snprintf(path, sizeof(path), "%s/tests/apiserver/kube_emulator.py",
		 root && *root ? root : ".");
	return path;
}

/* Starts the emulator over HTTPS in the scratch directory, accepting the
 * bearer `token`: its kubeconfig in "kubeconfig", its request log in
 * "requests.log", its stderr in "emulator.log". It dies with us
 * (PR_SET_PDEATHSIG). Returns 0 once it listens, or -1 (*pid -1). */
static inline int testproc_emu_start(pid_t *pid, const char *token)
{
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!freopen(dir_path("emulator.log"), "w", stderr))
			_exit(126);
		execlp("python3", "python3", testproc_emu_script(), "--port", "0",
		       "--portfile", dir_path("port"), "--tls-dir", dir_path("tls"),
		       "--token", token, "--kubeconfig", dir_path("kubeconfig"),
		       "--logfile", dir_path("requests.log"), "--bookmark-seconds", "1",
		       (char *)NULL);
		_exit(127);
	}
	/* Certificates are made with openssl on the first start: be patient. */
	for (int i = 0; i < 600; i++) {
		struct stat st;
		if (stat(dir_path("port"), &st) == 0 && st.st_size > 0 &&
		    stat(dir_path("kubeconfig"), &st) == 0 && st.st_size > 0)
			return 0;
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return -1;
		}
		gfs_sleep_ms(100, NULL);
	}
	return -1;
}

#endif
