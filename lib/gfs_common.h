/*
 * gfs_common.h - small shared pieces every module uses: logging, the
 * per-thread error message, a size-limited growable buffer, a refcounted
 * immutable blob, and a string-keyed hash map.
 *
 * Conventions (see ../docs/design.md):
 *  - functions return 0 on success or a negative errno;
 *  - on failure they leave a human message in the per-thread error slot
 *    (gfs_error_set), which callers may log or surface in .gitopsfs/errors;
 *  - callers decide on the code, never on the message's text;
 *  - "out" parameters come first, as in libgit2's
 *    git_reference_lookup(&ref, repo, name): gfs_store_read(&blob, &attr,
 *    store, path); anything returned through **out is the caller's to
 *    free with the matching _free/_release function;
 *  - every _free/_release accepts NULL.
 */
#ifndef GFS_COMMON_H
#define GFS_COMMON_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GFS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- logging ---------------------------------------------------------- */

enum gfs_log_level { GFS_LOG_ERROR, GFS_LOG_WARN, GFS_LOG_INFO, GFS_LOG_DEBUG };

/* Set once at start-up. Messages at or below `level` go to stderr, or to
 * the file `path` when not NULL (appended, line-buffered). */
int gfs_log_init(enum gfs_log_level level, const char *path);
void gfs_log(enum gfs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define gfs_error(...) gfs_log(GFS_LOG_ERROR, __VA_ARGS__)
#define gfs_warn(...)  gfs_log(GFS_LOG_WARN, __VA_ARGS__)
#define gfs_info(...)  gfs_log(GFS_LOG_INFO, __VA_ARGS__)
#define gfs_debug(...) gfs_log(GFS_LOG_DEBUG, __VA_ARGS__)

/* Shows `text` as the one status line at the bottom of stderr (a
 * terminal: the caller checks, see gfs_progress.h), replacing the last
 * one in place with '\r'; NULL or "" erases it. Log lines to stderr erase
 * it first, so it never ends up inside one; it never goes to a log file. */
void gfs_log_status(const char *text);
/* ---- per-thread error message ------------------------------------------ */

/* Record why the current operation failed; returns `err` (a negative
 * errno) so that `return gfs_error_set(-EINVAL, "...")` reads naturally.
 * The message must never contain a token, key or Secret value. */
int gfs_error_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message of the last gfs_error_set on this thread ("" if none).
 * Borrowed: valid until the next gfs_error_set on this thread. */
const char *gfs_error_last(void);
void gfs_error_clear(void);

/* ---- growable buffer with a hard limit --------------------------------- */

/* Everything read from the network or from a user's file goes through a
 * gfs_buf, so that a hostile or broken peer cannot make us allocate
 * without bound.
 *
 * Invariants (as git's strbuf): `data` is never NULL and data[len] is
 * always '\0', so data is a C string right after GFS_BUF_INIT or
 * gfs_buf_init, with no check. Until the first append it points at a
 * shared, read-only "" (cap == 0) that nobody may write: write only
 * within len, after an append made room. A caller that shortens len sets
 * data[len] = '\0' itself (gfs_buf_setlen does both). */
struct gfs_buf {
	char *data;   /* owned when cap > 0 */
	size_t len;   /* bytes used, not counting the final NUL */
	size_t cap;   /* bytes allocated; 0: data is the shared "" */
	size_t limit; /* appends past this fail with -EFBIG */
};

extern char gfs_buf_empty[1]; /* the shared "" of every empty gfs_buf */
#define GFS_BUF_INIT(lim)                                                                \
	{                                                                                \
		gfs_buf_empty, 0, 0, (lim)                                               \
	}
void gfs_buf_init(struct gfs_buf *b, size_t limit);
/* On error nothing is appended. */
int gfs_buf_add(struct gfs_buf *b, const void *data, size_t len);
int gfs_buf_adds(struct gfs_buf *b, const char *s);
int gfs_buf_addf(struct gfs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gfs_buf_reset(struct gfs_buf *b); /* len = 0, keeps memory */
/* Shortens b to len (<= b->len; a longer len is ignored). */
void gfs_buf_setlen(struct gfs_buf *b, size_t len);
/* Hands the data to the caller (free() it; never NULL but when out of
 * memory) and re-initialises b. */
char *gfs_buf_detach(struct gfs_buf *b, size_t *len_out);
void gfs_buf_release(struct gfs_buf *b);

/* ---- refcounted immutable bytes ---------------------------------------- */

/* Rendered files are blobs: the cache swaps in a new blob when an object
 * changes, and a reader that holds a reference keeps reading the old
 * bytes safely. */
struct gfs_blob {
	atomic_int refs;
	uint32_t len; /* a header of 8 bytes: one per object at 100k objects */
	char data[];  /* NUL-terminated for convenience */
};

/* Returns a blob with one reference, or NULL when out of memory or len
 * is 4 GiB or more. */
struct gfs_blob *gfs_blob_new(const void *data, size_t len);
struct gfs_blob *gfs_blob_ref(struct gfs_blob *b);
void gfs_blob_unref(struct gfs_blob *b);

/* ---- string-keyed hash map --------------------------------------------- */

/* Open addressing, keys copied and owned by the map, values borrowed (the
 * map never frees a value). Not thread-safe: the owner's lock guards it. */
struct gfs_map;

struct gfs_map *gfs_map_new(void);
/* A map whose keys are the caller's, not copied: each must stay valid,
 * unchanged, while its entry is in the map (a put that replaces an entry
 * takes the new key). For keys that live in the values (a node's name):
 * one string per entry instead of two. */
struct gfs_map *gfs_map_new_borrowed(void);
void gfs_map_free(struct gfs_map *m);
void *gfs_map_get(const struct gfs_map *m, const char *key);
/* Inserts or replaces; returns the old value (or NULL). On -ENOMEM through
 * *err, the map is unchanged. */
void *gfs_map_put(struct gfs_map *m, const char *key, void *value, int *err);
/* Removes and returns the value, or NULL when absent. */
void *gfs_map_del(struct gfs_map *m, const char *key);
size_t gfs_map_count(const struct gfs_map *m);
/* Calls fn for every entry in unspecified order; the map must not be
 * changed during the walk. Stops early when fn returns non-zero and
 * returns that value. */
int gfs_map_foreach(const struct gfs_map *m,
		    int (*fn)(const char *key, void *value, void *payload),
		    void *payload);

/* ---- index by a 64-bit key held in the value (idx.c) ------------------- */

/* Values borrowed; each holds its key, a uint64_t at key_offset, which
 * must not change while the value is in the index. One pointer per slot.
 * Not thread-safe: the owner's lock guards it. */
struct gfs_idx;

struct gfs_idx *gfs_idx_new(size_t key_offset);
void gfs_idx_free(struct gfs_idx *x);
void *gfs_idx_get(const struct gfs_idx *x, uint64_t key);
/* Inserts value, or replaces the value with its key; returns the one
 * replaced (or NULL). On -ENOMEM through *err, the index is unchanged. */
void *gfs_idx_put(struct gfs_idx *x, void *value, int *err);
/* Removes and returns the value with key, or NULL when absent. */
void *gfs_idx_del(struct gfs_idx *x, uint64_t key);
size_t gfs_idx_count(const struct gfs_idx *x);
/* Calls fn for every value in unspecified order; the index must not be
 * changed during the walk. Stops early when fn returns non-zero and
 * returns that value. */
int gfs_idx_foreach(const struct gfs_idx *x, int (*fn)(void *value, void *payload),
		    void *payload);

/* ---- process-wide initialisation ---------------------------------------- */

/* The foreign libraries' global state, each made once per process by
 * whichever module needs it first (thread-safe), and kept until exit:
 * libcurl's (curl_global_init; 0, or -EIO with the reason, every time it
 * failed) and libgit2's (git_libgit2_init). Nothing else calls those. */
int gfs_global_curl_init(void);
void gfs_global_git_init(void);

/* ---- misc --------------------------------------------------------------- */

uint64_t gfs_hash64(const void *data, size_t len); /* FNV-1a 64 */
int64_t gfs_now_ns(void);                          /* CLOCK_REALTIME in nanoseconds */
int64_t gfs_monotonic_ms(void);
/* Sleep that returns early (returning 1) when *stop becomes true. */
int gfs_sleep_ms(unsigned ms, const atomic_bool *stop);
char *gfs_strdup(const char *s); /* NULL-safe strdup */
/* path made absolute (malloc'ed; NULL when out of memory): resolved by
 * realpath when it exists, else joined to the working directory - a
 * directory the command is about to create is named as the user meant,
 * not relative to wherever the daemon later runs. */
char *gfs_abspath(const char *path);
/* This process's resident set now and at its peak, in bytes (VmRSS and
 * VmHWM of /proc/self/status); 0 or -errno. */
int gfs_self_memory(uint64_t *rss, uint64_t *peak);
/* This process's open file descriptors (entries of /proc/self/fd, less
 * the one used to read it) and its soft limit (RLIMIT_NOFILE); 0 or
 * -errno. */
int gfs_self_fds(unsigned *open, uint64_t *limit);
/* Raises the soft limit of open files to the hard limit, as Go programs
 * (kubectl, Argo CD, Flux) do at start: a watch over HTTP/1.1 takes a
 * descriptor, and a thousand resources outgrow the usual 1,024. Returns
 * the soft limit now. */
uint64_t gfs_raise_fd_limit(void);

/* Condition variables: every one in gitopsfs is made with
 * gfs_cond_init_monotonic and waited on with the two helpers below, so a
 * timed wait measures CLOCK_MONOTONIC (gfs_monotonic_ms) and is neither
 * stretched nor cut short when someone sets the wall clock. A condition
 * variable made with plain pthread_cond_init would make these waits wrong
 * (they would wait until 1970 + uptime: not at all). */
int gfs_cond_init_monotonic(pthread_cond_t *cond); /* 0 or -errno */
/* pthread_cond_timedwait until gfs_monotonic_ms() reaches deadline_ms (the
 * mutex held, as for pthread_cond_wait). Returns 0 (woken, maybe
 * spuriously: check the predicate), or ETIMEDOUT. */
int gfs_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex,
			int64_t deadline_ms);
/* The same for at most `ms` milliseconds from now. */
int gfs_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex, unsigned ms);
/* mkdir -p: path and every missing directory above it, with `mode`;
 * returns 0 or -errno. The _at form takes a relative path below dirfd. */
int gfs_mkdir_p(const char *path, unsigned mode);
int gfs_mkdir_p_at(int dirfd, const char *path, unsigned mode);

/* ---- base64 (base64.c) --------------------------------------------------- */

/* Decoding refuses text longer than this, encoding data longer than
 * twice it: every use (SOPS values, age files, known_hosts keys) is far
 * smaller. */
#define GFS_BASE64_MAX (2u << 20)
/* Standard base64: padded (as SOPS and known_hosts write it) or unpadded
 * (as the age header does). Encoding appends to out (-EFBIG past the
 * limit). Decoding is strict (canonical, no whitespace); *out is
 * malloc'ed. 0, -EINVAL or -ENOMEM. */
int gfs_base64_encode(struct gfs_buf *out, const void *data, size_t len, bool pad);
int gfs_base64_decode(unsigned char **out, size_t *out_len, const char *text, size_t len,
		      bool pad);

#endif
