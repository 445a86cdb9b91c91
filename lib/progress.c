/*
 * progress.c - the progress line on a terminal. See gfs_progress.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_progress.h"

void gfs_progress_begin(struct gfs_progress *p, bool quiet)
{
	p->on = !quiet && isatty(STDERR_FILENO);
	p->shown = false;
	p->start_ms = gfs_monotonic_ms();
	p->last_ms = 0;
}

void gfs_progress_show(struct gfs_progress *p, const char *fmt, ...)
{
	char text[160];
	va_list ap;
	if (!p->on)
		return;
	int64_t now = gfs_monotonic_ms();
	if (now - p->start_ms < GFS_PROGRESS_DELAY_MS ||
	    (p->shown && now - p->last_ms < GFS_PROGRESS_EVERY_MS))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	gfs_log_status(text);
	p->shown = true;
	p->last_ms = now;
}

void gfs_progress_end(struct gfs_progress *p)
{
	if (p->shown)
		gfs_log_status(NULL);
	p->shown = false;
}
