/*
 * cluster.c - connecting to the cluster and loading it into the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "gfs_kubeconfig.h"
#include "gfs_progress.h"
#include "gfs_redaction.h"

int gfs_cli_config(struct gfs_config **out, const struct gfs_cli *cli,
		   const char *repo_text, size_t repo_len)
{
	char *file_text = NULL;
	size_t file_len = 0;
	char shown[600];
	snprintf(shown, sizeof(shown), "%s%s.gitopsfs.yaml (in the repository)",
		 cli->path, cli->path[0] ? "/" : "");
	const char *name = shown;
	if (cli->config) {
		FILE *f = fopen(cli->config, "re");
		struct gfs_buf b = GFS_BUF_INIT(1u << 20);
		char chunk[4096];
		size_t n;
		if (!f)
			return gfs_error_set(-errno, "config %s: %s", cli->config,
					     strerror(errno));
		int rc = 0;
		while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			rc = gfs_buf_add(&b, chunk, n);
		fclose(f);
		if (rc < 0) {
			gfs_buf_release(&b);
			return gfs_error_set(rc, "config %s is too large", cli->config);
		}
		file_text = gfs_buf_detach(&b, &file_len);
		name = cli->config;
	}
	const char *text = file_text ? file_text : repo_text ? repo_text : "";
	size_t len = file_text ? file_len : repo_text ? repo_len : 0;
	enum gfs_secrets_mode secrets = GFS_SECRETS_REDACT;
	int rc = gfs_config_parse(out, name, text, len, secrets);
	free(file_text);
	if (rc < 0)
		return rc;
	if (cli->secrets) {
		struct gfs_filter *f = gfs_cli_filter(cli);
		if (f)
			(*out)->filter->secrets = f->secrets;
		gfs_filter_free(f);
	}
	return 0;
}

int gfs_cluster_open(struct gfs_cluster *c, const struct gfs_cli *cli,
		     struct gfs_filter *filter)
{
	struct gfs_kube_creds *creds = NULL;
	memset(c, 0, sizeof(*c));
	c->filter = filter;
	int rc = gfs_kubeconfig_load(&creds, cli->kubeconfig, cli->context);
	if (rc < 0)
		return rc;
	c->server = strdup(creds->server ? creds->server : "");
	rc = gfs_kube_client_new(&c->client, creds);
	gfs_kube_creds_free(creds);
	if (rc < 0)
		return rc;
	struct gfs_store_opts so = {
	    .filter = c->filter,
	    .namespaces = cli->n_namespaces ? cli->namespaces : NULL,
	    .root = cli->path,
	};
	return gfs_store_new(&c->store, &so);
}

int gfs_cluster_sops(struct gfs_cluster *c, enum gfs_secrets_mode mode,
		     const struct gfs_config *cfg, const char *rules, size_t rules_len)
{
	struct gfs_age_identity *ids = NULL;
	struct gfs_sops *sops = NULL;
	size_t n = 0;
	if (mode != GFS_SECRETS_SOPS || gfs_store_sops(c->store))
		return 0;
	int rc = gfs_sops_identities_load(&ids, &n);
	if (rc == 0) {
		struct gfs_sops_opts o = {
		    .recipients = cfg ? cfg->sops_age : NULL,
		    .rules = rules,
		    .rules_len = rules_len,
		    .ids = ids,
		    .n_ids = n,
		};
		rc = gfs_sops_new(&sops, &o);
	}
	gfs_age_identities_free(ids, n);
	if (rc == 0) {
		gfs_store_set_sops(c->store, sops);
		gfs_info("secrets: sops: Secrets are shown encrypted to %s",
			 cfg && cfg->sops_age ? "the age recipients of the config"
					      : "the age recipients of .sops.yaml");
	}
	return rc < 0 ? -EINVAL : 0;
}

/* The key of redacted Secret values, before any object is rendered. */
static int gfs_cluster_redaction_key(struct gfs_cluster *c)
{
	struct gfs_redact_key k;
	if (gfs_store_filter(c->store)->secrets != GFS_SECRETS_REDACT)
		return 0;
	int rc = c->no_writes ? gfs_redaction_key_read(&k, c->client)
			      : gfs_redaction_key_load(&k, c->client);
	if (rc == 1) {
		gfs_warn("no redaction key in the cluster (Secret %s/%s) nor on this "
			 "machine: redacted Secret values compare as %s",
			 GFS_REDACTION_KEY_NAMESPACE, GFS_REDACTION_KEY_NAME,
			 GFS_REDACTED_NO_KEY);
		rc = 0;
	} else if (rc == 0)
		gfs_store_set_redaction_key(c->store, &k);
	explicit_bzero(&k, sizeof(k));
	return rc;
}

struct gfs_cluster_progress {
	struct gfs_cluster *c;
	struct gfs_progress line;
};

/* "listing the cluster: 12/40 resources, 31500 objects" while the first
 * lists run (a terminal only; see gfs_progress.h). */
static void gfs_cluster_progress_show(void *payload, unsigned synced, unsigned total)
{
	struct gfs_cluster_progress *p = payload;
	struct gfs_store_stats st;
	if (!p->line.on)
		return;
	gfs_store_get_stats(&st, p->c->store);
	gfs_progress_show(&p->line,
			  "gitopsfs: listing the cluster: %u/%u resources, %llu objects",
			  synced, total, (unsigned long long)st.objects);
}

int gfs_cluster_start(struct gfs_cluster *c, const struct gfs_cli *cli)
{
	int rc = gfs_cluster_redaction_key(c);
	if (rc < 0)
		return rc;
	struct gfs_informer_opts io = {
	    .namespaces = cli->n_namespaces ? cli->namespaces : NULL,
	    .want = c->monitor ? gfs_monitor_want_resource : gfs_store_want_resource,
	};
	if (c->monitor)
		rc = gfs_informers_start(&c->informers, c->client, &io,
					 &gfs_monitor_informer_ops, c->monitor);
	else
		rc = gfs_informers_start(&c->informers, c->client, &io,
					 &gfs_store_informer_ops, c->store);
	if (rc < 0)
		return rc;
	struct gfs_cluster_progress p = {.c = c};
	gfs_progress_begin(&p.line, cli->quiet);
	rc = gfs_informers_wait_synced_progress(c->informers, cli->sync_timeout * 1000,
						gfs_cluster_progress_show, &p);
	gfs_progress_end(&p.line);
	return rc;
}

void gfs_cluster_stop(struct gfs_cluster *c)
{
	gfs_informers_stop(c->informers);
	c->informers = NULL;
}

void gfs_cluster_release(struct gfs_cluster *c)
{
	gfs_cluster_stop(c);
	gfs_store_free(c->store);
	gfs_filter_free(c->filter);
	gfs_kube_client_free(c->client);
	free(c->server);
	memset(c, 0, sizeof(*c));
}
