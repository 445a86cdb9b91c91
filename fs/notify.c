/*
 * notify.c - tells the kernel what changed, from a thread of its own.
 *
 * The store reports changes from informer threads; we queue them and a
 * dedicated thread sends the invalidations, because a notify call made
 * while the kernel waits on one of our request handlers can deadlock
 * (fuse_lowlevel.h). Only inodes and entries the kernel holds are
 * invalidated; -ENOENT from the kernel (it dropped the inode meanwhile,
 * or we are unmounting) is not an error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "gfs_path.h"
#include "gfs_queue.h"

/* GFS_CHANGE_REMOVED/ADDED invalidate the entry and the parent listing,
 * MODIFIED the inode; ENTRY_ONLY just the entry. */
#define GFS_CHANGE_ENTRY_ONLY ((enum gfs_change)100)

struct gfs_change_item {
	struct gfs_queue_node node;
	enum gfs_change change;
	char path[];
};

struct gfs_notifier {
	struct fuse_session *se;
	struct gfs_inodes *inodes;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Guarded by lock: */
	struct gfs_queue queue; /* of struct gfs_change_item, in change order */
	bool waiting;           /* the thread sleeps on cond: a push wakes it */
	bool stop;
};

static void gfs_notifier_inval_entry(struct gfs_notifier *n, const char *path)
{
	char parent[GFS_PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	else
		parent[0] = '\0';
	uint64_t pino = gfs_path_ino(parent);
	if (!gfs_inodes_known(n->inodes, pino))
		return;
	int rc = fuse_lowlevel_notify_inval_entry(n->se, pino, name, strlen(name));
	if (rc < 0 && rc != -ENOENT && rc != -ENODEV)
		gfs_debug("invalidate entry %s: %s", path, strerror(-rc));
	/* The directory's listing changed too (kernel readdir cache). */
	rc = fuse_lowlevel_notify_inval_inode(n->se, pino, 0, 0);
	if (rc < 0 && rc != -ENOENT && rc != -ENODEV)
		gfs_debug("invalidate dir %s: %s", parent, strerror(-rc));
}

static bool gfs_notifier_parent_known(struct gfs_notifier *n, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	char parent[GFS_PATH_MAX];
	if (len >= sizeof(parent))
		return true; /* cannot tell: let the thread decide */
	memcpy(parent, path, len);
	parent[len] = '\0';
	return gfs_inodes_known(n->inodes, gfs_path_ino(parent));
}

static void gfs_notifier_send(struct gfs_notifier *n, struct gfs_change_item *it)
{
	uint64_t ino = gfs_path_ino(it->path);
	if (it->change != GFS_CHANGE_MODIFIED) {
		gfs_notifier_inval_entry(n, it->path);
	}
	if (it->change == GFS_CHANGE_ENTRY_ONLY)
		return;
	if (gfs_inodes_known(n->inodes, ino)) {
		int rc = fuse_lowlevel_notify_inval_inode(n->se, ino, 0, 0);
		if (rc < 0 && rc != -ENOENT && rc != -ENODEV)
			gfs_debug("invalidate %s: %s", it->path, strerror(-rc));
	}
}

static void gfs_change_item_free(struct gfs_queue_node *node)
{
	free(GFS_QUEUE_ENTRY(node, struct gfs_change_item, node));
}

static void *gfs_notifier_main(void *arg)
{
	struct gfs_notifier *n = arg;
	struct gfs_queue batch = GFS_QUEUE_INIT;
	pthread_mutex_lock(&n->lock);
	for (;;) {
		while (gfs_queue_empty(&n->queue) && !n->stop) {
			n->waiting = true;
			pthread_cond_wait(&n->cond, &n->lock);
		}
		n->waiting = false;
		if (n->stop)
			break;
		/* Everything queued so far, in one go: while a list of
		 * 100,000 objects arrives, the informers wake this thread
		 * once per batch, not once per object. */
		gfs_queue_move(&batch, &n->queue);
		pthread_mutex_unlock(&n->lock);
		struct gfs_queue_node *node;
		while ((node = gfs_queue_pop(&batch))) {
			struct gfs_change_item *it =
			    GFS_QUEUE_ENTRY(node, struct gfs_change_item, node);
			gfs_notifier_send(n, it);
			free(it);
		}
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int gfs_notifier_start(struct gfs_notifier **out, struct fuse_session *se,
		       struct gfs_inodes *inodes)
{
	struct gfs_notifier *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->se = se;
	n->inodes = inodes;
	pthread_mutex_init(&n->lock, NULL);
	int rc = gfs_cond_init_monotonic(&n->cond);
	if (rc == 0)
		rc = -pthread_create(&n->thread, NULL, gfs_notifier_main, n);
	if (rc < 0) {
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void gfs_notifier_change(void *payload, const char *path, enum gfs_entry_type type,
			 enum gfs_change change)
{
	struct gfs_notifier *n = payload;
	/* Nothing to tell a kernel that holds neither the inode nor (for
	 * an entry that came or went) its directory: most changes while a
	 * first list streams in. Safe to decide now: the store already
	 * shows the change, and a lookup makes the inode known before it
	 * reads the store (gfs_op_lookup), so it either sees the change or
	 * is invalidated for it. */
	if (!gfs_inodes_known(n->inodes, gfs_path_ino(path)) &&
	    (change == GFS_CHANGE_MODIFIED || !gfs_notifier_parent_known(n, path)))
		return;
	size_t len = strlen(path);
	struct gfs_change_item *it = malloc(sizeof(*it) + len + 1);
	if (!it)
		return; /* the entry times out eventually; nothing else to do */
	it->change = change;
	memcpy(it->path, path, len + 1);
	pthread_mutex_lock(&n->lock);
	gfs_queue_push(&n->queue, &it->node);
	if (n->waiting) {
		n->waiting = false; /* one wake-up is enough */
		pthread_cond_signal(&n->cond);
	}
	pthread_mutex_unlock(&n->lock);
}

void gfs_notifier_stop(struct gfs_notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	gfs_queue_clear(&n->queue, gfs_change_item_free);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
}

void gfs_notifier_forget_entry(struct gfs_notifier *n, const char *path)
{
	gfs_notifier_change(n, path, GFS_ENTRY_FILE, GFS_CHANGE_ENTRY_ONLY);
}
