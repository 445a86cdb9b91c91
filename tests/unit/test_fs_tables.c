/*
 * test_fs_tables.c - fs/'s two tables in process, without a FUSE session:
 * the inode table (lookup counts, forget, rename, what each reader was
 * served) and the handle table (ids, references, release at the last one).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../fs/fs_internal.h"
#include "gfs_path.h"
#include "tap.h"

#define CM "shop/configmaps/app.yaml"

/* ---- the inode table -------------------------------------------------------- */

static void inode_numbers_are_stable_hashes_of_the_path(void)
{
	CHECK_INT(gfs_path_ino(""), FUSE_ROOT_ID);
	CHECK_INT(gfs_path_ino(CM), gfs_hash64(CM, strlen(CM)) | 2);
	CHECK(gfs_path_ino(CM) == gfs_path_ino(CM));
	CHECK(gfs_path_ino(CM) != gfs_path_ino("shop/configmaps/other.yaml"));
	CHECK(gfs_path_ino(CM) > FUSE_ROOT_ID);
	CHECK((gfs_path_ino("x") & 2) != 0); /* never 0, never the root's 1 */
}

static void an_inode_lives_until_the_kernel_forgets_every_lookup(void)
{
	struct gfs_inodes *t = NULL;
	char path[256];
	uint64_t ino = gfs_path_ino(CM);
	CHECK_INT(gfs_inodes_new(&t), 0);
	CHECK(!gfs_inodes_known(t, ino));
	CHECK_INT(gfs_inodes_path(path, sizeof(path), t, ino), -ENOENT);
	CHECK_INT(gfs_inodes_remember(t, ino, CM), 0);
	CHECK_INT(gfs_inodes_remember(t, ino, CM), 0);
	CHECK(gfs_inodes_known(t, ino));
	CHECK_INT(gfs_inodes_path(path, sizeof(path), t, ino), 0);
	CHECK_STR(path, CM);
	CHECK_INT(gfs_inodes_path(path, 5, t, ino), -ENAMETOOLONG);
	gfs_inodes_forget(t, ino, 1);
	CHECK(gfs_inodes_known(t, ino)); /* one lookup left */
	gfs_inodes_forget(t, ino, 1);
	CHECK(!gfs_inodes_known(t, ino));
	gfs_inodes_forget(t, ino, 1); /* forgetting more is harmless */
	gfs_inodes_free(t);
}

static void the_root_is_always_known_and_never_counted(void)
{
	struct gfs_inodes *t = NULL;
	char path[16] = "x";
	CHECK_INT(gfs_inodes_new(&t), 0);
	CHECK(gfs_inodes_known(t, FUSE_ROOT_ID));
	CHECK_INT(gfs_inodes_path(path, sizeof(path), t, FUSE_ROOT_ID), 0);
	CHECK_STR(path, "");
	CHECK_INT(gfs_inodes_remember(t, FUSE_ROOT_ID, ""), 0);
	gfs_inodes_forget(t, FUSE_ROOT_ID, 100);
	CHECK(gfs_inodes_known(t, FUSE_ROOT_ID));
	gfs_inodes_free(t);
}

static void a_second_path_for_a_held_inode_number_is_refused(void)
{
	struct gfs_inodes *t = NULL;
	CHECK_INT(gfs_inodes_new(&t), 0);
	CHECK_INT(gfs_inodes_remember(t, 42, "a"), 0);
	CHECK_INT(gfs_inodes_remember(t, 42, "b"), -EIO); /* a hash collision */
	gfs_inodes_forget(t, 42, 1);
	CHECK(!gfs_inodes_known(t, 42)); /* the refused lookup counted nothing */
	gfs_inodes_free(t);
}

static void a_rename_moves_the_inode_and_everything_below(void)
{
	struct gfs_inodes *t = NULL;
	char path[256];
	CHECK_INT(gfs_inodes_new(&t), 0);
	CHECK_INT(gfs_inodes_remember(t, 10, "dir"), 0);
	CHECK_INT(gfs_inodes_remember(t, 11, "dir/f.yaml"), 0);
	CHECK_INT(gfs_inodes_remember(t, 12, "dirx/f.yaml"), 0);
	CHECK_INT(gfs_inodes_remember(t, 11, "dir/f.yaml"), 0); /* two lookups */
	bool keep = true;
	CHECK_INT(gfs_inodes_note_open(t, 11, 3, 100, &keep), 0);
	CHECK(!keep); /* first open */
	gfs_inodes_rename(t, "dir", "new");
	/* What the kernel and the readers had goes with it. */
	CHECK_INT(gfs_inodes_served(t, 11, 100), 3);
	CHECK_INT(gfs_inodes_note_open(t, 11, 3, 200, &keep), 0);
	CHECK(keep); /* same version: keep cache */
	gfs_inodes_forget(t, 11, 1);
	CHECK(gfs_inodes_known(t, 11));
	gfs_inodes_forget(t, 11, 1);
	CHECK(!gfs_inodes_known(t, 11));
	CHECK_INT(gfs_inodes_remember(t, 11, "new/f.yaml"), 0);
	CHECK_INT(gfs_inodes_path(path, sizeof(path), t, 10), 0);
	CHECK_STR(path, "new");
	CHECK_INT(gfs_inodes_path(path, sizeof(path), t, 11), 0);
	CHECK_STR(path, "new/f.yaml");
	CHECK_INT(gfs_inodes_path(path, sizeof(path), t, 12), 0);
	CHECK_STR(path, "dirx/f.yaml"); /* a name that only starts the same */
	gfs_inodes_free(t);
}

/* The readers' processes as the tests pretend them: alive unless dead[]. */
static pid_t dead[4];

static bool fake_alive(pid_t pid)
{
	for (unsigned k = 0; k < sizeof(dead) / sizeof(dead[0]); k++)
		if (dead[k] == pid)
			return false;
	return true;
}

static void a_write_is_checked_against_what_its_own_process_read(void)
{
	struct gfs_inodes *t = NULL;
	uint64_t ino = gfs_path_ino(CM);
	CHECK_INT(gfs_inodes_new(&t), 0);
	memset(dead, 0, sizeof(dead));
	gfs_inodes_set_alive(t, fake_alive);
	bool keep = true;
	CHECK_INT(gfs_inodes_note_open(t, ino, 5, 100, &keep), 0);
	CHECK(!keep); /* unknown: nothing kept */
	CHECK_INT(gfs_inodes_remember(t, ino, CM), 0);
	CHECK_INT(gfs_inodes_note_open(t, ino, 5, 100, &keep), 0);
	CHECK(!keep); /* first open: no cache */
	CHECK_INT(gfs_inodes_note_open(t, ino, 5, 200, &keep), 0);
	CHECK(keep); /* same version: keep */
	CHECK_INT(gfs_inodes_note_open(t, ino, 6, 200, &keep), 0);
	CHECK(!keep); /* changed: drop */
	CHECK_INT(gfs_inodes_served(t, ino, 100), 5);
	CHECK_INT(gfs_inodes_served(t, ino, 200), 6);
	CHECK_INT(gfs_inodes_served(t, ino, 300), 0); /* read nothing */
	CHECK_INT(gfs_inodes_served(t, ino, 0), 0);
	/* Only the last few readers are remembered. */
	for (pid_t p = 1000; p < 1020; p++)
		CHECK_INT(gfs_inodes_note_open(t, ino, 7, p, &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 100), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 1019), 7);
	for (pid_t p = 1012; p < 1020; p++)
		CHECK_INT(gfs_inodes_served(t, ino, p), 7); /* the last eight */
	/* A write remembers what its writer now has. */
	gfs_inodes_note_written(t, ino, 9, 1015);
	CHECK_INT(gfs_inodes_served(t, ino, 1015), 9);
	gfs_inodes_note_written(t, ino, 9, 300); /* never read: nothing */
	CHECK_INT(gfs_inodes_served(t, ino, 300), 0);
	gfs_inodes_free(t);
}

static void a_reader_that_exited_gives_its_record_up_first(void)
{
	struct gfs_inodes *t = NULL;
	uint64_t ino = gfs_path_ino(CM);
	bool keep;
	CHECK_INT(gfs_inodes_new(&t), 0);
	memset(dead, 0, sizeof(dead));
	gfs_inodes_set_alive(t, fake_alive);
	CHECK_INT(gfs_inodes_remember(t, ino, CM), 0);
	/* One `cat` after another: each takes the last one's record. */
	CHECK_INT(gfs_inodes_note_open(t, ino, 5, 100, &keep), 0);
	dead[0] = 100;
	CHECK_INT(gfs_inodes_note_open(t, ino, 5, 101, &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 100), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 101), 5);
	/* An editor still running keeps its record while others read. */
	for (pid_t p = 200; p < 207; p++)
		CHECK_INT(gfs_inodes_note_open(t, ino, 6, p, &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 101), 5);
	CHECK_INT(gfs_inodes_served(t, ino, 206), 6);
	/* All eight slots are live; one of them exits: the next reader
	 * takes its slot, not the oldest live one's. */
	dead[1] = 203;
	CHECK_INT(gfs_inodes_note_open(t, ino, 7, 300, &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 203), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 101), 5);
	CHECK_INT(gfs_inodes_served(t, ino, 300), 7);
	for (pid_t p = 200; p < 207; p++)
		if (p != 203)
			CHECK_INT(gfs_inodes_served(t, ino, p), 6);
	/* A rename keeps every record. */
	gfs_inodes_rename(t, CM, "elsewhere.yaml");
	CHECK_INT(gfs_inodes_served(t, ino, 101), 5);
	CHECK_INT(gfs_inodes_served(t, ino, 300), 7);
	CHECK_INT(gfs_inodes_served(t, ino, 206), 6);
	/* A pid the kernel could not map (0) is served, never recorded. */
	CHECK_INT(gfs_inodes_note_open(t, ino, 8, 0, &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, 0), 0);
	gfs_inodes_free(t);
}

static void the_real_liveness_check_knows_this_process(void)
{
	struct gfs_inodes *t = NULL;
	uint64_t ino = gfs_path_ino(CM);
	bool keep;
	CHECK_INT(gfs_inodes_new(&t), 0);
	CHECK_INT(gfs_inodes_remember(t, ino, CM), 0);
	/* A child that has exited (and been reaped) and this process. */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	CHECK(child > 0);
	waitpid(child, NULL, 0);
	CHECK_INT(gfs_inodes_note_open(t, ino, 5, child, &keep), 0);
	CHECK_INT(gfs_inodes_note_open(t, ino, 6, getpid(), &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, child), 0); /* its slot was taken */
	CHECK_INT(gfs_inodes_served(t, ino, getpid()), 6);
	CHECK_INT(gfs_inodes_note_open(t, ino, 7, getppid(), &keep), 0);
	CHECK_INT(gfs_inodes_served(t, ino, getpid()), 6); /* alive: kept */
	CHECK_INT(gfs_inodes_served(t, ino, getppid()), 7);
	gfs_inodes_free(t);
}

/* ---- the handle table --------------------------------------------------------- */

static int released;
static struct gfs_open *last_released;

static void count_release(void *payload, struct gfs_open *of)
{
	CHECK(payload == &released);
	released++;
	last_released = of;
	gfs_open_free(of);
}

static struct gfs_handles *new_table(void)
{
	struct gfs_handles *t = NULL;
	released = 0;
	last_released = NULL;
	CHECK_INT(gfs_handles_new(&t, count_release, &released), 0);
	return t;
}

static void handles_get_new_ids_and_find_their_file(void)
{
	struct gfs_handles *t = new_table();
	struct gfs_open *a = gfs_open_new(GFS_K_STORE_FILE),
			*b = gfs_open_new(GFS_K_LOCAL);
	uint64_t ia = 0, ib = 0;
	CHECK_INT(gfs_handle_add(t, a, &ia), 0);
	CHECK_INT(gfs_handle_add(t, b, &ib), 0);
	CHECK(ia != 0 && ib != 0 && ia != ib);
	struct gfs_open *got = gfs_handle_get(t, ia);
	CHECK(got == a);
	gfs_handle_put(t, got);
	CHECK(gfs_handle_get(t, 9999) == NULL);
	gfs_handle_close(t, ia);
	gfs_handle_close(t, ib);
	CHECK_INT(released, 2);
	gfs_handles_free(t);
}

static void a_request_in_progress_keeps_a_released_file_alive(void)
{
	struct gfs_handles *t = new_table();
	struct gfs_open *of = gfs_open_new(GFS_K_STORE_FILE);
	uint64_t id = 0;
	CHECK_INT(gfs_handle_add(t, of, &id), 0);
	struct gfs_open *req = gfs_handle_lock(t, id); /* a request begins */
	CHECK(req == of);
	gfs_handle_close(t, id); /* the kernel releases the file meanwhile */
	CHECK_INT(released, 0);
	CHECK(gfs_handle_get(t, id) == NULL); /* a later request finds nothing */
	CHECK(gfs_handle_lock(t, id) == NULL);
	gfs_handle_unlock(t, req); /* the request ends: now it goes */
	CHECK_INT(released, 1);
	CHECK(last_released == of);
	gfs_handle_unlock(t, NULL);
	gfs_handle_put(t, NULL);
	gfs_handles_free(t);
}

static void ids_are_never_reused(void)
{
	struct gfs_handles *t = new_table();
	uint64_t first = 0, second = 0;
	CHECK_INT(gfs_handle_add(t, gfs_open_new(GFS_K_LOCAL), &first), 0);
	gfs_handle_close(t, first);
	CHECK_INT(gfs_handle_add(t, gfs_open_new(GFS_K_LOCAL), &second), 0);
	CHECK(second != first);
	CHECK(gfs_handle_get(t, first) == NULL);
	gfs_handle_close(t, second);
	CHECK_INT(released, 2);
	gfs_handles_free(t);
}

struct racer {
	struct gfs_handles *t;
	uint64_t id;
};

static void *use_handle(void *p)
{
	struct racer *r = p;
	for (int i = 0; i < 2000; i++) {
		struct gfs_open *of = gfs_handle_lock(r->t, r->id);
		if (!of)
			break;
		of->dirty = !of->dirty; /* touch it under its lock */
		gfs_handle_unlock(r->t, of);
	}
	return NULL;
}

static void a_file_is_released_once_however_requests_race_the_close(void)
{
	struct gfs_handles *t = new_table();
	struct racer r = {t, 0};
	pthread_t th[4];
	CHECK_INT(gfs_handle_add(t, gfs_open_new(GFS_K_STORE_FILE), &r.id), 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, use_handle, &r);
	gfs_sleep_ms(5, NULL);
	gfs_handle_close(t, r.id);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(released, 1);
	gfs_handles_free(t);
}

int main(void)
{
	TAP_RUN(inode_numbers_are_stable_hashes_of_the_path);
	TAP_RUN(an_inode_lives_until_the_kernel_forgets_every_lookup);
	TAP_RUN(the_root_is_always_known_and_never_counted);
	TAP_RUN(a_second_path_for_a_held_inode_number_is_refused);
	TAP_RUN(a_rename_moves_the_inode_and_everything_below);
	TAP_RUN(a_write_is_checked_against_what_its_own_process_read);
	TAP_RUN(a_reader_that_exited_gives_its_record_up_first);
	TAP_RUN(the_real_liveness_check_knows_this_process);
	TAP_RUN(handles_get_new_ids_and_find_their_file);
	TAP_RUN(a_request_in_progress_keeps_a_released_file_alive);
	TAP_RUN(ids_are_never_reused);
	TAP_RUN(a_file_is_released_once_however_requests_race_the_close);
	return tap_done();
}
