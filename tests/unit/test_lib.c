/*
 * test_lib.c - the shared containers and helpers of lib/: the queue and
 * its invariants, the string vector, packed strings, the buffer whose data is never NULL,
 * and the timed wait on a monotonic condition variable.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_queue.h"
#include "gfs_strv.h"
#include "tap.h"

/* ---- the queue ---------------------------------------------------------------- */

struct item {
	int key;
	char tag;
	struct gfs_queue_node node;
};

static struct item *item_of(struct gfs_queue_node *n)
{
	return n ? GFS_QUEUE_ENTRY(n, struct item, node) : NULL;
}

/* The invariants of gfs_queue.h, checked by walking the queue. */
static bool queue_sound(const struct gfs_queue *q)
{
	size_t n = 0;
	const struct gfs_queue_node *last = NULL;
	for (const struct gfs_queue_node *p = q->head; p; p = p->next, n++)
		last = p;
	return n == q->len && last == q->tail && (q->head == NULL) == (q->len == 0);
}

/* The tags in queue order, as a string. */
static const char *tags(const struct gfs_queue *q)
{
	static char s[64];
	size_t i = 0;
	for (struct gfs_queue_node *p = q->head; p && i + 1 < sizeof(s); p = p->next)
		s[i++] = item_of(p)->tag;
	s[i] = '\0';
	return s;
}

static void a_queue_gives_back_what_was_pushed_in_order(void)
{
	struct gfs_queue q = GFS_QUEUE_INIT;
	struct item it[4] = {{0, 'a', {0}}, {0, 'b', {0}}, {0, 'c', {0}}, {0, 'd', {0}}};
	CHECK(gfs_queue_empty(&q));
	CHECK(gfs_queue_pop(&q) == NULL);
	for (int i = 0; i < 3; i++)
		gfs_queue_push(&q, &it[i].node);
	CHECK(queue_sound(&q));
	CHECK_INT(gfs_queue_len(&q), 3);
	CHECK_STR(tags(&q), "abc");
	CHECK(item_of(gfs_queue_peek(&q)) == &it[0]);
	CHECK(item_of(gfs_queue_pop(&q)) == &it[0]);
	gfs_queue_push(&q, &it[3].node);
	CHECK_STR(tags(&q), "bcd");
	CHECK(item_of(gfs_queue_pop(&q)) == &it[1]);
	CHECK(item_of(gfs_queue_pop(&q)) == &it[2]);
	CHECK(item_of(gfs_queue_pop(&q)) == &it[3]);
	CHECK(gfs_queue_pop(&q) == NULL);
	CHECK(queue_sound(&q));
	CHECK(q.tail == NULL);
}

static void a_node_put_back_at_the_front_leaves_first(void)
{
	struct gfs_queue q = GFS_QUEUE_INIT;
	struct item it[3] = {{0, 'a', {0}}, {0, 'b', {0}}, {0, 'c', {0}}};
	gfs_queue_push_front(&q, &it[1].node); /* into an empty queue */
	CHECK(queue_sound(&q));
	gfs_queue_push(&q, &it[2].node);
	gfs_queue_push_front(&q, &it[0].node);
	CHECK(queue_sound(&q));
	CHECK_STR(tags(&q), "abc");
}

static int by_key(const struct gfs_queue_node *a, const struct gfs_queue_node *b)
{
	return GFS_QUEUE_ENTRY(a, struct item, node)->key -
	       GFS_QUEUE_ENTRY(b, struct item, node)->key;
}

static void sorted_inserts_keep_order_and_arrival_order_among_equals(void)
{
	struct gfs_queue q = GFS_QUEUE_INIT;
	struct item it[6] = {{5, 'a', {0}}, {1, 'b', {0}}, {5, 'c', {0}},
			     {9, 'd', {0}}, {0, 'e', {0}}, {5, 'f', {0}}};
	for (int i = 0; i < 6; i++) {
		gfs_queue_insert_sorted(&q, &it[i].node, by_key);
		CHECK(queue_sound(&q));
	}
	CHECK_STR(tags(&q), "ebacfd");
	CHECK(item_of(q.tail) == &it[3]);
}

static bool has_tag(const struct gfs_queue_node *n, const void *payload)
{
	return GFS_QUEUE_ENTRY(n, struct item, node)->tag == *(const char *)payload;
}

static void take_unlinks_the_first_match_anywhere(void)
{
	struct gfs_queue q = GFS_QUEUE_INIT;
	struct item it[4] = {{0, 'a', {0}}, {0, 'b', {0}}, {0, 'c', {0}}, {0, 'b', {0}}};
	for (int i = 0; i < 4; i++)
		gfs_queue_push(&q, &it[i].node);
	CHECK(item_of(gfs_queue_take(&q, has_tag, "b")) == &it[1]);
	CHECK(queue_sound(&q));
	CHECK_STR(tags(&q), "acb");
	CHECK(item_of(gfs_queue_take(&q, has_tag, "b")) == &it[3]); /* the tail */
	CHECK(queue_sound(&q));
	CHECK(item_of(q.tail) == &it[2]);
	CHECK(gfs_queue_take(&q, has_tag, "x") == NULL);
	CHECK(item_of(gfs_queue_take(&q, has_tag, "a")) == &it[0]); /* the head */
	CHECK(item_of(gfs_queue_take(&q, has_tag, "c")) == &it[2]); /* the last */
	CHECK(queue_sound(&q));
	CHECK(gfs_queue_empty(&q));
}

static int cleared;

static void count_cleared(struct gfs_queue_node *n)
{
	cleared++;
}

static void move_appends_and_clear_frees_everything(void)
{
	struct gfs_queue q = GFS_QUEUE_INIT, r = GFS_QUEUE_INIT;
	struct item it[3] = {{0, 'a', {0}}, {0, 'b', {0}}, {0, 'c', {0}}};
	gfs_queue_move(&r, &q); /* nothing to move */
	CHECK(gfs_queue_empty(&r));
	gfs_queue_push(&r, &it[0].node);
	gfs_queue_push(&q, &it[1].node);
	gfs_queue_push(&q, &it[2].node);
	gfs_queue_move(&r, &q);
	CHECK(queue_sound(&q) && queue_sound(&r));
	CHECK(gfs_queue_empty(&q));
	CHECK_STR(tags(&r), "abc");
	cleared = 0;
	gfs_queue_clear(&r, count_cleared);
	CHECK_INT(cleared, 3);
	CHECK(queue_sound(&r));
	CHECK(gfs_queue_empty(&r));
}

/* ---- the string vector ------------------------------------------------------- */

static void a_null_vector_is_the_empty_one(void)
{
	char **copy = (char **)1;
	CHECK_INT(gfs_strv_len(NULL), 0);
	CHECK(!gfs_strv_has(NULL, "a"));
	CHECK_INT(gfs_strv_dup(&copy, NULL), 0);
	CHECK(copy == NULL);
	gfs_strv_free(NULL);
	gfs_strv_free_secret(NULL);
}

/* Packed strings: each copy stays as it was while blocks fill and new
 * ones start, including a string larger than a block. */
static void packed_strings_stay_intact_across_blocks(void)
{
	struct gfs_strpack p = {0};
	enum { N = 40000 };
	static const char *copy[N];
	char text[64];
	static char big[300000];
	memset(big, 'b', sizeof(big) - 1);
	for (int i = 0; i < N; i++) {
		int len = snprintf(text, sizeof(text), "ns-%d/configmaps/cm-%06d.yaml",
				   i % 7, i);
		copy[i] = gfs_strpack_add(&p, text, (size_t)len);
		CHECK(copy[i] != NULL);
		if (i == N / 2)
			CHECK(strcmp(gfs_strpack_add(&p, big, sizeof(big) - 1), big) ==
			      0);
	}
	CHECK(p.n_blocks > 2);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "ns-%d/configmaps/cm-%06d.yaml", i % 7, i);
		bad += strcmp(copy[i], text) != 0;
	}
	CHECK_INT(bad, 0);
	/* Only len bytes are copied: what follows in s is not. */
	CHECK(strcmp(gfs_strpack_add(&p, "abcdef", 3), "abc") == 0);
	gfs_strpack_release(&p);
	CHECK(p.n_blocks == 0 && p.blocks == NULL && p.left == 0);
}

static void push_appends_copies_and_dup_copies_deeply(void)
{
	char **v = NULL, **copy = NULL;
	char word[] = "kube-system";
	CHECK_INT(gfs_strv_push(&v, "default"), 0);
	CHECK_INT(gfs_strv_push(&v, word), 0);
	word[0] = 'X'; /* the vector holds its own copy */
	CHECK_INT(gfs_strv_len(v), 2);
	CHECK_STR(v[1], "kube-system");
	CHECK(v[2] == NULL);
	CHECK(gfs_strv_has(v, "default"));
	CHECK(!gfs_strv_has(v, "Xube-system"));
	CHECK_INT(gfs_strv_dup(&copy, (const char *const *)v), 0);
	CHECK(copy != v && copy[0] != v[0]);
	CHECK_INT(gfs_strv_len(copy), 2);
	CHECK_STR(copy[0], "default");
	CHECK(copy[2] == NULL);
	gfs_strv_free(v);
	gfs_strv_free_secret(copy);
}

/* ---- the buffer ---------------------------------------------------------------- */

static void a_new_buffer_is_an_empty_string_not_null(void)
{
	struct gfs_buf a = GFS_BUF_INIT(16), b;
	gfs_buf_init(&b, 16);
	CHECK(a.data != NULL && b.data != NULL);
	CHECK_STR(a.data, "");
	CHECK_INT(strlen(b.data), 0);
	gfs_buf_reset(&a); /* on the shared "": writes nothing */
	gfs_buf_setlen(&a, 0);
	CHECK_STR(a.data, "");
	size_t len = 99;
	char *p = gfs_buf_detach(&a, &len);
	CHECK(p != NULL && p != gfs_buf_empty);
	CHECK_STR(p, "");
	CHECK_INT(len, 0);
	free(p);
	gfs_buf_release(&b); /* frees nothing */
	CHECK_STR(b.data, "");
	CHECK_INT(gfs_buf_empty[0], 0);
}

static void appends_stay_nul_terminated_and_respect_the_limit(void)
{
	struct gfs_buf b = GFS_BUF_INIT(8);
	CHECK_INT(gfs_buf_add(&b, "", 0), 0);
	CHECK_STR(b.data, "");
	CHECK_INT(gfs_buf_adds(&b, "abc"), 0);
	CHECK_INT(gfs_buf_addf(&b, "%d", 42), 0);
	CHECK_STR(b.data, "abc42");
	CHECK_INT(gfs_buf_adds(&b, "toolong"), -EFBIG);
	CHECK_STR(b.data, "abc42"); /* nothing appended */
	gfs_buf_setlen(&b, 2);
	CHECK_STR(b.data, "ab");
	gfs_buf_setlen(&b, 5); /* longer: ignored */
	CHECK_INT(b.len, 2);
	gfs_buf_reset(&b);
	CHECK_STR(b.data, "");
	CHECK(b.cap > 0); /* the memory is kept */
	gfs_buf_release(&b);
	CHECK(b.data == gfs_buf_empty);
	CHECK_INT(b.cap, 0);
	CHECK_INT(gfs_buf_empty[0], 0);
}

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

/* Both kinds of map over the same operations: a copied key may be
 * changed after the put; a borrowed one is the caller's, and a replacing
 * put takes the new key. Many deletions keep every other entry found
 * (backward shift). */
static void maps_find_what_was_put_with_copied_or_borrowed_keys(void)
{
	struct gfs_map *copied = gfs_map_new(), *borrowed = gfs_map_new_borrowed();
	static char keys[2000][12];
	int err = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		CHECK(gfs_map_put(copied, keys[i], keys[i], &err) == NULL && err == 0);
		CHECK(gfs_map_put(borrowed, keys[i], keys[i], &err) == NULL && err == 0);
	}
	for (int i = 0; i < 2000; i += 2) {
		CHECK(gfs_map_del(copied, keys[i]) == keys[i]);
		CHECK(gfs_map_del(borrowed, keys[i]) == keys[i]);
	}
	CHECK_INT((int)gfs_map_count(copied), 1000);
	CHECK_INT((int)gfs_map_count(borrowed), 1000);
	for (int i = 0; i < 2000; i++) {
		char k[12];
		snprintf(k, sizeof(k), "k%d", i);
		CHECK(gfs_map_get(copied, k) == (i % 2 ? keys[i] : NULL));
		CHECK(gfs_map_get(borrowed, k) == (i % 2 ? keys[i] : NULL));
	}
	/* A replacing put in a borrowed map takes the new key. */
	static char again[] = "k1";
	CHECK(gfs_map_put(borrowed, again, again, &err) == keys[1]);
	keys[1][0] = 'x'; /* the old key may change or go now */
	CHECK(gfs_map_get(borrowed, "k1") == again);
	gfs_map_free(copied);
	gfs_map_free(borrowed);
}

/* An index over random puts, replacements and deletions, against a plain
 * array of what it should hold. Keys are few (many collide in their home
 * slot, and deletions re-insert long probe runs) and include 0 and
 * all-ones. */
struct idx_item {
	char pad[3]; /* the key is not first: the offset is honoured */
	uint64_t key;
	int tag;
};

static int idx_count_cb(void *value, void *payload)
{
	(*(size_t *)payload)++;
	return ((struct idx_item *)value)->tag < 0; /* never stops */
}

static void an_index_finds_what_was_put_through_any_deletions(void)
{
	enum { KEYS = 600, OPS = 40000 };
	static struct idx_item items[2][KEYS];
	static bool held[KEYS];
	static int tag_of[KEYS];
	struct gfs_idx *x = gfs_idx_new(offsetof(struct idx_item, key));
	uint64_t rng = 42;
	int err = 0;
	CHECK(x != NULL);
	for (int k = 0; k < KEYS; k++) {
		uint64_t key = k == 0 ? 0 : k == 1 ? UINT64_MAX : (uint64_t)k * 0x10000;
		items[0][k] = (struct idx_item){.key = key, .tag = 0};
		items[1][k] = (struct idx_item){.key = key, .tag = 1};
	}
	for (int op = 0; op < OPS; op++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		int k = (int)((rng >> 33) % KEYS), what = (int)((rng >> 20) % 3);
		if (what < 2) { /* put, or replace with the other copy */
			void *old = gfs_idx_put(x, &items[what][k], &err);
			CHECK(err == 0);
			CHECK(old == (held[k] ? (void *)&items[tag_of[k]][k] : NULL));
			held[k] = true;
			tag_of[k] = what;
		} else {
			void *old = gfs_idx_del(x, items[0][k].key);
			CHECK(old == (held[k] ? (void *)&items[tag_of[k]][k] : NULL));
			held[k] = false;
		}
	}
	size_t n = 0, seen = 0;
	for (int k = 0; k < KEYS; k++) {
		n += held[k];
		CHECK(gfs_idx_get(x, items[0][k].key) ==
		      (held[k] ? (void *)&items[tag_of[k]][k] : NULL));
	}
	CHECK_INT((int)gfs_idx_count(x), (int)n);
	CHECK_INT(gfs_idx_foreach(x, idx_count_cb, &seen), 0);
	CHECK_INT((int)seen, (int)n);
	gfs_idx_free(x);
}

int main(void)
{
	TAP_RUN(maps_find_what_was_put_with_copied_or_borrowed_keys);
	TAP_RUN(an_index_finds_what_was_put_through_any_deletions);
	TAP_RUN(a_queue_gives_back_what_was_pushed_in_order);
	TAP_RUN(a_node_put_back_at_the_front_leaves_first);
	TAP_RUN(sorted_inserts_keep_order_and_arrival_order_among_equals);
	TAP_RUN(take_unlinks_the_first_match_anywhere);
	TAP_RUN(move_appends_and_clear_frees_everything);
	TAP_RUN(a_new_buffer_is_an_empty_string_not_null);
	TAP_RUN(appends_stay_nul_terminated_and_respect_the_limit);
	TAP_RUN(a_null_vector_is_the_empty_one);
	TAP_RUN(push_appends_copies_and_dup_copies_deeply);
	TAP_RUN(packed_strings_stay_intact_across_blocks);
	TAP_RUN(a_timed_wait_lasts_about_its_time_on_the_monotonic_clock);
	TAP_RUN(a_deadline_in_the_past_does_not_wait);
	TAP_RUN(a_signal_ends_a_timed_wait_early);
	return tap_done();
}
