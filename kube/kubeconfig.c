/*
 * kubeconfig.c - reads kubeconfig files and resolves one context into the
 * credentials of gfs_kubeconfig.h.
 *
 * Several files (a $KUBECONFIG list) are merged the way kubectl does it:
 * the first file that defines a named cluster, context or user wins, and
 * the first non-empty current-context wins. A relative path in an entry is
 * relative to the directory of the file that defined that entry.
 *
 * Messages name the file and the entry and say what to do; they never
 * hold a credential value, only the names of the fields.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gfs_common.h"
#include "gfs_kubeconfig.h"
#include "gfs_yaml.h"
#include "kube_private.h"

#define KC_MAX_FILE       (16u << 20) /* a kubeconfig, CA bundle or key file */
#define KC_MAX_FILES      16          /* entries of $KUBECONFIG we merge */
#define KC_DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* One parsed file. */
struct kc_doc {
	char *path;
	char *dir; /* where its relative paths point */
	json_t *root;
};

/* The merged view of one or more files, for one resolution. */
struct kc {
	struct kc_doc docs[KC_MAX_FILES];
	size_t ndocs;
	char label[600]; /* "kubeconfig /x/config" - the start of messages */
};

/* Where an entry came from: its JSON object (borrowed) and its file. */
struct kc_entry {
	const json_t *obj;
	const struct kc_doc *doc;
};

/* ---- small helpers ------------------------------------------------------ */

void gfs_secret_free(char *s, size_t len)
{
	if (!s)
		return;
	explicit_bzero(s, len ? len : strlen(s));
	free(s);
}

int gfs_kube_file_read(char **out, size_t *len, const char *path, size_t limit)
{
	struct gfs_buf b = GFS_BUF_INIT(limit);
	char chunk[65536];
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		rc = gfs_buf_add(&b, chunk, (size_t)n);
		if (rc < 0)
			goto out;
	}
	*out = gfs_buf_detach(&b, len);
	if (!*out)
		rc = -ENOMEM;
out:
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	explicit_bzero(b.data, b.len);
	gfs_buf_release(&b);
	return rc;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Standard base64 (URL-safe letters and missing padding tolerated,
 * whitespace skipped). The result is NUL-terminated. */
static int b64_decode(char **out, size_t *out_len, const char *in)
{
	size_t n = strlen(in), cap = n / 4 * 3 + 4;
	/* Zeroed, and wiped at its full size on error: nothing in it is
	 * NUL-terminated yet (gfs_secret_free with len 0 would strlen it). */
	char *dst = calloc(1, cap);
	if (!dst)
		return -ENOMEM;
	size_t len = 0;
	unsigned acc = 0;
	int bits = 0;
	bool padded = false;
	for (const char *p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			padded = true;
			continue;
		}
		int v = b64_value(c);
		if (v < 0 || padded) {
			gfs_secret_free(dst, cap);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	dst[len] = '\0';
	*out = dst;
	*out_len = len;
	return 0;
}

/* `p` made absolute against dir (a copy); NULL-safe. */
static char *kc_path_resolve(const char *dir, const char *p)
{
	if (!p)
		return NULL;
	if (p[0] == '/' || !dir)
		return strdup(p);
	char *r = NULL;
	if (asprintf(&r, "%s/%s", dir, p) < 0)
		return NULL;
	return r;
}

/* ", "-joined names of a list's entries, for "have: a, b" hints. */
static void kc_names(const struct kc *k, const char *list, char *dst, size_t cap)
{
	size_t len = 0;
	dst[0] = '\0';
	for (size_t d = 0; d < k->ndocs; d++) {
		const json_t *arr = json_object_get(k->docs[d].root, list);
		size_t i;
		const json_t *e;
		json_array_foreach(arr, i, e)
		{
			const char *name = json_string_value(json_object_get(e, "name"));
			if (!name || len + strlen(name) + 3 >= cap)
				continue;
			len += (size_t)snprintf(dst + len, cap - len, "%s%s",
						len ? ", " : "", name);
		}
	}
	if (!len)
		snprintf(dst, cap, "none");
}

/* The entry `name` of `list` ("contexts") and its inner object `field`
 * ("context"); the first file that defines it wins. */
static bool kc_find(const struct kc *k, const char *list, const char *field,
		    const char *name, struct kc_entry *out)
{
	for (size_t d = 0; d < k->ndocs; d++) {
		const json_t *arr = json_object_get(k->docs[d].root, list);
		size_t i;
		const json_t *e;
		json_array_foreach(arr, i, e)
		{
			const char *n = json_string_value(json_object_get(e, "name"));
			if (n && strcmp(n, name) == 0) {
				const json_t *inner = json_object_get(e, field);
				out->obj = json_is_object(inner) ? inner : NULL;
				out->doc = &k->docs[d];
				return true;
			}
		}
	}
	return false;
}

/* A string field: absent or null gives NULL, another type is an error. */
static int kc_str(const struct kc *k, const char *what, const json_t *obj,
		  const char *key, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return gfs_error_set(-EINVAL, "%s: %s: %s must be a string", k->label,
				     what, key);
	*out = json_string_value(v);
	if (!**out)
		*out = NULL; /* "" means unset, as in kubectl */
	return 0;
}

/* ---- loading files ------------------------------------------------------ */

static void kc_release(struct kc *k)
{
	for (size_t i = 0; i < k->ndocs; i++) {
		free(k->docs[i].path);
		free(k->docs[i].dir);
		json_decref(k->docs[i].root);
	}
	k->ndocs = 0;
}

static int kc_doc_load(struct kc_doc *doc, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	json_t *root = NULL;
	struct gfs_yaml_error yerr = {0};
	int rc = gfs_kube_file_read(&data, &len, path, KC_MAX_FILE);
	if (rc == -ENOENT)
		return gfs_error_set(rc,
				     "kubeconfig %s: no such file; pass "
				     "--kubeconfig or set $KUBECONFIG",
				     path);
	if (rc < 0)
		return gfs_error_set(rc == -EFBIG ? -EINVAL : rc,
				     "kubeconfig %s: cannot read: %s", path,
				     strerror(-rc));
	rc = gfs_yaml_parse(&root, data, len, &yerr);
	gfs_secret_free(data, len);
	if (rc < 0)
		return gfs_error_set(-EINVAL,
				     "kubeconfig %s: line %d, column %d: %s; "
				     "fix the YAML",
				     path, yerr.line, yerr.column, yerr.reason);
	if (json_is_null(root)) {
		/* An empty file is an empty config, as kubectl reads it. */
		json_decref(root);
		root = json_object();
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return gfs_error_set(-EINVAL,
				     "kubeconfig %s: not a kubeconfig (the "
				     "top level must be a mapping with clusters, "
				     "contexts and users)",
				     path);
	}
	char *copy = strdup(path);
	doc->path = strdup(path);
	doc->dir = copy ? strdup(dirname(copy)) : NULL;
	free(copy);
	doc->root = root;
	if (!doc->path || !doc->dir)
		return gfs_error_set(-ENOMEM, "out of memory");
	return 0;
}

/* Loads every file of the colon-separated `list` that exists, in order
 * (missing entries are skipped, as kubectl does). */
static int kc_load_list(struct kc *k, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;
	if (!copy)
		return gfs_error_set(-ENOMEM, "out of memory");
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (k->ndocs == KC_MAX_FILES)
			break;
		if (access(p, F_OK) != 0)
			continue;
		rc = kc_doc_load(&k->docs[k->ndocs], p);
		k->ndocs++; /* so that kc_release frees a half-loaded doc */
		if (rc < 0)
			goto out;
	}
out:
	free(copy);
	return rc;
}

static void kc_label_set(struct kc *k)
{
	size_t len = (size_t)snprintf(k->label, sizeof(k->label), "kubeconfig ");
	for (size_t i = 0; i < k->ndocs && len < sizeof(k->label); i++)
		len += (size_t)snprintf(k->label + len, sizeof(k->label) - len, "%s%s",
					i ? ":" : "", k->docs[i].path);
}

/* ---- resolving one context ---------------------------------------------- */

/* Reads a PEM either inline (base64 `data_key`) or from the file at
 * `file_key`; the inline form wins, as in kubectl. */
static int kc_pem(const struct kc *k, const char *what, const struct kc_entry *e,
		  const char *file_key, const char *data_key, char **pem, size_t *pem_len)
{
	const char *data, *file;
	int rc = kc_str(k, what, e->obj, data_key, &data);
	if (rc == 0)
		rc = kc_str(k, what, e->obj, file_key, &file);
	if (rc < 0)
		return rc;
	if (data) {
		rc = b64_decode(pem, pem_len, data);
		if (rc == -EINVAL)
			return gfs_error_set(rc,
					     "%s: %s: %s is not valid base64; "
					     "it must be the base64 of a PEM file",
					     k->label, what, data_key);
		return rc == -ENOMEM ? gfs_error_set(rc, "out of memory") : rc;
	}
	if (!file)
		return 0;
	char *path = kc_path_resolve(e->doc->dir, file);
	if (!path)
		return gfs_error_set(-ENOMEM, "out of memory");
	rc = gfs_kube_file_read(pem, pem_len, path, KC_MAX_FILE);
	if (rc < 0)
		gfs_error_set(rc == -EFBIG ? -EINVAL : rc, "%s: %s: %s %s: %s", k->label,
			      what, file_key, path, strerror(-rc));
	free(path);
	return rc;
}

static int kc_cluster_resolve(const struct kc *k, struct gfs_kube_creds *c)
{
	struct kc_entry e;
	char what[300], names[300];
	const char *server, *tls_name;
	if (!kc_find(k, "clusters", "cluster", c->cluster, &e) || !e.obj) {
		kc_names(k, "clusters", names, sizeof(names));
		return gfs_error_set(-ENOENT,
				     "%s: context \"%s\" refers to cluster "
				     "\"%s\", which is not defined (clusters: %s); "
				     "fix the context or add the cluster",
				     k->label, c->context, c->cluster, names);
	}
	snprintf(what, sizeof(what), "cluster \"%s\"", c->cluster);
	int rc = kc_str(k, what, e.obj, "server", &server);
	if (rc == 0)
		rc = kc_str(k, what, e.obj, "tls-server-name", &tls_name);
	if (rc < 0)
		return rc;
	if (!server)
		return gfs_error_set(-EINVAL,
				     "%s: %s has no server; set "
				     "clusters[].cluster.server",
				     k->label, what);
	c->server = strdup(server);
	c->tls_server_name = gfs_strdup(tls_name);
	if (!c->server || (tls_name && !c->tls_server_name))
		return gfs_error_set(-ENOMEM, "out of memory");
	size_t n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	const json_t *insecure = json_object_get(e.obj, "insecure-skip-tls-verify");
	c->insecure = json_is_true(insecure);
	rc = kc_pem(k, what, &e, "certificate-authority", "certificate-authority-data",
		    &c->ca_pem, &c->ca_pem_len);
	if (rc < 0)
		return rc;
	if (c->insecure && c->ca_pem)
		return gfs_error_set(-EINVAL,
				     "%s: %s sets both a certificate "
				     "authority and insecure-skip-tls-verify; "
				     "remove one of them",
				     k->label, what);
	return 0;
}

static int kc_strv(const struct kc *k, const char *what, const json_t *arr, char ***out)
{
	size_t i;
	const json_t *v;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return gfs_error_set(-EINVAL, "%s: %s must be a list", k->label, what);
	char **sv = calloc(json_array_size(arr) + 1, sizeof(*sv));
	if (!sv)
		return gfs_error_set(-ENOMEM, "out of memory");
	*out = sv;
	json_array_foreach(arr, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *val = json_string_value(json_object_get(v, "value"));
		if (json_is_string(v)) {
			sv[i] = strdup(json_string_value(v));
		} else if (name && val) {
			if (asprintf(&sv[i], "%s=%s", name, val) < 0)
				sv[i] = NULL;
		} else {
			return gfs_error_set(-EINVAL,
					     "%s: %s: entry %zu must be "
					     "a string or {name, value}",
					     k->label, what, i);
		}
		if (!sv[i])
			return gfs_error_set(-ENOMEM, "out of memory");
	}
	return 0;
}

static int kc_exec_resolve(const struct kc *k, const char *what, const struct kc_entry *e,
			   struct gfs_kube_exec *x)
{
	const json_t *exec = json_object_get(e->obj, "exec");
	const char *cmd, *api;
	char sub[400];
	if (!exec || json_is_null(exec))
		return 0;
	snprintf(sub, sizeof(sub), "%s: exec", what);
	int rc = kc_str(k, sub, exec, "command", &cmd);
	if (rc == 0)
		rc = kc_str(k, sub, exec, "apiVersion", &api);
	if (rc < 0)
		return rc;
	if (!cmd)
		return gfs_error_set(-EINVAL, "%s: %s has no command", k->label, sub);
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
		return gfs_error_set(-EINVAL,
				     "%s: %s: apiVersion \"%s\" is not "
				     "supported; use client.authentication.k8s.io/v1 "
				     "or v1beta1",
				     k->label, sub, api ? api : "");
	/* A command with a slash is a path relative to the kubeconfig; a bare
	 * name is looked up in $PATH when it runs (as client-go does). */
	x->command = strchr(cmd, '/') ? kc_path_resolve(e->doc->dir, cmd) : strdup(cmd);
	x->api_version = strdup(api);
	if (!x->command || !x->api_version)
		return gfs_error_set(-ENOMEM, "out of memory");
	snprintf(sub, sizeof(sub), "%s: exec.args", what);
	rc = kc_strv(k, sub, json_object_get(exec, "args"), &x->args);
	if (rc < 0)
		return rc;
	snprintf(sub, sizeof(sub), "%s: exec.env", what);
	return kc_strv(k, sub, json_object_get(exec, "env"), &x->env);
}

static int kc_user_auth_check(const struct kc *k, const char *what, const json_t *u)
{
	const json_t *ap = json_object_get(u, "auth-provider");
	if (ap && !json_is_null(ap)) {
		const char *name = json_string_value(json_object_get(ap, "name"));
		return gfs_error_set(-EINVAL,
				     "%s: %s uses auth-provider \"%s\", "
				     "which is not supported; switch to its exec "
				     "plugin (e.g. gke-gcloud-auth-plugin, kubelogin)",
				     k->label, what, name ? name : "");
	}
	if (json_object_get(u, "username") || json_object_get(u, "password"))
		return gfs_error_set(-EINVAL,
				     "%s: %s uses basic auth (username/"
				     "password), which Kubernetes no longer "
				     "supports; use a token or certificate",
				     k->label, what);
	return 0;
}

static int kc_user_resolve(const struct kc *k, struct gfs_kube_creds *c)
{
	struct kc_entry e;
	char what[300], names[300];
	const char *token, *token_file;
	if (!c->user)
		return 0; /* anonymous */
	if (!kc_find(k, "users", "user", c->user, &e)) {
		kc_names(k, "users", names, sizeof(names));
		return gfs_error_set(-ENOENT,
				     "%s: context \"%s\" refers to user "
				     "\"%s\", which is not defined (users: %s); "
				     "fix the context or add the user",
				     k->label, c->context, c->user, names);
	}
	if (!e.obj)
		return 0; /* "user: {}" or null: anonymous */
	snprintf(what, sizeof(what), "user \"%s\"", c->user);
	int rc = kc_user_auth_check(k, what, e.obj);
	if (rc == 0)
		rc = kc_str(k, what, e.obj, "token", &token);
	if (rc == 0)
		rc = kc_str(k, what, e.obj, "tokenFile", &token_file);
	if (rc < 0)
		return rc;
	if (token && !(c->token = strdup(token)))
		return gfs_error_set(-ENOMEM, "out of memory");
	if (token_file) {
		c->token_file = kc_path_resolve(e.doc->dir, token_file);
		if (!c->token_file)
			return gfs_error_set(-ENOMEM, "out of memory");
		if (access(c->token_file, R_OK) != 0)
			return gfs_error_set(-errno, "%s: %s: tokenFile %s: %s", k->label,
					     what, c->token_file, strerror(errno));
	}
	rc = kc_pem(k, what, &e, "client-certificate", "client-certificate-data",
		    &c->cert_pem, &c->cert_pem_len);
	if (rc == 0)
		rc = kc_pem(k, what, &e, "client-key", "client-key-data", &c->key_pem,
			    &c->key_pem_len);
	if (rc < 0)
		return rc;
	if (!c->cert_pem != !c->key_pem)
		return gfs_error_set(-EINVAL,
				     "%s: %s has a client %s but no client "
				     "%s; set both client-certificate(-data) and "
				     "client-key(-data)",
				     k->label, what, c->cert_pem ? "certificate" : "key",
				     c->cert_pem ? "key" : "certificate");
	return kc_exec_resolve(k, what, &e, &c->exec);
}

/* Picks the context and copies its names and namespace into c. */
static int kc_context_resolve(const struct kc *k, struct gfs_kube_creds *c,
			      const char *want)
{
	struct kc_entry e;
	char names[300], what[300];
	const char *cluster, *user, *ns;
	if (!want) {
		for (size_t d = 0; d < k->ndocs && !want; d++) {
			want = json_string_value(
			    json_object_get(k->docs[d].root, "current-context"));
			if (want && !*want)
				want = NULL;
		}
	}
	kc_names(k, "contexts", names, sizeof(names));
	if (!want)
		return gfs_error_set(-EINVAL,
				     "%s: no current-context is set "
				     "(contexts: %s); pass --context or set one "
				     "with kubectl config use-context",
				     k->label, names);
	if (!kc_find(k, "contexts", "context", want, &e) || !e.obj)
		return gfs_error_set(-ENOENT,
				     "%s: context \"%s\" not found "
				     "(contexts: %s); pass --context or fix "
				     "current-context",
				     k->label, want, names);
	snprintf(what, sizeof(what), "context \"%s\"", want);
	int rc = kc_str(k, what, e.obj, "cluster", &cluster);
	if (rc == 0)
		rc = kc_str(k, what, e.obj, "user", &user);
	if (rc == 0)
		rc = kc_str(k, what, e.obj, "namespace", &ns);
	if (rc < 0)
		return rc;
	if (!cluster)
		return gfs_error_set(-EINVAL,
				     "%s: %s names no cluster; set "
				     "contexts[].context.cluster",
				     k->label, what);
	c->context = strdup(want);
	c->cluster = strdup(cluster);
	c->user = gfs_strdup(user);
	c->namespace = gfs_strdup(ns);
	if (!c->context || !c->cluster || (user && !c->user) || (ns && !c->namespace))
		return gfs_error_set(-ENOMEM, "out of memory");
	return 0;
}

static int kc_resolve(struct gfs_kube_creds **out, const struct kc *k,
		      const char *context)
{
	struct gfs_kube_creds *c = calloc(1, sizeof(*c));
	int rc;
	if (!c)
		return gfs_error_set(-ENOMEM, "out of memory");
	rc = kc_context_resolve(k, c, context);
	if (rc == 0)
		rc = kc_cluster_resolve(k, c);
	if (rc == 0)
		rc = kc_user_resolve(k, c);
	if (rc < 0) {
		gfs_kube_creds_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- in-cluster ---------------------------------------------------------- */

static int ic_file(char **out, size_t *len, const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = gfs_kube_file_read(out, len, path, KC_MAX_FILE);
	if (rc < 0)
		gfs_error_set(rc == -EFBIG ? -EINVAL : rc,
			      "in-cluster config: "
			      "%s: %s; is a service account mounted?",
			      path, strerror(-rc));
	return rc;
}

static int ic_fill(struct gfs_kube_creds *c, const char *dir, const char *host,
		   const char *port)
{
	char *ns = NULL, *tok = NULL;
	size_t ns_len = 0, tok_len = 0;
	bool v6 = strchr(host, ':') != NULL;
	if (asprintf(&c->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
		     port) < 0) {
		c->server = NULL;
		return gfs_error_set(-ENOMEM, "out of memory");
	}
	c->context = strdup("in-cluster");
	c->cluster = strdup("in-cluster");
	c->user = strdup("service-account");
	if (asprintf(&c->token_file, "%s/token", dir) < 0)
		c->token_file = NULL;
	if (!c->context || !c->cluster || !c->user || !c->token_file)
		return gfs_error_set(-ENOMEM, "out of memory");
	/* The token is re-read by the client (it is rotated); here we only
	 * check that it is there, so a broken mount fails at start. */
	int rc = ic_file(&tok, &tok_len, dir, "token");
	gfs_secret_free(tok, tok_len);
	if (rc == 0)
		rc = ic_file(&c->ca_pem, &c->ca_pem_len, dir, "ca.crt");
	if (rc < 0)
		return rc;
	if (ic_file(&ns, &ns_len, dir, "namespace") == 0) {
		ns[strcspn(ns, " \r\n\t")] = '\0';
		c->namespace = ns;
	}
	gfs_error_clear();
	return 0;
}

int gfs_kubeconfig_in_cluster(struct gfs_kube_creds **out, const char *sa_dir)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!sa_dir)
		sa_dir = KC_DEFAULT_SA_DIR;
	if (!host || !*host || !port || !*port)
		return gfs_error_set(-ENOENT, "in-cluster config: "
					      "KUBERNETES_SERVICE_HOST and "
					      "KUBERNETES_SERVICE_PORT are not set; not "
					      "running in a pod? pass --kubeconfig");
	struct gfs_kube_creds *c = calloc(1, sizeof(*c));
	if (!c)
		return gfs_error_set(-ENOMEM, "out of memory");
	int rc = ic_fill(c, sa_dir, host, port);
	if (rc < 0) {
		gfs_kube_creds_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- entry points -------------------------------------------------------- */

/* Finds the files to read when no path was given: $KUBECONFIG's existing
 * entries, else ~/.kube/config. Returns 1 when none exists. */
static int kc_load_default(struct kc *k)
{
	const char *env = getenv("KUBECONFIG");
	const char *home = getenv("HOME");
	char path[4096];
	if (env && *env) {
		int rc = kc_load_list(k, env);
		if (rc < 0 || k->ndocs > 0)
			return rc;
	}
	if (!home || !*home)
		return 1;
	snprintf(path, sizeof(path), "%s/.kube/config", home);
	if (access(path, F_OK) != 0)
		return 1;
	int rc = kc_doc_load(&k->docs[0], path);
	k->ndocs = 1;
	return rc;
}

int gfs_kubeconfig_load(struct gfs_kube_creds **out, const char *path,
			const char *context)
{
	struct kc k = {.ndocs = 0};
	int rc;
	if (path) {
		rc = kc_doc_load(&k.docs[0], path);
		k.ndocs = 1;
	} else {
		rc = kc_load_default(&k);
	}
	if (rc == 1) {
		const char *env = getenv("KUBECONFIG");
		if (getenv("KUBERNETES_SERVICE_HOST") &&
		    access(KC_DEFAULT_SA_DIR "/token", F_OK) == 0) {
			rc = gfs_kubeconfig_in_cluster(out, NULL);
			goto out;
		}
		rc = gfs_error_set(-ENOENT,
				   "no kubeconfig found (tried %s%s%s"
				   "~/.kube/config) and not running in a pod; "
				   "pass --kubeconfig or set $KUBECONFIG",
				   env && *env ? "$KUBECONFIG=" : "",
				   env && *env ? env : "", env && *env ? ", " : "");
		goto out;
	}
	if (rc < 0)
		goto out;
	kc_label_set(&k);
	rc = kc_resolve(out, &k, context);
out:
	kc_release(&k);
	return rc;
}

void gfs_kube_creds_free(struct gfs_kube_creds *c)
{
	if (!c)
		return;
	free(c->context);
	free(c->cluster);
	free(c->user);
	free(c->server);
	free(c->namespace);
	free(c->tls_server_name);
	free(c->ca_pem);
	free(c->cert_pem);
	gfs_secret_free(c->key_pem, c->key_pem_len);
	gfs_secret_free(c->token, 0);
	free(c->token_file);
	free(c->exec.command);
	gfs_strv_free_secret(c->exec.args); /* env may carry secrets */
	gfs_strv_free_secret(c->exec.env);
	free(c->exec.api_version);
	free(c);
}
