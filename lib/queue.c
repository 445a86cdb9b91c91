/*
 * queue.c - the intrusive FIFO. See gfs_queue.h for its invariants.
 */
#include "gfs_queue.h"

void gfs_queue_init(struct gfs_queue *q)
{
	q->head = q->tail = NULL;
	q->len = 0;
}

void gfs_queue_push(struct gfs_queue *q, struct gfs_queue_node *n)
{
	n->next = NULL;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->len++;
}

void gfs_queue_push_front(struct gfs_queue *q, struct gfs_queue_node *n)
{
	n->next = q->head;
	q->head = n;
	if (!q->tail)
		q->tail = n;
	q->len++;
}

struct gfs_queue_node *gfs_queue_pop(struct gfs_queue *q)
{
	struct gfs_queue_node *n = q->head;
	if (!n)
		return NULL;
	q->head = n->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	n->next = NULL;
	return n;
}

void gfs_queue_insert_sorted(struct gfs_queue *q, struct gfs_queue_node *n,
			     int (*cmp)(const struct gfs_queue_node *a,
					const struct gfs_queue_node *b))
{
	struct gfs_queue_node **pp = &q->head;
	while (*pp && cmp(*pp, n) <= 0)
		pp = &(*pp)->next;
	n->next = *pp;
	*pp = n;
	if (!n->next)
		q->tail = n;
	q->len++;
}

struct gfs_queue_node *gfs_queue_take(struct gfs_queue *q,
				      bool (*match)(const struct gfs_queue_node *n,
						    const void *payload),
				      const void *payload)
{
	struct gfs_queue_node *prev = NULL;
	for (struct gfs_queue_node **pp = &q->head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct gfs_queue_node *n = *pp;
		if (!match(n, payload))
			continue;
		*pp = n->next;
		if (q->tail == n)
			q->tail = prev;
		q->len--;
		n->next = NULL;
		return n;
	}
	return NULL;
}

void gfs_queue_move(struct gfs_queue *dst, struct gfs_queue *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->len += src->len;
	gfs_queue_init(src);
}

void gfs_queue_clear(struct gfs_queue *q, void (*free_fn)(struct gfs_queue_node *n))
{
	struct gfs_queue_node *n;
	while ((n = gfs_queue_pop(q)))
		if (free_fn)
			free_fn(n);
}
