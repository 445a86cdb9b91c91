/*
 * global.c - the process-wide initialisation of the foreign libraries,
 * each exactly once, whichever module needs it first. See gfs_common.h.
 */
#include <curl/curl.h>
#include <errno.h>
#include <git2.h>
#include <pthread.h>

#include "gfs_common.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_result;

static void gfs_curl_init_once(void)
{
	curl_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int gfs_global_curl_init(void)
{
	pthread_once(&curl_once, gfs_curl_init_once);
	if (curl_result != CURLE_OK)
		return gfs_error_set(-EIO, "cannot initialise libcurl: %s",
				     curl_easy_strerror(curl_result));
	return 0;
}

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void gfs_git_init_once(void)
{
	git_libgit2_init();
}

void gfs_global_git_init(void)
{
	pthread_once(&git_once, gfs_git_init_once);
}
