/*
 * wait.c - `gitopsfs wait [--timeout S] MOUNTPOINT [PATH...]`: `kubectl
 * rollout status` for a whole commit, for pipelines.
 *
 * It asks the mount, never the cluster: each object file's xattr
 * user.gitopsfs.health (kept current by the daemon from what it watches),
 * every half second, until every object is Current (exit 0), one is
 * Failed (exit 1, the reasons on stderr) or the time runs out (exit 1,
 * the objects not Current and why). Without PATHs it waits for the
 * objects of the mount's last apply, listed in .gitopsfs/last-apply. A
 * misuse or a directory that is no gitopsfs mount exits 2.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"
#include "gfs_common.h"
#include "gfs_strv.h"

#define WAIT_POLL_MS   500
#define WAIT_DEFAULT_S 300

static int wait_usage(const char *why)
{
	fprintf(stderr,
		"gitopsfs: %s\nusage: gitopsfs wait [--timeout SECONDS] MOUNTPOINT "
		"[PATH...]\n",
		why);
	return 2;
}

/* The objects of the last apply (.gitopsfs/last-apply), as paths in the
 * mount. Returns 0, or 2 after saying why. */
static int wait_last_apply(char ***out, const char *mnt)
{
	char path[PATH_MAX], line[PATH_MAX];
	snprintf(path, sizeof(path), "%s/.gitopsfs/last-apply", mnt);
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr,
			"gitopsfs: %s is not a gitopsfs mount (cannot read %s: %s)\n",
			mnt, path, strerror(errno));
		return 2;
	}
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			rc = gfs_strv_push(out, line);
	}
	fclose(f);
	return rc < 0 ? wait_usage("out of memory") : 0;
}

/* One object's health: its state word into *state (borrowed from text),
 * the whole "State: reason" into text. */
static void wait_read(const char *mnt, const char *rel, char *text, size_t textsz)
{
	char path[PATH_MAX];
	if (rel[0] == '/')
		snprintf(path, sizeof(path), "%s", rel);
	else
		snprintf(path, sizeof(path), "%s/%s", mnt, rel);
	ssize_t n = getxattr(path, "user.gitopsfs.health", text, textsz - 1);
	if (n >= 0) {
		text[n] = '\0';
		return;
	}
	if (errno == ENOENT)
		snprintf(text, textsz, "InProgress: no such object (yet)");
	else if (errno == ENODATA || errno == ENOTSUP)
		snprintf(text, textsz, "Unknown: not an object file of the mount");
	else
		snprintf(text, textsz, "Unknown: %s", strerror(errno));
}

static bool wait_is(const char *text, const char *word)
{
	size_t n = strlen(word);
	return strncmp(text, word, n) == 0 && text[n] == ':';
}

/* One look at every object: 0 all Current, 1 one Failed, -1 not yet.
 * With `report`, prints each object that is not Current. */
static int wait_round(const char *mnt, char *const *paths, bool report)
{
	int verdict = 0;
	for (size_t i = 0; paths[i]; i++) {
		char text[2048];
		wait_read(mnt, paths[i], text, sizeof(text));
		if (wait_is(text, "Current"))
			continue;
		if (wait_is(text, "Failed"))
			verdict = 1;
		else if (verdict == 0)
			verdict = -1;
		if (report)
			fprintf(stderr, "%s: %s\n", paths[i], text);
	}
	return verdict;
}

static int wait_parse(int argc, char **argv, unsigned *timeout_s, const char **mnt,
		      char ***paths)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (strcmp(a, "--timeout") == 0) {
			if (++i >= argc)
				return wait_usage("--timeout needs a number of seconds");
			val = argv[i];
		} else if (strncmp(a, "--timeout=", 10) == 0) {
			val = a + 10;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf(
			    "usage: gitopsfs wait [--timeout SECONDS] MOUNTPOINT "
			    "[PATH...]\n"
			    "Waits until the objects (default: those of the mount's last "
			    "apply,\n.gitopsfs/last-apply) are Current: exit 0; exit 1 "
			    "with "
			    "their reasons\nwhen one is Failed or SECONDS (default 300) "
			    "pass; exit 2 on misuse.\n");
			return 3; /* done: exit 0 */
		} else if (a[0] == '-' && a[1]) {
			return wait_usage("unknown option for 'wait'");
		} else if (!*mnt) {
			*mnt = a;
			continue;
		} else {
			if (gfs_strv_push(paths, a) < 0)
				return wait_usage("out of memory");
			continue;
		}
		char *end = NULL;
		unsigned long s = strtoul(val, &end, 10);
		if (!*val || *end || s > 86400)
			return wait_usage("--timeout takes seconds from 0 to 86400");
		*timeout_s = (unsigned)s;
	}
	return *mnt ? 0 : wait_usage("which mount point?");
}

int gfs_cmd_wait(int argc, char **argv)
{
	unsigned timeout_s = WAIT_DEFAULT_S;
	const char *mnt = NULL;
	char **paths = NULL;
	int rc = wait_parse(argc, argv, &timeout_s, &mnt, &paths);
	if (rc == 3) { /* --help */
		gfs_strv_free(paths);
		return 0;
	}
	if (rc == 0 && !paths)
		rc = wait_last_apply(&paths, mnt);
	if (rc != 0) {
		gfs_strv_free(paths);
		return rc;
	}
	size_t n = gfs_strv_len(paths);
	if (n == 0) {
		printf("nothing to wait for: no apply since the mount started\n");
		return 0;
	}
	int64_t deadline = gfs_monotonic_ms() + (int64_t)timeout_s * 1000;
	int verdict;
	while ((verdict = wait_round(mnt, paths, false)) < 0 &&
	       gfs_monotonic_ms() < deadline)
		gfs_sleep_ms(WAIT_POLL_MS, NULL);
	if (verdict == 0) {
		printf("%zu object%s Current\n", n, n == 1 ? " is" : "s are");
	} else {
		wait_round(mnt, paths, true);
		if (verdict < 0)
			fprintf(stderr, "gitopsfs: not Current after %u s\n", timeout_s);
	}
	gfs_strv_free(paths);
	return verdict == 0 ? 0 : 1;
}
