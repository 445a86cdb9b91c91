/*
 * sync_commit.c - commit mode: every cluster change becomes a commit.
 */
#include <errno.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_path.h"
#include "sync_internal.h"

#define GFS_MSG_LIMIT (1u << 20)

/* "kubectl-edit (Update), 2026-11-26T05:00:00Z": who changed the object
 * last, from the newest managedFields entry. */
static void gfs_object_changer(struct gfs_store *store, const char *path, char *out,
			       size_t outsz)
{
	struct gfs_object *live = NULL;
	struct gfs_manager_entry m;
	snprintf(out, outsz, "%s", "");
	if (gfs_store_live(&live, store, path) < 0)
		return;
	gfs_object_newest_manager(&m, live);
	if (m.manager)
		snprintf(out, outsz, "%s (%s), %s", m.manager,
			 m.operation ? m.operation : "Update", m.time);
	gfs_object_unref(live);
}

/* ---- authors -------------------------------------------------------------------- */

/* A commit's author is the field manager that made the change (SPEC 6),
 * so that git blame, git log --author and git shortlog tell who changed
 * the cluster; its date is that manager's newest managedFields time. A
 * deletion is not attributed by the API: it gets this name. An object
 * with no managedFields at all (an old server) gets the other. */
#define GFS_AUTHOR_DELETED "deleted-in-cluster"
#define GFS_AUTHOR_UNKNOWN "unknown-manager"

struct gfs_author {
	char name[128];
	int64_t time_ns;       /* newest change of this author in the round */
	struct gfs_map *paths; /* the paths it changed (values unused) */
};

struct gfs_authors {
	struct gfs_author *v;
	size_t n, cap;
	struct gfs_store *store;
	int err;
};

/* A manager's name as a Git identity: no character Git's signature
 * format gives a meaning to. */
static void gfs_author_name(char *out, size_t outsz, const char *manager)
{
	snprintf(out, outsz, "%s", manager && *manager ? manager : GFS_AUTHOR_UNKNOWN);
	for (char *p = out; *p; p++)
		if (*p == '<' || *p == '>' || *p == '\n' || *p == '\r')
			*p = '_';
}

static struct gfs_author *gfs_authors_get(struct gfs_authors *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return &a->v[i];
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct gfs_author *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	struct gfs_author *au = &a->v[a->n];
	memset(au, 0, sizeof(*au));
	snprintf(au->name, sizeof(au->name), "%s", name);
	if (!(au->paths = gfs_map_new()))
		return NULL;
	a->n++;
	return au;
}

/* Puts path in the bucket of whoever changed it last. */
static int gfs_authors_add(const char *path, void *value, void *payload)
{
	struct gfs_authors *a = payload;
	struct gfs_object *live = NULL;
	struct gfs_manager_entry m = {0};
	char name[128];
	int64_t t = 0;
	if (gfs_store_live(&live, a->store, path) == 0) {
		gfs_object_newest_manager(&m, live);
		gfs_author_name(name, sizeof(name), m.manager);
		t = m.time_ns;
	} else {
		snprintf(name, sizeof(name), "%s", GFS_AUTHOR_DELETED);
	}
	gfs_object_unref(live);
	struct gfs_author *au = gfs_authors_get(a, name);
	if (!au)
		return a->err = -ENOMEM;
	if (!t)
		t = gfs_now_ns();
	if (t > au->time_ns)
		au->time_ns = t;
	gfs_map_put(au->paths, path, (void *)1, &a->err);
	return a->err;
}

static int gfs_author_cmp(const void *x, const void *y)
{
	const struct gfs_author *a = x, *b = y;
	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void gfs_authors_release(struct gfs_authors *a)
{
	for (size_t i = 0; i < a->n; i++)
		gfs_map_free(a->v[i].paths);
	free(a->v);
}

struct gfs_commit_ctx {
	struct gfs_sync *s;
	git_index *index;
	struct gfs_buf msg;
	unsigned long n;
	int err;
};

/* Puts path's live bytes (or its absence) into the commit's index and
 * notes it in the message when that changes anything. */
static int gfs_commit_path(struct gfs_commit_ctx *c, const char *path)
{
	struct gfs_blob *content = NULL;
	const git_index_entry *old = git_index_get_bypath(c->index, path, 0);
	char who[256];
	int rc = gfs_store_read(&content, NULL, c->s->opts.store, path);
	if (rc == -ENOENT || rc == -EISDIR) {
		if (!old)
			return 0;
		git_index_remove_bypath(c->index, path);
		c->n++;
		return gfs_buf_addf(&c->msg, " D %s\n", path);
	}
	if (rc < 0)
		return rc;
	git_oid oid;
	rc = git_blob_create_from_buffer(&oid, c->s->repo, content->data, content->len);
	gfs_blob_unref(content);
	if (rc < 0)
		return gfs_git_error(rc, path);
	if (old && git_oid_equal(&old->id, &oid))
		return 0;
	git_index_entry e;
	memset(&e, 0, sizeof(e));
	e.path = path;
	e.mode = GIT_FILEMODE_BLOB;
	e.id = oid;
	rc = git_index_add(c->index, &e);
	if (rc < 0)
		return gfs_git_error(rc, path);
	gfs_object_changer(c->s->opts.store, path, who, sizeof(who));
	c->n++;
	return gfs_buf_addf(&c->msg, " %c %s%s%s\n", old ? 'M' : 'A', path,
			    *who ? "  by " : "", who);
}

/* The paths a full round looks at: every live file and every managed
 * path the branch has (collected first: the store's lock is held while
 * walking it). */
struct gfs_collect {
	struct gfs_map *paths;
	int err;
};

static int gfs_collect_live(const char *path, const struct gfs_blob *content,
			    const struct gfs_entry_attr *attr, void *payload)
{
	struct gfs_collect *c = payload;
	gfs_map_put(c->paths, path, (void *)1, &c->err);
	return c->err;
}

static int gfs_commit_full_set(struct gfs_sync *s, git_index *index,
			       struct gfs_map *paths)
{
	struct gfs_collect c = {paths, 0};
	int rc = gfs_store_foreach_file(s->opts.store, gfs_collect_live, &c);
	size_t n = git_index_entrycount(index);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		if (gfs_store_is_managed_path(s->opts.store, e->path))
			gfs_map_put(paths, e->path, (void *)1, &rc);
	}
	return rc;
}

static int gfs_commit_path_cb(const char *path, void *value, void *payload)
{
	return gfs_commit_path(payload, path);
}

struct gfs_user_index {
	git_index *user, *committed;
	struct gfs_store *store;
};

/* One path of the user's index, as committed, with the stat data the
 * mount reports for it: `git status` there stays clean without re-reading. */
static int gfs_user_index_one(const char *path, void *value, void *payload)
{
	struct gfs_user_index *u = payload;
	const git_index_entry *ce = git_index_get_bypath(u->committed, path, 0);
	struct gfs_entry_attr a;
	if (!ce) {
		git_index_remove_bypath(u->user, path);
		return 0;
	}
	git_index_entry e = *ce;
	if (gfs_store_stat(&a, u->store, path) == 0) {
		e.mtime.seconds = (int32_t)(a.mtime_ns / 1000000000);
		e.mtime.nanoseconds = (uint32_t)(a.mtime_ns % 1000000000);
		e.ctime = e.mtime;
		e.ino = (uint32_t)a.ino;
		e.file_size = (uint32_t)a.size;
		e.uid = getuid();
		e.gid = getgid();
	}
	git_index_add(u->user, &e);
	return 0;
}

static void gfs_commit_update_user_index(struct gfs_sync *s, git_index *committed,
					 struct gfs_map *paths)
{
	git_index *user = NULL;
	if (git_repository_index(&user, s->repo) < 0)
		return;
	git_index_read(user, 1);
	struct gfs_user_index u = {user, committed, s->opts.store};
	gfs_map_foreach(paths, gfs_user_index_one, &u);
	if (git_index_write(user) < 0)
		gfs_warn("sync: cannot update the index (is a git command running?)");
	git_index_free(user);
}

static int gfs_sync_push(struct gfs_sync *s)
{
	git_remote *origin = NULL;
	git_push_options po;
	char refspec[512];
	char *specs[] = {refspec};
	git_strarray arr = {specs, 1};
	snprintf(refspec, sizeof(refspec), "%s:%s", s->branch_ref, s->branch_ref);
	struct gfs_gitcred cred;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	int rc = git_remote_lookup(&origin, s->repo, "origin");
	if (rc < 0)
		rc = gfs_git_error(rc, "push to origin failed (will retry)");
	else if ((rc = gfs_sync_remote_callbacks(&po.callbacks, &cred, origin)) == 0 &&
		 (rc = git_remote_push(origin, &arr, &po)) < 0)
		rc = gfs_git_error(rc, "push to origin failed (will retry)");
	git_remote_free(origin);
	pthread_mutex_lock(&s->lock);
	s->push_pending = rc < 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* "kubectl-edit@field-manager.<cluster host>": an address that says who
 * this is - a field manager of this cluster - and reaches nobody. */
static void gfs_author_email(char *out, size_t outsz, const char *name,
			     const char *cluster)
{
	const char *host = cluster ? strstr(cluster, "://") : NULL;
	host = host ? host + 3 : cluster && *cluster ? cluster : "cluster";
	size_t n = strcspn(host, ":/");
	snprintf(out, outsz, "%s@field-manager.%.*s", name, (int)n, host);
	for (char *p = out; *p; p++)
		if (*p == ' ')
			*p = '_';
}

/* Commits the index on top of *parent (replacing it with the new commit)
 * as authored by au; 1 when the tree did not change. */
static int gfs_sync_make_commit(struct gfs_sync *s, git_index *index, git_commit **parent,
				struct gfs_commit_ctx *c, const struct gfs_author *au)
{
	git_oid tree_id, id;
	git_tree *tree = NULL;
	git_signature *author = NULL, *committer = NULL;
	char *message = NULL, email[256];
	int rc = git_index_write_tree_to(&tree_id, index, s->repo);
	if (rc < 0)
		return gfs_git_error(rc, "cannot write the tree");
	if (*parent && git_oid_equal(&tree_id, git_commit_tree_id(*parent)))
		return 1; /* nothing changed after all */
	gfs_author_email(email, sizeof(email), au->name, s->opts.cluster);
	rc = git_tree_lookup(&tree, s->repo, &tree_id);
	if (rc == 0)
		rc = git_signature_new(&author, au->name, email,
				       (git_time_t)(au->time_ns / 1000000000), 0);
	if (rc == 0)
		rc = git_signature_now(&committer, "gitopsfs", "gitopsfs@localhost");
	if (rc == 0 && asprintf(&message, "%s: %lu object%s changed in the cluster\n\n%s",
				au->name, c->n, c->n == 1 ? "" : "s", c->msg.data) < 0) {
		message = NULL;
		rc = -1;
	}
	if (rc == 0) {
		const git_commit *parents[] = {*parent};
		rc = git_commit_create(&id, s->repo, s->branch_ref, author, committer,
				       NULL, message, tree, *parent ? 1 : 0,
				       *parent ? parents : NULL);
	}
	if (rc == 0) {
		git_commit_free(*parent);
		*parent = NULL;
		rc = git_commit_lookup(parent, s->repo, &id);
	}
	if (rc < 0)
		rc = gfs_git_error(rc, "cannot commit");
	free(message);
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(tree);
	return rc;
}

static int gfs_sync_requeue(const char *path, void *value, void *payload)
{
	struct gfs_sync *s = payload;
	int err = 0;
	pthread_mutex_lock(&s->lock);
	gfs_map_put(s->changed, path, (void *)1, &err);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int gfs_sync_commit_round(struct gfs_sync *s, bool full)
{
	struct gfs_map *paths = gfs_sync_take_changes(s);
	struct gfs_commit_ctx c = {.s = s, .msg = GFS_BUF_INIT(GFS_MSG_LIMIT)};
	git_commit *parent = NULL;
	git_tree *ptree = NULL;
	git_oid pid;
	int rc = paths ? 0 : -ENOMEM;
	if (rc == 0 && !full && gfs_map_count(paths) == 0) {
		bool pending;
		pthread_mutex_lock(&s->lock);
		pending = s->push_pending;
		pthread_mutex_unlock(&s->lock);
		rc = pending && s->opts.push ? gfs_sync_push(s) : 0;
		goto out;
	}
	if (rc == 0 && git_reference_name_to_id(&pid, s->repo, s->branch_ref) == 0) {
		rc = git_commit_lookup(&parent, s->repo, &pid);
		if (rc == 0)
			rc = git_commit_tree(&ptree, parent);
		if (rc < 0)
			rc = gfs_git_error(rc, "cannot read the branch");
	}
	if (rc == 0 && ptree) {
		/* Someone committed a new .gitopsfs.yaml to the branch. */
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &pid);
		gfs_sync_check_config(s, ptree, hex);
	}
	if (rc == 0)
		rc = git_index_new(&c.index) < 0 ? gfs_git_error(-1, "index") : 0;
	if (rc == 0 && ptree)
		rc = git_index_read_tree(c.index, ptree) < 0 ? gfs_git_error(-1, "index")
							     : 0;
	if (rc == 0 && full)
		rc = gfs_commit_full_set(s, c.index, paths);
	/* One commit per manager, oldest change first, so that each line's
	 * blame names whoever changed it. */
	struct gfs_authors authors = {.store = s->opts.store};
	if (rc == 0)
		rc = gfs_map_foreach(paths, gfs_authors_add, &authors);
	qsort(authors.v, authors.n, sizeof(*authors.v), gfs_author_cmp);
	unsigned long total = 0, commits = 0;
	for (size_t i = 0; rc == 0 && i < authors.n; i++) {
		c.n = 0;
		gfs_buf_reset(&c.msg);
		rc = gfs_map_foreach(authors.v[i].paths, gfs_commit_path_cb, &c);
		if (rc == 0 && c.n > 0) {
			rc = gfs_sync_make_commit(s, c.index, &parent, &c, &authors.v[i]);
			total += rc == 0 ? c.n : 0;
			commits += rc == 0;
			rc = rc > 0 ? 0 : rc;
		}
	}
	gfs_authors_release(&authors);
	if (rc == 0 && total > 0) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), git_commit_id(parent));
		gfs_info("sync: committed %lu change%s, up to %.12s", total,
			 total == 1 ? "" : "s", hex);
		gfs_commit_update_user_index(s, c.index, paths);
		gfs_sync_note(s, hex, NULL, commits);
		if (s->opts.push)
			rc = gfs_sync_push(s);
	}
	if (rc < 0) {
		gfs_sync_note(s, NULL, gfs_error_last(), 0);
		/* Nothing is lost: the paths go back for the next round. */
		gfs_map_foreach(paths, gfs_sync_requeue, s);
	}
out:
	git_tree_free(ptree);
	git_commit_free(parent);
	git_index_free(c.index);
	gfs_buf_release(&c.msg);
	gfs_sync_paths_free(paths);
	return rc;
}
