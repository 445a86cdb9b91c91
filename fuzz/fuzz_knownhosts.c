/*
 * fuzz_knownhosts.c - gfs_knownhosts_match on any known_hosts text (the
 * file is the user's, but a mistaken or planted line must not crash or
 * stall the agent), asked about a fixed key for a plain and a [host]:port
 * name.
 *
 * Properties: a verdict is one of the four; a text without the key's
 * base64 can never say OK or REVOKED.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "gfs_knownhosts.h"

/* An ssh-ed25519 key blob ("ssh-ed25519", 32 bytes of key). */
static const unsigned char key[] = {
    0,  0,  0,  11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0,  0,
    0,  32, 1,  2,  3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14, 15,
    16, 17, 18, 19, 20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31, 32};
#define KEY_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	bool has_key = false;
	for (size_t i = 0; i + 4 <= size && !has_key; i++)
		has_key = memcmp(text + i, "AAAA", 4) == 0;
	for (unsigned port = 22; port <= 2222; port += 2200) {
		enum gfs_hostkey_verdict v = gfs_knownhosts_match(
		    text, size, "git.example.com", port, key, sizeof(key));
		FUZZ_CHECK(v >= GFS_HOSTKEY_UNKNOWN && v <= GFS_HOSTKEY_REVOKED,
			   "verdict %d", (int)v);
		FUZZ_CHECK(has_key || v == GFS_HOSTKEY_UNKNOWN ||
			       v == GFS_HOSTKEY_MISMATCH,
			   "verdict %d without the key in the text", (int)v);
	}
	return 0;
}
