/*
 * test_gitcred.c - Git credentials (sync/gitcred.c): which origin a URL
 * names, and that the credential callback hands the token or key only to
 * a connection to that origin's host and port, never a token over plain
 * http except to a loopback address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_gitcred.h"
#include "tap.h"

static void origin(const char *url, const char *scheme, const char *host, unsigned port,
		   bool loopback)
{
	struct gfs_gitcred c;
	CHECK_INT(gfs_gitcred_init(&c, url), 0);
	CHECK_STR(c.scheme, scheme);
	CHECK_STR(c.host, host);
	CHECK_INT(c.port, port);
	CHECK_INT(c.loopback, loopback);
}

static void urls_name_scheme_host_and_port(void)
{
	origin("https://git.example.com/org/repo.git", "https", "git.example.com", 443,
	       false);
	origin("https://user:pw@Git.Example.COM:8443/r", "https", "git.example.com", 8443,
	       false);
	origin("http://127.0.0.1:3000/r.git", "http", "127.0.0.1", 3000, true);
	origin("http://localhost/r.git", "http", "localhost", 80, true);
	origin("http://127.1.2.3/r", "http", "127.1.2.3", 80, true);
	origin("http://[::1]:8080/r", "http", "::1", 8080, true);
	origin("http://[2001:db8::1]/r", "http", "2001:db8::1", 80, false);
	origin("http://10.0.0.1/r", "http", "10.0.0.1", 80, false);
	origin("ssh://git@github.com:2222/org/repo.git", "ssh", "github.com", 2222,
	       false);
	origin("git@github.com:org/repo.git", "ssh", "github.com", 22, false);
	origin("git://example.com/r", "git", "example.com", 9418, false);
	origin("/srv/git/repo.git", "", "", 0, false);
	origin("./relative/repo.git", "", "", 0, false);
	origin("file:///srv/git/repo.git", "", "", 0, false);
	struct gfs_gitcred c;
	CHECK_INT(gfs_gitcred_init(&c, "https:///nohost"), -EINVAL);
	CHECK_INT(gfs_gitcred_init(&c, "https://h:notaport/r"), -EINVAL);
	CHECK_INT(gfs_gitcred_init(&c, "gopher://h/r"), -EINVAL);
}

static void a_token_over_plain_http_is_refused_unless_loopback(void)
{
	struct gfs_gitcred c;
	setenv(GFS_GIT_TOKEN_ENV, "t0ken", 1);
	gfs_gitcred_init(&c, "http://git.example.com/r.git");
	CHECK_INT(gfs_gitcred_check_env(&c), -EACCES);
	CHECK(strstr(gfs_error_last(),
		     "refusing to send GITOPSFS_GIT_TOKEN in clear text") != NULL);
	CHECK(strstr(gfs_error_last(), "t0ken") == NULL);
	gfs_gitcred_init(&c, "http://127.0.0.1:8080/r.git");
	CHECK_INT(gfs_gitcred_check_env(&c), 0);
	gfs_gitcred_init(&c, "https://git.example.com/r.git");
	CHECK_INT(gfs_gitcred_check_env(&c), 0);
	unsetenv(GFS_GIT_TOKEN_ENV);
	gfs_gitcred_init(&c, "http://git.example.com/r.git");
	CHECK_INT(gfs_gitcred_check_env(&c), 0); /* a public repository */
}

/* Asks the callback as libgit2 would, after a connection to host:port. */
static int ask(struct gfs_gitcred *c, const char *host, const char *port,
	       unsigned allowed, git_credential **cred)
{
	gfs_gitcred_note_connection(host, port);
	*cred = NULL;
	return gfs_gitcred_acquire(cred, "https://configured.example/r", NULL, allowed,
				   c);
}

static const char *userpass_user(git_credential *cred)
{
	return cred && cred->credtype == GIT_CREDENTIAL_USERPASS_PLAINTEXT
		   ? ((git_credential_userpass_plaintext *)cred)->username
		   : NULL;
}

static void the_token_goes_to_the_origin_host_and_port_only(void)
{
	struct gfs_gitcred c;
	git_credential *cred = NULL;
	setenv(GFS_GIT_TOKEN_ENV, "t0ken", 1);
	setenv(GFS_GIT_USER_ENV, "robot", 1);
	gfs_gitcred_init(&c, "https://git.example.com/r.git");
	CHECK_INT(
	    ask(&c, "git.example.com", "443", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    0);
	CHECK_STR(userpass_user(cred), "robot");
	git_credential_free(cred);
	CHECK_INT(
	    ask(&c, "GIT.example.com", "443", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    0);
	git_credential_free(cred);
	/* Redirected to another host, or another port of the same host. */
	CHECK_INT(
	    ask(&c, "evil.example.com", "443", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    GIT_EUSER);
	CHECK(cred == NULL);
	CHECK(strstr(git_error_last()->message,
		     "not offering Git credentials to evil.example.com:443") != NULL);
	CHECK_INT(
	    ask(&c, "git.example.com", "8443", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    GIT_EUSER);
	CHECK(cred == NULL);
	/* Nothing known about the connection: nothing handed out. */
	gfs_gitcred_note_connection(NULL, NULL);
	CHECK_INT(gfs_gitcred_acquire(&cred, "https://git.example.com/r.git", NULL,
				      GIT_CREDENTIAL_USERPASS_PLAINTEXT, &c),
		  GIT_EUSER);
	CHECK(cred == NULL);
	unsetenv(GFS_GIT_USER_ENV);
	unsetenv(GFS_GIT_TOKEN_ENV);
}

static void plain_http_gets_a_token_only_on_loopback(void)
{
	struct gfs_gitcred c;
	git_credential *cred = NULL;
	setenv(GFS_GIT_TOKEN_ENV, "t0ken", 1);
	gfs_gitcred_init(&c, "http://git.example.com/r.git");
	CHECK_INT(
	    ask(&c, "git.example.com", "80", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    GIT_EUSER);
	CHECK(cred == NULL);
	gfs_gitcred_init(&c, "http://127.0.0.1:8080/r.git");
	CHECK_INT(ask(&c, "127.0.0.1", "8080", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
		  0);
	CHECK_STR(userpass_user(cred), "git");
	git_credential_free(cred);
	unsetenv(GFS_GIT_TOKEN_ENV);
}

static void ssh_keys_go_to_the_origin_only_and_tokens_never_over_ssh(void)
{
	struct gfs_gitcred c;
	git_credential *cred = NULL;
	setenv(GFS_GIT_SSH_KEY_ENV, "/nonexistent/id_ed25519", 1);
	setenv(GFS_GIT_TOKEN_ENV, "t0ken", 1);
	gfs_gitcred_init(&c, "git@git.example.com:org/r.git");
	CHECK_INT(ask(&c, "git.example.com", "22", GIT_CREDENTIAL_SSH_KEY, &cred), 0);
	CHECK(cred && cred->credtype == GIT_CREDENTIAL_SSH_KEY);
	git_credential_free(cred);
	CHECK_INT(ask(&c, "other.example.com", "22", GIT_CREDENTIAL_SSH_KEY, &cred),
		  GIT_EUSER);
	CHECK(cred == NULL);
	/* ssh password authentication never gets the https token. */
	CHECK_INT(
	    ask(&c, "git.example.com", "22", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    GIT_PASSTHROUGH);
	CHECK(cred == NULL);
	unsetenv(GFS_GIT_SSH_KEY_ENV);
	unsetenv(GFS_GIT_TOKEN_ENV);
}

static void a_rejected_token_is_not_offered_forever(void)
{
	struct gfs_gitcred c;
	git_credential *cred = NULL;
	setenv(GFS_GIT_TOKEN_ENV, "t0ken", 1);
	gfs_gitcred_init(&c, "https://git.example.com/r.git");
	for (int i = 0; i < 3; i++) {
		CHECK_INT(ask(&c, "git.example.com", "443",
			      GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
			  0);
		git_credential_free(cred);
	}
	CHECK_INT(
	    ask(&c, "git.example.com", "443", GIT_CREDENTIAL_USERPASS_PLAINTEXT, &cred),
	    GIT_EUSER);
	CHECK(strstr(git_error_last()->message, "refused the credentials") != NULL);
	unsetenv(GFS_GIT_TOKEN_ENV);
}

int main(void)
{
	git_libgit2_init();
	TAP_RUN(urls_name_scheme_host_and_port);
	TAP_RUN(a_token_over_plain_http_is_refused_unless_loopback);
	TAP_RUN(the_token_goes_to_the_origin_host_and_port_only);
	TAP_RUN(plain_http_gets_a_token_only_on_loopback);
	TAP_RUN(ssh_keys_go_to_the_origin_only_and_tokens_never_over_ssh);
	TAP_RUN(a_rejected_token_is_not_offered_forever);
	git_libgit2_shutdown();
	return tap_done();
}
