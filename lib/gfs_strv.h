/*
 * gfs_strv.h - the one string vector: a NULL-terminated array of strings
 * that the vector owns, as execve's argv (the kubeconfig's exec args and
 * env, a resource's served versions, the --namespace list).
 *
 * Invariants: the array ends with a NULL entry and holds no other NULL;
 * each string and the array are malloc'ed and owned by the vector. A NULL
 * vector is the empty one for every function here (and means "none" or
 * "all" to whoever keeps it; its owner says which).
 *
 * Not thread-safe: its owner's lock, or immutability, guards it.
 */
#ifndef GFS_STRV_H
#define GFS_STRV_H

#include <stdbool.h>
#include <stddef.h>

/* The number of strings (0 for NULL). */
size_t gfs_strv_len(char *const *v);
bool gfs_strv_has(char *const *v, const char *s);
/* A deep copy into *out (the caller's, gfs_strv_free), NULL for a NULL v.
 * Returns 0, or -ENOMEM with *out NULL. (v is const all the way down, as
 * options structs hold it: a char ** needs a cast, C being C.) */
int gfs_strv_dup(char ***out, const char *const *v);
/* Appends a copy of s (*v may be NULL: a new vector). Returns 0, or
 * -ENOMEM with *v unchanged. */
int gfs_strv_push(char ***v, const char *s);
/* Frees every string and the array; accepts NULL. */
void gfs_strv_free(char **v);
/* The same, wiping each string first (it may hold a token or a key). */
void gfs_strv_free_secret(char **v);

/* Many short strings kept together until all are freed at once: copies
 * packed into large blocks, not one allocation each. 100,000 small
 * allocations freed together leave malloc's arena holding megabytes that
 * stay resident; a block is above malloc's mmap threshold and goes back
 * to the system when freed. Zero-initialised is empty. */
struct gfs_strpack {
	char **blocks; /* n_blocks, owned */
	size_t n_blocks;
	char *at;    /* free space in the last block */
	size_t left; /* bytes of it */
};
/* A NUL-terminated copy of s[0..len), valid until gfs_strpack_release;
 * NULL when out of memory. */
const char *gfs_strpack_add(struct gfs_strpack *p, const char *s, size_t len);
/* Frees every copy; p is empty again. */
void gfs_strpack_release(struct gfs_strpack *p);

#endif
