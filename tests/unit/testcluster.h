/*
 * testcluster.h - the cluster side of a mount, wired in process as the
 * agent wires it (cli/agent.c), without FUSE: the emulated API server (a
 * child process, testproc.h), a client and a connection for the test's
 * own requests, the store with the default filter, the informers, the
 * applied-state records, the deletion journal and the applier.
 */
#ifndef GFS_TESTCLUSTER_H
#define GFS_TESTCLUSTER_H

#include <string.h>

#include "gfs_applied.h"
#include "gfs_apply.h"
#include "gfs_filter.h"
#include "gfs_informer.h"
#include "gfs_journal.h"
#include "gfs_kube.h"
#include "gfs_kubeconfig.h"
#include "gfs_store.h"
#include "testproc.h"

struct testcluster {
	pid_t emu;
	struct gfs_kube_client *client;
	struct gfs_kube_conn *conn; /* the test's own requests */
	struct gfs_filter *filter;
	struct gfs_store *store;
	struct gfs_informers *informers;
	struct gfs_applied *applied;
	struct gfs_journal *journal;
	struct gfs_applier *applier;
	struct gfs_applier_view view;
};

/* The test's own request to the emulator (body: JSON or NULL). */
static inline int testcluster_req(struct testcluster *c, json_t **out, const char *method,
				  const char *path, const char *body)
{
	return gfs_kube_request(c->conn, out, NULL, method, path,
				body ? "application/json" : NULL, body,
				body ? strlen(body) : 0);
}

/* Starts it all in the scratch directory (testproc_dir, made by the
 * caller), with the namespace `ns` created and the first list loaded; the
 * applier waits `wait_ms` for a namespace or CRD and deletes after
 * `grace_ms`. 0, or -errno with gfs_error_last() (stop it all the same). */
static inline int testcluster_start(struct testcluster *c, const char *token,
				    const char *ns, unsigned wait_ms, unsigned grace_ms)
{
	struct gfs_kube_creds *creds = NULL;
	struct gfs_informer_opts io = {.want = gfs_store_want_resource};
	struct gfs_store_opts so = {0};
	char body[256];
	memset(c, 0, sizeof(*c));
	int rc = testproc_emu_start(&c->emu, token);
	if (rc == 0)
		rc = gfs_kubeconfig_load(&creds, dir_path("kubeconfig"), NULL);
	if (rc == 0)
		rc = gfs_kube_client_new(&c->client, creds);
	gfs_kube_creds_free(creds);
	if (rc == 0)
		rc = gfs_kube_conn_open(&c->conn, c->client);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
		 "\"%s\"}}",
		 ns);
	if (rc == 0)
		rc = testcluster_req(c, NULL, "POST", "/api/v1/namespaces", body);
	so.filter = c->filter = gfs_filter_new_default();
	if (rc == 0)
		rc = c->filter ? gfs_store_new(&c->store, &so) : -ENOMEM;
	if (rc == 0)
		rc = gfs_applied_open(&c->applied, dir_path("applied"));
	if (rc == 0)
		rc = gfs_journal_open(&c->journal, dir_path("deletes"));
	c->view = (struct gfs_applier_view){c->applied, c->client};
	if (rc == 0)
		gfs_store_set_prepare(c->store, gfs_applier_prepare, &c->view);
	if (rc == 0)
		rc = gfs_informers_start(&c->informers, c->client, &io,
					 &gfs_store_informer_ops, c->store);
	if (rc == 0)
		rc = gfs_informers_wait_synced(c->informers, 30000);
	struct gfs_applier_opts ao = {.client = c->client,
				      .store = c->store,
				      .informers = c->informers,
				      .applied = c->applied,
				      .journal = c->journal,
				      .delete_grace_ms = grace_ms,
				      .wait_ms = wait_ms};
	if (rc == 0)
		rc = gfs_applier_new(&c->applier, &ao);
	if (rc < 0)
		printf("# set-up failed: %s (see %s)\n", gfs_error_last(),
		       dir_path("emulator.log"));
	return rc;
}

/* Stops and frees it all, in the agent's order; the emulator last. */
static inline void testcluster_stop(struct testcluster *c)
{
	gfs_applier_free(c->applier);
	gfs_informers_stop(c->informers);
	gfs_journal_free(c->journal);
	gfs_store_free(c->store);
	gfs_applied_free(c->applied);
	gfs_filter_free(c->filter);
	gfs_kube_conn_close(c->conn);
	gfs_kube_client_free(c->client);
	testproc_stop(&c->emu);
	memset(c, 0, sizeof(*c));
	c->emu = -1;
}

#endif
