/*
 * errlog.c - a bounded ring of recent error lines for .gitopsfs/errors.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_errlog.h"

/* Guarded by errlog_lock. */
static pthread_mutex_t errlog_lock = PTHREAD_MUTEX_INITIALIZER;
static char *lines[GFS_ERRLOG_MAX];
static unsigned long added; /* total; the ring index is added % MAX */

void gfs_errlog_add(const char *fmt, ...)
{
	char msg[1024], stamp[32], *line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line per error, whatever the message held. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (asprintf(&line, "%s %s", stamp, msg) < 0)
		line = NULL;
	gfs_error("%s", msg);
	pthread_mutex_lock(&errlog_lock);
	free(lines[added % GFS_ERRLOG_MAX]);
	lines[added % GFS_ERRLOG_MAX] = line;
	added++;
	pthread_mutex_unlock(&errlog_lock);
}

int gfs_errlog_text(struct gfs_buf *out)
{
	int rc = 0;
	pthread_mutex_lock(&errlog_lock);
	unsigned long first = added > GFS_ERRLOG_MAX ? added - GFS_ERRLOG_MAX : 0;
	for (unsigned long i = first; i < added && rc == 0; i++) {
		const char *l = lines[i % GFS_ERRLOG_MAX];
		if (l)
			rc = gfs_buf_addf(out, "%s\n", l);
	}
	pthread_mutex_unlock(&errlog_lock);
	return rc;
}

void gfs_errlog_last(char *out, size_t outsz)
{
	pthread_mutex_lock(&errlog_lock);
	const char *l = added ? lines[(added - 1) % GFS_ERRLOG_MAX] : NULL;
	const char *space = l ? strchr(l, ' ') : NULL;
	snprintf(out, outsz, "%s", space ? space + 1 : "");
	pthread_mutex_unlock(&errlog_lock);
}

unsigned long gfs_errlog_count(void)
{
	pthread_mutex_lock(&errlog_lock);
	unsigned long n = added;
	pthread_mutex_unlock(&errlog_lock);
	return n;
}
