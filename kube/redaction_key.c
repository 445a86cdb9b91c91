/*
 * redaction_key.c - the cluster's key for redacted Secret values
 * (gfs_redaction.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_redaction.h"

#define KEY_BYTES 32
#define KEY_PATH                                                                         \
	"/api/v1/namespaces/" GFS_REDACTION_KEY_NAMESPACE                                \
	"/secrets/" GFS_REDACTION_KEY_NAME
#define KEY_SHOWN GFS_REDACTION_KEY_NAMESPACE "/" GFS_REDACTION_KEY_NAME

/* Strict base64 of a key into out; -EINVAL when it is not 16..256 bytes. */
static int key_decode(struct gfs_redact_key *out, const char *b64)
{
	size_t n = b64 ? strlen(b64) : 0;
	unsigned char buf[GFS_REDACT_KEY_MAX + 3];
	while (n && (b64[n - 1] == '\n' || b64[n - 1] == '\r' || b64[n - 1] == ' '))
		n--;
	if (n == 0 || n % 4 || n / 4 * 3 > sizeof(buf))
		return -EINVAL;
	int len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return -EINVAL;
	len -= b64[n - 1] == '=' ? (b64[n - 2] == '=' ? 2 : 1) : 0;
	if (len < GFS_REDACT_KEY_MIN || len > GFS_REDACT_KEY_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(out->bytes, buf, (size_t)len);
	out->len = (size_t)len;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int key_random(struct gfs_redact_key *out, char b64[2 * KEY_BYTES])
{
	ssize_t n = getrandom(out->bytes, KEY_BYTES, 0);
	if (n != KEY_BYTES)
		return gfs_error_set(-EIO,
				     "cannot get random bytes for the redaction key");
	out->len = KEY_BYTES;
	EVP_EncodeBlock((unsigned char *)b64, out->bytes, KEY_BYTES);
	return 0;
}

/* ---- in the cluster ------------------------------------------------------------ */

/* 0 with the key, 1 when the cluster does not have it, or -errno. */
static int key_get(struct gfs_redact_key *out, struct gfs_kube_conn *conn)
{
	json_t *doc = NULL;
	int rc = gfs_kube_request(conn, &doc, NULL, "GET", KEY_PATH, NULL, NULL, 0);
	if (rc == 0) {
		const char *v = json_string_value(json_object_get(
		    json_object_get(doc, "data"), GFS_REDACTION_KEY_FIELD));
		rc = key_decode(out, v);
		if (rc < 0)
			gfs_error_set(rc,
				      "the Secret " KEY_SHOWN " holds no usable key "
				      "(data." GFS_REDACTION_KEY_FIELD
				      ": %d to %d bytes, base64); fix it, or delete it "
				      "and gitopsfs makes a new one",
				      GFS_REDACT_KEY_MIN, GFS_REDACT_KEY_MAX);
	} else if (rc == -ENOENT || rc == -EACCES) {
		rc = 1;
	}
	json_decref(doc);
	return rc;
}

/* 0 with a new key in the cluster (or another mount's, if it won the
 * race), 1 when the cluster refuses, or -errno. */
static int key_create(struct gfs_redact_key *out, struct gfs_kube_conn *conn)
{
	char b64[2 * KEY_BYTES];
	struct gfs_redact_key fresh;
	int rc = key_random(&fresh, b64);
	json_t *secret =
	    rc == 0 ? json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}}, "
				"s:s, s:{s:s}}",
				"apiVersion", "v1", "kind", "Secret", "metadata", "name",
				GFS_REDACTION_KEY_NAME, "namespace",
				GFS_REDACTION_KEY_NAMESPACE, "labels",
				"app.kubernetes.io/managed-by", "gitopsfs", "annotations",
				"gitopsfs.io/purpose",
				"keys the digests gitopsfs shows for Secret "
				"values; never put it in Git",
				"type", "Opaque", "data", GFS_REDACTION_KEY_FIELD, b64)
		    : NULL;
	char *body = secret ? json_dumps(secret, JSON_COMPACT) : NULL;
	if (rc == 0 && !body)
		rc = gfs_error_set(-ENOMEM, "out of memory");
	if (rc == 0) {
		rc = gfs_kube_request(conn, NULL, NULL, "POST",
				      "/api/v1/namespaces/" GFS_REDACTION_KEY_NAMESPACE
				      "/secrets?fieldManager=gitopsfs",
				      "application/json", body, strlen(body));
		if (rc == 0) {
			*out = fresh;
			gfs_info("created the redaction key " KEY_SHOWN);
		} else if (rc == -EEXIST) {
			rc = key_get(out, conn); /* another mount was first */
		} else if (rc == -EACCES || rc == -ENOENT || rc == -EINVAL) {
			rc = 1;
		}
	}
	if (body)
		explicit_bzero(body, strlen(body));
	free(body);
	json_decref(secret);
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(&fresh, sizeof(fresh));
	return rc;
}

/* ---- on this machine -------------------------------------------------------------- */

/* The machine's key file; `make` creates the directory it is in. */
static int key_local_path(char *out, size_t outsz, const char *server, bool make)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	uint64_t h = gfs_hash64(server, strlen(server));
	int n = xdg && *xdg ? snprintf(out, outsz, "%s/gitopsfs", xdg)
			    : snprintf(out, outsz, "%s/.local/state/gitopsfs",
				       home && *home ? home : "/tmp");
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	int rc = make ? gfs_mkdir_p(out, 0700) : 0;
	if (rc < 0)
		return rc;
	n = snprintf(out + n, outsz - (size_t)n, "/redaction-key-%016" PRIx64, h);
	return n < 0 ? -ENAMETOOLONG : 0;
}

static int key_local(struct gfs_redact_key *out, const char *server)
{
	char path[4096], text[2 * GFS_REDACT_KEY_MAX + 8] = "";
	int rc = key_local_path(path, sizeof(path), server, true);
	if (rc < 0)
		return gfs_error_set(
		    rc, "cannot keep a redaction key on this machine: %s", strerror(-rc));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		char b64[2 * KEY_BYTES];
		rc = key_random(out, b64);
		bool ok = rc == 0 &&
			  write(fd, b64, strlen(b64)) == (ssize_t)strlen(b64) &&
			  fsync(fd) == 0;
		close(fd);
		explicit_bzero(b64, sizeof(b64));
		if (!ok) {
			unlink(path);
			return rc < 0 ? rc : gfs_error_set(-EIO, "cannot write %s", path);
		}
		return 0;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t n =
	    fd >= 0 && fstat(fd, &st) == 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return gfs_error_set(-errno, "cannot read %s: %s", path, strerror(errno));
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return gfs_error_set(
		    -EPERM, "%s is not private to you (owner or mode); remove it", path);
	text[n] = '\0';
	rc = key_decode(out, text);
	explicit_bzero(text, sizeof(text));
	return rc < 0 ? gfs_error_set(rc, "%s holds no usable key; remove it", path) : 0;
}

int gfs_redaction_key_load(struct gfs_redact_key *out, struct gfs_kube_client *c)
{
	struct gfs_kube_conn *conn = NULL;
	memset(out, 0, sizeof(*out));
	int rc = gfs_kube_conn_open(&conn, c);
	if (rc == 0)
		rc = key_get(out, conn);
	if (rc == 1)
		rc = key_create(out, conn);
	gfs_kube_conn_close(conn);
	if (rc != 1)
		return rc;
	const char *server = gfs_kube_client_server(c);
	rc = key_local(out, server);
	if (rc == 0)
		gfs_warn("Secret values are redacted with a key of this machine: the "
			 "cluster's (Secret " KEY_SHOWN ") can be neither read nor "
			 "created with these credentials, so other machines show other "
			 "digests; let gitopsfs create it once, or create it yourself "
			 "(see the README)");
	return rc;
}

int gfs_redaction_key_read(struct gfs_redact_key *out, struct gfs_kube_client *c)
{
	struct gfs_kube_conn *conn = NULL;
	char path[4096];
	memset(out, 0, sizeof(*out));
	int rc = gfs_kube_conn_open(&conn, c);
	if (rc == 0)
		rc = key_get(out, conn);
	gfs_kube_conn_close(conn);
	if (rc != 1)
		return rc;
	/* The machine's key only if this machine has one already. */
	const char *server = gfs_kube_client_server(c);
	if (key_local_path(path, sizeof(path), server, false) < 0 ||
	    access(path, F_OK) != 0)
		return 1;
	return key_local(out, server);
}
