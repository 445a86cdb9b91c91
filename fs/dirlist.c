/*
 * dirlist.c - directory listings: what readdir hands out, where a listing
 * resumes, and the few recent listings kept between readdir calls.
 *
 * Where a listing resumes: every entry's offset (the cookie the kernel
 * gives back to continue) is a hash of its name, and a listing is sorted
 * by it, so "the entries after cookie C" means the same in any listing of
 * the directory, old or new: an entry that stays is never skipped nor
 * listed twice, whatever came or went between two readdir calls. That is
 * what lets the kernel open directories without asking us
 * (FUSE_CAP_NO_OPENDIR_SUPPORT): no listing is tied to an open.
 *
 * The recent listings: a directory too big for one readdir reply is read
 * in several, each resuming at a cookie; rebuilding the listing each time
 * would cost O(n) per reply, O(n^2) for the directory. The last
 * GFS_DIRSNAPS listings are kept, by inode; a readdir from the start
 * always builds a new one (what changed since shows at once), a
 * continuation reuses the kept one if any. The table's own mutex guards
 * it; listings are refcounted, immutable once sealed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "gfs_common.h"

#define GFS_DIRSNAPS 16

int gfs_dirlist_add(struct gfs_dirlist *l, const char *name, const struct stat *st,
		    bool cacheable)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct gfs_dirent *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		l->cap = cap;
	}
	if (!(l->items[l->n].name = strdup(name)))
		return -ENOMEM;
	l->items[l->n].st = *st;
	l->items[l->n].cacheable = cacheable;
	l->n++;
	return 0;
}

struct gfs_dirlist *gfs_dirlist_new(void)
{
	struct gfs_dirlist *l = calloc(1, sizeof(*l));
	if (l)
		atomic_init(&l->refs, 1);
	return l;
}

struct gfs_dirlist *gfs_dirlist_ref(struct gfs_dirlist *l)
{
	if (l)
		atomic_fetch_add(&l->refs, 1);
	return l;
}

void gfs_dirlist_unref(struct gfs_dirlist *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].name);
	free(l->items);
	free(l);
}

static int gfs_dirent_cmp(const void *a, const void *b)
{
	const struct gfs_dirent *x = a, *y = b;
	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return strcmp(x->name, y->name);
}

void gfs_dirlist_seal(struct gfs_dirlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		/* Positive as an off_t, and never 0 (the start). */
		uint64_t h = gfs_hash64(l->items[i].name, strlen(l->items[i].name));
		l->items[i].cookie = (int64_t)(h >> 1) | 1;
	}
	if (l->n > 1) /* an empty listing has no items at all (NULL) */
		qsort(l->items, l->n, sizeof(*l->items), gfs_dirent_cmp);
	/* Two names with one hash (one in 2^62): the later is moved on by
	 * one, so that cookies stay distinct; only those two can shift. */
	for (size_t i = 1; i < l->n; i++)
		if (l->items[i].cookie <= l->items[i - 1].cookie)
			l->items[i].cookie = l->items[i - 1].cookie + 1;
}

size_t gfs_dirlist_seek(const struct gfs_dirlist *l, off_t cookie)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->items[mid].cookie <= cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the recent listings ------------------------------------------------- */

struct gfs_dirsnap {
	uint64_t ino;
	uint64_t used; /* the table's clock when last handed out */
	struct gfs_dirlist *list;
};

struct gfs_dirsnaps {
	pthread_mutex_t lock;
	/* Guarded by lock: */
	struct gfs_dirsnap slot[GFS_DIRSNAPS];
	uint64_t clock;
};

int gfs_dirsnaps_new(struct gfs_dirsnaps **out)
{
	struct gfs_dirsnaps *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void gfs_dirsnaps_free(struct gfs_dirsnaps *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < GFS_DIRSNAPS; i++)
		gfs_dirlist_unref(t->slot[i].list);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct gfs_dirlist *gfs_dirsnaps_get(struct gfs_dirsnaps *t, uint64_t ino)
{
	struct gfs_dirlist *l = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < GFS_DIRSNAPS; i++) {
		if (t->slot[i].list && t->slot[i].ino == ino) {
			t->slot[i].used = ++t->clock;
			l = gfs_dirlist_ref(t->slot[i].list);
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return l;
}

void gfs_dirsnaps_put(struct gfs_dirsnaps *t, uint64_t ino, struct gfs_dirlist *l)
{
	struct gfs_dirlist *old;
	pthread_mutex_lock(&t->lock);
	/* Its own slot if it has one, else the least recently used. */
	size_t victim = 0;
	for (size_t i = 0; i < GFS_DIRSNAPS; i++) {
		if (t->slot[i].list && t->slot[i].ino == ino) {
			victim = i;
			break;
		}
		if (t->slot[i].used < t->slot[victim].used)
			victim = i;
	}
	old = t->slot[victim].list;
	t->slot[victim].ino = ino;
	t->slot[victim].used = ++t->clock;
	t->slot[victim].list = gfs_dirlist_ref(l);
	pthread_mutex_unlock(&t->lock);
	gfs_dirlist_unref(old);
}

void gfs_dirsnaps_drop(struct gfs_dirsnaps *t, uint64_t ino, const struct gfs_dirlist *l)
{
	struct gfs_dirlist *old = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < GFS_DIRSNAPS; i++) {
		if (t->slot[i].list == l && t->slot[i].ino == ino) {
			old = t->slot[i].list;
			t->slot[i].list = NULL;
			t->slot[i].used = 0;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	gfs_dirlist_unref(old);
}
