/*
 * test_knownhosts.c - known_hosts read as ssh reads it: plain and hashed
 * names, [host]:port, wildcards and negation, @revoked, comments, CRLF;
 * and the fingerprint printed as ssh prints it.
 */
#include <stdlib.h>
#include <string.h>

#include "gfs_knownhosts.h"
#include "tap.h"

/* ssh-ed25519 with key bytes 1..32, and another with 2..33. */
static unsigned char key[51], other[51];
#define KEY   "AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
#define OTHER "AAAAC3NzaC1lZDI1NTE5AAAAIAIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh"
/* HMAC-SHA1 with salt "0123456789abcdefghij" of the two names. */
#define HASHED_22   "|1|MDEyMzQ1Njc4OWFiY2RlZmdoaWo=|4XKDM3Rddj4Zr5SeQ6VLeII6A5s="
#define HASHED_2222 "|1|MDEyMzQ1Njc4OWFiY2RlZmdoaWo=|OvJkATCEkejRPWj17xTkdbH4d44="

static void blob(unsigned char *b, int first)
{
	static const unsigned char head[] = {0,   0,   0,   11,  's', 's', 'h',
					     '-', 'e', 'd', '2', '5', '5', '1',
					     '9', 0,   0,   0,   32};
	memcpy(b, head, sizeof(head));
	for (int i = 0; i < 32; i++)
		b[sizeof(head) + i] = (unsigned char)(first + i);
}

static enum gfs_hostkey_verdict v(const char *text, const char *host, unsigned port,
				  const unsigned char *k)
{
	return gfs_knownhosts_match(text, strlen(text), host, port, k, sizeof(key));
}

static void plain_names_and_ports(void)
{
	const char *t = "git.example.com ssh-ed25519 " KEY "\n";
	CHECK_INT(v(t, "git.example.com", 22, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "GIT.Example.com", 22, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "git.example.com", 22, other), GFS_HOSTKEY_MISMATCH);
	CHECK_INT(v(t, "git.example.org", 22, key), GFS_HOSTKEY_UNKNOWN);
	/* A line for port 22 says nothing about another port. */
	CHECK_INT(v(t, "git.example.com", 2222, key), GFS_HOSTKEY_UNKNOWN);
	const char *p = "[git.example.com]:2222 ssh-ed25519 " KEY " a comment\r\n";
	CHECK_INT(v(p, "git.example.com", 2222, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(p, "git.example.com", 22, key), GFS_HOSTKEY_UNKNOWN);
}

static void several_keys_for_one_host(void)
{
	const char *t = "# keys\n\ngit.example.com ssh-ed25519 " OTHER "\n"
			"  git.example.com ssh-ed25519 " KEY "\n";
	CHECK_INT(v(t, "git.example.com", 22, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "git.example.com", 22, other), GFS_HOSTKEY_OK);
}

static void patterns(void)
{
	const char *t = "*.example.com,!evil.example.com ssh-ed25519 " KEY "\n"
			"git?.example.org ssh-ed25519 " KEY "\n";
	CHECK_INT(v(t, "git.example.com", 22, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "evil.example.com", 22, key), GFS_HOSTKEY_UNKNOWN);
	CHECK_INT(v(t, "git1.example.org", 22, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "git12.example.org", 22, key), GFS_HOSTKEY_UNKNOWN);
	/* `[` is literal, not a glob bracket. */
	CHECK_INT(v("[10.0.0.1]:*,x ssh-ed25519 " KEY "\n", "10.0.0.1", 7999, key),
		  GFS_HOSTKEY_OK);
	CHECK_INT(v("1 ssh-ed25519 " KEY "\n", "10.0.0.1", 7999, key),
		  GFS_HOSTKEY_UNKNOWN);
}

static void hashed_names(void)
{
	char t[512];
	snprintf(t, sizeof(t), "%s ssh-ed25519 %s\n%s ssh-ed25519 %s\n", HASHED_22, KEY,
		 HASHED_2222, OTHER);
	CHECK_INT(v(t, "git.example.com", 22, key), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "git.example.com", 2222, other), GFS_HOSTKEY_OK);
	CHECK_INT(v(t, "git.example.com", 2222, key), GFS_HOSTKEY_MISMATCH);
	CHECK_INT(v(t, "git.example.org", 22, key), GFS_HOSTKEY_UNKNOWN);
}

static void revoked_and_certificate_authorities(void)
{
	const char *t = "@revoked * ssh-ed25519 " KEY "\n"
			"git.example.com ssh-ed25519 " KEY "\n";
	CHECK_INT(v(t, "git.example.com", 22, key), GFS_HOSTKEY_REVOKED);
	/* A CA line vouches for certificates, which are not supported: it
	 * does not vouch for a plain key. */
	const char *ca = "@cert-authority *.example.com ssh-ed25519 " KEY "\n";
	CHECK_INT(v(ca, "git.example.com", 22, key), GFS_HOSTKEY_UNKNOWN);
}

static void broken_lines_are_skipped(void)
{
	const char *t = "git.example.com\n"
			"git.example.com ssh-ed25519\n"
			"git.example.com ssh-ed25519 not*base64\n"
			"|1|junk ssh-ed25519 " KEY "\n"
			"|1|a|b|c ssh-ed25519 " KEY "\n"
			"@bogus git.example.com ssh-ed25519 " KEY "\n";
	CHECK_INT(v(t, "git.example.com", 22, key), GFS_HOSTKEY_MISMATCH);
	CHECK_INT(v("", "git.example.com", 22, key), GFS_HOSTKEY_UNKNOWN);
}

static void fingerprints_read_like_ssh(void)
{
	/* ssh-keygen -lf prints this for the key above. */
	char fp[80];
	gfs_knownhosts_fingerprint(fp, sizeof(fp), key, sizeof(key));
	CHECK(strncmp(fp, "SHA256:", 7) == 0);
	CHECK(strlen(fp) == 7 + 43); /* 32 bytes, unpadded base64 */
	CHECK(strchr(fp, '=') == NULL);
}

int main(void)
{
	blob(key, 1);
	blob(other, 2);
	TAP_RUN(plain_names_and_ports);
	TAP_RUN(several_keys_for_one_host);
	TAP_RUN(patterns);
	TAP_RUN(hashed_names);
	TAP_RUN(revoked_and_certificate_authorities);
	TAP_RUN(broken_lines_are_skipped);
	TAP_RUN(fingerprints_read_like_ssh);
	return tap_done();
}
