/*
 * handles.c - the table of open files behind fi->fh. See fs_internal.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs_internal.h"

struct gfs_handles {
	gfs_handle_release_fn release; /* immutable */
	void *payload;                 /* immutable */
	pthread_mutex_t lock;
	/* Guarded by lock: */
	struct gfs_map *map; /* "%016" PRIx64 id -> struct gfs_open* */
	uint64_t next_id;
};

struct gfs_open *gfs_open_new(enum gfs_kind kind)
{
	struct gfs_open *of = calloc(1, sizeof(*of));
	if (!of)
		return NULL;
	of->kind = kind;
	of->fd = -1;
	atomic_init(&of->refs, 1);
	atomic_init(&of->size, 0);
	gfs_buf_init(&of->wbuf, 0);
	pthread_mutex_init(&of->lock, NULL);
	if (gfs_cond_init_monotonic(&of->applied) < 0) {
		pthread_mutex_destroy(&of->lock);
		free(of);
		return NULL;
	}
	return of;
}

void gfs_open_free(struct gfs_open *of)
{
	if (!of)
		return;
	if (of->fd >= 0)
		close(of->fd);
	gfs_blob_unref(of->blob);
	gfs_buf_release(&of->wbuf);
	free(of->path);
	pthread_cond_destroy(&of->applied);
	pthread_mutex_destroy(&of->lock);
	free(of);
}

int gfs_handles_new(struct gfs_handles **out, gfs_handle_release_fn release,
		    void *payload)
{
	struct gfs_handles *t = calloc(1, sizeof(*t));
	if (!t || !(t->map = gfs_map_new())) {
		free(t);
		return -ENOMEM;
	}
	t->release = release;
	t->payload = payload;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void gfs_handles_free(struct gfs_handles *t)
{
	if (!t)
		return;
	gfs_map_free(t->map); /* every file was released before unmount */
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void gfs_handle_key(char key[17], uint64_t id)
{
	snprintf(key, 17, "%016" PRIx64, id);
}

int gfs_handle_add(struct gfs_handles *t, struct gfs_open *of, uint64_t *id)
{
	char key[17];
	int err = 0;
	pthread_mutex_lock(&t->lock);
	*id = ++t->next_id;
	gfs_handle_key(key, *id);
	gfs_map_put(t->map, key, of, &err);
	pthread_mutex_unlock(&t->lock);
	return err;
}

struct gfs_open *gfs_handle_get(struct gfs_handles *t, uint64_t id)
{
	char key[17];
	gfs_handle_key(key, id);
	pthread_mutex_lock(&t->lock);
	struct gfs_open *of = gfs_map_get(t->map, key);
	if (of)
		atomic_fetch_add(&of->refs, 1);
	pthread_mutex_unlock(&t->lock);
	return of;
}

void gfs_handle_put(struct gfs_handles *t, struct gfs_open *of)
{
	if (of && atomic_fetch_sub(&of->refs, 1) == 1)
		t->release(t->payload, of);
}

void gfs_handle_close(struct gfs_handles *t, uint64_t id)
{
	char key[17];
	gfs_handle_key(key, id);
	pthread_mutex_lock(&t->lock);
	struct gfs_open *of = gfs_map_del(t->map, key);
	pthread_mutex_unlock(&t->lock);
	gfs_handle_put(t, of);
}

struct gfs_open *gfs_handle_lock(struct gfs_handles *t, uint64_t id)
{
	struct gfs_open *of = gfs_handle_get(t, id);
	if (of)
		pthread_mutex_lock(&of->lock);
	return of;
}

void gfs_handle_unlock(struct gfs_handles *t, struct gfs_open *of)
{
	if (!of)
		return;
	pthread_mutex_unlock(&of->lock);
	gfs_handle_put(t, of);
}

bool gfs_handle_writable(struct gfs_handles *t, uint64_t id)
{
	char key[17];
	gfs_handle_key(key, id);
	pthread_mutex_lock(&t->lock);
	const struct gfs_open *of = gfs_map_get(t->map, key);
	bool writable = of && of->writable; /* immutable once in the table */
	pthread_mutex_unlock(&t->lock);
	return writable;
}
