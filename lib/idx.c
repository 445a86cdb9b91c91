/*
 * idx.c - an index of values by a 64-bit key the value itself holds.
 *
 * A slot is one pointer: the key is read from the value (at the offset
 * given to gfs_idx_new), not kept beside it. For the inode table - a
 * hundred thousand entries, each knowing its inode number - that is half
 * the slots' memory of a map with keys, and no key text at all. Open
 * addressing with linear probing; a deletion re-inserts the rest of its
 * probe run, so there are no tombstones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"

struct gfs_idx {
	void **slots; /* NULL: empty */
	size_t cap;   /* power of two */
	size_t count;
	size_t key_offset; /* of the uint64_t key inside a value */
};

static uint64_t gfs_idx_key(const struct gfs_idx *x, const void *value)
{
	uint64_t key;
	memcpy(&key, (const char *)value + x->key_offset, sizeof(key));
	return key;
}

/* Keys may be hashes already, or small counters: mix them either way
 * (the splitmix64 finaliser). */
static size_t gfs_idx_home(const struct gfs_idx *x, uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return (size_t)key & (x->cap - 1);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t gfs_idx_find(const struct gfs_idx *x, uint64_t key)
{
	size_t i = gfs_idx_home(x, key);
	while (x->slots[i] && gfs_idx_key(x, x->slots[i]) != key)
		i = (i + 1) & (x->cap - 1);
	return i;
}

struct gfs_idx *gfs_idx_new(size_t key_offset)
{
	struct gfs_idx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->cap = 16;
	x->key_offset = key_offset;
	if (!(x->slots = calloc(x->cap, sizeof(*x->slots)))) {
		free(x);
		return NULL;
	}
	return x;
}

void gfs_idx_free(struct gfs_idx *x)
{
	if (!x)
		return;
	free(x->slots);
	free(x);
}

void *gfs_idx_get(const struct gfs_idx *x, uint64_t key)
{
	return x->slots[gfs_idx_find(x, key)];
}

static int gfs_idx_resize(struct gfs_idx *x, size_t cap)
{
	void **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	void **old = x->slots;
	size_t old_cap = x->cap;
	x->slots = slots;
	x->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			x->slots[gfs_idx_find(x, gfs_idx_key(x, old[i]))] = old[i];
	free(old);
	return 0;
}

void *gfs_idx_put(struct gfs_idx *x, void *value, int *err)
{
	*err = 0;
	/* The load factor stays under 0.7, as gfs_map's. */
	if ((x->count + 1) * 10 > x->cap * 7 && gfs_idx_resize(x, x->cap * 2) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	size_t i = gfs_idx_find(x, gfs_idx_key(x, value));
	void *old = x->slots[i];
	x->slots[i] = value;
	if (!old)
		x->count++;
	return old;
}

void *gfs_idx_del(struct gfs_idx *x, uint64_t key)
{
	size_t mask = x->cap - 1, i = gfs_idx_find(x, key);
	void *value = x->slots[i];
	if (!value)
		return NULL;
	x->slots[i] = NULL;
	x->count--;
	/* The entries after the hole in its probe run may have probed past
	 * it: put each back where a lookup will find it now. */
	for (size_t j = (i + 1) & mask; x->slots[j]; j = (j + 1) & mask) {
		void *v = x->slots[j];
		x->slots[j] = NULL;
		x->slots[gfs_idx_find(x, gfs_idx_key(x, v))] = v;
	}
	return value;
}

size_t gfs_idx_count(const struct gfs_idx *x)
{
	return x->count;
}

int gfs_idx_foreach(const struct gfs_idx *x, int (*fn)(void *value, void *payload),
		    void *payload)
{
	for (size_t i = 0; i < x->cap; i++) {
		if (!x->slots[i])
			continue;
		int rc = fn(x->slots[i], payload);
		if (rc)
			return rc;
	}
	return 0;
}
