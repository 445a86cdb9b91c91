/*
 * fuzz_exec_cred.c - gfs_exec_cred_parse on what an exec credential
 * plugin may print (JSON, with an RFC 3339 expiry).
 *
 * Properties: a refusal is -EACCES (or -ENOMEM) with a message; success
 * gives a token or a certificate and key.
 */
#include <errno.h>

#include "../kube/kube_private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gfs_exec_cred c = {0};
	int rc = gfs_exec_cred_parse(&c, (const char *)data, size,
				     "client.authentication.k8s.io/v1", "fuzz-plugin");
	if (rc < 0) {
		FUZZ_CHECK(rc == -EACCES || rc == -ENOMEM, "rc %d", rc);
		FUZZ_CHECK(gfs_error_last()[0], "no message");
		FUZZ_CHECK(!c.token && !c.cert_pem && !c.key_pem, "output on failure");
		return 0;
	}
	FUZZ_CHECK(c.token || (c.cert_pem && c.key_pem), "no credential");
	gfs_exec_cred_release(&c);
	return 0;
}
