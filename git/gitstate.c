/*
 * gitstate.c - gitopsfs's clone of REPO in the state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_git.h"
#include "gfs_gitcred.h"
#include "gfs_gitstate.h"
#include "gfs_indexwrite.h"
#include "gfs_packwrite.h"
#include "gfs_path.h"
#include "gfs_strv.h"

struct gfs_gitstate {
	git_repository *repo;
	char *state_dir;
	char *gitdir;
	char *local_dir;
	char *worktree;
	char head[GIT_OID_HEXSZ + 1];
};

/* Every connection libgit2 makes is recorded, so that credentials go to
 * the origin only (gfs_gitcred.h): registered once, after libgit2's own
 * initialisation. */
static int gfs_gitcred_init_rc;

static void gfs_gitcred_init_once(void)
{
	gfs_global_git_init();
	gfs_gitcred_init_rc = gfs_gitcred_global_init();
}

char *gfs_gitstate_default_dir(const char *abs_mountpoint)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *copy = strdup(abs_mountpoint), *out = NULL;
	if (!copy)
		return NULL;
	uint64_t h = gfs_hash64(abs_mountpoint, strlen(abs_mountpoint));
	const char *base = basename(copy);
	int n;
	if (xdg && *xdg)
		n = asprintf(&out, "%s/gitopsfs/%s-%08" PRIx32, xdg, base, (uint32_t)h);
	else
		n = asprintf(&out, "%s/.local/state/gitopsfs/%s-%08" PRIx32,
			     home ? home : "/tmp", base, (uint32_t)h);
	free(copy);
	return n < 0 ? NULL : out;
}

/* The origin of an existing clone must be REPO: a state directory holds
 * one repository's history. */
static int gfs_gitstate_check_origin(struct gfs_gitstate *gs, const char *repo)
{
	git_remote *origin = NULL;
	int rc = git_remote_lookup(&origin, gs->repo, "origin");
	if (rc < 0)
		return gfs_git_error(rc, "state directory has no origin");
	const char *url = git_remote_url(origin);
	char *want = realpath(repo, NULL);
	bool same = strcmp(url, repo) == 0 || (want && strcmp(url, want) == 0);
	if (!same) {
		char *have = realpath(url, NULL);
		same = have && want && strcmp(have, want) == 0;
		free(have);
	}
	if (!same)
		rc = gfs_error_set(-EEXIST,
				   "state directory %s holds a clone of %s, not %s; "
				   "pass another --state-dir or remove it",
				   gs->state_dir, url, repo);
	free(want);
	git_remote_free(origin);
	return rc < 0 ? rc : 0;
}

static int gfs_gitstate_clone(struct gfs_gitstate *gs, const char *repo,
			      const char *branch, struct gfs_gitcred *cred)
{
	git_clone_options co;
	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	co.bare = 1; /* the work tree is the mount, not a checkout */
	co.checkout_branch = branch;
	/* A private repository: the same credentials as fetch and push. */
	gfs_gitcred_callbacks(&co.fetch_opts.callbacks, cred);
	gfs_info("cloning %s into %s", repo, gs->gitdir);
	int rc = git_clone(&gs->repo, repo, gs->gitdir, &co);
	if (rc < 0)
		return gfs_git_error(rc, "cannot clone the Git repository");
	return 0;
}

static int gfs_gitstate_configure(struct gfs_gitstate *gs)
{
	git_config *cfg = NULL;
	char path[4096];
	int rc = git_repository_config(&cfg, gs->repo);
	if (rc == 0)
		rc = git_config_set_bool(cfg, "core.bare", 0);
	if (rc == 0)
		rc = git_config_set_string(cfg, "core.worktree", gs->worktree);
	git_config_free(cfg);
	if (rc < 0)
		return gfs_git_error(rc, "cannot configure the clone");
	/* .gitopsfs/ is ours, never the user's: hide it from git without
	 * putting a .gitignore into their repository. */
	snprintf(path, sizeof(path), "%s/info", gs->gitdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/info/exclude", gs->gitdir);
	FILE *f = fopen(path, "r");
	char line[256];
	bool present = false;
	while (f && fgets(line, sizeof(line), f))
		present |= strcmp(line, "/.gitopsfs/\n") == 0;
	if (f)
		fclose(f);
	if (!present && (f = fopen(path, "a"))) {
		fputs("# gitopsfs status files\n/.gitopsfs/\n", f);
		fclose(f);
	}
	return 0;
}

static void gfs_gitstate_read_head(struct gfs_gitstate *gs)
{
	git_oid oid;
	gs->head[0] = '\0';
	if (git_reference_name_to_id(&oid, gs->repo, "HEAD") == 0)
		git_oid_tostr(gs->head, sizeof(gs->head), &oid);
}

int gfs_gitstate_open(struct gfs_gitstate **out, const char *repo, const char *state_dir,
		      const char *worktree, const char *branch)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct gfs_gitstate *gs = NULL;
	struct gfs_gitcred cred;
	struct stat st;
	pthread_once(&once, gfs_gitcred_init_once);
	int rc = gfs_gitcred_init_rc;
	if (rc == 0)
		rc = gfs_gitcred_tls_setup();
	/* A token that would go in clear text is refused before anything is
	 * sent anywhere. */
	if (rc == 0)
		rc = gfs_gitcred_init(&cred, repo);
	if (rc == 0)
		rc = gfs_gitcred_check_env(&cred);
	if (rc < 0)
		return rc;
	if (!(gs = calloc(1, sizeof(*gs))))
		return -ENOMEM;
	if (!(gs->state_dir = strdup(state_dir)) || !(gs->worktree = strdup(worktree)) ||
	    asprintf(&gs->gitdir, "%s/git", state_dir) < 0 ||
	    asprintf(&gs->local_dir, "%s/files", state_dir) < 0) {
		rc = gfs_error_set(-ENOMEM, "out of memory");
		goto fail;
	}
	rc = gfs_mkdir_p(state_dir, 0700);
	if (rc < 0) {
		gfs_error_set(rc, "cannot create state directory %s: %s", state_dir,
			      strerror(-rc));
		goto fail;
	}
	if (stat(gs->gitdir, &st) == 0) {
		rc = git_repository_open(&gs->repo, gs->gitdir);
		if (rc < 0) {
			rc = gfs_git_error(
			    rc, "cannot open the clone in the state directory");
			goto fail;
		}
		rc = gfs_gitstate_check_origin(gs, repo);
	} else {
		rc = gfs_gitstate_clone(gs, repo, branch, &cred);
	}
	if (rc == 0)
		rc = gfs_gitstate_configure(gs);
	if (rc < 0)
		goto fail;
	gfs_gitstate_read_head(gs);
	*out = gs;
	return 0;
fail:
	gfs_gitstate_free(gs);
	return rc;
}

void gfs_gitstate_free(struct gfs_gitstate *gs)
{
	if (!gs)
		return;
	git_repository_free(gs->repo);
	free(gs->state_dir);
	free(gs->gitdir);
	free(gs->local_dir);
	free(gs->worktree);
	free(gs);
}

const char *gfs_gitstate_gitdir(const struct gfs_gitstate *gs)
{
	return gs->gitdir;
}

const char *gfs_gitstate_local_dir(const struct gfs_gitstate *gs)
{
	return gs->local_dir;
}

const char *gfs_gitstate_head(const struct gfs_gitstate *gs)
{
	return gs->head;
}

/* ---- first-mount preparation ------------------------------------------------- */

struct gfs_seed_ctx {
	struct gfs_gitstate *gs;
	struct gfs_store *store;
	int err;
};

static int gfs_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		int rc = gfs_mkdir_p(dir, 0700);
		if (rc < 0)
			return rc;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, len);
	int rc = (n < 0 || (size_t)n != len) ? -EIO : 0;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Writes one unmanaged blob of HEAD into STATE/files. */
static int gfs_seed_entry(const char *root, const git_tree_entry *entry, void *payload)
{
	struct gfs_seed_ctx *ctx = payload;
	char rel[GFS_PATH_MAX], dst[4096];
	git_filemode_t mode = git_tree_entry_filemode(entry);
	git_blob *blob = NULL;
	if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE &&
	    mode != GIT_FILEMODE_LINK)
		return 0;
	snprintf(rel, sizeof(rel), "%s%s", root, git_tree_entry_name(entry));
	if (gfs_store_is_managed_path(ctx->store, rel))
		return 0; /* shown live, from the cluster */
	int rc = git_blob_lookup(&blob, ctx->gs->repo, git_tree_entry_id(entry));
	if (rc < 0) {
		ctx->err = gfs_git_error(rc, rel);
		return -1;
	}
	snprintf(dst, sizeof(dst), "%s/%s", ctx->gs->local_dir, rel);
	const void *data = git_blob_rawcontent(blob);
	size_t len = (size_t)git_blob_rawsize(blob);
	if (mode == GIT_FILEMODE_LINK) {
		char target[GFS_PATH_MAX];
		snprintf(target, sizeof(target), "%.*s", (int)len, (const char *)data);
		rc = symlink(target, dst) < 0 && errno != EEXIST ? -errno : 0;
	} else {
		rc = gfs_write_file(dst, data, len,
				    mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	}
	git_blob_free(blob);
	if (rc < 0) {
		ctx->err = gfs_error_set(rc, "cannot write %s: %s", dst, strerror(-rc));
		return -1;
	}
	return 0;
}

/* The owner the mount reports for every file (fs/mount.c takes this
 * process's uid and gid), as the index records it. */
static void gfs_mount_owner(uint32_t *uid, uint32_t *gid)
{
	*uid = (uint32_t)getuid();
	*gid = (uint32_t)getgid();
}

/* Blobs of the import queued before they are written out as a pack: a
 * cluster of many or large objects is staged with bounded memory (a few
 * packs instead of ten thousand loose objects or one huge buffer; the
 * indexer's memory, per object of a pack, is bounded with it). */
#define GFS_STAGE_BATCH (4u << 20)

struct gfs_stage {
	struct gfs_packwrite *pack;
	struct gfs_indexwrite_entry *v; /* what the index will name */
	size_t n, cap;
	struct gfs_strpack paths; /* v's paths */
};

static int gfs_stage_blob(const char *path, const struct gfs_blob *content,
			  const struct gfs_entry_attr *attr, void *payload)
{
	struct gfs_stage *st = payload;
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap + st->cap / 2 : 1024;
		struct gfs_indexwrite_entry *v = realloc(st->v, cap * sizeof(*v));
		if (!v)
			return gfs_error_set(-ENOMEM, "out of memory");
		st->v = v;
		st->cap = cap;
	}
	struct gfs_indexwrite_entry *e = &st->v[st->n];
	if (!(e->path = gfs_strpack_add(&st->paths, path, strlen(path))))
		return gfs_error_set(-ENOMEM, "out of memory");
	st->n++;
	e->size = (uint32_t)content->len;
	e->mtime_ns = attr->mtime_ns;
	e->ino = (uint32_t)attr->ino;
	int rc = gfs_packwrite_add(st->pack, &e->id, (struct gfs_blob *)content);
	if (rc == 0 && gfs_packwrite_pending_bytes(st->pack) >= GFS_STAGE_BATCH)
		rc = gfs_packwrite_flush(st->pack);
	return rc;
}

/* Stages every live object in the index: the blobs first, written as
 * packs of GFS_STAGE_BATCH bytes (gfs_packwrite.h; ten thousand loose
 * objects would cost seconds), then the index that names them, written
 * whole (gfs_indexwrite.h: libgit2's index would hold every entry in
 * memory at the mount's peak), with the stat data the mount will show -
 * the times and inode number of the store's attributes, the owner the
 * mount reports (fs/mount.c: this process's uid and gid) - so that the
 * import's `git add -A` need not read the files back. */
static int gfs_gitstate_stage_live(struct gfs_gitstate *gs, struct gfs_store *store)
{
	struct gfs_stage st = {0};
	struct gfs_store_stats stats;
	uint32_t uid, gid;
	gfs_mount_owner(&uid, &gid);
	/* Room for every object known now (more may come while listing goes
	 * on: then the array grows). */
	gfs_store_get_stats(&stats, store);
	st.cap = (size_t)stats.objects + 64;
	st.v = malloc(st.cap * sizeof(*st.v));
	int rc = st.v ? gfs_packwrite_new(&st.pack, gs->repo)
		      : gfs_error_set(-ENOMEM, "out of memory");
	if (rc == 0)
		rc = gfs_store_foreach_file(store, gfs_stage_blob, &st);
	if (rc == 0)
		rc = gfs_packwrite_flush(st.pack);
	gfs_packwrite_free(st.pack);
	if (rc == 0)
		rc = gfs_indexwrite(git_repository_path(gs->repo), st.v, st.n, uid, gid);
	gfs_strpack_release(&st.paths);
	free(st.v);
	return rc;
}

struct gfs_foreach_ctx {
	git_repository *repo;
	bool (*want)(const char *path);
	int (*fn)(void *payload, const char *path, const char *data, size_t len);
	void *payload;
	int err;
};

static int gfs_foreach_entry(const char *root, const git_tree_entry *e, void *payload)
{
	struct gfs_foreach_ctx *c = payload;
	char path[GFS_PATH_MAX];
	git_blob *blob = NULL;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	if (snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e)) >=
		(int)sizeof(path) ||
	    !c->want(path))
		return 0;
	int rc = git_blob_lookup(&blob, c->repo, git_tree_entry_id(e));
	if (rc < 0) {
		c->err = gfs_git_error(rc, path);
		return -1;
	}
	rc = c->fn(c->payload, path, git_blob_rawcontent(blob),
		   (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	if (rc < 0) {
		c->err = rc;
		return -1;
	}
	return 0;
}

int gfs_gitstate_foreach_file(struct gfs_gitstate *gs, bool (*want)(const char *path),
			      int (*fn)(void *payload, const char *path, const char *data,
					size_t len),
			      void *payload)
{
	struct gfs_foreach_ctx c = {gs->repo, want, fn, payload, 0};
	git_object *tree = NULL;
	if (!gs->head[0])
		return 0;
	int rc = git_revparse_single(&tree, gs->repo, "HEAD^{tree}");
	if (rc < 0)
		return gfs_git_error(rc, "cannot read the checked-out commit");
	rc = git_tree_walk((git_tree *)tree, GIT_TREEWALK_PRE, gfs_foreach_entry, &c);
	git_object_free(tree);
	if (c.err < 0)
		return c.err;
	return rc < 0 ? gfs_git_error(rc, "cannot read the checked-out commit") : 0;
}

/* HEAD's entries whose file the mount shows with the same content get the
 * stat data the mount will report for it (as gfs_gitstate_stage_live's,
 * gfs_indexwrite.h): git's first look in the mount trusts them by lstat
 * instead of reading every file back (100,000 objects: seconds). An entry
 * that differs - drift - keeps git_index_read_tree's zero stat data: git
 * reads that file and finds it changed. */
static int gfs_index_stat_live(git_index *index, struct gfs_store *store)
{
	uint32_t uid, gid;
	gfs_mount_owner(&uid, &gid);
	size_t n = git_index_entrycount(index);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		struct gfs_blob *content = NULL;
		struct gfs_entry_attr a;
		git_oid id;
		if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0 || e->mode != GIT_FILEMODE_BLOB ||
		    gfs_store_read(&content, &a, store, e->path) < 0)
			continue;
		int rc = git_odb_hash(&id, content->data, content->len, GIT_OBJECT_BLOB);
		if (rc == 0 && git_oid_equal(&id, &e->id)) {
			struct gfs_index_stat st;
			gfs_index_stat_of(&st, a.mtime_ns, a.ino, content->len, uid, gid);
			git_index_entry u = *e;
			u.mtime.seconds = (int32_t)st.sec;
			u.mtime.nanoseconds = st.nsec;
			u.ctime = u.mtime;
			u.dev = 0;
			u.ino = st.ino;
			u.uid = st.uid;
			u.gid = st.gid;
			u.file_size = st.size;
			/* Replaces the entry in place: positions do not move. */
			rc = git_index_add(index, &u);
		}
		gfs_blob_unref(content);
		if (rc < 0)
			return gfs_git_error(rc, "cannot prepare the index");
	}
	return 0;
}

int gfs_gitstate_prepare(struct gfs_gitstate *gs, struct gfs_store *store)
{
	char marker[4096];
	git_object *tree = NULL;
	git_index *index = NULL;
	int rc;
	snprintf(marker, sizeof(marker), "%s/.prepared", gs->state_dir);
	if (access(marker, F_OK) == 0)
		return 0;
	rc = gfs_mkdir_p(gs->local_dir, 0700);
	if (rc < 0)
		return gfs_error_set(rc, "cannot create %s", gs->local_dir);
	rc = git_repository_index(&index, gs->repo);
	if (rc < 0) {
		rc = gfs_git_error(rc, "cannot open the index");
		goto out;
	}
	if (gs->head[0]) {
		struct gfs_seed_ctx ctx = {gs, store, 0};
		rc = git_revparse_single(&tree, gs->repo, "HEAD^{tree}");
		if (rc == 0)
			rc = git_tree_walk((git_tree *)tree, GIT_TREEWALK_PRE,
					   gfs_seed_entry, &ctx);
		if (ctx.err < 0) {
			rc = ctx.err;
			goto out;
		}
		if (rc == 0)
			rc = git_index_read_tree(index, (git_tree *)tree);
		if (rc == 0)
			rc = gfs_index_stat_live(index, store);
	} else {
		/* No commit yet: stage the live cluster, so that the first
		 * commit in the mount imports it. */
		git_index_free(index);
		index = NULL;
		rc = gfs_gitstate_stage_live(gs, store);
		goto staged;
	}
	if (rc == 0)
		rc = git_index_write(index);
staged:
	if (rc < 0) {
		if (rc != -EIO && rc != -ENOENT && rc != -EEXIST && rc != -ENOMEM)
			rc = gfs_git_error(rc, "cannot prepare the index");
		goto out;
	}
	rc = gfs_write_file(marker, "", 0, 0600);
out:
	git_object_free(tree);
	git_index_free(index);
	/* The repository keeps what preparing loaded - the index (an entry
	 * and a path per object), the packs mapped while it was checked -
	 * tens of megabytes at 100k objects. git, not gitopsfs, reads them
	 * from now on; libgit2 loads each again when it is next asked for.
	 * Nothing else uses the repository yet (the mount is not up). */
	git_repository__cleanup(gs->repo);
	return rc;
}

int gfs_gitstate_read_file(struct gfs_gitstate *gs, const char *path, char **out,
			   size_t *len)
{
	char spec[GFS_PATH_MAX + 8];
	git_object *obj = NULL;
	if (!gs->head[0])
		return -ENOENT;
	snprintf(spec, sizeof(spec), "HEAD:%s", path);
	int rc = git_revparse_single(&obj, gs->repo, spec);
	if (rc == GIT_ENOTFOUND)
		return -ENOENT;
	if (rc < 0)
		return gfs_git_error(rc, path);
	if (git_object_type(obj) != GIT_OBJECT_BLOB) {
		git_object_free(obj);
		return gfs_error_set(-EINVAL, "%s in the repository is not a file", path);
	}
	git_blob *blob = (git_blob *)obj;
	size_t n = (size_t)git_blob_rawsize(blob);
	*out = malloc(n + 1);
	if (*out) {
		memcpy(*out, git_blob_rawcontent(blob), n);
		(*out)[n] = '\0';
		*len = n;
	}
	git_object_free(obj);
	return *out ? 0 : -ENOMEM;
}
