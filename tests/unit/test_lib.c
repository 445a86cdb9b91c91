/*
 * test_lib.c - the shared containers and helpers of lib/: the timed wait
 * on a monotonic condition variable.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "tap.h"

/* ---- timed waits ------------------------------------------------------------- */

static void a_timed_wait_lasts_about_its_time_on_the_monotonic_clock(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	CHECK_INT(gfs_cond_init_monotonic(&c), 0);
	pthread_mutex_lock(&m);
	int64_t t0 = gfs_monotonic_ms();
	int rc = gfs_cond_wait_ms(&c, &m, 150);
	while (rc == 0 && gfs_monotonic_ms() - t0 < 150) /* a spurious wake-up */
		rc = gfs_cond_wait_ms(&c, &m, 10);
	int64_t waited = gfs_monotonic_ms() - t0;
	pthread_mutex_unlock(&m);
	CHECK_INT(rc, ETIMEDOUT);
	CHECK(waited >= 140);
	CHECK(waited < 2000);
	pthread_cond_destroy(&c);
}

static void a_deadline_in_the_past_does_not_wait(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	CHECK_INT(gfs_cond_init_monotonic(&c), 0);
	pthread_mutex_lock(&m);
	int64_t t0 = gfs_monotonic_ms();
	CHECK_INT(gfs_cond_wait_until(&c, &m, t0 - 1000), ETIMEDOUT);
	CHECK_INT(gfs_cond_wait_until(&c, &m, -5), ETIMEDOUT);
	CHECK(gfs_monotonic_ms() - t0 < 100);
	pthread_mutex_unlock(&m);
	pthread_cond_destroy(&c);
}

struct waker {
	pthread_mutex_t *m;
	pthread_cond_t *c;
	bool *flag;
};

static void *wake_soon(void *p)
{
	struct waker *w = p;
	gfs_sleep_ms(50, NULL);
	pthread_mutex_lock(w->m);
	*w->flag = true;
	pthread_cond_signal(w->c);
	pthread_mutex_unlock(w->m);
	return NULL;
}

static void a_signal_ends_a_timed_wait_early(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	bool flag = false;
	pthread_t t;
	struct waker w = {&m, &c, &flag};
	CHECK_INT(gfs_cond_init_monotonic(&c), 0);
	pthread_mutex_lock(&m);
	CHECK_INT(pthread_create(&t, NULL, wake_soon, &w), 0);
	int64_t t0 = gfs_monotonic_ms();
	while (!flag && gfs_monotonic_ms() - t0 < 5000)
		gfs_cond_wait_ms(&c, &m, 5000);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	CHECK(flag);
	CHECK(gfs_monotonic_ms() - t0 < 4000);
	pthread_cond_destroy(&c);
}

int main(void)
{
	TAP_RUN(a_timed_wait_lasts_about_its_time_on_the_monotonic_clock);
	TAP_RUN(a_deadline_in_the_past_does_not_wait);
	TAP_RUN(a_signal_ends_a_timed_wait_early);
	return tap_done();
}
