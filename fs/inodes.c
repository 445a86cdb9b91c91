/*
 * inodes.c - the table of node ids the kernel holds (lookup counts).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include "fs_internal.h"

#define GFS_READERS 8

/* The version each of the last few reading processes of a file got, so
 * that a write is checked against what *its writer* read. The most
 * common case - one process at a time reads a file (`cat`, an editor, a
 * script) - is kept in the inode itself; the other GFS_READERS - 1 slots
 * are made when a second process opens the file while the first is
 * still alive. A record of a process that has exited is worth nothing
 * (it cannot write; its pid, reused, would only make a stranger's write
 * look stale) and is the one a new reader takes first. `git status`,
 * `ls -l` and `find` look files up without opening them: no record. */
struct gfs_readers_more {
	uint32_t version[GFS_READERS - 1];
	pid_t pid[GFS_READERS - 1]; /* 0: free */
};

/* One per inode the kernel holds: at 100k objects, 100k of them. One
 * allocation with its path (a rename makes a new one), sized to the path
 * (gfs_inode_new). Versions are the store's, which are 32-bit
 * (cache/store_internal.h). */
struct gfs_inode {
	uint64_t ino; /* the table's key (gfs_idx) */
	uint64_t nlookup;
	struct gfs_readers_more *more; /* NULL until a second live reader */
	uint32_t served_version;       /* of the newest open, for FOPEN_KEEP_CACHE */
	uint32_t version0;             /* what reader pid0 got */
	pid_t pid0;                    /* reader slot 0; 0: free */
	uint8_t next;                  /* the slot a new reader takes when none is free */
	bool served;
	char path[];
};

/* Reader slot k of i (0 in the inode, the rest in i->more). */
static pid_t *gfs_reader_pid(struct gfs_inode *i, unsigned k)
{
	return k == 0 ? &i->pid0 : i->more ? &i->more->pid[k - 1] : NULL;
}

static uint32_t *gfs_reader_version(struct gfs_inode *i, unsigned k)
{
	return k == 0 ? &i->version0 : i->more ? &i->more->version[k - 1] : NULL;
}

/* Is process `pid` still there? A zombie counts as there and EPERM (a
 * process of another user) too: when in doubt, keep its record. */
static bool gfs_pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

static struct gfs_inode *gfs_inode_new(uint64_t ino, const char *path)
{
	size_t len = strlen(path) + 1;
	/* Not sizeof: the path starts where the fields end, not at the
	 * padded size (at 100k entries, a malloc size class lower). */
	struct gfs_inode *i = calloc(1, offsetof(struct gfs_inode, path) + len);
	if (i) {
		i->ino = ino;
		memcpy(i->path, path, len);
	}
	return i;
}

struct gfs_inodes {
	pthread_mutex_t lock;
	struct gfs_idx *idx;      /* ino -> struct gfs_inode*; guarded by lock */
	bool (*alive)(pid_t pid); /* gfs_pid_alive; set before use */
};

_Static_assert(FUSE_ROOT_ID == 1, "gfs_path_ino gives the root inode number 1");

int gfs_inodes_new(struct gfs_inodes **out)
{
	struct gfs_inodes *t = calloc(1, sizeof(*t));
	if (!t || !(t->idx = gfs_idx_new(offsetof(struct gfs_inode, ino)))) {
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->alive = gfs_pid_alive;
	*out = t;
	return 0;
}

static int gfs_inode_free_cb(void *value, void *payload)
{
	struct gfs_inode *i = value;
	free(i->more);
	free(i);
	return 0;
}

void gfs_inodes_free(struct gfs_inodes *t)
{
	if (!t)
		return;
	gfs_idx_foreach(t->idx, gfs_inode_free_cb, NULL);
	gfs_idx_free(t->idx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int gfs_inodes_remember(struct gfs_inodes *t, uint64_t ino, const char *path)
{
	int rc = 0;
	if (ino == FUSE_ROOT_ID)
		return 0;
	pthread_mutex_lock(&t->lock);
	struct gfs_inode *i = gfs_idx_get(t->idx, ino);
	if (!i) {
		i = gfs_inode_new(ino, path);
		if (i)
			gfs_idx_put(t->idx, i, &rc);
		else
			rc = -ENOMEM;
		if (rc < 0 && i) {
			free(i);
			i = NULL;
		}
	} else if (strcmp(i->path, path) != 0) {
		/* A hash collision between two live paths: vanishingly
		 * rare with 64 bits, but say so rather than serve the
		 * wrong file. */
		gfs_warn("inode number collision: %s and %s", i->path, path);
		rc = -EIO;
		i = NULL;
	}
	if (i)
		i->nlookup++;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void gfs_inodes_forget(struct gfs_inodes *t, uint64_t ino, uint64_t n)
{
	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&t->lock);
	struct gfs_inode *i = gfs_idx_get(t->idx, ino);
	if (i) {
		i->nlookup = i->nlookup > n ? i->nlookup - n : 0;
		if (i->nlookup == 0) {
			gfs_idx_del(t->idx, ino);
			gfs_inode_free_cb(i, NULL);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int gfs_inodes_path(char *out, size_t outsz, struct gfs_inodes *t, uint64_t ino)
{
	int rc = -ENOENT;
	if (ino == FUSE_ROOT_ID) {
		out[0] = '\0';
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	struct gfs_inode *i = gfs_idx_get(t->idx, ino);
	if (i) {
		rc = (size_t)snprintf(out, outsz, "%s", i->path) < outsz ? 0
									 : -ENAMETOOLONG;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

bool gfs_inodes_known(struct gfs_inodes *t, uint64_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return true;
	pthread_mutex_lock(&t->lock);
	bool known = gfs_idx_get(t->idx, ino) != NULL;
	pthread_mutex_unlock(&t->lock);
	return known;
}

void gfs_inodes_set_alive(struct gfs_inodes *t, bool (*alive)(pid_t pid))
{
	t->alive = alive;
}

/* The slot for a new reader of i: a free one, else one whose process has
 * exited, else (all GFS_READERS live) the oldest taken. Makes i->more
 * when slot 0 is taken by a live process; -ENOMEM if it cannot. */
static int gfs_reader_slot(struct gfs_inodes *t, struct gfs_inode *i, unsigned *slot)
{
	unsigned n = i->more ? GFS_READERS : 1;
	for (unsigned k = 0; k < n; k++)
		if (*gfs_reader_pid(i, k) == 0) {
			*slot = k;
			return 0;
		}
	for (unsigned k = 0; k < n; k++)
		if (!t->alive(*gfs_reader_pid(i, k))) {
			*slot = k;
			return 0;
		}
	if (!i->more) {
		if (!(i->more = calloc(1, sizeof(*i->more))))
			return -ENOMEM;
		*slot = 1;
		return 0;
	}
	*slot = i->next;
	i->next = (uint8_t)((i->next + 1) % GFS_READERS);
	return 0;
}

int gfs_inodes_note_open(struct gfs_inodes *t, uint64_t ino, uint64_t version, pid_t pid,
			 bool *keep)
{
	int rc = 0;
	*keep = false;
	pthread_mutex_lock(&t->lock);
	struct gfs_inode *i = gfs_idx_get(t->idx, ino);
	unsigned slot = GFS_READERS;
	if (i && pid > 0) {
		for (unsigned k = 0; k < (i->more ? GFS_READERS : 1u); k++)
			if (*gfs_reader_pid(i, k) == pid)
				slot = k;
		if (slot == GFS_READERS)
			rc = gfs_reader_slot(t, i, &slot);
	}
	if (i && rc == 0) {
		*keep = i->served && i->served_version == version;
		i->served = true;
		i->served_version = (uint32_t)version; /* the store's: 32-bit */
		if (slot < GFS_READERS) {
			*gfs_reader_pid(i, slot) = pid;
			*gfs_reader_version(i, slot) = (uint32_t)version;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* The slot of reader `pid` in i, or GFS_READERS. */
static unsigned gfs_reader_find(struct gfs_inode *i, pid_t pid)
{
	for (unsigned k = 0; pid > 0 && k < (i->more ? GFS_READERS : 1u); k++)
		if (*gfs_reader_pid(i, k) == pid)
			return k;
	return GFS_READERS;
}

uint64_t gfs_inodes_served(struct gfs_inodes *t, uint64_t ino, pid_t pid)
{
	uint64_t v = 0;
	pthread_mutex_lock(&t->lock);
	struct gfs_inode *i = gfs_idx_get(t->idx, ino);
	unsigned k = i ? gfs_reader_find(i, pid) : GFS_READERS;
	if (k < GFS_READERS)
		v = *gfs_reader_version(i, k);
	pthread_mutex_unlock(&t->lock);
	return v;
}

void gfs_inodes_note_written(struct gfs_inodes *t, uint64_t ino, uint64_t version,
			     pid_t pid)
{
	pthread_mutex_lock(&t->lock);
	struct gfs_inode *i = gfs_idx_get(t->idx, ino);
	unsigned k = i ? gfs_reader_find(i, pid) : GFS_READERS;
	if (k < GFS_READERS)
		*gfs_reader_version(i, k) = (uint32_t)version;
	pthread_mutex_unlock(&t->lock);
}

struct gfs_rename_ctx {
	const char *src;
	size_t src_len;
	struct gfs_inode **moved; /* the inodes under src */
	size_t n, cap;
};

static int gfs_inodes_rename_collect(void *value, void *payload)
{
	struct gfs_rename_ctx *c = payload;
	struct gfs_inode *i = value;
	if (strncmp(i->path, c->src, c->src_len) != 0 ||
	    (i->path[c->src_len] != '\0' && i->path[c->src_len] != '/'))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct gfs_inode **v = realloc(c->moved, cap * sizeof(*v));
		if (!v)
			return 0; /* keeps the old path: the entry invalidation fixes it
				   */
		c->moved = v;
		c->cap = cap;
	}
	c->moved[c->n++] = i;
	return 0;
}

void gfs_inodes_rename(struct gfs_inodes *t, const char *src, const char *dst)
{
	struct gfs_rename_ctx c = {.src = src, .src_len = strlen(src)};
	pthread_mutex_lock(&t->lock);
	gfs_idx_foreach(t->idx, gfs_inodes_rename_collect, &c);
	/* Each inode moved is made again with its new path, taking over
	 * the old one's counts and readers (the index is not changed during
	 * the walk above). One that cannot be keeps the old path: the entry
	 * invalidation fixes it. */
	for (size_t k = 0; k < c.n; k++) {
		struct gfs_inode *old = c.moved[k], *i = NULL;
		char *path = NULL;
		int err = 0;
		if (asprintf(&path, "%s%s", dst, old->path + c.src_len) >= 0)
			i = gfs_inode_new(old->ino, path);
		free(path);
		if (!i)
			continue;
		i->nlookup = old->nlookup;
		i->served_version = old->served_version;
		i->served = old->served;
		i->version0 = old->version0;
		i->pid0 = old->pid0;
		i->next = old->next;
		i->more = old->more;
		gfs_idx_put(t->idx, i, &err);
		if (err) { /* cannot happen: the key is there; be safe */
			free(i);
			continue;
		}
		free(old);
	}
	pthread_mutex_unlock(&t->lock);
	free(c.moved);
}
