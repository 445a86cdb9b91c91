/*
 * cluster.c - connecting to the cluster and loading it into the store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "gfs_kubeconfig.h"

int gfs_cluster_open(struct gfs_cluster *c, const struct gfs_cli *cli)
{
	struct gfs_kube_creds *creds = NULL;
	memset(c, 0, sizeof(*c));
	int rc = gfs_kubeconfig_load(&creds, cli->kubeconfig, cli->context);
	if (rc < 0)
		return rc;
	c->server = strdup(creds->server ? creds->server : "");
	rc = gfs_kube_client_new(&c->client, creds);
	gfs_kube_creds_free(creds);
	if (rc < 0)
		return rc;
	c->filter = gfs_cli_filter(cli);
	if (!c->filter)
		return gfs_error_set(-ENOMEM, "out of memory");
	struct gfs_store_opts so = {
		.filter = c->filter,
		.namespaces = cli->n_namespaces ? cli->namespaces : NULL,
	};
	return gfs_store_new(&c->store, &so);
}

int gfs_cluster_start(struct gfs_cluster *c, const struct gfs_cli *cli)
{
	struct gfs_informer_opts io = {
		.namespaces = cli->n_namespaces ? cli->namespaces : NULL,
		.want = gfs_store_want_resource,
	};
	int rc = gfs_informers_start(&c->informers, c->client, &io, &gfs_store_informer_ops,
				     c->store);
	if (rc < 0)
		return rc;
	return gfs_informers_wait_synced(c->informers, cli->sync_timeout * 1000);
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
