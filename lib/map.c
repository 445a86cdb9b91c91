/*
 * map.c - string-keyed hash map with open addressing and linear probing.
 * Deletion uses backward-shift, so there are no tombstones and lookups
 * stay short however many deletes happen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"

/* Two words: the hash is computed again where it is needed (a resize, a
 * deletion's shift) rather than kept - at 100k objects the maps of the
 * store and the inode table hold a few hundred thousand slots. */
struct gfs_map_slot {
	char *key; /* NULL = empty slot */
	void *value;
};

static uint64_t gfs_map_hash(const char *key)
{
	return gfs_hash64(key, strlen(key));
}

struct gfs_map {
	struct gfs_map_slot *slots;
	size_t cap; /* power of two */
	size_t count;
	bool borrowed; /* keys are the caller's (gfs_map_new_borrowed) */
};

struct gfs_map *gfs_map_new_borrowed(void)
{
	struct gfs_map *m = gfs_map_new();
	if (m)
		m->borrowed = true;
	return m;
}

struct gfs_map *gfs_map_new(void)
{
	struct gfs_map *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void gfs_map_free(struct gfs_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap && !m->borrowed; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static size_t gfs_map_find(const struct gfs_map *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = h & mask;
	while (m->slots[i].key) {
		if (strcmp(m->slots[i].key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i; /* the empty slot where key would go */
}

void *gfs_map_get(const struct gfs_map *m, const char *key)
{
	size_t i = gfs_map_find(m, key, gfs_map_hash(key));
	return m->slots[i].key ? m->slots[i].value : NULL;
}

static int gfs_map_resize(struct gfs_map *m, size_t cap)
{
	struct gfs_map_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	struct gfs_map_slot *old = m->slots;
	size_t old_cap = m->cap;
	m->slots = slots;
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].key)
			continue;
		size_t j = gfs_map_find(m, old[i].key, gfs_map_hash(old[i].key));
		m->slots[j] = old[i];
	}
	free(old);
	return 0;
}

void *gfs_map_put(struct gfs_map *m, const char *key, void *value, int *err)
{
	if (err)
		*err = 0;
	/* Keep the load factor under 0.7 so probes stay short. */
	if ((m->count + 1) * 10 > m->cap * 7 && gfs_map_resize(m, m->cap * 2) < 0) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	uint64_t h = gfs_map_hash(key);
	size_t i = gfs_map_find(m, key, h);
	if (m->slots[i].key) {
		void *old = m->slots[i].value;
		m->slots[i].value = value;
		if (m->borrowed)
			m->slots[i].key = (char *)key; /* the old one may go with old */
		return old;
	}
	char *k = m->borrowed ? (char *)key : strdup(key);
	if (!k) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	/* The slot owns k from here on (freed by gfs_map_del/_free). */
	m->slots[i].key = k;
	m->slots[i].value = value;
	m->count++;
	return NULL;
}

void *gfs_map_del(struct gfs_map *m, const char *key)
{
	uint64_t h = gfs_map_hash(key);
	size_t i = gfs_map_find(m, key, h);
	if (!m->slots[i].key)
		return NULL;
	void *value = m->slots[i].value;
	if (!m->borrowed)
		free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->count--;
	/* Backward-shift: move later entries of the probe run into the hole
	 * when their home slot is at or before it. */
	size_t mask = m->cap - 1;
	size_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->slots[j].key)
			break;
		size_t home = gfs_map_hash(m->slots[j].key) & mask;
		int movable =
		    (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			m->slots[hole] = m->slots[j];
			m->slots[j].key = NULL;
			hole = j;
		}
	}
	return value;
}

size_t gfs_map_count(const struct gfs_map *m)
{
	return m->count;
}

int gfs_map_foreach(const struct gfs_map *m,
		    int (*fn)(const char *key, void *value, void *payload), void *payload)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		int rc = fn(m->slots[i].key, m->slots[i].value, payload);
		if (rc)
			return rc;
	}
	return 0;
}
