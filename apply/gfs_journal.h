/*
 * gfs_journal.h - the deletions gitopsfs has promised and not yet carried
 * out, kept on disk so that a crash cannot lose them (SPEC section 5: "an
 * acknowledged rm is carried out even if gitopsfs crashes during its grace
 * period"; section 6: a decided prune is still done after a restart).
 *
 * One small file per pending deletion in a directory of the state
 * directory, named by a hash of the object path and holding the path and
 * the uid of the object that was deleted (so that a replay long after
 * never deletes a new object created at the same path meanwhile). An entry
 * is on disk - written, synced, renamed into place, directory synced -
 * before gfs_journal_add returns, and only then is the rm acknowledged.
 *
 * Thread-safe: each entry is its own file, and the operations on one path
 * come from one caller at a time (the applier's lock orders them).
 */
#ifndef GFS_JOURNAL_H
#define GFS_JOURNAL_H

struct gfs_journal;

/* Opens (creating, mode 0700) the journal directory. */
int gfs_journal_open(struct gfs_journal **out, const char *dir);
void gfs_journal_free(struct gfs_journal *j);

/* Records that path (object uid, may be NULL) is to be deleted; durable
 * on return. 0 or -errno (the rm must then fail: nothing is promised). */
int gfs_journal_add(struct gfs_journal *j, const char *path, const char *uid);
/* Forgets path: deleted, or the deletion was cancelled. */
void gfs_journal_remove(struct gfs_journal *j, const char *path);

/* Calls cb for every entry left by an earlier run (uid NULL when none was
 * recorded); unreadable entries are reported and removed. */
typedef void (*gfs_journal_cb)(void *payload, const char *path, const char *uid);
int gfs_journal_foreach(struct gfs_journal *j, gfs_journal_cb cb, void *payload);

#endif
