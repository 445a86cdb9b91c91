/*
 * gfs_progress.h - a progress line for long work on a terminal (the
 * first list of a big cluster, export's files): one line on stderr,
 * updated in place and erased at the end (gfs_log_status). Never in a
 * pipe, a file or the log: it is shown only when stderr is a terminal,
 * and not with --quiet. Work done within GFS_PROGRESS_DELAY_MS shows
 * nothing, so small clusters do not flicker.
 *
 * One gfs_progress is used by one thread.
 */
#ifndef GFS_PROGRESS_H
#define GFS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define GFS_PROGRESS_DELAY_MS 300
#define GFS_PROGRESS_EVERY_MS 100

struct gfs_progress {
	bool on;
	bool shown;
	int64_t start_ms, last_ms;
};

/* Starts the clock; the line is off with `quiet` or when stderr is not a
 * terminal. */
void gfs_progress_begin(struct gfs_progress *p, bool quiet);
/* Shows the formatted text (at most every GFS_PROGRESS_EVERY_MS). */
void gfs_progress_show(struct gfs_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Erases the line, if one was shown. */
void gfs_progress_end(struct gfs_progress *p);

#endif
