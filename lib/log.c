/*
 * log.c - leveled logging to stderr or a file, and the per-thread error
 * message that explains the last failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gfs_common.h"

/* Set once at start-up, before any thread exists; read-only afterwards. */
static enum gfs_log_level log_level = GFS_LOG_INFO;
static FILE *log_file;
/* Serialises whole lines from several threads. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by log_lock: the width of the status line on stderr (a
 * terminal), 0 when none is shown. */
static size_t status_width;

/* Blanks the status line, so that a log line on stderr starts at the
 * left margin and no progress is left inside it. log_lock held. */
static void status_erase_locked(void)
{
	if (status_width) {
		fprintf(stderr, "\r%*s\r", (int)status_width, "");
		status_width = 0;
	}
}

void gfs_log_status(const char *text)
{
	pthread_mutex_lock(&log_lock);
	size_t n = text ? strlen(text) : 0;
	if (n == 0) {
		status_erase_locked();
	} else {
		/* Padded over what the last one left, the cursor at its end. */
		int width = (int)(n > status_width ? n : status_width);
		fprintf(stderr, "\r%-*s", width, text);
		status_width = (size_t)width;
	}
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

int gfs_log_init(enum gfs_log_level level, const char *path)
{
	log_level = level;
	if (!path)
		return 0;
	FILE *f = fopen(path, "ae");
	if (!f)
		return gfs_error_set(-errno, "cannot open log file %s: %s", path,
				     strerror(errno));
	setvbuf(f, NULL, _IOLBF, 0);
	log_file = f;
	return 0;
}

void gfs_log(enum gfs_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > log_level)
		return;
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	FILE *out = log_file ? log_file : stderr;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log_lock);
	if (out == stderr)
		status_erase_locked();
	fprintf(out, "%s.%03ldZ gitopsfs %s: ", stamp, ts.tv_nsec / 1000000,
		names[level]);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
}

static _Thread_local char error_message[1024];

int gfs_error_set(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error_message, sizeof(error_message), fmt, ap);
	va_end(ap);
	return err;
}

const char *gfs_error_last(void)
{
	return error_message;
}

void gfs_error_clear(void)
{
	error_message[0] = '\0';
}
