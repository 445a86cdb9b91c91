/*
 * gfs_kubeconfig.h - where the cluster is and how to prove who we are.
 *
 * Reads a kubeconfig (libyaml via gfs_yaml_parse) and resolves one context
 * into a gfs_kube_creds: the server URL and every credential form of
 * SPEC section 2 - bearer token, token file, client certificate and key
 * (file or inline *-data), certificate-authority(-data),
 * insecure-skip-tls-verify, tls-server-name, and exec credential plugins.
 * Relative file paths are resolved against the kubeconfig's directory.
 * Also builds the in-cluster credentials of a pod's service account.
 *
 * Secrets (token, key data) live only in the creds struct; they are never
 * put in an error message. gfs_kube_creds_free wipes them.
 */
#ifndef GFS_KUBECONFIG_H
#define GFS_KUBECONFIG_H

#include <stddef.h>

struct gfs_kube_exec {
	char *command;     /* NULL when no exec plugin is configured */
	char **args;       /* NULL-terminated, may be NULL */
	char **env;        /* NULL-terminated "NAME=value" strings, may be NULL */
	char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
};

struct gfs_kube_creds {
	char *context;   /* the context chosen (name) */
	char *cluster;   /* its cluster's name */
	char *user;      /* its user's name */
	char *server;    /* e.g. "https://127.0.0.1:6443", no trailing '/' */
	char *namespace; /* the context's namespace, or NULL */
	char *tls_server_name;
	int insecure; /* insecure-skip-tls-verify: true */

	/* PEM bytes of the CA bundle, client certificate and key, whether
	 * they came inline (*-data, base64-decoded here) or from files
	 * (read here, so a later rotation needs a reload). NULL when absent. */
	char *ca_pem;
	size_t ca_pem_len;
	char *cert_pem;
	size_t cert_pem_len;
	char *key_pem; /* secret */
	size_t key_pem_len;

	char *token;      /* secret; static bearer token, or NULL */
	char *token_file; /* re-read on every new connection when set */
	struct gfs_kube_exec exec;
};

/* Loads `path` (NULL: $KUBECONFIG's first entry, then ~/.kube/config;
 * when neither exists and we run in a pod, the in-cluster account) and
 * resolves `context` (NULL: current-context). On failure returns
 * -ENOENT/-EINVAL/-EACCES and the per-thread error says which file, which
 * entry, and what to do, e.g.
 *   "kubeconfig /x/config: context \"prod\" not found (have: dev, kind)". */
int gfs_kubeconfig_load(struct gfs_kube_creds **out, const char *path,
			const char *context);

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and the files under `sa_dir`
 * (NULL: /var/run/secrets/kubernetes.io/serviceaccount): token (as
 * token_file), ca.crt, namespace. */
int gfs_kubeconfig_in_cluster(struct gfs_kube_creds **out, const char *sa_dir);

void gfs_kube_creds_free(struct gfs_kube_creds *c);

#endif
