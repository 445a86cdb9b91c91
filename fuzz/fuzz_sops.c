/*
 * fuzz_sops.c - a SOPS document from arbitrary YAML (a file written into
 * the mount, or pushed to Git): the sops block, the ENC[...] values, the
 * MAC; and the same bytes read as a .sops.yaml (creation_rules).
 *
 * The identity is the published test key of the seed files, so that
 * mutations of a real file reach the value and MAC checks.
 * Properties: a refusal is -EINVAL, -EACCES or -ENOMEM with a message; a
 * document that verifies comes out without its sops block; a rules file
 * either builds or is refused with a message naming .sops.yaml.
 */
#include <errno.h>

#include "fuzz.h"
#include "gfs_common.h"
#include "gfs_sops.h"
#include "gfs_yaml.h"

static const char fuzz_identity[] =
    "AGE-SECRET-KEY-1RH87A5Z54ZGUR9S0AS3R6WHFSEFNPLYMAKF5Z2CEU7R06VRJ0A3Q7242AM";
static const char fuzz_recipient[] =
    "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_age_identity id;
	struct gfs_sops *s = NULL;
	char *r[] = {(char *)fuzz_recipient, NULL};
	json_t *doc = NULL, *plain = NULL;
	FUZZ_CHECK(gfs_age_identity_parse(&id, fuzz_identity) == 0, "the test key");
	struct gfs_sops_opts o = {.recipients = r, .ids = &id, .n_ids = 1};
	FUZZ_CHECK(gfs_sops_new(&s, &o) == 0, "%s", gfs_error_last());
	if (gfs_yaml_parse(&doc, (const char *)data, size, NULL) == 0 &&
	    gfs_sops_is_encrypted(doc)) {
		int rc = gfs_sops_decrypt(&plain, s, doc);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EACCES || rc == -ENOMEM,
			   "rc %d", rc);
		FUZZ_CHECK(rc == 0 || (!plain && *gfs_error_last()), "rc %d", rc);
		FUZZ_CHECK(rc != 0 || !json_object_get(plain, "sops"), "%s",
			   fuzz_json(plain));
		json_decref(plain);
	}
	json_decref(doc);
	gfs_sops_free(s);
	s = NULL;
	/* The same bytes as a .sops.yaml. */
	struct gfs_sops_opts ro = {
	    .rules = (const char *)data, .rules_len = size, .ids = &id, .n_ids = 1};
	int rc = gfs_sops_new(&s, &ro);
	FUZZ_CHECK(rc == 0 || rc == -ENOMEM ||
		       (rc == -EINVAL && strstr(gfs_error_last(), ".sops.yaml")),
		   "rc %d, message \"%s\"", rc, gfs_error_last());
	gfs_sops_free(s);
	return 0;
}
