/*
 * desired.c - the desired state `gitopsfs diff` compares with the live
 * cluster: a branch's tree or a directory. See gfs_desired.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <git2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_desired.h"
#include "gfs_git.h"
#include "gfs_gitcred.h"
#include "gfs_path.h"

struct gfs_desired_entry {
	char *path; /* relative to subdir */
	git_oid id; /* Git mode: the blob */
};

struct gfs_desired {
	git_repository *repo; /* NULL: directory mode */
	char *tmpdir;         /* a clone's, removed at free */
	char *root;           /* directory mode: <source>/<subdir> */
	char *subdir;         /* "" or "clusters/prod" */
	char *describe;
	bool has_subdir;
	struct gfs_desired_entry *v;
	size_t n, cap;
};

static int gfs_desired_add(struct gfs_desired *d, const char *path, const git_oid *id)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct gfs_desired_entry *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return gfs_error_set(-ENOMEM, "out of memory");
		d->v = v;
		d->cap = cap;
	}
	struct gfs_desired_entry *e = &d->v[d->n];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)))
		return gfs_error_set(-ENOMEM, "out of memory");
	if (id)
		git_oid_cpy(&e->id, id);
	d->n++;
	return 0;
}

static int gfs_desired_cmp(const void *a, const void *b)
{
	const struct gfs_desired_entry *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* ---- a branch's tree ------------------------------------------------------------ */

static int gfs_desired_tree_entry(const char *root, const git_tree_entry *e,
				  void *payload)
{
	struct gfs_desired *d = payload;
	char path[GFS_PATH_MAX];
	git_filemode_t mode = git_tree_entry_filemode(e);
	/* Blobs only: a symbolic link or a submodule is never an object. */
	if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
		return 0;
	int n = snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e));
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0; /* longer than any path the mount shows */
	return gfs_desired_add(d, path, git_tree_entry_id(e)) < 0 ? -1 : 0;
}

/* The commit of `branch`: refs/heads/<branch>, else a remote-tracking
 * origin/<branch> (what a CI checkout often has); HEAD without a branch.
 * 1 when the branch has no commit yet (an empty repository). */
static int gfs_desired_commit(git_commit **out, struct gfs_desired *d, const char *source,
			      const char *branch)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	char name[512];
	int rc;
	if (!branch) {
		if (git_repository_head_unborn(d->repo) == 1)
			return 1;
		rc = git_repository_head(&ref, d->repo);
		if (rc < 0)
			return gfs_git_error(rc, "cannot read the repository's HEAD");
	} else {
		snprintf(name, sizeof(name), "refs/heads/%s", branch);
		rc = git_reference_lookup(&ref, d->repo, name);
		if (rc == GIT_ENOTFOUND) {
			snprintf(name, sizeof(name), "refs/remotes/origin/%s", branch);
			rc = git_reference_lookup(&ref, d->repo, name);
		}
		if (rc == GIT_ENOTFOUND)
			return gfs_error_set(-ENOENT,
					     "%s has no branch %s; check --branch",
					     source, branch);
		if (rc < 0)
			return gfs_git_error(rc, "cannot read the branch");
	}
	rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	if (rc < 0) {
		rc = gfs_git_error(rc, "cannot read the branch's commit");
	} else {
		const char *shown = git_reference_shorthand(ref);
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), git_object_id(obj));
		if (asprintf(&d->describe, "branch %s of %s (commit %.7s)", shown, source,
			     hex) < 0)
			d->describe = NULL;
		*out = (git_commit *)obj;
		obj = NULL;
	}
	git_object_free(obj);
	git_reference_free(ref);
	return rc;
}

static int gfs_desired_load_tree(struct gfs_desired *d, const char *source,
				 const char *branch)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL, *sub = NULL;
	git_tree_entry *entry = NULL;
	int rc = gfs_desired_commit(&commit, d, source, branch);
	if (rc == 1) { /* no commit yet: nothing is desired */
		if (asprintf(&d->describe, "the empty branch of %s", source) < 0)
			d->describe = NULL;
		return 0;
	}
	if (rc < 0)
		return rc;
	if ((rc = git_commit_tree(&tree, commit)) < 0) {
		rc = gfs_git_error(rc, "cannot read the commit's tree");
		goto out;
	}
	if (d->subdir[0]) {
		rc = git_tree_entry_bypath(&entry, tree, d->subdir);
		if (rc == GIT_ENOTFOUND) {
			rc = 0;
			goto out;
		}
		if (rc == 0 && git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
			rc = gfs_error_set(-ENOTDIR,
					   "--path %s is a file in %s, not a directory",
					   d->subdir, d->describe ? d->describe : source);
			goto out;
		}
		if (rc == 0)
			rc = git_tree_lookup(&sub, d->repo, git_tree_entry_id(entry));
		if (rc < 0) {
			rc = gfs_git_error(rc, d->subdir);
			goto out;
		}
	}
	d->has_subdir = true;
	rc = git_tree_walk(sub ? sub : tree, GIT_TREEWALK_PRE, gfs_desired_tree_entry, d);
	if (rc < 0 && rc != -ENOMEM)
		rc = gfs_git_error(rc, "cannot read the tree");
out:
	git_tree_entry_free(entry);
	git_tree_free(sub);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

static int gfs_desired_rm_entry(const char *path, const struct stat *st, int flag,
				struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* A remote REPO is cloned into a temporary directory of its own. */
static int gfs_desired_clone(struct gfs_desired *d, const char *source,
			     const char *branch)
{
	struct gfs_gitcred cred;
	git_clone_options co;
	char gitdir[4096];
	const char *tmp = getenv("TMPDIR");
	int rc = gfs_gitcred_init(&cred, source);
	if (rc == 0)
		rc = gfs_gitcred_check_env(&cred);
	if (rc < 0)
		return rc;
	if (asprintf(&d->tmpdir, "%s/gitopsfs-diff-XXXXXX", tmp && *tmp ? tmp : "/tmp") <
	    0) {
		d->tmpdir = NULL;
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	if (!mkdtemp(d->tmpdir)) {
		rc = gfs_error_set(-errno, "cannot make a temporary directory %s: %s",
				   d->tmpdir, strerror(errno));
		free(d->tmpdir);
		d->tmpdir = NULL;
		return rc;
	}
	snprintf(gitdir, sizeof(gitdir), "%s/git", d->tmpdir);
	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	co.bare = 1;
	co.checkout_branch = branch;
	gfs_gitcred_callbacks(&co.fetch_opts.callbacks, &cred);
	rc = git_clone(&d->repo, source, gitdir, &co);
	if (rc < 0) {
		char what[1200];
		snprintf(what, sizeof(what), "cannot clone %s%s%s", source,
			 branch ? " at branch " : "", branch ? branch : "");
		return gfs_git_error(rc, what);
	}
	return 0;
}

/* ---- a directory ------------------------------------------------------------------ */

/* Collects the regular files below `dfd` (which it closes), never
 * following a symbolic link. */
static int gfs_desired_walk_dir(struct gfs_desired *d, int dfd, const char *rel)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *de;
	char path[GFS_PATH_MAX];
	int rc = 0;
	if (!dir) {
		close(dfd);
		return gfs_error_set(-errno, "cannot read %s/%s: %s", d->root, rel,
				     strerror(errno));
	}
	while (rc == 0 && (de = readdir(dir))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		/* Git's own directory and a mount's status files are no part
		 * of the layout. */
		if (!rel[0] &&
		    (strcmp(name, ".git") == 0 || strcmp(name, ".gitopsfs") == 0))
			continue;
		int n =
		    snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (S_ISREG(st.st_mode)) {
			rc = gfs_desired_add(d, path, NULL);
		} else if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd(dir), name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = fd < 0 ? gfs_error_set(-errno, "cannot open %s/%s: %s",
						    d->root, path, strerror(errno))
				    : gfs_desired_walk_dir(d, fd, path);
		}
	}
	closedir(dir);
	return rc;
}

static int gfs_desired_load_dir(struct gfs_desired *d, const char *source)
{
	if (asprintf(&d->root, "%s%s%s", source, d->subdir[0] ? "/" : "", d->subdir) <
		0 ||
	    asprintf(&d->describe, "directory %s", d->root) < 0) {
		d->root = d->describe = NULL;
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	int fd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && d->subdir[0])
		return 0; /* --path not there (yet): nothing desired */
	if (fd < 0)
		return gfs_error_set(-errno, "cannot open %s: %s", d->root,
				     strerror(errno));
	d->has_subdir = true;
	return gfs_desired_walk_dir(d, fd, "");
}

/* ---- opening -------------------------------------------------------------------- */

static pthread_once_t gfs_desired_once = PTHREAD_ONCE_INIT;
static int gfs_desired_once_rc;

static void gfs_desired_init_once(void)
{
	gfs_global_git_init();
	gfs_desired_once_rc = gfs_gitcred_global_init();
}

/* Could `s` be a Git URL (not a local path)? */
static bool gfs_desired_is_url(const char *s)
{
	const char *colon = strchr(s, ':');
	return strstr(s, "://") || (colon && !memchr(s, '/', (size_t)(colon - s)));
}

int gfs_desired_open(struct gfs_desired **out, const char *source, const char *branch,
		     const char *subdir)
{
	struct gfs_desired *d = calloc(1, sizeof(*d));
	struct stat st;
	int rc;
	*out = NULL;
	pthread_once(&gfs_desired_once, gfs_desired_init_once);
	if (gfs_desired_once_rc < 0) {
		free(d);
		return gfs_desired_once_rc;
	}
	if (!d || !(d->subdir = strdup(subdir ? subdir : ""))) {
		free(d);
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	if (git_repository_open_ext(&d->repo, source, GIT_REPOSITORY_OPEN_NO_SEARCH,
				    NULL) == 0)
		rc = gfs_desired_load_tree(d, source, branch);
	else if (stat(source, &st) == 0 && S_ISDIR(st.st_mode))
		rc = branch ? gfs_error_set(-EINVAL,
					    "%s is a directory, not a Git repository: "
					    "--branch does not apply to it",
					    source)
			    : gfs_desired_load_dir(d, source);
	else if (stat(source, &st) == 0 || !gfs_desired_is_url(source))
		rc = gfs_error_set(
		    -ENOENT, "%s is neither a Git repository nor a directory", source);
	else if ((rc = gfs_desired_clone(d, source, branch)) == 0)
		rc = gfs_desired_load_tree(d, source, branch);
	if (rc == 0 && !d->describe)
		rc = gfs_error_set(-ENOMEM, "out of memory");
	if (rc < 0) {
		gfs_desired_free(d);
		return rc;
	}
	if (d->n)
		qsort(d->v, d->n, sizeof(*d->v), gfs_desired_cmp);
	*out = d;
	return 0;
}

void gfs_desired_free(struct gfs_desired *d)
{
	if (!d)
		return;
	git_repository_free(d->repo);
	if (d->tmpdir)
		nftw(d->tmpdir, gfs_desired_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].path);
	free(d->v);
	free(d->tmpdir);
	free(d->root);
	free(d->subdir);
	free(d->describe);
	free(d);
}

const char *gfs_desired_describe(const struct gfs_desired *d)
{
	return d->describe;
}

const char *gfs_desired_subdir(const struct gfs_desired *d)
{
	return d->subdir;
}

bool gfs_desired_has_subdir(const struct gfs_desired *d)
{
	return d->has_subdir;
}

size_t gfs_desired_count(const struct gfs_desired *d)
{
	return d->n;
}

const char *gfs_desired_path(const struct gfs_desired *d, size_t i)
{
	return i < d->n ? d->v[i].path : NULL;
}

static const struct gfs_desired_entry *gfs_desired_find(const struct gfs_desired *d,
							const char *path)
{
	struct gfs_desired_entry key = {.path = (char *)path};
	return d->n ? bsearch(&key, d->v, d->n, sizeof(*d->v), gfs_desired_cmp) : NULL;
}

static int gfs_desired_read_file(struct gfs_desired *d, const char *path,
				 struct gfs_buf *out)
{
	char chunk[65536];
	int dfd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	int fd = dfd < 0 ? -1 : openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		rc = gfs_error_set(-errno, "cannot read %s/%s: %s", d->root, path,
				   strerror(errno));
	for (ssize_t n; rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0;) {
		if (n < 0 && errno != EINTR)
			rc = gfs_error_set(-errno, "cannot read %s/%s: %s", d->root, path,
					   strerror(errno));
		else if (n > 0 && gfs_buf_add(out, chunk, (size_t)n) < 0)
			rc = gfs_error_set(-EFBIG, "%s/%s is larger than %zu bytes",
					   d->root, path, out->limit);
	}
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int gfs_desired_read(struct gfs_desired *d, const char *path, struct gfs_buf *out)
{
	const struct gfs_desired_entry *e = gfs_desired_find(d, path);
	git_blob *blob = NULL;
	gfs_buf_reset(out);
	if (!e)
		return -ENOENT;
	if (!d->repo)
		return gfs_desired_read_file(d, path, out);
	int rc = git_blob_lookup(&blob, d->repo, &e->id);
	if (rc < 0)
		return gfs_git_error(rc, path);
	size_t len = (size_t)git_blob_rawsize(blob);
	rc = len > out->limit ? -EFBIG : gfs_buf_add(out, git_blob_rawcontent(blob), len);
	git_blob_free(blob);
	if (rc < 0)
		return gfs_error_set(rc, "%s%s%s is larger than %zu bytes", d->subdir,
				     d->subdir[0] ? "/" : "", path, out->limit);
	return 0;
}
