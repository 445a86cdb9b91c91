/*
 * util.c - hashing, clocks, an interruptible sleep and timed waits.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gfs_common.h"

uint64_t gfs_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int64_t gfs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t gfs_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gfs_sleep_ms(unsigned ms, const atomic_bool *stop)
{
	/* Sleep in slices so a stop request is seen within 50 ms. */
	while (ms > 0) {
		if (stop && atomic_load(stop))
			return 1;
		unsigned slice = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)slice * 1000000};
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return stop && atomic_load(stop) ? 1 : 0;
}

char *gfs_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int gfs_mkdir_p_at(int dirfd, const char *path, unsigned mode)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdirat(dirfd, buf, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdirat(dirfd, buf, (mode_t)mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int gfs_mkdir_p(const char *path, unsigned mode)
{
	return gfs_mkdir_p_at(AT_FDCWD, path, mode);
}

int gfs_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc != 0)
		return -rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return -rc;
}

int gfs_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline_ms)
{
	if (deadline_ms < 0)
		deadline_ms = 0;
	struct timespec ts = {(time_t)(deadline_ms / 1000),
			      (long)(deadline_ms % 1000) * 1000000};
	return pthread_cond_timedwait(cond, mutex, &ts);
}

int gfs_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex, unsigned ms)
{
	return gfs_cond_wait_until(cond, mutex, gfs_monotonic_ms() + ms);
}

int gfs_self_memory(uint64_t *rss, uint64_t *peak)
{
	char line[256];
	unsigned long long kb;
	int found = 0;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	*rss = *peak = 0;
	while (found < 2 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = (uint64_t)kb * 1024, found++;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*peak = (uint64_t)kb * 1024, found++;
	}
	fclose(f);
	return found == 2 ? 0 : -ENOENT;
}

int gfs_self_fds(unsigned *open, uint64_t *limit)
{
	struct rlimit lim;
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	if (!d)
		return -errno;
	for (const struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	*open = n ? n - 1 : 0; /* not the DIR's own */
	*limit = getrlimit(RLIMIT_NOFILE, &lim) == 0 ? (uint64_t)lim.rlim_cur : 0;
	return 0;
}

uint64_t gfs_raise_fd_limit(void)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return 0;
	if (lim.rlim_cur < lim.rlim_max) {
		struct rlimit want = {lim.rlim_max, lim.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			lim.rlim_cur = lim.rlim_max;
	}
	return (uint64_t)lim.rlim_cur;
}

char *gfs_abspath(const char *path)
{
	char abs[PATH_MAX], cwd[PATH_MAX];
	char *out = NULL;
	if (realpath(path, abs))
		return strdup(abs);
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	return asprintf(&out, "%s/%s", cwd, path) < 0 ? NULL : out;
}
