/*
 * test_kube_client.c - the Kubernetes client against the emulated API
 * server (tests/apiserver/kube_emulator.py, run as a subprocess over
 * HTTPS): TLS and credentials, error mapping, discovery, paging, watches
 * and the informers' recovery from 410, faults, closed watches and CRD
 * changes. The emulator is always killed at the end (and dies with us if
 * we crash, through PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../../kube/kube_private.h"
#include "gfs_common.h"
#include "gfs_informer.h"
#include "gfs_kube.h"
#include "gfs_kubeconfig.h"
#include "tap.h"
#include "testproc.h"

#define TOKEN "emu-token-5ec2e7"

static pid_t emu_pid = -1;
static struct gfs_kube_client *client;
static struct gfs_kube_conn *conn;

/* ---- the emulator -------------------------------------------------------- */

static void emu_stop(void)
{
	testproc_stop(&emu_pid);
}

static const char *emu_script(void)
{
	return testproc_emu_script();
}

static int emu_start(void)
{
	return testproc_emu_start(&emu_pid, TOKEN);
}

static struct gfs_kube_creds *emu_creds(void)
{
	struct gfs_kube_creds *c = NULL;
	if (gfs_kubeconfig_load(&c, dir_path("kubeconfig"), NULL) < 0)
		printf("# cannot load the emulator's kubeconfig: %s\n", gfs_error_last());
	return c;
}

/* A throw-away client and conn from changed credentials. */
static int try_creds(struct gfs_kube_creds *c, long *status)
{
	struct gfs_kube_client *cl = NULL;
	struct gfs_kube_conn *cn = NULL;
	int rc = gfs_kube_client_new(&cl, c);
	if (rc == 0)
		rc = gfs_kube_conn_open(&cn, cl);
	if (rc == 0)
		rc = gfs_kube_request(cn, NULL, status, "GET", "/api", NULL, NULL, 0);
	gfs_kube_conn_close(cn);
	gfs_kube_client_free(cl);
	return rc;
}

static int req(json_t **out, const char *method, const char *path, const char *body)
{
	return gfs_kube_request(conn, out, NULL, method, path,
				body ? "application/json" : NULL, body,
				body ? strlen(body) : 0);
}

static int emu_control(const char *what, const char *body)
{
	char path[128];
	snprintf(path, sizeof(path), "/_emu/%s", what);
	int rc = req(NULL, "POST", path, body ? body : "{}");
	if (rc < 0)
		printf("# POST %s: %s\n", path, gfs_error_last());
	return rc;
}

static void create_namespace(const char *ns)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
		 "\"%s\"}}",
		 ns);
	int rc = req(NULL, "POST", "/api/v1/namespaces", body);
	if (rc < 0 && rc != -EEXIST)
		printf("# create namespace %s: %s\n", ns, gfs_error_last());
}

static int create_configmap(const char *ns, const char *name, const char *value)
{
	char path[256], body[512];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
		 "{\"name\":\"%s\",\"namespace\":\"%s\"},\"data\":{\"k\":\"%s\"}}",
		 name, ns, value);
	return req(NULL, "POST", path, body);
}

static int delete_configmap(const char *ns, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", ns, name);
	return req(NULL, "DELETE", path, NULL);
}

/* How many logged requests match: path prefix, a query substring (or
 * NULL) and watch-ness (-1: either). */
static int count_requests(const char *path_prefix, const char *query_has, int watch)
{
	json_t *log = NULL;
	size_t i;
	json_t *r;
	int n = 0;
	if (req(&log, "GET", "/_emu/requests", NULL) < 0)
		return -1;
	json_array_foreach(log, i, r)
	{
		const char *p = json_string_value(json_object_get(r, "path"));
		const char *q = json_string_value(json_object_get(r, "query"));
		int w = json_is_true(json_object_get(r, "watch"));
		if (p && strncmp(p, path_prefix, strlen(path_prefix)) == 0 &&
		    (!query_has || (q && strstr(q, query_has))) &&
		    (watch < 0 || w == watch))
			n++;
	}
	json_decref(log);
	return n;
}

/* ---- error mapping and credentials ---------------------------------------- */

static void errno_mapping_is_as_documented(void)
{
	CHECK_INT(gfs_kube_errno(200, NULL), 0);
	CHECK_INT(gfs_kube_errno(201, NULL), 0);
	CHECK_INT(gfs_kube_errno(400, NULL), -EINVAL);
	CHECK_INT(gfs_kube_errno(422, "Invalid"), -EINVAL);
	CHECK_INT(gfs_kube_errno(401, NULL), -EACCES);
	CHECK_INT(gfs_kube_errno(403, "Forbidden"), -EACCES);
	CHECK_INT(gfs_kube_errno(404, "NotFound"), -ENOENT);
	CHECK_INT(gfs_kube_errno(409, "AlreadyExists"), -EEXIST);
	CHECK_INT(gfs_kube_errno(409, "Conflict"), -EBUSY);
	CHECK_INT(gfs_kube_errno(409, NULL), -EBUSY);
	CHECK_INT(gfs_kube_errno(410, "Expired"), -ESTALE);
	CHECK_INT(gfs_kube_errno(429, "TooManyRequests"), -EAGAIN);
	CHECK_INT(gfs_kube_errno(500, NULL), -EIO);
	CHECK_INT(gfs_kube_errno(503, NULL), -EIO);
}

/* A connection that would leave fewer than GFS_KUBE_FD_RESERVE
 * descriptors for the rest of the process is refused with EMFILE and a
 * message that names the limit and the ways out. */
static void a_socket_near_the_descriptor_limit_is_refused_by_name(void)
{
	struct rlimit old, tight;
	struct gfs_kube_conn *c2 = NULL;
	json_t *doc = NULL;
	char want[96];
	int lowest = dup(0); /* the lowest free descriptor */
	close(lowest);
	CHECK_INT(getrlimit(RLIMIT_NOFILE, &old), 0);
	tight = old;
	tight.rlim_cur = (rlim_t)lowest + GFS_KUBE_FD_RESERVE / 2;
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &tight), 0);
	CHECK_INT(gfs_kube_conn_open(&c2, client), 0);
	CHECK_INT(gfs_kube_request(c2, &doc, NULL, "GET", "/api", NULL, NULL, 0),
		  -EMFILE);
	snprintf(want, sizeof(want), "at its limit of %llu open file descriptors",
		 (unsigned long long)tight.rlim_cur);
	CHECK(strstr(gfs_error_last(), want) != NULL);
	CHECK(strstr(gfs_error_last(), "ulimit -n") != NULL);
	CHECK(strstr(gfs_error_last(), "HTTP/2") != NULL);
	CHECK_INT(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* With room again, the same conn connects. */
	CHECK_INT(gfs_kube_request(c2, &doc, NULL, "GET", "/api", NULL, NULL, 0), 0);
	json_decref(doc);
	gfs_kube_conn_close(c2);
}

static void request_over_verified_tls_succeeds(void)
{
	json_t *doc = NULL;
	long status = 0;
	CHECK(strncmp(gfs_kube_client_server(client), "https://", 8) == 0);
	CHECK_INT(gfs_kube_request(conn, &doc, &status, "GET", "/api", NULL, NULL, 0), 0);
	CHECK_INT(status, 200);
	CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "versions"), 0)),
		  "v1");
	json_decref(doc);
	/* Every request says who we are. */
	json_t *log = NULL;
	CHECK_INT(req(&log, "GET", "/_emu/requests", NULL), 0);
	const char *ua =
	    json_string_value(json_object_get(json_array_get(log, 0), "user_agent"));
	CHECK(ua && strncmp(ua, "gitopsfs/", 9) == 0);
	json_decref(log);
}

static void wrong_ca_fails_with_a_clear_tls_error(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other-ca "
		 "-days 1 -keyout '%s' -out '%s' >/dev/null 2>&1",
		 dir_path("other.key"), dir_path("other.crt"));
	CHECK_INT(system(cmd), 0);
	struct gfs_kube_creds *c = emu_creds();
	if (!c)
		return;
	free(c->ca_pem);
	c->ca_pem = NULL;
	CHECK_INT(gfs_kube_file_read(&c->ca_pem, &c->ca_pem_len, dir_path("other.crt"),
				     1 << 20),
		  0);
	CHECK_INT(try_creds(c, NULL), -EPROTO);
	CHECK(strstr(gfs_error_last(), "not trusted") != NULL);
	CHECK(strstr(gfs_error_last(), "certificate-authority") != NULL);
	printf("# %s\n", gfs_error_last());
	/* Without any CA the system store does not know the emulator either. */
	free(c->ca_pem);
	c->ca_pem = NULL;
	c->ca_pem_len = 0;
	CHECK_INT(try_creds(c, NULL), -EPROTO);
	/* insecure-skip-tls-verify connects all the same. */
	c->insecure = 1;
	CHECK_INT(try_creds(c, NULL), 0);
	gfs_kube_creds_free(c);
}

static void tls_server_name_is_used_for_verification(void)
{
	struct gfs_kube_creds *c = emu_creds();
	if (!c)
		return;
	/* The emulator's certificate is for 127.0.0.1 and localhost. */
	c->tls_server_name = strdup("localhost");
	CHECK_INT(try_creds(c, NULL), 0);
	free(c->tls_server_name);
	c->tls_server_name = strdup("wrong.example.com");
	CHECK_INT(try_creds(c, NULL), -EPROTO);
	gfs_kube_creds_free(c);
}

static void bad_token_is_401_eacces_without_the_token(void)
{
	struct gfs_kube_creds *c = emu_creds();
	long status = 0;
	if (!c)
		return;
	free(c->token);
	c->token = strdup("wrong-token-77aa");
	CHECK_INT(try_creds(c, &status), -EACCES);
	CHECK_INT(status, 401);
	CHECK(strstr(gfs_error_last(), "401 Unauthorized") != NULL);
	CHECK(strstr(gfs_error_last(), "wrong-token-77aa") == NULL);
	CHECK(strstr(gfs_error_last(), TOKEN) == NULL);
	gfs_kube_creds_free(c);
}

static void client_certificate_authenticates(void)
{
	struct gfs_kube_creds *c = emu_creds();
	if (!c)
		return;
	gfs_secret_free(c->token, 0);
	c->token = NULL;
	CHECK_INT(gfs_kube_file_read(&c->cert_pem, &c->cert_pem_len,
				     dir_path("tls/client.crt"), 1 << 20),
		  0);
	CHECK_INT(gfs_kube_file_read(&c->key_pem, &c->key_pem_len,
				     dir_path("tls/client.key"), 1 << 20),
		  0);
	CHECK_INT(try_creds(c, NULL), 0);
	gfs_kube_creds_free(c);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void token_file_is_reread_when_it_changes(void)
{
	struct gfs_kube_creds *c = emu_creds();
	struct gfs_kube_client *cl = NULL;
	struct gfs_kube_conn *cn = NULL;
	if (!c)
		return;
	gfs_secret_free(c->token, 0);
	c->token = NULL;
	write_text(dir_path("tokenfile"), "old-and-rejected\n");
	c->token_file = strdup(dir_path("tokenfile"));
	CHECK_INT(gfs_kube_client_new(&cl, c), 0);
	CHECK_INT(gfs_kube_conn_open(&cn, cl), 0);
	CHECK_INT(gfs_kube_request(cn, NULL, NULL, "GET", "/api", NULL, NULL, 0),
		  -EACCES);
	write_text(dir_path("tokenfile"), TOKEN "\n");
	CHECK_INT(gfs_kube_request(cn, NULL, NULL, "GET", "/api", NULL, NULL, 0), 0);
	gfs_kube_conn_close(cn);
	gfs_kube_client_free(cl);
	gfs_kube_creds_free(c);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, ch;
	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void exec_plugin_is_cached_and_rerun_after_401(void)
{
	char script[2048];
	/* The first run hands out a revoked token, later runs the good one. */
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "echo run >> '%s'\n"
		 "if [ \"$(wc -l < '%s')\" -le 1 ]; then t=revoked; else t=%s; fi\n"
		 "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		 "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"'$t'\","
		 "\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}'\n",
		 dir_path("runs"), dir_path("runs"), TOKEN);
	write_text(dir_path("plugin.sh"), script);
	chmod(dir_path("plugin.sh"), 0700);
	struct gfs_kube_creds *c = emu_creds();
	struct gfs_kube_client *cl = NULL;
	struct gfs_kube_conn *cn = NULL;
	if (!c)
		return;
	gfs_secret_free(c->token, 0);
	c->token = NULL;
	c->exec.command = strdup(dir_path("plugin.sh"));
	c->exec.api_version = strdup("client.authentication.k8s.io/v1");
	CHECK_INT(gfs_kube_client_new(&cl, c), 0);
	CHECK_INT(gfs_kube_conn_open(&cn, cl), 0);
	CHECK_INT(gfs_kube_request(cn, NULL, NULL, "GET", "/api", NULL, NULL, 0), 0);
	CHECK_INT(count_lines(dir_path("runs")), 2);
	CHECK_INT(gfs_kube_request(cn, NULL, NULL, "GET", "/apis", NULL, NULL, 0), 0);
	CHECK_INT(count_lines(dir_path("runs")), 2); /* cached until expiry */
	gfs_kube_conn_close(cn);
	gfs_kube_client_free(cl);
	gfs_kube_creds_free(c);
}

struct plugin_user {
	struct gfs_kube_client *client;
	int rc;
};

static void *plugin_user_main(void *p)
{
	struct plugin_user *u = p;
	struct gfs_kube_conn *cn = NULL;
	u->rc = gfs_kube_conn_open(&cn, u->client);
	if (u->rc == 0)
		u->rc = gfs_kube_request(cn, NULL, NULL, "GET", "/api", NULL, NULL, 0);
	gfs_kube_conn_close(cn);
	return NULL;
}

/* Threads that need a credential together run the plugin once, and the
 * client's lock is free while it runs (a slow plugin stalls no one else). */
static void exec_plugin_runs_once_for_many_threads_without_the_lock(void)
{
	char script[2048];
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "echo run >> '%s'\n"
		 "sleep 1\n"
		 "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		 "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}'\n",
		 dir_path("slowruns"), TOKEN);
	write_text(dir_path("slowplugin.sh"), script);
	chmod(dir_path("slowplugin.sh"), 0700);
	struct gfs_kube_creds *c = emu_creds();
	struct gfs_kube_client *cl = NULL;
	struct plugin_user users[4];
	pthread_t t[4];
	if (!c)
		return;
	gfs_secret_free(c->token, 0);
	c->token = NULL;
	c->exec.command = strdup(dir_path("slowplugin.sh"));
	c->exec.api_version = strdup("client.authentication.k8s.io/v1");
	CHECK_INT(gfs_kube_client_new(&cl, c), 0);
	for (int i = 0; i < 4; i++) {
		users[i] = (struct plugin_user){cl, -1};
		CHECK_INT(pthread_create(&t[i], NULL, plugin_user_main, &users[i]), 0);
	}
	gfs_sleep_ms(300, NULL); /* the plugin runs now */
	int64_t t0 = gfs_monotonic_ms();
	gfs_kube_client_auth_failed(cl, 12345); /* takes the client's lock */
	CHECK(gfs_monotonic_ms() - t0 < 400);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(users[i].rc, 0);
	}
	CHECK_INT(count_lines(dir_path("slowruns")), 1);
	gfs_kube_client_free(cl);
	gfs_kube_creds_free(c);
}

static void exec_plugin_client_certificate_authenticates(void)
{
	char script[2048];
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "exec python3 -c 'import json; print(json.dumps({"
		 "\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
		 "\"kind\": \"ExecCredential\", \"status\": {"
		 "\"clientCertificateData\": open(\"%s\").read(), "
		 "\"clientKeyData\": open(\"%s\").read()}}))'\n",
		 dir_path("tls/client.crt"), dir_path("tls/client.key"));
	write_text(dir_path("certplugin.sh"), script);
	chmod(dir_path("certplugin.sh"), 0700);
	struct gfs_kube_creds *c = emu_creds();
	if (!c)
		return;
	gfs_secret_free(c->token, 0);
	c->token = NULL;
	c->exec.command = strdup(dir_path("certplugin.sh"));
	c->exec.api_version = strdup("client.authentication.k8s.io/v1beta1");
	CHECK_INT(try_creds(c, NULL), 0);
	gfs_kube_creds_free(c);
}

/* ---- discovery and errors of writes ----------------------------------------- */

static const char *crd_body(const char *plural, const char *kind)
{
	static char body[1024];
	snprintf(
	    body, sizeof(body),
	    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
	    "\"CustomResourceDefinition\",\"metadata\":{\"name\":\"%s.example.com\"},"
	    "\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
	    "\"names\":{\"plural\":\"%s\",\"singular\":\"%.*s\",\"kind\":\"%s\"},"
	    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
	    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
	    "\"x-kubernetes-preserve-unknown-fields\":true}}}]}}",
	    plural, plural, (int)strlen(plural) - 1, plural, kind);
	return body;
}

static void discovery_lists_preferred_versions_sorted(void)
{
	struct gfs_resource_list *l = NULL;
	CHECK_INT(gfs_discovery_run(&l, conn), 0);
	if (!l)
		return;
	const struct gfs_resource *cm = gfs_resource_list_find(l, "configmaps");
	const struct gfs_resource *dep = gfs_resource_list_find(l, "deployments.apps");
	const struct gfs_resource *ns = gfs_resource_list_find(l, "namespaces");
	CHECK(cm && dep && ns);
	if (cm) {
		CHECK_STR(cm->group, "");
		CHECK_STR(cm->version, "v1");
		CHECK_STR(cm->kind, "ConfigMap");
		CHECK_STR(cm->api_path, "/api/v1");
		CHECK(cm->namespaced);
	}
	if (dep) {
		CHECK_STR(dep->group, "apps");
		CHECK_STR(dep->api_path, "/apis/apps/v1");
		CHECK(dep->versions && dep->versions[0] && !dep->versions[1]);
		CHECK_STR(dep->versions ? dep->versions[0] : NULL, "v1");
		CHECK_STR(dep->kind, "Deployment");
		CHECK(dep->namespaced);
	}
	if (ns)
		CHECK(!ns->namespaced);
	CHECK(gfs_resource_list_find_kind(l, "apps/v1", "Deployment") == dep);
	/* The emulator serves deployments at apps/v1 only. */
	CHECK(gfs_resource_list_find_kind(l, "apps/v1beta2", "Deployment") == NULL);
	CHECK(gfs_resource_list_find_group_kind(l, "apps/v1beta2", "Deployment") == dep);
	CHECK(gfs_resource_list_find_kind(l, "v1", "ConfigMap") == cm);
	CHECK(gfs_resource_list_find_kind(l, "v1", "Deployment") == NULL);
	for (size_t i = 0; i < l->count; i++) {
		CHECK(strchr(l->items[i].resource, '/') == NULL);
		if (i > 0)
			CHECK(strcmp(l->items[i - 1].dirname, l->items[i].dirname) < 0);
	}
	gfs_resource_list_free(l);

	/* A CRD created now is served after a new discovery. */
	CHECK_INT(req(NULL, "POST",
		      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
		      crd_body("widgets", "Widget")),
		  0);
	const struct gfs_resource *w = NULL;
	for (int i = 0; i < 50 && !w; i++) {
		l = NULL;
		CHECK_INT(gfs_discovery_run(&l, conn), 0);
		w = l ? gfs_resource_list_find(l, "widgets.example.com") : NULL;
		if (w) {
			CHECK_STR(w->kind, "Widget");
			CHECK_STR(w->api_path, "/apis/example.com/v1");
		}
		gfs_resource_list_free(l);
		if (!w)
			gfs_sleep_ms(100, NULL);
	}
	CHECK(w != NULL);
}

/* A CRD of `group` with the given spec.versions (a JSON array). */
static const char *crd_versions_body(const char *group, const char *plural,
				     const char *kind, const char *versions)
{
	static char body[2048];
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
		 "\"CustomResourceDefinition\",\"metadata\":{\"name\":\"%s.%s\"},"
		 "\"spec\":{\"group\":\"%s\",\"scope\":\"Namespaced\","
		 "\"names\":{\"plural\":\"%s\",\"kind\":\"%s\"},\"versions\":%s}}",
		 plural, group, group, plural, kind, versions);
	return body;
}

/* One entry of spec.versions with an open schema; CRD_VERSION is served. */
#define CRD_VERSION_X(name, served, storage)                                             \
	"{\"name\":\"" name "\",\"served\":" served ",\"storage\":" storage ","          \
	"\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","                          \
	"\"x-kubernetes-preserve-unknown-fields\":true}}}"
#define CRD_VERSION(name, storage) CRD_VERSION_X(name, "true", storage)

static int create_crd(const char *group, const char *plural, const char *kind,
		      const char *versions)
{
	int rc =
	    req(NULL, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
		crd_versions_body(group, plural, kind, versions));
	if (rc < 0)
		printf("# creating CRD %s.%s: %s\n", plural, group, gfs_error_last());
	return rc;
}

/* Replaces the spec.versions of CRD plural.group (a merge patch). */
static int patch_crd_versions(const char *group, const char *plural, const char *versions)
{
	char path[256], body[1536];
	snprintf(path, sizeof(path),
		 "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s.%s", plural,
		 group);
	snprintf(body, sizeof(body), "{\"spec\":{\"versions\":%s}}", versions);
	int rc = gfs_kube_request(conn, NULL, NULL, "PATCH", path,
				  "application/merge-patch+json", body, strlen(body));
	if (rc < 0)
		printf("# PATCH %s: %s\n", path, gfs_error_last());
	return rc;
}

/* The versions of r as "v1,v1beta1" (static buffer). */
static const char *versions_str(const struct gfs_resource *r)
{
	static char buf[256];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; r && r->versions && r->versions[i] && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "",
				      r->versions[i]);
	return buf;
}

static void version_priority_is_ga_beta_alpha_then_other_names(void)
{
	const char *v[] = {"foo",     "v1alpha1", "v1beta1", "v10",      "v2beta1", "v1",
			   "v1beta2", "bar",      "v2",      "v2alpha1", "v1x"};
	const char *want[] = {"v10",     "v2",      "v1",       "v2beta1",
			      "v1beta2", "v1beta1", "v2alpha1", "v1alpha1",
			      "bar",     "foo",     "v1x"};
	size_t n = sizeof(v) / sizeof(v[0]);
	/* A plain insertion sort by the comparator: its order is the test. */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && gfs_kube_version_cmp(v[k - 1], v[k]) > 0;
		     k--) {
			const char *t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		CHECK_STR(v[i], want[i]);
	CHECK(gfs_kube_version_cmp("v1", "v1") == 0);
	CHECK(gfs_kube_version_cmp("v1", "v1beta1") < 0);
	CHECK(gfs_kube_version_cmp("v1beta1", "v1") > 0);
	CHECK(gfs_kube_version_cmp("v2beta1", "v1beta3") < 0);
	CHECK(gfs_kube_version_cmp("v1beta1", "v3alpha1") < 0);
	CHECK(gfs_kube_version_cmp("v1alpha10", "v1alpha9") < 0);
	/* Not of the Kubernetes form: "v", "v1beta" (no minor), a sign, a
	 * number too long to be one: after every v<N>. */
	CHECK(gfs_kube_version_cmp("v1alpha1", "v") < 0);
	CHECK(gfs_kube_version_cmp("v1alpha1", "v1beta") < 0);
	CHECK(gfs_kube_version_cmp("v1alpha1", "v-1") < 0);
	CHECK(gfs_kube_version_cmp("v1alpha1", "v1234567890123456789") < 0);
	CHECK(gfs_kube_version_cmp("v123456789012345678", "v1") < 0);
}

#define MON "monitoring.coreos.test"

/* The "every served resource, every served version" rule: a group (as
 * prometheus-operator's) preferring v1 with a kind served only at
 * v1alpha1, a kind at v1beta1 and v1, and one with an unserved version. */
static void discovery_finds_every_resource_at_its_best_version(void)
{
	CHECK_INT(create_crd(MON, "prometheuses", "Prometheus",
			     "[" CRD_VERSION("v1", "true") "]"),
		  0);
	CHECK_INT(create_crd(MON, "alertmanagerconfigs", "AlertmanagerConfig",
			     "[" CRD_VERSION("v1alpha1", "true") "]"),
		  0);
	CHECK_INT(create_crd(MON, "podmonitors", "PodMonitor",
			     "[" CRD_VERSION("v1beta1",
					     "false") "," CRD_VERSION("v1", "true") "]"),
		  0);
	CHECK_INT(
	    create_crd(MON, "thanosrulers", "ThanosRuler",
		       "[" CRD_VERSION_X("v1beta1", "false",
					 "false") "," CRD_VERSION("v1", "true") "]"),
	    0);
	/* kube-apiserver prefers the group's highest version of all its CRDs. */
	json_t *g = NULL;
	CHECK_INT(req(&g, "GET", "/apis/" MON, NULL), 0);
	CHECK_STR(json_string_value(
		      json_object_get(json_object_get(g, "preferredVersion"), "version")),
		  "v1");
	json_decref(g);

	struct gfs_resource_list *l = NULL;
	const struct gfs_resource *amc = NULL, *pm = NULL, *prom = NULL, *tr = NULL;
	for (int i = 0; i < 50 && !(amc && pm && prom && tr); i++) {
		gfs_resource_list_free(l);
		l = NULL;
		CHECK_INT(gfs_discovery_run(&l, conn), 0);
		amc = gfs_resource_list_find(l, "alertmanagerconfigs." MON);
		pm = gfs_resource_list_find(l, "podmonitors." MON);
		prom = gfs_resource_list_find(l, "prometheuses." MON);
		tr = gfs_resource_list_find(l, "thanosrulers." MON);
		if (!(amc && pm && prom && tr))
			gfs_sleep_ms(100, NULL);
	}
	CHECK(amc && pm && prom && tr);
	if (!(amc && pm && prom && tr)) {
		gfs_resource_list_free(l);
		return;
	}
	/* Served only at a version the group does not prefer: visible there. */
	CHECK_STR(amc->version, "v1alpha1");
	CHECK_STR(amc->api_path, "/apis/" MON "/v1alpha1");
	CHECK_STR(versions_str(amc), "v1alpha1");
	CHECK_STR(amc->kind, "AlertmanagerConfig");
	/* At the preferred version, with every served one, highest first. */
	CHECK_STR(pm->version, "v1");
	CHECK_STR(pm->api_path, "/apis/" MON "/v1");
	CHECK_STR(versions_str(pm), "v1,v1beta1");
	CHECK_STR(versions_str(prom), "v1");
	CHECK_STR(versions_str(tr), "v1"); /* v1beta1 is not served */

	/* find_kind: any served version finds the resource; others do not. */
	CHECK(gfs_resource_list_find_kind(l, MON "/v1", "PodMonitor") == pm);
	CHECK(gfs_resource_list_find_kind(l, MON "/v1beta1", "PodMonitor") == pm);
	CHECK(gfs_resource_list_find_kind(l, MON "/v1alpha1", "PodMonitor") == NULL);
	CHECK(gfs_resource_list_find_kind(l, MON "/v1alpha1", "AlertmanagerConfig") ==
	      amc);
	CHECK(gfs_resource_list_find_kind(l, MON "/v1", "AlertmanagerConfig") == NULL);
	CHECK(gfs_resource_list_find_kind(l, MON "/v1beta1", "ThanosRuler") == NULL);
	CHECK(gfs_resource_list_find_kind(l, MON, "PodMonitor") == NULL);
	CHECK(gfs_resource_list_find_kind(l, "v1", "PodMonitor") == NULL);
	CHECK(gfs_resource_list_find_group_kind(l, MON "/v1alpha1", "PodMonitor") == pm);
	CHECK(gfs_resource_list_find_group_kind(l, "other.test/v1", "PodMonitor") ==
	      NULL);

	CHECK(gfs_resource_serves(pm, "v1beta1"));
	CHECK(gfs_resource_serves(pm, "v1"));
	CHECK(!gfs_resource_serves(pm, "v1alpha1"));
	CHECK(!gfs_resource_serves(pm, NULL));

	char path[64];
	CHECK_INT(gfs_resource_api_path(path, sizeof(path), pm, "v1beta1"), 0);
	CHECK_STR(path, "/apis/" MON "/v1beta1");
	CHECK_INT(gfs_resource_api_path(path, sizeof(path), pm, NULL), 0);
	CHECK_STR(path, "/apis/" MON "/v1");
	CHECK_INT(gfs_resource_api_path(path, sizeof(path), pm, "v1alpha1"), -ENOENT);
	CHECK_STR(path, "");
	CHECK(strstr(gfs_error_last(), "podmonitors." MON) != NULL);
	CHECK_INT(gfs_resource_api_path(path, 10, pm, "v1"), -ENAMETOOLONG);
	CHECK_STR(path, "");
	const struct gfs_resource *cm = gfs_resource_list_find(l, "configmaps");
	CHECK_INT(gfs_resource_api_path(path, sizeof(path), cm, "v1"), 0);
	CHECK_STR(path, "/api/v1");

	/* A copy owns its own versions. */
	struct gfs_resource copy = {0};
	CHECK_INT(gfs_resource_copy(&copy, pm), 0);
	CHECK(copy.versions != pm->versions);
	CHECK_STR(versions_str(&copy), "v1,v1beta1");
	gfs_resource_release(&copy);
	gfs_resource_list_free(l);
}

/* A group version that does not answer: when it is the preferred one the
 * group is skipped (and named as failed); when it is another, only what
 * it could have served is left out, and no resource moves to another
 * version because of it. */
static void discovery_leaves_out_what_a_failed_version_could_serve(void)
{
	struct gfs_resource_list *l = NULL;
	char **failed = NULL;
	/* v1beta1 fails: podmonitors stay at v1 (v1beta1 missing from their
	 * versions), alertmanagerconfigs (first met at v1alpha1, below the
	 * failed version) are left out. */
	CHECK_INT(emu_control("faults", "{\"status\":503,\"count\":1,\"path_prefix\":"
					"\"/apis/" MON "/v1beta1\",\"method\":\"GET\"}"),
		  0);
	CHECK_INT(gfs_discovery_run_ex(&l, &failed, conn), 0);
	const struct gfs_resource *pm = gfs_resource_list_find(l, "podmonitors." MON);
	CHECK(pm && strcmp(pm->version, "v1") == 0);
	CHECK_STR(versions_str(pm), "v1");
	CHECK(gfs_resource_list_find(l, "alertmanagerconfigs." MON) == NULL);
	CHECK(gfs_resource_list_find(l, "prometheuses." MON) != NULL);
	CHECK(gfs_strv_has(failed, MON) && failed && !failed[1]);
	gfs_resource_list_free(l);
	gfs_strv_free(failed);

	/* The preferred version fails: the whole group is skipped. */
	l = NULL;
	failed = NULL;
	CHECK_INT(emu_control("faults", "{\"status\":503,\"count\":1,\"path_prefix\":"
					"\"/apis/" MON "/v1\",\"method\":\"GET\"}"),
		  0);
	CHECK_INT(gfs_discovery_run_ex(&l, &failed, conn), 0);
	CHECK(gfs_resource_list_find(l, "podmonitors." MON) == NULL);
	CHECK(gfs_resource_list_find(l, "alertmanagerconfigs." MON) == NULL);
	CHECK(gfs_resource_list_find(l, "configmaps") != NULL);
	CHECK(gfs_strv_has(failed, MON));
	gfs_resource_list_free(l);
	gfs_strv_free(failed);

	/* Everything answers again. */
	l = NULL;
	failed = NULL;
	CHECK_INT(gfs_discovery_run_ex(&l, &failed, conn), 0);
	CHECK(gfs_resource_list_find(l, "alertmanagerconfigs." MON) != NULL);
	CHECK(failed == NULL);
	gfs_resource_list_free(l);
	gfs_strv_free(failed);
}

static void write_conflicts_map_to_errno(void)
{
	json_t *obj = NULL;
	create_namespace("errs");
	CHECK_INT(create_configmap("errs", "dup", "1"), 0);
	CHECK_INT(create_configmap("errs", "dup", "1"), -EEXIST);
	CHECK(strstr(gfs_error_last(), "409") != NULL);
	CHECK(strstr(gfs_error_last(), "already exists") != NULL);
	CHECK_INT(req(&obj, "GET", "/api/v1/namespaces/errs/configmaps/dup", NULL), 0);
	const char *rv = json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	CHECK(rv != NULL);
	/* Someone else updates it; our PUT with the old version conflicts. */
	json_t *mine = json_deep_copy(obj);
	json_object_set_new(json_object_get(obj, "data"), "k", json_string("theirs"));
	char *body = json_dumps(obj, 0);
	CHECK_INT(req(NULL, "PUT", "/api/v1/namespaces/errs/configmaps/dup", body), 0);
	free(body);
	json_object_set_new(json_object_get(mine, "data"), "k", json_string("mine"));
	body = json_dumps(mine, 0);
	CHECK_INT(req(NULL, "PUT", "/api/v1/namespaces/errs/configmaps/dup", body),
		  -EBUSY);
	CHECK(strstr(gfs_error_last(),
		     "PUT /api/v1/namespaces/errs/configmaps/dup: 409 Conflict") != NULL);
	printf("# %s\n", gfs_error_last());
	free(body);
	json_decref(mine);
	json_decref(obj);
	CHECK_INT(req(NULL, "GET", "/api/v1/namespaces/errs/configmaps/nope", NULL),
		  -ENOENT);
	CHECK_INT(req(NULL, "POST", "/api/v1/namespaces/errs/configmaps", "{not json"),
		  -EINVAL);
}

static void faults_429_and_down_map_to_errno(void)
{
	/* A 429 carries Retry-After: 1 (as API priority and fairness sends
	 * it); it is waited out and tried again, five times at most. */
	CHECK_INT(emu_control("faults",
			      "{\"status\":429,\"count\":1,\"path_prefix\":"
			      "\"/api/v1/namespaces/errs\",\"method\":\"GET\"}"),
		  0);
	CHECK_INT(req(NULL, "GET", "/api/v1/namespaces/errs/configmaps", NULL), 0);
	CHECK_INT(emu_control("faults",
			      "{\"status\":429,\"count\":6,\"path_prefix\":"
			      "\"/api/v1/namespaces/errs\",\"method\":\"GET\"}"),
		  0);
	CHECK_INT(req(NULL, "GET", "/api/v1/namespaces/errs/configmaps", NULL), -EAGAIN);
	CHECK(strstr(gfs_error_last(), "429") != NULL);
	CHECK_INT(req(NULL, "GET", "/api/v1/namespaces/errs/configmaps", NULL), 0);

	CHECK_INT(emu_control("faults", "{\"status\":503,\"count\":1,\"path_prefix\":"
					"\"/api/v1/namespaces/errs\"}"),
		  0);
	CHECK_INT(req(NULL, "GET", "/api/v1/namespaces/errs/configmaps", NULL), -EIO);

	CHECK_INT(emu_control("down", "{\"seconds\":2}"), 0);
	gfs_sleep_ms(200, NULL);
	CHECK_INT(req(NULL, "GET", "/api", NULL), -ECONNREFUSED);
	CHECK(strstr(gfs_error_last(), "cannot reach https://127.0.0.1") != NULL);
	int rc = -1;
	for (int i = 0; i < 60 && rc != 0; i++) {
		gfs_sleep_ms(100, NULL);
		rc = req(NULL, "GET", "/api", NULL);
	}
	CHECK_INT(rc, 0);
}

/* ---- watches ------------------------------------------------------------------- */

struct seen {
	char log[2048];
	int count;
	int end_after; /* end the watch after this many events (0: never) */
};

static int record_event(enum gfs_watch_event type, json_t *obj, void *payload)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
	struct seen *s = payload;
	const char *name =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (type == GFS_WATCH_BOOKMARK)
		return 0;
	size_t len = strlen(s->log);
	snprintf(s->log + len, sizeof(s->log) - len, "%s %s;", names[type],
		 name ? name : "?");
	s->count++;
	return s->end_after && s->count >= s->end_after;
}

static char *list_rv(const char *path)
{
	json_t *doc = NULL;
	char *rv = NULL;
	if (req(&doc, "GET", path, NULL) == 0)
		rv = gfs_strdup(json_string_value(json_object_get(
		    json_object_get(doc, "metadata"), "resourceVersion")));
	json_decref(doc);
	return rv;
}

static void *writer(void *p)
{
	struct gfs_kube_client *cl = client;
	struct gfs_kube_conn *cn = NULL;
	(void)p;
	gfs_sleep_ms(300, NULL);
	if (gfs_kube_conn_open(&cn, cl) < 0)
		return NULL;
	const char *body =
	    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
	    "{\"name\":\"w1\",\"namespace\":\"watch\"},\"data\":{\"k\":\"1\"}}";
	const char *body2 =
	    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
	    "{\"name\":\"w1\",\"namespace\":\"watch\"},\"data\":{\"k\":\"2\"}}";
	gfs_kube_request(cn, NULL, NULL, "POST", "/api/v1/namespaces/watch/configmaps",
			 "application/json", body, strlen(body));
	gfs_kube_request(cn, NULL, NULL, "PUT", "/api/v1/namespaces/watch/configmaps/w1",
			 "application/json", body2, strlen(body2));
	gfs_kube_request(cn, NULL, NULL, "DELETE",
			 "/api/v1/namespaces/watch/configmaps/w1", NULL, NULL, 0);
	gfs_kube_conn_close(cn);
	return NULL;
}

static void watch_streams_events_in_order(void)
{
	create_namespace("watch");
	char *rv = list_rv("/api/v1/namespaces/watch/configmaps");
	char path[256];
	struct seen s = {.end_after = 3};
	pthread_t t;
	atomic_bool stop = false;
	CHECK(rv != NULL);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/watch/configmaps?watch=1&"
		 "allowWatchBookmarks=true&resourceVersion=%s",
		 rv ? rv : "0");
	pthread_create(&t, NULL, writer, NULL);
	CHECK_INT(gfs_kube_watch(conn, path, record_event, &s, &stop), 0);
	pthread_join(t, NULL);
	CHECK_STR(s.log, "ADDED w1;MODIFIED w1;DELETED w1;");
	free(rv);
}

static void watch_from_compacted_version_is_estale(void)
{
	char *rv = list_rv("/api/v1/namespaces/watch/configmaps");
	char path[256];
	struct seen s = {0};
	atomic_bool stop = false;
	CHECK_INT(create_configmap("watch", "after-rv", "1"), 0);
	CHECK_INT(emu_control("compact", NULL), 0);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/watch/configmaps?watch=1&"
		 "resourceVersion=%s",
		 rv ? rv : "0");
	CHECK_INT(gfs_kube_watch(conn, path, record_event, &s, &stop), -ESTALE);
	free(rv);
}

static void *set_after(void *p)
{
	gfs_sleep_ms(300, NULL);
	atomic_store((atomic_bool *)p, true);
	return NULL;
}

static void watch_stops_within_a_second(void)
{
	char *rv = list_rv("/api/v1/namespaces/watch/configmaps");
	char path[256];
	struct seen s = {0};
	atomic_bool stop = false;
	pthread_t t;
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/watch/configmaps?watch=1&"
		 "resourceVersion=%s",
		 rv ? rv : "0");
	pthread_create(&t, NULL, set_after, &stop);
	int64_t t0 = gfs_monotonic_ms();
	CHECK_INT(gfs_kube_watch(conn, path, record_event, &s, &stop), 0);
	int64_t took = gfs_monotonic_ms() - t0;
	pthread_join(t, NULL);
	printf("# stopped after %lld ms\n", (long long)took);
	CHECK(took < 1800);
	free(rv);
}

/* ---- informers ----------------------------------------------------------------- */

struct rec {
	pthread_mutex_t lock;
	int list_begins, list_ends, upserts, removes, gone, bad, good;
	json_t *objects; /* "ns/name" -> data.k, for configmaps */
	char gone_names[256];
	char last_bad[512];
};

static struct rec rec = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *obj_key(json_t *obj, char *buf, size_t cap)
{
	json_t *m = json_object_get(obj, "metadata");
	snprintf(buf, cap, "%s/%s", json_string_value(json_object_get(m, "namespace")),
		 json_string_value(json_object_get(m, "name")));
	return buf;
}

static void on_list_begin(void *p, const struct gfs_resource *r, const char *ns)
{
	struct rec *x = p;
	if (strcmp(r->dirname, "configmaps") != 0)
		return;
	pthread_mutex_lock(&x->lock);
	x->list_begins++;
	pthread_mutex_unlock(&x->lock);
}

static void on_list_end(void *p, const struct gfs_resource *r, const char *ns)
{
	struct rec *x = p;
	pthread_mutex_lock(&x->lock);
	x->list_ends++;
	pthread_mutex_unlock(&x->lock);
}

/* Set by a test: the next upsert changes something and compacts, so that
 * the continue token of the list in progress expires. */
static atomic_bool compact_on_upsert;

static void compact_now(void)
{
	struct gfs_kube_conn *cn = NULL;
	const char *secret = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
			     "\"metadata\":{\"name\":\"mid-list\"}}";
	if (gfs_kube_conn_open(&cn, client) < 0)
		return;
	CHECK_INT(gfs_kube_request(cn, NULL, NULL, "POST",
				   "/api/v1/namespaces/slowlist/secrets",
				   "application/json", secret, strlen(secret)),
		  0);
	CHECK_INT(gfs_kube_request(cn, NULL, NULL, "POST", "/_emu/compact",
				   "application/json", "{}", 2),
		  0);
	gfs_kube_conn_close(cn);
}

static void on_upsert(void *p, const struct gfs_resource *r, json_t *obj)
{
	struct rec *x = p;
	char key[256];
	if (strcmp(r->dirname, "configmaps") != 0)
		return;
	if (atomic_exchange(&compact_on_upsert, false))
		compact_now();
	const char *v =
	    json_string_value(json_object_get(json_object_get(obj, "data"), "k"));
	pthread_mutex_lock(&x->lock);
	x->upserts++;
	CHECK_STR(json_string_value(json_object_get(obj, "kind")), "ConfigMap");
	json_object_set_new(x->objects, obj_key(obj, key, sizeof(key)),
			    json_string(v ? v : ""));
	pthread_mutex_unlock(&x->lock);
}

static void on_remove(void *p, const struct gfs_resource *r, json_t *obj)
{
	struct rec *x = p;
	char key[256];
	pthread_mutex_lock(&x->lock);
	x->removes++;
	json_object_del(x->objects, obj_key(obj, key, sizeof(key)));
	pthread_mutex_unlock(&x->lock);
}

static void on_gone(void *p, const struct gfs_resource *r)
{
	struct rec *x = p;
	pthread_mutex_lock(&x->lock);
	x->gone++;
	snprintf(x->gone_names + strlen(x->gone_names),
		 sizeof(x->gone_names) - strlen(x->gone_names), "%s;", r->dirname);
	pthread_mutex_unlock(&x->lock);
}

static void on_health(void *p, const struct gfs_resource *r, bool ok, const char *msg)
{
	struct rec *x = p;
	pthread_mutex_lock(&x->lock);
	if (ok) {
		x->good++;
	} else {
		x->bad++;
		snprintf(x->last_bad, sizeof(x->last_bad), "%s: %s", r->dirname, msg);
	}
	pthread_mutex_unlock(&x->lock);
}

static bool want_some(void *p, const struct gfs_resource *r)
{
	return strcmp(r->dirname, "configmaps") == 0 || strstr(r->dirname, "example.com");
}

static const struct gfs_informer_ops rec_ops = {
    on_list_begin, on_upsert, on_remove, on_list_end, on_gone, on_health,
};

static struct gfs_informers *inf;

static int rec_get(int *field)
{
	pthread_mutex_lock(&rec.lock);
	int v = *field;
	pthread_mutex_unlock(&rec.lock);
	return v;
}

/* The value the informer holds for configmap ns/name, "" when absent. */
static bool rec_has(const char *key, const char *value)
{
	pthread_mutex_lock(&rec.lock);
	const char *v = json_string_value(json_object_get(rec.objects, key));
	bool ok = value ? v && strcmp(v, value) == 0 : v == NULL;
	pthread_mutex_unlock(&rec.lock);
	return ok;
}

static bool wait_has(const char *key, const char *value, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (rec_has(key, value))
			return true;
		gfs_sleep_ms(50, NULL);
	}
	return rec_has(key, value);
}

static void informers_sync_with_paged_lists(void)
{
	char name[32];
	create_namespace("paging");
	for (int i = 0; i < 23; i++) {
		snprintf(name, sizeof(name), "cm-%02d", i);
		create_configmap("paging", name, "v");
	}
	req(NULL, "DELETE", "/_emu/requests", NULL);
	rec.objects = json_object();
	struct gfs_informer_opts opts = {.want = want_some,
					 .page_size = 5,
					 .rediscover_seconds = 30,
					 .paged_lists = true};
	CHECK_INT(gfs_informers_start(&inf, client, &opts, &rec_ops, &rec), 0);
	if (!inf)
		return;
	CHECK_INT(gfs_informers_wait_synced(inf, 15000), 0);
	CHECK(rec_has("paging/cm-00", "v") && rec_has("paging/cm-22", "v"));
	CHECK(rec_has("errs/dup", "theirs"));
	CHECK(rec_get(&rec.list_begins) == 1);
	/* 23+ objects in pages of 5: at least five list requests. */
	CHECK(count_requests("/api/v1/configmaps", "limit=5", 0) >= 5);
	CHECK(count_requests("/api/v1/configmaps", "continue=", 0) >= 4);
	struct gfs_resource_list *l = NULL;
	CHECK_INT(gfs_informers_resources(&l, inf), 0);
	CHECK(l && gfs_resource_list_find(l, "configmaps") != NULL);
	CHECK(l && gfs_resource_list_find(l, "widgets.example.com") != NULL);
	CHECK(l && gfs_resource_list_find(l, "deployments.apps") == NULL);
	gfs_resource_list_free(l);
}

static void informer_follows_create_update_delete(void)
{
	if (!inf)
		return;
	CHECK_INT(create_configmap("paging", "live", "1"), 0);
	CHECK(wait_has("paging/live", "1", 5000));
	CHECK_INT(delete_configmap("paging", "live"), 0);
	CHECK(wait_has("paging/live", NULL, 5000));
}

static void closed_watches_resume_without_relist(void)
{
	if (!inf)
		return;
	int begins = rec_get(&rec.list_begins), bad = rec_get(&rec.bad);
	int watches = count_requests("/api/v1/configmaps", "resourceVersion=", 1);
	CHECK_INT(emu_control("close-watches", NULL), 0);
	gfs_sleep_ms(300, NULL);
	CHECK_INT(create_configmap("paging", "after-close", "1"), 0);
	CHECK(wait_has("paging/after-close", "1", 5000));
	CHECK_INT(rec_get(&rec.list_begins), begins);
	CHECK(count_requests("/api/v1/configmaps", "resourceVersion=", 1) > watches);
	CHECK_INT(rec_get(&rec.bad), bad);
}

static void compaction_leads_to_relist(void)
{
	if (!inf)
		return;
	int begins = rec_get(&rec.list_begins), bad = rec_get(&rec.bad);
	/* The informer must be behind the compaction to get 410: change
	 * something it does not watch (a Secret: a new namespace would get a
	 * kube-root-ca.crt ConfigMap), then compact. A bookmark arriving in
	 * between would bring it up to date, hence a few tries. */
	for (int attempt = 0; attempt < 3 && rec_get(&rec.list_begins) == begins;
	     attempt++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
			 "\"metadata\":{\"name\":\"unwatched-%d\"}}",
			 attempt);
		CHECK_INT(req(NULL, "POST", "/api/v1/namespaces/paging/secrets", body),
			  0);
		CHECK_INT(emu_control("compact", NULL), 0);
		for (int i = 0; i < 60 && rec_get(&rec.list_begins) == begins; i++)
			gfs_sleep_ms(50, NULL);
	}
	CHECK_INT(rec_get(&rec.list_begins), begins + 1);
	CHECK_INT(create_configmap("paging", "after-compact", "1"), 0);
	CHECK(wait_has("paging/after-compact", "1", 5000));
	CHECK_INT(rec_get(&rec.bad), bad); /* a re-list is no failure */
}

static void faults_back_off_and_recover(void)
{
	if (!inf)
		return;
	int bad = rec_get(&rec.bad), good = rec_get(&rec.good);
	CHECK_INT(emu_control("faults", "{\"status\":500,\"count\":3,\"path_prefix\":"
					"\"/api/v1/configmaps\",\"method\":\"GET\"}"),
		  0);
	int64_t t0 = gfs_monotonic_ms();
	CHECK_INT(emu_control("close-watches", NULL), 0);
	for (int i = 0; i < 300 && rec_get(&rec.good) == good; i++)
		gfs_sleep_ms(50, NULL);
	int64_t took = gfs_monotonic_ms() - t0;
	printf("# recovered after %lld ms; %s\n", (long long)took, rec.last_bad);
	/* One "bad" and one "good", not one per retry. */
	CHECK_INT(rec_get(&rec.bad), bad + 1);
	CHECK_INT(rec_get(&rec.good), good + 1);
	CHECK(strstr(rec.last_bad, "configmaps: GET /api/v1/configmaps: 500") != NULL);
	/* Back-off of 0.25-0.5, 0.5-1 and 1-2 s between the attempts. */
	CHECK(took >= 1500);
	CHECK_INT(create_configmap("paging", "after-fault", "1"), 0);
	CHECK(wait_has("paging/after-fault", "1", 5000));
}

static bool resources_have(const char *dirname)
{
	struct gfs_resource_list *l = NULL;
	bool has = gfs_informers_resources(&l, inf) == 0 &&
		   gfs_resource_list_find(l, dirname) != NULL;
	gfs_resource_list_free(l);
	return has;
}

static void crd_changes_are_rediscovered(void)
{
	if (!inf)
		return;
	CHECK(!resources_have("gadgets.example.com"));
	CHECK_INT(req(NULL, "POST",
		      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
		      crd_body("gadgets", "Gadget")),
		  0);
	bool seen = false;
	for (int i = 0; i < 200 && !seen; i++) {
		seen = resources_have("gadgets.example.com");
		gfs_sleep_ms(50, NULL);
	}
	CHECK(seen);
	CHECK_INT(req(NULL, "DELETE",
		      "/apis/apiextensions.k8s.io/v1/"
		      "customresourcedefinitions/gadgets.example.com",
		      NULL),
		  0);
	for (int i = 0; i < 200 && seen; i++) {
		seen = resources_have("gadgets.example.com");
		gfs_sleep_ms(50, NULL);
	}
	CHECK(!seen);
	CHECK(strstr(rec.gone_names, "gadgets.example.com;") != NULL);
}

/* A copy of the watched resource dirname (released by the caller);
 * false when not watched. */
static bool resources_get(struct gfs_resource *out, const char *dirname)
{
	struct gfs_resource_list *l = NULL;
	const struct gfs_resource *r = NULL;
	bool ok = gfs_informers_resources(&l, inf) == 0 &&
		  (r = gfs_resource_list_find(l, dirname)) != NULL &&
		  gfs_resource_copy(out, r) == 0;
	gfs_resource_list_free(l);
	return ok;
}

/* Waits until dirname is watched with the versions `want` ("v1,v1beta1"). */
static bool wait_versions(const char *dirname, const char *want, struct gfs_resource *out)
{
	for (int i = 0; i < 200; i++) {
		struct gfs_resource r = {0};
		if (resources_get(&r, dirname) && strcmp(versions_str(&r), want) == 0) {
			*out = r;
			return true;
		}
		gfs_resource_release(&r);
		gfs_sleep_ms(50, NULL);
	}
	return false;
}

/* Waits until a watch request of path has been made. */
static bool wait_watched(const char *path)
{
	for (int i = 0; i < 100; i++) {
		if (count_requests(path, NULL, 1) > 0)
			return true;
		gfs_sleep_ms(50, NULL);
	}
	return false;
}

static int gone_count(const char *dirname)
{
	char key[128];
	int n = 0;
	snprintf(key, sizeof(key), "%s;", dirname);
	pthread_mutex_lock(&rec.lock);
	for (const char *p = rec.gone_names; (p = strstr(p, key)) != NULL;
	     p += strlen(key))
		n++;
	pthread_mutex_unlock(&rec.lock);
	return n;
}

/* A CRD first served at v1beta1 only; a new lower version only updates the
 * versions list (the watch goes on); a new v1, which the group prefers,
 * moves the watch to v1. */
static void informers_follow_a_crd_to_its_preferred_version(void)
{
	struct gfs_resource r = {0};
	const char *d = "sprockets.example.com";
	if (!inf)
		return;
	CHECK_INT(create_crd("example.com", "sprockets", "Sprocket",
			     "[" CRD_VERSION("v1beta1", "true") "]"),
		  0);
	CHECK(wait_versions(d, "v1beta1", &r));
	CHECK_STR(r.version, "v1beta1");
	CHECK_STR(r.api_path, "/apis/example.com/v1beta1");
	gfs_resource_release(&r);
	CHECK(wait_watched("/apis/example.com/v1beta1/sprockets"));

	CHECK_INT(patch_crd_versions("example.com", "sprockets",
				     "[" CRD_VERSION("v1alpha1", "false") "," CRD_VERSION(
					 "v1beta1", "true") "]"),
		  0);
	CHECK(wait_versions(d, "v1beta1,v1alpha1", &r));
	CHECK_STR(r.version, "v1beta1");
	gfs_resource_release(&r);
	CHECK_INT(gone_count(d), 0);

	CHECK_INT(
	    patch_crd_versions("example.com", "sprockets",
			       "[" CRD_VERSION("v1alpha1", "false") "," CRD_VERSION(
				   "v1beta1", "false") "," CRD_VERSION("v1", "true") "]"),
	    0);
	CHECK(wait_versions(d, "v1,v1beta1,v1alpha1", &r));
	CHECK_STR(r.version, "v1");
	CHECK_STR(r.api_path, "/apis/example.com/v1");
	gfs_resource_release(&r);
	CHECK_INT(gone_count(d), 1);
	CHECK(wait_watched("/apis/example.com/v1/sprockets"));
	CHECK_INT(req(NULL, "DELETE",
		      "/apis/apiextensions.k8s.io/v1/"
		      "customresourcedefinitions/sprockets.example.com",
		      NULL),
		  0);
	bool seen = true;
	for (int i = 0; i < 200 && seen; i++) {
		seen = resources_have(d);
		gfs_sleep_ms(50, NULL);
	}
	CHECK(!seen);
}

static void server_outage_is_survived(void)
{
	if (!inf)
		return;
	int bad = rec_get(&rec.bad), good = rec_get(&rec.good);
	CHECK_INT(emu_control("down", "{\"seconds\":2}"), 0);
	/* Every informer says once that it is failing, then that it is back. */
	for (int i = 0; i < 300 && (rec_get(&rec.bad) == bad ||
				    rec_get(&rec.good) - good < rec_get(&rec.bad) - bad);
	     i++)
		gfs_sleep_ms(50, NULL);
	printf("# %d informers failed and recovered; last: %s\n", rec_get(&rec.bad) - bad,
	       rec.last_bad);
	CHECK(rec_get(&rec.bad) > bad);
	CHECK_INT(rec_get(&rec.good) - good, rec_get(&rec.bad) - bad);
	CHECK_INT(create_configmap("paging", "after-outage", "1"), 0);
	CHECK(wait_has("paging/after-outage", "1", 5000));
}

static void informers_stop_promptly(void)
{
	if (!inf)
		return;
	int64_t t0 = gfs_monotonic_ms();
	gfs_informers_stop(inf);
	inf = NULL;
	int64_t took = gfs_monotonic_ms() - t0;
	printf("# stopped in %lld ms\n", (long long)took);
	CHECK(took < 2000);
}

static void wait_synced_times_out_naming_the_loader(void)
{
	struct gfs_informers *set = NULL;
	const char *const namespaces[] = {"paging", NULL};
	struct gfs_informer_opts opts = {.want = want_some, .namespaces = namespaces};
	CHECK_INT(emu_control("faults", "{\"status\":500,\"count\":4,\"path_prefix\":"
					"\"/api/v1/namespaces/paging/configmaps\"}"),
		  0);
	CHECK_INT(gfs_informers_start(&set, client, &opts, &rec_ops, &rec), 0);
	if (!set)
		return;
	CHECK_INT(gfs_informers_wait_synced(set, 300), -ETIMEDOUT);
	CHECK(strstr(gfs_error_last(), "configmaps in paging") != NULL);
	CHECK(strstr(gfs_error_last(), "500") != NULL);
	printf("# %s\n", gfs_error_last());
	CHECK_INT(gfs_informers_wait_synced(set, 20000), 0);
	gfs_informers_stop(set);
}

static bool want_configmaps(void *p, const struct gfs_resource *r)
{
	return strcmp(r->dirname, "configmaps") == 0;
}

static void expired_continue_token_restarts_the_list(void)
{
	struct gfs_informers *set = NULL;
	const char *const namespaces[] = {"slowlist", NULL};
	struct gfs_informer_opts opts = {.want = want_configmaps,
					 .namespaces = namespaces,
					 .page_size = 2,
					 .paged_lists = true};
	char name[32];
	create_namespace("slowlist");
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "s-%d", i);
		create_configmap("slowlist", name, "v");
	}
	int begins = rec_get(&rec.list_begins);
	atomic_store(&compact_on_upsert, true);
	CHECK_INT(gfs_informers_start(&set, client, &opts, &rec_ops, &rec), 0);
	if (!set)
		return;
	CHECK_INT(gfs_informers_wait_synced(set, 15000), 0);
	CHECK(!atomic_load(&compact_on_upsert));
	/* The first page, then 410 on the second: the list starts over. */
	CHECK_INT(rec_get(&rec.list_begins), begins + 2);
	CHECK(rec_has("slowlist/s-0", "v") && rec_has("slowlist/s-6", "v"));
	gfs_informers_stop(set);
}

/* By default a resource is read with one streaming list: a watch with
 * sendInitialEvents whose initial events end with a bookmark; no pages. */
static void informers_sync_with_a_streaming_list(void)
{
	struct gfs_informers *set = NULL;
	const char *const namespaces[] = {"streamed", NULL};
	struct gfs_informer_opts opts = {.want = want_configmaps,
					 .namespaces = namespaces};
	char name[32];
	create_namespace("streamed");
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "s-%d", i);
		create_configmap("streamed", name, "v");
	}
	int begins = rec_get(&rec.list_begins);
	CHECK_INT(gfs_informers_start(&set, client, &opts, &rec_ops, &rec), 0);
	if (!set)
		return;
	CHECK_INT(gfs_informers_wait_synced(set, 15000), 0);
	CHECK_INT(rec_get(&rec.list_begins), begins + 1);
	CHECK(rec_has("streamed/s-0", "v") && rec_has("streamed/s-6", "v"));
	const char *base = "/api/v1/namespaces/streamed/configmaps";
	CHECK(count_requests(base, "sendInitialEvents=true", 1) == 1);
	CHECK(count_requests(base, "limit=", 0) == 0);
	/* The stream goes on as the watch. */
	CHECK_INT(create_configmap("streamed", "later", "2"), 0);
	CHECK(wait_has("streamed/later", "2", 5000));
	CHECK(count_requests(base, "sendInitialEvents=true", 1) == 1);
	gfs_informers_stop(set);
}

static void start_fails_when_the_server_is_unreachable(void)
{
	struct gfs_kube_creds *c = emu_creds();
	struct gfs_kube_client *cl = NULL;
	struct gfs_informers *set = NULL;
	if (!c)
		return;
	free(c->server);
	c->server = strdup("https://127.0.0.1:1");
	CHECK_INT(gfs_kube_client_new(&cl, c), 0);
	CHECK_INT(gfs_informers_start(&set, cl, NULL, &rec_ops, &rec), -ECONNREFUSED);
	CHECK(strstr(gfs_error_last(), "cannot reach https://127.0.0.1:1") != NULL);
	CHECK(set == NULL);
	gfs_kube_client_free(cl);
	gfs_kube_creds_free(c);
}

int main(void)
{
	if (getenv("GFS_TEST_DEBUG"))
		gfs_log_init(GFS_LOG_DEBUG, NULL);
	TAP_RUN(errno_mapping_is_as_documented);
	TAP_RUN(version_priority_is_ga_beta_alpha_then_other_names);
	if (access(emu_script(), R_OK) != 0) {
		printf("ok %d - emulator tests # SKIP %s not found\n1..%d\n",
		       tap_count + 1, emu_script(), tap_count + 1);
		return 0;
	}
	snprintf(testproc_dir, sizeof(testproc_dir), "/tmp/gfs-kube-client.XXXXXX");
	if (!mkdtemp(testproc_dir))
		return 1;
	struct gfs_kube_creds *c = NULL;
	if (emu_start() < 0 || !(c = emu_creds()) ||
	    gfs_kube_client_new(&client, c) < 0 ||
	    gfs_kube_conn_open(&conn, client) < 0) {
		printf("not ok %d - the emulator started (see %s)\n1..%d\n",
		       tap_count + 1, dir_path("emulator.log"), tap_count + 1);
		emu_stop();
		return 1;
	}
	gfs_kube_creds_free(c);
	TAP_RUN(request_over_verified_tls_succeeds);
	TAP_RUN(a_socket_near_the_descriptor_limit_is_refused_by_name);
	TAP_RUN(wrong_ca_fails_with_a_clear_tls_error);
	TAP_RUN(tls_server_name_is_used_for_verification);
	TAP_RUN(bad_token_is_401_eacces_without_the_token);
	TAP_RUN(client_certificate_authenticates);
	TAP_RUN(token_file_is_reread_when_it_changes);
	TAP_RUN(exec_plugin_is_cached_and_rerun_after_401);
	TAP_RUN(exec_plugin_client_certificate_authenticates);
	TAP_RUN(exec_plugin_runs_once_for_many_threads_without_the_lock);
	TAP_RUN(discovery_lists_preferred_versions_sorted);
	TAP_RUN(discovery_finds_every_resource_at_its_best_version);
	TAP_RUN(discovery_leaves_out_what_a_failed_version_could_serve);
	TAP_RUN(write_conflicts_map_to_errno);
	TAP_RUN(faults_429_and_down_map_to_errno);
	TAP_RUN(watch_streams_events_in_order);
	TAP_RUN(watch_from_compacted_version_is_estale);
	TAP_RUN(watch_stops_within_a_second);
	TAP_RUN(informers_sync_with_paged_lists);
	TAP_RUN(informer_follows_create_update_delete);
	TAP_RUN(closed_watches_resume_without_relist);
	TAP_RUN(compaction_leads_to_relist);
	TAP_RUN(faults_back_off_and_recover);
	TAP_RUN(crd_changes_are_rediscovered);
	TAP_RUN(informers_follow_a_crd_to_its_preferred_version);
	TAP_RUN(server_outage_is_survived);
	TAP_RUN(informers_stop_promptly);
	TAP_RUN(wait_synced_times_out_naming_the_loader);
	TAP_RUN(expired_continue_token_restarts_the_list);
	TAP_RUN(informers_sync_with_a_streaming_list);
	TAP_RUN(start_fails_when_the_server_is_unreachable);
	gfs_kube_conn_close(conn);
	gfs_kube_client_free(client);
	json_decref(rec.objects);
	emu_stop();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testproc_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", testproc_dir);
	return tap_done();
}
