/*
 * sha256.c - SHA-256 (FIPS 180-4), for the digests that stand in for
 * redacted Secret values. One-shot only: a Secret value is in memory
 * anyway, and this keeps a crypto library out of the build.
 */
#include <string.h>

#include "gfs_render.h"

/* clang-format off */
static const uint32_t gfs_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};
/* clang-format on */

static uint32_t gfs_ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/* One 64-byte block into the state h (FIPS 180-4 section 6.2.2). */
static void gfs_sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], v[8];

	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
		       (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
	for (int t = 16; t < 64; t++) {
		uint32_t s0 =
		    gfs_ror32(w[t - 15], 7) ^ gfs_ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 =
		    gfs_ror32(w[t - 2], 17) ^ gfs_ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int t = 0; t < 64; t++) {
		uint32_t e = v[4], a = v[0];
		uint32_t t1 = v[7] +
			      (gfs_ror32(e, 6) ^ gfs_ror32(e, 11) ^ gfs_ror32(e, 25)) +
			      ((e & v[5]) ^ (~e & v[6])) + gfs_sha256_k[t] + w[t];
		uint32_t t2 = (gfs_ror32(a, 2) ^ gfs_ror32(a, 13) ^ gfs_ror32(a, 22)) +
			      ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int k = 0; k < 8; k++)
		h[k] += v[k];
}

void gfs_sha256(unsigned char digest[32], const void *data, size_t len)
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	unsigned char tail[128] = {0};
	size_t rest = len % 64, tail_len = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t k = 0; k + 64 <= len; k += 64)
		gfs_sha256_block(h, p + k);
	/* Padding: the leftover bytes, 0x80, zeros, the bit length (big-endian). */
	if (rest)
		memcpy(tail, p + len - rest, rest);
	tail[rest] = 0x80;
	for (int k = 0; k < 8; k++)
		tail[tail_len - 1 - k] = (unsigned char)(bits >> (8 * k));
	gfs_sha256_block(h, tail);
	if (tail_len == 128)
		gfs_sha256_block(h, tail + 64);
	for (int k = 0; k < 8; k++) {
		digest[4 * k] = (unsigned char)(h[k] >> 24);
		digest[4 * k + 1] = (unsigned char)(h[k] >> 16);
		digest[4 * k + 2] = (unsigned char)(h[k] >> 8);
		digest[4 * k + 3] = (unsigned char)h[k];
	}
}
