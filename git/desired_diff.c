/*
 * desired_diff.c - the desired state against the live cluster, as a
 * unified diff (gfs_desired_diff in gfs_desired.h). libgit2 makes each
 * file's patch from the two buffers, so the output is what `git diff`
 * prints and `git apply` reads.
 */
#include <errno.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_desired.h"
#include "gfs_git.h"
#include "gfs_path.h"

/* A manifest larger than what the mount accepts in one write is refused
 * there too; the rendering of one may be twice as large. */
#define GFS_DESIRED_FILE_LIMIT (8u << 20)

struct gfs_live_file {
	char *path;
	struct gfs_blob *content;
};

struct gfs_live_files {
	struct gfs_live_file *v;
	size_t n, cap;
};

/* Under the store's lock: copies the path and takes a reference. */
static int gfs_live_collect(const char *path, const struct gfs_blob *content,
			    const struct gfs_entry_attr *attr, void *payload)
{
	struct gfs_live_files *l = payload;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct gfs_live_file *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].path = strdup(path)))
		return -ENOMEM;
	l->v[l->n++].content = gfs_blob_ref((struct gfs_blob *)content);
	return 0;
}

static int gfs_live_cmp(const void *a, const void *b)
{
	const struct gfs_live_file *x = a, *y = b;
	return strcmp(x->path, y->path);
}

static void gfs_live_release(struct gfs_live_files *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		gfs_blob_unref(l->v[i].content);
	}
	free(l->v);
}

/* Writes the patch from old to new (either NULL: absent) for `path`. */
static int gfs_diff_write(FILE *out, const char *subdir, const char *path,
			  const struct gfs_buf *old, const struct gfs_blob *new_content)
{
	git_patch *patch = NULL;
	git_buf text = {0};
	git_diff_options o;
	char shown[GFS_PATH_MAX * 2];
	snprintf(shown, sizeof(shown), "%s%s%s", subdir, subdir[0] ? "/" : "", path);
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	int rc =
	    git_patch_from_buffers(&patch, old ? old->data : NULL, old ? old->len : 0,
				   shown, new_content ? new_content->data : NULL,
				   new_content ? new_content->len : 0, shown, &o);
	if (rc == 0)
		rc = git_patch_to_buf(&text, patch);
	if (rc < 0)
		rc = gfs_git_error(rc, shown);
	else if (fwrite(text.ptr, 1, text.size, out) != text.size)
		rc = gfs_error_set(-EIO, "cannot write the diff: %s", strerror(errno));
	git_buf_dispose(&text);
	git_patch_free(patch);
	return rc;
}

/* The desired side of `path` as the mount would show it, into want. A
 * manifest that does not render is kept as it is (it differs, and the
 * warning says why). */
static int gfs_diff_desired(struct gfs_buf *want, struct gfs_desired *d,
			    struct gfs_store *store, const char *path)
{
	struct gfs_buf raw = GFS_BUF_INIT(GFS_DESIRED_FILE_LIMIT);
	int rc = gfs_desired_read(d, path, &raw);
	gfs_buf_reset(want);
	if (rc == 0 &&
	    gfs_store_render_manifest(want, store, path, raw.data, raw.len) < 0) {
		fprintf(stderr, "gitopsfs: warning: %s; compared as it is\n",
			gfs_error_last());
		gfs_buf_reset(want);
		rc = gfs_buf_add(want, raw.data, raw.len);
	}
	gfs_buf_release(&raw);
	return rc;
}

int gfs_desired_diff(FILE *out, size_t *differ, struct gfs_desired *d,
		     struct gfs_store *store)
{
	struct gfs_live_files live = {0};
	struct gfs_buf want = GFS_BUF_INIT(GFS_DESIRED_FILE_LIMIT * 2);
	const char *subdir = "";
	size_t i = 0, j = 0, n = gfs_desired_count(d);
	*differ = 0;
	int rc = gfs_store_foreach_file(store, gfs_live_collect, &live);
	if (rc < 0) {
		rc = gfs_error_set(rc, "cannot list the live files: %s", strerror(-rc));
		goto out;
	}
	if (live.n)
		qsort(live.v, live.n, sizeof(*live.v), gfs_live_cmp);
	/* Paths are shown from the tree's root: the subdir in front. */
	subdir = gfs_desired_subdir(d);
	/* Both lists are sorted: walk them side by side. */
	while (rc == 0 && (i < n || j < live.n)) {
		const char *dp = i < n ? gfs_desired_path(d, i) : NULL;
		const struct gfs_live_file *lf = j < live.n ? &live.v[j] : NULL;
		int c = !dp ? 1 : !lf ? -1 : strcmp(dp, lf->path);
		if (c < 0 && !gfs_store_is_object_path(store, dp)) {
			i++; /* README, .gitopsfs.yaml: ordinary files */
			continue;
		}
		const struct gfs_blob *now = c >= 0 ? lf->content : NULL;
		bool had = c <= 0;
		if (had)
			rc = gfs_diff_desired(&want, d, store, dp);
		if (rc < 0)
			break;
		bool same = had && now && now->len == want.len &&
			    memcmp(now->data, want.data, want.len) == 0;
		if (!same) {
			rc = gfs_diff_write(out, subdir, c < 0 ? dp : lf->path,
					    had ? &want : NULL, now);
			(*differ)++;
		}
		i += c <= 0;
		j += c >= 0;
	}
out:
	gfs_buf_release(&want);
	gfs_live_release(&live);
	return rc;
}
