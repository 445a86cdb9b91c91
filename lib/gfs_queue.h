/*
 * gfs_queue.h - the one queue every module uses: an intrusive, singly
 * linked FIFO (the invalidation queue, the alert queue, the pending
 * deletes).
 *
 * Invariants, true between any two calls:
 *  - head == NULL  <=>  tail == NULL  <=>  len == 0;
 *  - following `next` from head reaches tail in len - 1 steps, and
 *    tail->next == NULL;
 *  - a node is in at most one queue at a time.
 *
 * Order: nodes leave by gfs_queue_pop in the order gfs_queue_push put them
 * in. gfs_queue_push_front puts a node back at the head (a delivery that
 * failed keeps its place). gfs_queue_insert_sorted is the ordered form: a
 * queue that every node entered that way, with one comparison, is sorted
 * by it, and nodes that compare equal keep their arrival order (so it is
 * still a FIFO among equals).
 *
 * Ownership: the queue owns nothing. A node is a member of the caller's
 * struct (GFS_QUEUE_ENTRY turns it back into the struct); the caller
 * allocates it before it goes in and frees it after it came out (or with
 * gfs_queue_clear). Not thread-safe: the owner's lock guards a queue.
 *
 * Cost: push, push_front, pop, peek and move are O(1); insert_sorted and
 * take walk the queue, O(n).
 */
#ifndef GFS_QUEUE_H
#define GFS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct gfs_queue_node {
	struct gfs_queue_node *next;
};

struct gfs_queue {
	struct gfs_queue_node *head, *tail;
	size_t len;
};

#define GFS_QUEUE_INIT                                                                   \
	{                                                                                \
		NULL, NULL, 0                                                            \
	}

/* The struct of `type` whose member `member` is the node `n`. */
#define GFS_QUEUE_ENTRY(n, type, member) ((type *)((char *)(n)-offsetof(type, member)))

void gfs_queue_init(struct gfs_queue *q);

static inline bool gfs_queue_empty(const struct gfs_queue *q)
{
	return q->head == NULL;
}

static inline size_t gfs_queue_len(const struct gfs_queue *q)
{
	return q->len;
}

/* The head, left in the queue; NULL when empty. */
static inline struct gfs_queue_node *gfs_queue_peek(const struct gfs_queue *q)
{
	return q->head;
}

/* Appends n at the tail. */
void gfs_queue_push(struct gfs_queue *q, struct gfs_queue_node *n);
/* Puts n at the head: it is the next to leave. */
void gfs_queue_push_front(struct gfs_queue *q, struct gfs_queue_node *n);
/* Unlinks and returns the head; NULL when empty. */
struct gfs_queue_node *gfs_queue_pop(struct gfs_queue *q);

/* Inserts n after every node that `cmp` does not order after it (cmp(x, n)
 * <= 0), i.e. before the first node greater than n. */
void gfs_queue_insert_sorted(struct gfs_queue *q, struct gfs_queue_node *n,
			     int (*cmp)(const struct gfs_queue_node *a,
					const struct gfs_queue_node *b));

/* Unlinks and returns the first node for which match() is true; NULL (the
 * queue unchanged) when none is. */
struct gfs_queue_node *gfs_queue_take(struct gfs_queue *q,
				      bool (*match)(const struct gfs_queue_node *n,
						    const void *payload),
				      const void *payload);

/* Appends every node of src to dst, in order; src is empty afterwards. */
void gfs_queue_move(struct gfs_queue *dst, struct gfs_queue *src);

/* Pops every node and hands it to free_fn (which may be NULL); the queue
 * is empty afterwards. */
void gfs_queue_clear(struct gfs_queue *q, void (*free_fn)(struct gfs_queue_node *n));

#endif
