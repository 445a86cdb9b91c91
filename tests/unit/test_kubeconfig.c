/*
 * test_kubeconfig.c - kubeconfig resolution: every credential form of
 * SPEC section 2, relative paths, $KUBECONFIG merging, in-cluster
 * credentials, exec plugins (tiny shell scripts printing an
 * ExecCredential) and the messages people see when something is wrong -
 * which must never contain a credential.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../kube/kube_private.h"
#include "gfs_common.h"
#include "gfs_kubeconfig.h"
#include "tap.h"

static char tmp[256];

static void write_file(const char *name, const char *content, int mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		printf("# cannot write %s\n", path);
		return;
	}
	fputs(content, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

static const char *tmp_path(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return path;
}

static char *b64(const char *s)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	char *out = calloc(n / 3 * 4 + 5, 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	return out;
}

/* A kubeconfig with one cluster, one user and two contexts; `cluster` and
 * `user` are the bodies (already indented by 4) of the entries. */
static void write_kubeconfig(const char *name, const char *cluster, const char *user)
{
	char buf[8192];
	snprintf(buf, sizeof(buf),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "current-context: dev\n"
		 "clusters:\n"
		 "- name: c1\n"
		 "  cluster:\n%s"
		 "contexts:\n"
		 "- name: dev\n"
		 "  context: {cluster: c1, user: u1, namespace: team-a}\n"
		 "- name: kind\n"
		 "  context: {cluster: c1, user: u1}\n"
		 "users:\n"
		 "- name: u1\n"
		 "  user:\n%s",
		 cluster, user);
	write_file(name, buf, 0600);
}

static struct gfs_kube_creds *load(const char *name, const char *context, int want_rc)
{
	struct gfs_kube_creds *c = NULL;
	int rc = gfs_kubeconfig_load(&c, tmp_path(name), context);
	CHECK_INT(rc, want_rc);
	if (rc < 0)
		printf("# message: %s\n", gfs_error_last());
	return c;
}

static bool mem_is(const char *got, size_t len, const char *want)
{
	return got && len == strlen(want) && memcmp(got, want, len) == 0;
}

/* ---- credential forms ---------------------------------------------------- */

static void token_and_inline_ca_are_read(void)
{
	char *ca = b64("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
	char cluster[512];
	snprintf(cluster, sizeof(cluster),
		 "    server: https://10.1.2.3:6443/\n"
		 "    certificate-authority-data: %s\n",
		 ca);
	write_kubeconfig("t1/config", cluster, "    token: abc.def\n");
	struct gfs_kube_creds *c = load("t1/config", NULL, 0);
	if (c) {
		CHECK_STR(c->context, "dev");
		CHECK_STR(c->cluster, "c1");
		CHECK_STR(c->user, "u1");
		CHECK_STR(c->server, "https://10.1.2.3:6443");
		CHECK_STR(c->namespace, "team-a");
		CHECK_STR(c->token, "abc.def");
		CHECK(mem_is(
		    c->ca_pem, c->ca_pem_len,
		    "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"));
		CHECK(c->cert_pem == NULL && c->key_pem == NULL);
		CHECK(!c->insecure);
		CHECK(c->exec.command == NULL);
	}
	gfs_kube_creds_free(c);
	free(ca);
}

static void relative_paths_are_relative_to_the_kubeconfig(void)
{
	write_file("t2/pki/ca.crt", "CA-PEM\n", 0600);
	write_file("t2/pki/client.crt", "CERT-PEM\n", 0600);
	write_file("t2/pki/client.key", "KEY-PEM\n", 0600);
	write_file("t2/token", "file-token\n", 0600);
	write_kubeconfig("t2/config",
			 "    server: https://k.example:443\n"
			 "    certificate-authority: pki/ca.crt\n",
			 "    client-certificate: pki/client.crt\n"
			 "    client-key: pki/client.key\n"
			 "    tokenFile: token\n");
	struct gfs_kube_creds *c = load("t2/config", NULL, 0);
	if (c) {
		CHECK(mem_is(c->ca_pem, c->ca_pem_len, "CA-PEM\n"));
		CHECK(mem_is(c->cert_pem, c->cert_pem_len, "CERT-PEM\n"));
		CHECK(mem_is(c->key_pem, c->key_pem_len, "KEY-PEM\n"));
		char want[512];
		snprintf(want, sizeof(want), "%s/t2/token", tmp);
		CHECK_STR(c->token_file, want);
		CHECK(c->token == NULL);
	}
	gfs_kube_creds_free(c);
}

static void inline_client_certificate_data_is_decoded(void)
{
	char *cert = b64("CERT\n"), *key = b64("KEY\n");
	char user[512];
	snprintf(user, sizeof(user),
		 "    client-certificate-data: %s\n"
		 "    client-key-data: %s\n"
		 "    client-certificate: /does/not/exist\n",
		 cert, key);
	write_kubeconfig("t3/config", "    server: https://h:1\n", user);
	/* Inline data wins over the file, as in kubectl. */
	struct gfs_kube_creds *c = load("t3/config", NULL, 0);
	if (c) {
		CHECK(mem_is(c->cert_pem, c->cert_pem_len, "CERT\n"));
		CHECK(mem_is(c->key_pem, c->key_pem_len, "KEY\n"));
	}
	gfs_kube_creds_free(c);
	free(cert);
	free(key);
}

static void insecure_and_tls_server_name_are_read(void)
{
	write_kubeconfig("t4/config",
			 "    server: https://127.0.0.1:6443\n"
			 "    insecure-skip-tls-verify: true\n"
			 "    tls-server-name: api.internal\n",
			 "    token: t\n");
	struct gfs_kube_creds *c = load("t4/config", "kind", 0);
	if (c) {
		CHECK(c->insecure);
		CHECK_STR(c->tls_server_name, "api.internal");
		CHECK_STR(c->context, "kind");
		CHECK(c->namespace == NULL);
	}
	gfs_kube_creds_free(c);
}

static void exec_plugin_config_is_read(void)
{
	write_kubeconfig("t5/config", "    server: https://h:1\n",
			 "    exec:\n"
			 "      apiVersion: client.authentication.k8s.io/v1beta1\n"
			 "      command: bin/plugin\n"
			 "      args: [get-token, --cluster, c1]\n"
			 "      env:\n"
			 "      - {name: AWS_PROFILE, value: prod}\n"
			 "      interactiveMode: Never\n");
	struct gfs_kube_creds *c = load("t5/config", NULL, 0);
	if (c) {
		char want[512];
		snprintf(want, sizeof(want), "%s/t5/bin/plugin", tmp);
		CHECK_STR(c->exec.command, want);
		CHECK_STR(c->exec.api_version, "client.authentication.k8s.io/v1beta1");
		CHECK(c->exec.args && c->exec.args[0] && c->exec.args[2] &&
		      !c->exec.args[3]);
		if (c->exec.args && c->exec.args[2])
			CHECK_STR(c->exec.args[2], "c1");
		CHECK(c->exec.env && c->exec.env[0] && !c->exec.env[1]);
		if (c->exec.env && c->exec.env[0])
			CHECK_STR(c->exec.env[0], "AWS_PROFILE=prod");
	}
	gfs_kube_creds_free(c);
}

static void kubeconfig_env_list_is_merged_first_wins(void)
{
	write_file("t6/a",
		   "clusters:\n- name: c1\n  cluster: {server: 'https://first:1'}\n"
		   "users:\n- name: u1\n  user: {token: from-a}\n",
		   0600);
	write_file("t6/b",
		   "current-context: x\n"
		   "clusters:\n- name: c1\n  cluster: {server: 'https://second:2'}\n"
		   "- name: c2\n  cluster: {server: 'https://only-b:3'}\n"
		   "contexts:\n- name: x\n  context: {cluster: c1, user: u1}\n"
		   "- name: ctx-b\n  context: {cluster: c2, user: u1}\n",
		   0600);
	char env[1024];
	snprintf(env, sizeof(env), "%s/t6/missing:%s/t6/a:%s/t6/b", tmp, tmp, tmp);
	setenv("KUBECONFIG", env, 1);
	struct gfs_kube_creds *c = NULL;
	CHECK_INT(gfs_kubeconfig_load(&c, NULL, NULL), 0);
	if (c) {
		CHECK_STR(c->context, "x");
		CHECK_STR(c->server, "https://first:1");
		CHECK_STR(c->token, "from-a");
	}
	gfs_kube_creds_free(c);
	c = NULL;
	CHECK_INT(gfs_kubeconfig_load(&c, NULL, "ctx-b"), 0);
	if (c)
		CHECK_STR(c->server, "https://only-b:3");
	gfs_kube_creds_free(c);
	unsetenv("KUBECONFIG");
}

static void home_kube_config_is_the_default(void)
{
	char home[512];
	snprintf(home, sizeof(home), "%s/home", tmp);
	write_kubeconfig("home/.kube/config", "    server: https://home:1\n",
			 "    token: t\n");
	char *old = gfs_strdup(getenv("HOME"));
	setenv("HOME", home, 1);
	unsetenv("KUBECONFIG");
	struct gfs_kube_creds *c = NULL;
	CHECK_INT(gfs_kubeconfig_load(&c, NULL, NULL), 0);
	if (c)
		CHECK_STR(c->server, "https://home:1");
	gfs_kube_creds_free(c);

	snprintf(home, sizeof(home), "%s/empty-home", tmp);
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	unsetenv("KUBERNETES_SERVICE_HOST");
	c = NULL;
	CHECK_INT(gfs_kubeconfig_load(&c, NULL, NULL), -ENOENT);
	CHECK(strstr(gfs_error_last(), "~/.kube/config") != NULL);
	CHECK(strstr(gfs_error_last(), "--kubeconfig") != NULL);
	if (old)
		setenv("HOME", old, 1);
	free(old);
}

static void in_cluster_uses_service_account_files(void)
{
	write_file("sa/token", "sa-token\n", 0600);
	write_file("sa/ca.crt", "SA-CA\n", 0600);
	write_file("sa/namespace", "apps\n", 0600);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct gfs_kube_creds *c = NULL;
	CHECK_INT(gfs_kubeconfig_in_cluster(&c, tmp_path("sa")), 0);
	if (c) {
		CHECK_STR(c->server, "https://10.96.0.1:443");
		CHECK_STR(c->namespace, "apps");
		CHECK(mem_is(c->ca_pem, c->ca_pem_len, "SA-CA\n"));
		char want[512];
		snprintf(want, sizeof(want), "%s/sa/token", tmp);
		CHECK_STR(c->token_file, want);
		CHECK(c->token == NULL); /* re-read by the client: it rotates */
	}
	gfs_kube_creds_free(c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	c = NULL;
	CHECK_INT(gfs_kubeconfig_in_cluster(&c, tmp_path("sa")), 0);
	if (c)
		CHECK_STR(c->server, "https://[fd00::1]:443");
	gfs_kube_creds_free(c);

	c = NULL;
	CHECK_INT(gfs_kubeconfig_in_cluster(&c, tmp_path("no-such-sa")), -ENOENT);
	CHECK(strstr(gfs_error_last(), "no-such-sa/token") != NULL);

	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	c = NULL;
	CHECK_INT(gfs_kubeconfig_in_cluster(&c, tmp_path("sa")), -ENOENT);
	CHECK(strstr(gfs_error_last(), "KUBERNETES_SERVICE_HOST") != NULL);
}

/* ---- messages -------------------------------------------------------------- */

static void missing_context_names_file_choices_and_fix(void)
{
	write_kubeconfig("m1/config", "    server: https://h:1\n",
			 "    token: secret-token-123\n");
	load("m1/config", "prod", -ENOENT);
	const char *m = gfs_error_last();
	char want[600];
	snprintf(want, sizeof(want),
		 "kubeconfig %s/m1/config: context \"prod\" not "
		 "found (contexts: dev, kind); pass --context or fix current-context",
		 tmp);
	CHECK_STR(m, want);
}

static void missing_cluster_and_user_are_named(void)
{
	write_file("m2/config",
		   "current-context: a\n"
		   "clusters:\n- name: real\n  cluster: {server: 'https://h:1'}\n"
		   "contexts:\n- name: a\n  context: {cluster: gone, user: u}\n"
		   "- name: b\n  context: {cluster: real, user: nobody}\n"
		   "users:\n- name: u\n  user: {token: secret-token-123}\n",
		   0600);
	load("m2/config", NULL, -ENOENT);
	CHECK(strstr(gfs_error_last(), "cluster \"gone\"") != NULL);
	CHECK(strstr(gfs_error_last(), "clusters: real") != NULL);
	CHECK(strstr(gfs_error_last(), "m2/config") != NULL);
	load("m2/config", "b", -ENOENT);
	CHECK(strstr(gfs_error_last(), "user \"nobody\"") != NULL);
	CHECK(strstr(gfs_error_last(), "users: u") != NULL);
	CHECK(strstr(gfs_error_last(), "secret-token-123") == NULL);
}

static void missing_file_is_enoent_with_path(void)
{
	load("nope/config", NULL, -ENOENT);
	CHECK(strstr(gfs_error_last(), "nope/config") != NULL);
	CHECK(strstr(gfs_error_last(), "--kubeconfig") != NULL);
}

static void malformed_yaml_gives_file_and_line(void)
{
	write_file("m3/config", "clusters:\n  - name: [unclosed\n", 0600);
	load("m3/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "m3/config") != NULL);
	CHECK(strstr(gfs_error_last(), "line ") != NULL);
	write_file("m4/config", "- just\n- a list\n", 0600);
	load("m4/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "not a kubeconfig") != NULL);
}

/* Fuzzer reproducers: a first character that is not base64, or padding
 * in the middle, used to leave the decoded buffer unterminated and wipe
 * it with strlen (a heap overflow under ASan). */
static void invalid_base64_pem_data_is_refused_without_overflow(void)
{
	static const char *const bad[] = {"!", "A!", "A=A", "=!", "AAAA!"};
	static const char *const fields[] = {
	    "certificate-authority-data", "client-certificate-data", "client-key-data"};
	char name[64], cluster[256], user[256];
	for (size_t f = 0; f < GFS_ARRAY_SIZE(fields); f++) {
		for (size_t b = 0; b < GFS_ARRAY_SIZE(bad); b++) {
			/* The bad value in one field, valid ones in the others. */
			const char *ca = f == 0 ? bad[b] : "Q0EK";
			const char *cert = f == 1 ? bad[b] : "Q0VSVAo=";
			const char *key = f == 2 ? bad[b] : "S0VZCg==";
			snprintf(name, sizeof(name), "b64-%zu-%zu/config", f, b);
			snprintf(cluster, sizeof(cluster),
				 "    server: https://h:1\n"
				 "    certificate-authority-data: \"%s\"\n",
				 ca);
			snprintf(user, sizeof(user),
				 "    client-certificate-data: \"%s\"\n"
				 "    client-key-data: \"%s\"\n",
				 cert, key);
			write_kubeconfig(name, cluster, user);
			load(name, NULL, -EINVAL);
			CHECK(strstr(gfs_error_last(), fields[f]) != NULL);
		}
	}
}

static void no_current_context_asks_for_one(void)
{
	write_file("m5/config", "contexts:\n- name: a\n  context: {cluster: c}\n", 0600);
	load("m5/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "no current-context") != NULL);
	CHECK(strstr(gfs_error_last(), "--context") != NULL);
}

static void bad_credentials_are_explained_without_secrets(void)
{
	write_kubeconfig("m6/config", "    server: https://h:1\n",
			 "    token: secret-token-123\n"
			 "    client-key-data: 'secret-key!!'\n"
			 "    client-certificate-data: Q0VSVAo=\n");
	load("m6/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "client-key-data is not valid base64") != NULL);
	CHECK(strstr(gfs_error_last(), "secret") == NULL);

	write_kubeconfig("m7/config", "    server: https://h:1\n",
			 "    client-certificate-data: Q0VSVAo=\n");
	load("m7/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "no client key") != NULL);

	write_kubeconfig(
	    "m8/config", "    server: https://h:1\n",
	    "    auth-provider: {name: gcp, config: {access-token: secret-token-123}}\n");
	load("m8/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "auth-provider \"gcp\"") != NULL);
	CHECK(strstr(gfs_error_last(), "exec plugin") != NULL);
	CHECK(strstr(gfs_error_last(), "secret-token-123") == NULL);

	write_kubeconfig("m9/config", "    certificate-authority: ca.pem\n",
			 "    token: secret-token-123\n");
	load("m9/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "has no server") != NULL);

	write_kubeconfig("m10/config",
			 "    server: https://h:1\n    certificate-authority: ca.pem\n",
			 "    token: secret-token-123\n");
	load("m10/config", NULL, -ENOENT);
	CHECK(strstr(gfs_error_last(), "m10/ca.pem") != NULL);
	CHECK(strstr(gfs_error_last(), "secret-token-123") == NULL);
}

/* ---- exec plugins ----------------------------------------------------------- */

static void exec_plugin_token_with_args_env_and_expiry(void)
{
	write_file("x1/plugin",
		   "#!/bin/sh\n"
		   "case \"$KUBERNETES_EXEC_INFO\" in\n"
		   "*'\"apiVersion\":\"client.authentication.k8s.io/v1\"'*) ;;\n"
		   "*) echo \"bad exec info: $KUBERNETES_EXEC_INFO\" >&2; exit 3;;\n"
		   "esac\n"
		   "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		   "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s-%s\","
		   "\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}\\n' \"$1\" "
		   "\"$PLUGIN_ENV\"\n",
		   0700);
	write_kubeconfig("x1/config", "    server: https://h:1\n",
			 "    exec:\n"
			 "      apiVersion: client.authentication.k8s.io/v1\n"
			 "      command: ./plugin\n"
			 "      args: [argone]\n"
			 "      env: [{name: PLUGIN_ENV, value: envtwo}]\n");
	struct gfs_kube_creds *c = load("x1/config", NULL, 0);
	struct gfs_exec_cred cred = {0};
	if (c) {
		CHECK_INT(gfs_exec_cred_run(&cred, &c->exec, c->user), 0);
		CHECK_STR(cred.token, "argone-envtwo");
		CHECK_INT(cred.expiry_ns / 1000000000, 1893553445);
		CHECK(cred.cert_pem == NULL);
	}
	gfs_exec_cred_release(&cred);
	gfs_kube_creds_free(c);
}

static void exec_plugin_v1beta1_client_certificate(void)
{
	write_file(
	    "x2/plugin",
	    "#!/bin/sh\n"
	    "cat <<'EOF'\n"
	    "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
	    "\"kind\":\"ExecCredential\",\"status\":{"
	    "\"clientCertificateData\":\"CERT\\n\",\"clientKeyData\":\"KEY\\n\"}}\n"
	    "EOF\n",
	    0700);
	struct gfs_kube_exec x = {.command = (char *)tmp_path("x2/plugin"),
				  .api_version = "client.authentication.k8s.io/v1beta1"};
	struct gfs_exec_cred cred = {0};
	CHECK_INT(gfs_exec_cred_run(&cred, &x, "u"), 0);
	CHECK(mem_is(cred.cert_pem, cred.cert_len, "CERT\n"));
	CHECK(mem_is(cred.key_pem, cred.key_len, "KEY\n"));
	CHECK(cred.token == NULL);
	CHECK_INT(cred.expiry_ns, 0);
	gfs_exec_cred_release(&cred);
}

static void exec_plugin_failures_are_explained_without_secrets(void)
{
	write_file("x3/fail",
		   "#!/bin/sh\n"
		   "echo '{\"status\":{\"token\":\"leaked-secret\"}}'\n"
		   "echo 'please run: aws sso login' >&2\n"
		   "exit 2\n",
		   0700);
	struct gfs_kube_exec x = {.command = (char *)tmp_path("x3/fail"),
				  .api_version = "client.authentication.k8s.io/v1"};
	struct gfs_exec_cred cred = {0};
	CHECK_INT(gfs_exec_cred_run(&cred, &x, "admin"), -EACCES);
	CHECK(strstr(gfs_error_last(), "exit status 2") != NULL);
	CHECK(strstr(gfs_error_last(), "aws sso login") != NULL);
	CHECK(strstr(gfs_error_last(), "\"admin\"") != NULL);
	CHECK(strstr(gfs_error_last(), "leaked-secret") == NULL);

	write_file(
	    "x3/wrongversion",
	    "#!/bin/sh\n"
	    "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
	    "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"leaked-secret\"}}'\n",
	    0700);
	x.command = (char *)tmp_path("x3/wrongversion");
	CHECK_INT(gfs_exec_cred_run(&cred, &x, "admin"), -EACCES);
	CHECK(strstr(gfs_error_last(), "apiVersion") != NULL);
	CHECK(strstr(gfs_error_last(), "leaked-secret") == NULL);

	write_file("x3/garbage", "#!/bin/sh\necho 'leaked-secret not json'\n", 0700);
	x.command = (char *)tmp_path("x3/garbage");
	CHECK_INT(gfs_exec_cred_run(&cred, &x, "admin"), -EACCES);
	CHECK(strstr(gfs_error_last(), "leaked-secret") == NULL);

	x.command = "gfs-no-such-plugin-anywhere";
	CHECK_INT(gfs_exec_cred_run(&cred, &x, "admin"), -ENOENT);
	CHECK(strstr(gfs_error_last(), "gfs-no-such-plugin-anywhere") != NULL);
	CHECK(strstr(gfs_error_last(), "install it") != NULL);
	CHECK(cred.token == NULL);
}

/* A process of the plugin's group: gone, or a zombie nobody reaps yet. */
static bool process_dead(pid_t pid)
{
	char path[64], stat[256] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *p = strrchr(stat, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* A plugin killed by gitopsfs (here for flooding its output) takes what
 * it started with it: its whole process group is killed. */
static void killed_exec_plugin_takes_its_children_along(void)
{
	char script[1024];
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "sleep 300 >/dev/null 2>&1 &\n"
		 "echo $! > %s\n"
		 "head -c 2000000 /dev/zero | tr '\\0' x\n"
		 "sleep 300\n",
		 tmp_path("x5/child.pid"));
	write_file("x5/flood", script, 0700);
	struct gfs_kube_exec x = {.command = (char *)tmp_path("x5/flood"),
				  .api_version = "client.authentication.k8s.io/v1"};
	struct gfs_exec_cred cred = {0};
	CHECK_INT(gfs_exec_cred_run(&cred, &x, "admin"), -EACCES);
	FILE *f = fopen(tmp_path("x5/child.pid"), "r");
	int child = 0;
	CHECK(f && fscanf(f, "%d", &child) == 1 && child > 0);
	if (f)
		fclose(f);
	bool dead = false;
	for (int i = 0; i < 50 && child > 0 && !(dead = process_dead(child)); i++)
		gfs_sleep_ms(100, NULL);
	CHECK(dead);
	if (!dead && child > 0)
		kill(child, SIGKILL);
}

static void unsupported_exec_api_version_is_refused(void)
{
	write_kubeconfig("x4/config", "    server: https://h:1\n",
			 "    exec:\n"
			 "      apiVersion: client.authentication.k8s.io/v1alpha1\n"
			 "      command: plugin\n");
	load("x4/config", NULL, -EINVAL);
	CHECK(strstr(gfs_error_last(), "v1alpha1") != NULL);
}

static void rfc3339_timestamps_parse(void)
{
	int64_t ns = 0;
	CHECK_INT(gfs_rfc3339_parse(&ns, "1970-01-01T00:00:10Z"), 0);
	CHECK_INT(ns, 10000000000LL);
	CHECK_INT(gfs_rfc3339_parse(&ns, "1970-01-01T01:00:10.5+01:00"), 0);
	CHECK_INT(ns, 10500000000LL);
	CHECK_INT(gfs_rfc3339_parse(&ns, "yesterday"), -EINVAL);
	CHECK_INT(gfs_rfc3339_parse(&ns, "1970-01-01T00:00:10"), -EINVAL);
}

/* Found by fuzz/fuzz_exec_cred.c: "+1:2" was read past the end of the
 * string (sscanf took the short fields, then we skipped 6 bytes). */
static void rfc3339_refuses_an_offset_that_is_not_hh_mm(void)
{
	static const char *const bad[] = {
	    "2024-01-01T00:00:00+1:2",   "2024-01-01T00:00:00+01",
	    "2024-01-01T00:00:00+",      "2024-01-01T00:00:00-1:30",
	    "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60",
	    "2024-01-01T00:00:00+ 1:02", "2024-01-01T00:00:00+01:02x",
	};
	int64_t ns = 0;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char *copy = strdup(bad[k]); /* exact size: ASan sees a read past it */
		CHECK_INT(gfs_rfc3339_parse(&ns, copy), -EINVAL);
		free(copy);
	}
	CHECK_INT(gfs_rfc3339_parse(&ns, "1970-01-01T00:00:00-23:59"), 0);
	CHECK_INT(ns, 86340LL * 1000000000);
}

/* Found by fuzz/fuzz_exec_cred.c: year 1012 overflowed the nanoseconds
 * (undefined behaviour); a plugin may well say 9999 for "no expiry". */
static void rfc3339_saturates_times_past_int64_nanoseconds(void)
{
	int64_t ns = 0;
	CHECK_INT(gfs_rfc3339_parse(&ns, "9999-12-31T23:59:59Z"), 0);
	CHECK_INT(ns, INT64_MAX);
	CHECK_INT(gfs_rfc3339_parse(&ns, "1012-03-04T05:06:07Z"), 0);
	CHECK_INT(ns, INT64_MIN);
	CHECK_INT(gfs_rfc3339_parse(&ns, "2262-04-11T23:47:15.5Z"), 0);
	CHECK_INT(ns, 9223372035500000000LL);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gfs-kubeconfig.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	TAP_RUN(token_and_inline_ca_are_read);
	TAP_RUN(relative_paths_are_relative_to_the_kubeconfig);
	TAP_RUN(inline_client_certificate_data_is_decoded);
	TAP_RUN(insecure_and_tls_server_name_are_read);
	TAP_RUN(exec_plugin_config_is_read);
	TAP_RUN(kubeconfig_env_list_is_merged_first_wins);
	TAP_RUN(home_kube_config_is_the_default);
	TAP_RUN(in_cluster_uses_service_account_files);
	TAP_RUN(missing_context_names_file_choices_and_fix);
	TAP_RUN(missing_cluster_and_user_are_named);
	TAP_RUN(missing_file_is_enoent_with_path);
	TAP_RUN(malformed_yaml_gives_file_and_line);
	TAP_RUN(no_current_context_asks_for_one);
	TAP_RUN(invalid_base64_pem_data_is_refused_without_overflow);
	TAP_RUN(bad_credentials_are_explained_without_secrets);
	TAP_RUN(exec_plugin_token_with_args_env_and_expiry);
	TAP_RUN(exec_plugin_v1beta1_client_certificate);
	TAP_RUN(exec_plugin_failures_are_explained_without_secrets);
	TAP_RUN(killed_exec_plugin_takes_its_children_along);
	TAP_RUN(unsupported_exec_api_version_is_refused);
	TAP_RUN(rfc3339_timestamps_parse);
	TAP_RUN(rfc3339_refuses_an_offset_that_is_not_hh_mm);
	TAP_RUN(rfc3339_saturates_times_past_int64_nanoseconds);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return tap_done();
}
