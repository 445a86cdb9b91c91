/*
 * fuzz_age.c - gfs_age_dearmor and gfs_age_decrypt on arbitrary bytes
 * (the enc of a SOPS file comes from whoever wrote the file): the armor,
 * the header's stanzas and MAC line, the payload chunks.
 *
 * The identity is the published test key whose files seed the corpus, so
 * that mutations of a real file reach the MAC and payload checks.
 * Properties: a failure is -EINVAL, -EACCES or -ENOMEM and hands out
 * nothing; what decrypts is shorter than the file.
 */
#include <errno.h>

#include "fuzz.h"
#include "gfs_age.h"
#include "gfs_common.h"

/* Flux's published test key (tests/fixtures/sops/flux-keys-age.txt). */
static const char fuzz_identity[] =
    "AGE-SECRET-KEY-1RH87A5Z54ZGUR9S0AS3R6WHFSEFNPLYMAKF5Z2CEU7R06VRJ0A3Q7242AM";

static void fuzz_decrypt(const struct gfs_age_identity *id, const uint8_t *data,
			 size_t size)
{
	unsigned char *out = NULL;
	size_t len = 0;
	int rc = gfs_age_decrypt(&out, &len, id, 1, data, size);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EACCES || rc == -ENOMEM, "rc %d",
		   rc);
	FUZZ_CHECK(rc == 0 || out == NULL, "output on failure");
	FUZZ_CHECK(rc != 0 || len < size, "%zu bytes out of %zu", len, size);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_age_identity id;
	unsigned char *file = NULL;
	size_t flen = 0;
	FUZZ_CHECK(gfs_age_identity_parse(&id, fuzz_identity) == 0, "the test key");
	fuzz_decrypt(&id, data, size);
	int rc = gfs_age_dearmor(&file, &flen, (const char *)data, size);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "dearmor rc %d", rc);
	if (rc == 0)
		fuzz_decrypt(&id, file, flen);
	free(file);
	return 0;
}
