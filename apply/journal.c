/*
 * journal.c - pending deletions on disk. See gfs_journal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_journal.h"

struct gfs_journal {
	char *dir;
	int dir_fd;
};

int gfs_journal_open(struct gfs_journal **out, const char *dir)
{
	struct gfs_journal *j = calloc(1, sizeof(*j));
	int rc = j ? gfs_mkdir_p(dir, 0700) : -ENOMEM;
	if (rc == 0 && !(j->dir = strdup(dir)))
		rc = -ENOMEM;
	if (rc == 0 && (j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = -errno;
	if (rc < 0) {
		if (j)
			j->dir_fd = -1;
		gfs_journal_free(j);
		return gfs_error_set(rc, "cannot open the deletion journal %s: %s", dir,
				     strerror(-rc));
	}
	*out = j;
	return 0;
}

void gfs_journal_free(struct gfs_journal *j)
{
	if (!j)
		return;
	if (j->dir_fd >= 0)
		close(j->dir_fd);
	free(j->dir);
	free(j);
}

static void gfs_journal_name(char out[32], const char *path)
{
	snprintf(out, 32, "%016" PRIx64 ".json", gfs_hash64(path, strlen(path)));
}

int gfs_journal_add(struct gfs_journal *j, const char *path, const char *uid)
{
	static atomic_uint seq;
	char name[32], tmp[64];
	gfs_journal_name(name, path);
	/* A temporary name of its own per call: two deletions of one path
	 * recorded at once never write the same file. */
	snprintf(tmp, sizeof(tmp), "%s.%u.tmp", name, atomic_fetch_add(&seq, 1));
	json_t *doc = uid ? json_pack("{s:s, s:s}", "path", path, "uid", uid)
			  : json_pack("{s:s}", "path", path);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	int rc = 0,
	    fd = openat(j->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text);
	if (fd < 0)
		rc = -errno;
	else if (write(fd, text, len) != (ssize_t)len)
		rc = -EIO; /* a short write to a local file: the disk is full */
	else if (fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	/* Renamed into place, then the directory synced: the entry is either
	 * there whole after a crash, or the rm was not acknowledged. */
	if (rc == 0 &&
	    (renameat(j->dir_fd, tmp, j->dir_fd, name) < 0 || fsync(j->dir_fd) < 0))
		rc = -errno;
	free(text);
	if (rc < 0) {
		unlinkat(j->dir_fd, tmp, 0);
		return gfs_error_set(rc, "cannot record the deletion in %s: %s", j->dir,
				     strerror(-rc));
	}
	return 0;
}

void gfs_journal_remove(struct gfs_journal *j, const char *path)
{
	char name[32];
	gfs_journal_name(name, path);
	if (unlinkat(j->dir_fd, name, 0) < 0 && errno != ENOENT)
		gfs_warn("cannot remove the deletion record of %s: %s", path,
			 strerror(errno));
}

int gfs_journal_foreach(struct gfs_journal *j, gfs_journal_cb cb, void *payload)
{
	int fd = openat(j->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return gfs_error_set(-errno, "cannot read %s", j->dir);
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
			/* Half written when a crash came: never acknowledged. */
			unlinkat(j->dir_fd, de->d_name, 0);
			continue;
		}
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		char file[4096];
		json_error_t jerr;
		snprintf(file, sizeof(file), "%s/%s", j->dir, de->d_name);
		json_t *doc = json_load_file(file, 0, &jerr);
		const char *path = json_string_value(json_object_get(doc, "path"));
		if (path)
			cb(payload, path, json_string_value(json_object_get(doc, "uid")));
		else {
			gfs_warn("removing unreadable deletion record %s", file);
			unlinkat(j->dir_fd, de->d_name, 0);
		}
		json_decref(doc);
	}
	closedir(d);
	return 0;
}
