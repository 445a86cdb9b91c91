/*
 * gfs_statedir.h - the state directory is private to its user.
 *
 * It holds the clone (which may contain plaintext Secrets with
 * --secrets show), the log, the records of what was applied and the
 * journal of promised deletions: nobody else may read it. A directory
 * that already exists - made by an older version, by hand, or restored
 * from a backup - is tightened, not trusted.
 */
#ifndef GFS_STATEDIR_H
#define GFS_STATEDIR_H

/* Creates `dir` (and missing parents, 0700) or takes the existing one,
 * then makes it 0700 and removes group and other permissions from
 * everything below it (symbolic links are never followed). Refuses
 * (-EPERM, message set) a directory or entry owned by another user and
 * a `dir` that is not a directory. Also sets the process umask to 077,
 * so that whatever gitopsfs and libgit2 create there later stays
 * private. Returns 0 or -errno. */
int gfs_statedir_secure(const char *dir);

#endif
