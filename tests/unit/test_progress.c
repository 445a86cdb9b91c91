/*
 * test_progress.c - the progress line: drawn in place on stderr, erased
 * before a log line, and off without a terminal or with --quiet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_progress.h"
#include "tap.h"

static char captured[4096];

/* Runs fn with stderr going to a file, then reads what it wrote. */
static void capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/gfs-test-progress.XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

static void draw_shrink_log_erase(void)
{
	gfs_log_status("gitopsfs: 1/3");
	gfs_log_status("ab");
	gfs_log(GFS_LOG_WARN, "something");
	gfs_log_status("cd");
	gfs_log_status(NULL);
	gfs_log_status(NULL); /* nothing shown: nothing to erase */
}

static void the_status_line_is_redrawn_in_place_and_erased_before_a_log_line(void)
{
	capture_stderr(draw_shrink_log_erase);
	/* The shorter line is padded over the longer one; the log line starts
	 * at the left margin of a blanked line. */
	const char *want_start = "\rgitopsfs: 1/3"
				 "\rab           "
				 "\r             \r";
	CHECK(strncmp(captured, want_start, strlen(want_start)) == 0);
	const char *log = captured + strlen(want_start);
	CHECK(strstr(log, " gitopsfs warning: something\n") != NULL);
	const char *after = strchr(log, '\n');
	CHECK_STR(after ? after + 1 : NULL, "\rcd\r  \r");
}

static void show_off(void)
{
	struct gfs_progress p;
	gfs_progress_begin(&p, true);
	p.start_ms -= 10 * GFS_PROGRESS_DELAY_MS;
	gfs_progress_show(&p, "quiet %d", 1);
	gfs_progress_end(&p);
	gfs_progress_begin(&p, false); /* stderr is a file here */
	p.start_ms -= 10 * GFS_PROGRESS_DELAY_MS;
	gfs_progress_show(&p, "not a terminal %d", 2);
	gfs_progress_end(&p);
}

static void progress_is_off_with_quiet_or_without_a_terminal(void)
{
	capture_stderr(show_off);
	CHECK_STR(captured, "");
}

int main(void)
{
	gfs_log_init(GFS_LOG_INFO, NULL);
	TAP_RUN(the_status_line_is_redrawn_in_place_and_erased_before_a_log_line);
	TAP_RUN(progress_is_off_with_quiet_or_without_a_terminal);
	return tap_done();
}
