/*
 * tap.h - a tiny test harness printing TAP ("ok 1 - name" / "not ok 2 -
 * name"), which tests/run.sh counts. A test is a function; CHECK* macros
 * record a failure (with file and line) and let the test go on, so one run
 * shows every broken expectation.
 *
 *   static void renders_keys_sorted(void) { CHECK_STR(got, "a: 1\n"); }
 *   int main(void) { TAP_RUN(renders_keys_sorted); return tap_done(); }
 */
#ifndef GFS_TAP_H
#define GFS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed, tap_case_failed;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,      \
			       #cond);                                                   \
			tap_case_failed = 1;                                             \
		}                                                                        \
	} while (0)

#define CHECK_INT(got, want)                                                             \
	do {                                                                             \
		long long g_ = (long long)(got), w_ = (long long)(want);                 \
		if (g_ != w_) {                                                          \
			printf("#   %s:%d: %s == %lld, expected %lld\n", __FILE__,       \
			       __LINE__, #got, g_, w_);                                  \
			tap_case_failed = 1;                                             \
		}                                                                        \
	} while (0)

#define CHECK_STR(got, want)                                                             \
	do {                                                                             \
		const char *g_ = (got), *w_ = (want);                                    \
		if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                 \
			printf("#   %s:%d: %s\n# got:\n%s\n# expected:\n%s\n", __FILE__, \
			       __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");  \
			tap_case_failed = 1;                                             \
		}                                                                        \
	} while (0)

#define TAP_RUN(fn)                                                                      \
	do {                                                                             \
		tap_case_failed = 0;                                                     \
		fn();                                                                    \
		tap_count++;                                                             \
		if (tap_case_failed)                                                     \
			tap_failed++;                                                    \
		printf("%sok %d - %s\n", tap_case_failed ? "not " : "", tap_count, #fn); \
		fflush(stdout);                                                          \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
