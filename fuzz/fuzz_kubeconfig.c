/*
 * fuzz_kubeconfig.c - gfs_kubeconfig_load on an arbitrary kubeconfig,
 * with and without a context name taken from the input.
 *
 * The loader reads a file, so each input is written to one in a private
 * directory (where the config's relative paths point, and which holds
 * nothing else). Paths in the input may name any file: stdin is
 * /dev/null and there is no controlling terminal, so none of them can
 * block. Properties: success gives a server, a failure a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fuzz.h"
#include "gfs_common.h"
#include "gfs_kubeconfig.h"

static char fuzz_dir[] = "/tmp/gfs-fuzz-kubeconfig.XXXXXX";
static char fuzz_path[64];

static void fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		ioctl(fd, TIOCNOTTY);
		close(fd);
	}
	if (!mkdtemp(fuzz_dir))
		abort();
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/config", fuzz_dir);
	atexit(fuzz_cleanup);
	return 0;
}

static void fuzz_load(const char *context)
{
	struct gfs_kube_creds *creds = NULL;
	int rc = gfs_kubeconfig_load(&creds, fuzz_path, context);
	if (rc == 0) {
		FUZZ_CHECK(creds && creds->server && creds->server[0], "no server");
		gfs_kube_creds_free(creds);
	} else {
		FUZZ_CHECK(rc < 0 && !creds, "rc %d", rc);
		FUZZ_CHECK(gfs_error_last()[0], "no message for %d", rc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0, "cannot write %s", fuzz_path);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "short write");
	close(fd);
	fuzz_load(NULL);
	/* The last line as a context name reaches the named-context paths. */
	const uint8_t *nl = size ? memrchr(data, '\n', size) : NULL;
	char *context = nl ? fuzz_cstring(nl + 1, size - (size_t)(nl + 1 - data)) : NULL;
	if (context && context[0])
		fuzz_load(context);
	free(context);
	return 0;
}
