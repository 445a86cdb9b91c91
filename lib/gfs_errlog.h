/*
 * gfs_errlog.h - the recent errors shown in .gitopsfs/errors: one line
 * each ("2026-11-26T05:00:00Z default/configmaps/app.yaml: reason"),
 * newest last, the oldest dropped beyond GFS_ERRLOG_MAX. Every line is
 * also logged. Thread-safe; a process-wide list.
 */
#ifndef GFS_ERRLOG_H
#define GFS_ERRLOG_H

#include "gfs_common.h"

#define GFS_ERRLOG_MAX 100

void gfs_errlog_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends every line to out. */
int gfs_errlog_text(struct gfs_buf *out);
/* The newest line without its time stamp ("" when none); copied into
 * out (size outsz). */
void gfs_errlog_last(char *out, size_t outsz);
unsigned long gfs_errlog_count(void); /* lines ever added */

#endif
