/*
 * testproc.h - helpers for unit tests that run a helper server (the
 * emulated API server, a webhook receiver) as a child process in a
 * scratch directory.
 */
#ifndef GFS_TESTPROC_H
#define GFS_TESTPROC_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

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

#endif
