/*
 * dispatch.c - who answers the kernel's requests: one dispatcher thread
 * reads every request and answers those served from memory at once; the
 * few that may wait (on the API server, or on rendering a special file)
 * are handed to a small pool of workers, which answer them later.
 *
 * Why not libfuse's multi-threaded loop: it keeps up to ten threads
 * blocked on /dev/fuse, and the kernel wakes the one that has waited
 * longest, so consecutive requests land on cold threads, often on the
 * other core. A `cat` of every file (an open and a release each) took
 * 1.30 s for 10,000 files that way and 0.84 s with one thread reading
 * (tmpfs: 0.53 s), on a 2-core VM. One thread alone cannot serve a read
 * while a write waits 30 s for the API server, hence the workers.
 *
 * What runs where: a handler that may block calls gfs_defer() first; on
 * the dispatcher that queues a copy of its arguments and the handler
 * returns, on a worker (or with no dispatcher: tests) it goes on. Every
 * interleaving this allows, libfuse's own loop allowed too (there, any
 * two requests could run at once; here, the dispatcher's run one at a
 * time). Handlers on the dispatcher never wait for a worker: the locks
 * they take are never held across a network request (fs_internal.h).
 *
 * Locking: `lock` guards the queue and the counts; it is never held while
 * a handler runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "gfs_common.h"

/* Workers are started as jobs need them, up to this many, and stay. A
 * job beyond it waits for a free worker: as libfuse's loop, which starts
 * at most ten threads. */
#define GFS_DISPATCH_WORKERS 8

struct gfs_dispatch {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was queued, or stopping */
	/* Guarded by lock: */
	struct gfs_job *head, *tail;
	size_t idle;     /* workers waiting for a job */
	size_t nworkers; /* started */
	bool stopping;
	pthread_t workers[GFS_DISPATCH_WORKERS];
};

/* True on a worker thread: a handler called there goes on. */
static _Thread_local bool gfs_on_worker;

static void gfs_job_free(struct gfs_job *j)
{
	free((char *)j->name);
	free((char *)j->newname);
	free(j);
}

/* Calls the handler again, with the arguments the dispatcher copied. */
static void gfs_job_run(struct gfs_job *j)
{
	const struct fuse_lowlevel_ops *ops = &gfs_fs_ops;
	struct fuse_file_info *fi = j->has_fi ? &j->fi : NULL;
	switch (j->op) {
	case GFS_JOB_LOOKUP:
		ops->lookup(j->req, j->ino, j->name);
		break;
	case GFS_JOB_GETATTR:
		ops->getattr(j->req, j->ino, fi);
		break;
	case GFS_JOB_OPEN:
		ops->open(j->req, j->ino, fi);
		break;
	case GFS_JOB_OPENDIR:
		ops->opendir(j->req, j->ino, fi);
		break;
	case GFS_JOB_READDIR:
		ops->readdir(j->req, j->ino, j->size, j->off, fi);
		break;
	case GFS_JOB_READDIRPLUS:
		ops->readdirplus(j->req, j->ino, j->size, j->off, fi);
		break;
	case GFS_JOB_FLUSH:
		ops->flush(j->req, j->ino, fi);
		break;
	case GFS_JOB_FSYNC:
		ops->fsync(j->req, j->ino, j->datasync, fi);
		break;
	case GFS_JOB_RELEASE:
		ops->release(j->req, j->ino, fi);
		break;
	case GFS_JOB_UNLINK:
		ops->unlink(j->req, j->ino, j->name);
		break;
	case GFS_JOB_RENAME:
		ops->rename(j->req, j->ino, j->name, j->newparent, j->newname, j->flags);
		break;
	}
}

static void *gfs_worker_main(void *arg)
{
	struct gfs_dispatch *d = arg;
	gfs_on_worker = true;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->head && !d->stopping) {
			d->idle++;
			pthread_cond_wait(&d->work, &d->lock);
			d->idle--;
		}
		struct gfs_job *j = d->head;
		if (!j)
			break; /* stopping, and nothing left to answer */
		d->head = j->next;
		if (!d->head)
			d->tail = NULL;
		pthread_mutex_unlock(&d->lock);
		gfs_job_run(j);
		gfs_job_free(j);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* Queues j for a worker, starting one when none is idle and fewer than
 * the most run; called with d->lock held. False when there is no worker
 * at all (not even the first could start): j is not queued, and the
 * caller runs it itself rather than never answering it. */
static bool gfs_dispatch_queue(struct gfs_dispatch *d, struct gfs_job *j)
{
	if (d->idle == 0 && d->nworkers < GFS_DISPATCH_WORKERS) {
		int rc =
		    pthread_create(&d->workers[d->nworkers], NULL, gfs_worker_main, d);
		if (rc == 0)
			d->nworkers++;
		else
			gfs_warn("cannot start a request worker: %s", strerror(rc));
	}
	if (d->nworkers == 0)
		return false;
	if (d->tail)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
	pthread_cond_signal(&d->work);
	return true;
}

bool gfs_defer(fuse_req_t req, const struct gfs_job *args)
{
	struct gfs_fs *fs = gfs_req_fs(req);
	struct gfs_dispatch *d = fs->dispatch;
	if (!d || gfs_on_worker)
		return false;
	struct gfs_job *j = malloc(sizeof(*j));
	if (j) {
		*j = *args;
		j->next = NULL;
		j->req = req;
		j->name = args->name ? strdup(args->name) : NULL;
		j->newname = args->newname ? strdup(args->newname) : NULL;
	}
	if (!j || (args->name && !j->name) || (args->newname && !j->newname)) {
		if (j)
			gfs_job_free(j);
		/* Answered, with nothing done: the caller may try again. */
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	pthread_mutex_lock(&d->lock);
	bool queued = gfs_dispatch_queue(d, j);
	pthread_mutex_unlock(&d->lock);
	if (!queued) {
		/* Late, and stalling every other request meanwhile, but answered. */
		gfs_on_worker = true;
		gfs_job_run(j);
		gfs_on_worker = false;
		gfs_job_free(j);
	}
	return true;
}

int gfs_dispatch_run(struct gfs_fs *fs)
{
	struct gfs_dispatch *d = calloc(1, sizeof(*d));
	if (!d)
		return gfs_error_set(-ENOMEM, "out of memory");
	d->se = fs->se;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->work, NULL);
	fs->dispatch = d;

	struct fuse_buf buf = {.mem = NULL};
	int rc = 0;
	while (!fuse_session_exited(fs->se)) {
		int res = fuse_session_receive_buf(fs->se, &buf);
		if (res == -EINTR)
			continue;
		if (res < 0)
			rc = gfs_error_set(res, "reading a request from the kernel: %s",
					   strerror(-res));
		if (res <= 0)
			break; /* unmounted (0), or the error above */
		fuse_session_process_buf(fs->se, &buf);
	}
	free(buf.mem);

	/* Answer what was handed over (to a kernel that may be gone: the
	 * replies then fail, harmlessly), then stop the workers. */
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	size_t n = d->nworkers;
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < n; i++)
		pthread_join(d->workers[i], NULL);
	fs->dispatch = NULL;
	pthread_cond_destroy(&d->work);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return rc;
}
