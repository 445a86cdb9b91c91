/*
 * handles.c - the table of open files behind fi->fh. See fs_internal.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs_internal.h"

struct gfs_open *gfs_open_new(enum gfs_kind kind)
{
	struct gfs_open *of = calloc(1, sizeof(*of));
	if (!of)
		return NULL;
	of->kind = kind;
	of->fd = -1;
	atomic_init(&of->refs, 1);
	atomic_init(&of->size, 0);
	pthread_mutex_init(&of->lock, NULL);
	if (gfs_cond_init_monotonic(&of->applied) < 0) {
		pthread_mutex_destroy(&of->lock);
		free(of);
		return NULL;
	}
	return of;
}

static void gfs_handle_key(char key[17], uint64_t id)
{
	snprintf(key, 17, "%016" PRIx64, id);
}

int gfs_handle_add(struct gfs_fs *fs, struct gfs_open *of, uint64_t *id)
{
	char key[17];
	int err = 0;
	pthread_mutex_lock(&fs->lock);
	*id = ++fs->next_handle;
	gfs_handle_key(key, *id);
	gfs_map_put(fs->handles, key, of, &err);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

struct gfs_open *gfs_handle_get(struct gfs_fs *fs, uint64_t id)
{
	char key[17];
	gfs_handle_key(key, id);
	pthread_mutex_lock(&fs->lock);
	struct gfs_open *of = gfs_map_get(fs->handles, key);
	if (of)
		atomic_fetch_add(&of->refs, 1);
	pthread_mutex_unlock(&fs->lock);
	return of;
}

void gfs_handle_put(struct gfs_fs *fs, struct gfs_open *of)
{
	if (of && atomic_fetch_sub(&of->refs, 1) == 1) {
		gfs_write_release(fs, of);
	}
}

void gfs_handle_close(struct gfs_fs *fs, uint64_t id)
{
	char key[17];
	gfs_handle_key(key, id);
	pthread_mutex_lock(&fs->lock);
	struct gfs_open *of = gfs_map_del(fs->handles, key);
	pthread_mutex_unlock(&fs->lock);
	gfs_handle_put(fs, of);
}

struct gfs_open *gfs_handle_lock(struct gfs_fs *fs, uint64_t id)
{
	struct gfs_open *of = gfs_handle_get(fs, id);
	if (of)
		pthread_mutex_lock(&of->lock);
	return of;
}

void gfs_handle_unlock(struct gfs_fs *fs, struct gfs_open *of)
{
	if (!of)
		return;
	pthread_mutex_unlock(&of->lock);
	gfs_handle_put(fs, of);
}
