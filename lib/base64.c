/*
 * base64.c - standard base64 for every module (SOPS values, the age
 * header, known_hosts keys), on libcrypto's block coder. See gfs_common.h.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"

int gfs_base64_encode(struct gfs_buf *out, const void *data, size_t len, bool pad)
{
	if (len > 2 * GFS_BASE64_MAX)
		return -EFBIG;
	char *text = malloc(4 * ((len + 2) / 3) + 1);
	if (!text)
		return -ENOMEM;
	int n = EVP_EncodeBlock((unsigned char *)text, data, (int)len);
	while (!pad && n > 0 && text[n - 1] == '=')
		n--;
	int rc = gfs_buf_add(out, text, (size_t)n);
	free(text);
	return rc;
}

int gfs_base64_decode(unsigned char **out, size_t *out_len, const char *text, size_t len,
		      bool pad)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t eq = 0;
	if (len > GFS_BASE64_MAX)
		return -EINVAL;
	while (eq < len && eq < 2 && text[len - 1 - eq] == '=')
		eq++;
	if (pad ? len % 4 != 0 : (eq != 0 || len % 4 == 1))
		return -EINVAL;
	for (size_t i = 0; i < len - eq; i++)
		if (!text[i] || !strchr(alphabet, text[i]))
			return -EINVAL;
	/* EVP_DecodeBlock wants padding; put it back for the unpadded form. */
	size_t full = (len + 3) / 4 * 4;
	char *padded = malloc(full + 1);
	unsigned char *buf = malloc(full / 4 * 3 + 1);
	int rc = -ENOMEM;
	if (!padded || !buf)
		goto out;
	memcpy(padded, text, len);
	memset(padded + len, '=', full - len);
	int n = full ? EVP_DecodeBlock(buf, (unsigned char *)padded, (int)full) : 0;
	size_t stripped = full - (len - eq) == 0 ? 0 : full - (len - eq);
	rc = -EINVAL;
	if (n < 0 || (size_t)n < stripped)
		goto out;
	size_t got = (size_t)n - stripped;
	/* Canonical only: the unused bits of the last character are zero
	 * (what age and Go's strict decoders require). */
	struct gfs_buf again = GFS_BUF_INIT(full + 8);
	bool same = gfs_base64_encode(&again, buf, got, true) == 0 &&
		    memcmp(again.data, padded, full) == 0 && again.len == full;
	gfs_buf_release(&again);
	if (!same)
		goto out;
	*out = buf;
	*out_len = got;
	buf = NULL;
	rc = 0;
out:
	free(padded);
	free(buf);
	return rc;
}
