/*
 * agent.c - the pieces around the cluster that mount and sync share.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "gfs_metrics.h"
#include "metrics.h"
#include "gfs_yaml.h"

enum gfs_sync_direction gfs_agent_direction(const struct gfs_cli *cli)
{
	if (strcmp(cli->sync, "commit") == 0)
		return GFS_SYNC_COMMIT;
	return strcmp(cli->sync, "apply") == 0 ? GFS_SYNC_APPLY : GFS_SYNC_OFF;
}

/* A commit carries what the files show: with `secrets: show` every Secret
 * value, in plain text, into Git's history for good (and, with --push, to
 * every clone). gitopsfs never does that on its own: the combination is
 * refused, there is no switch to allow it. A person may still commit a
 * shown Secret by hand in a mount. */
static int gfs_agent_secrets_check(const struct gfs_cli *cli,
				   const struct gfs_config *cfg)
{
	bool commits = gfs_agent_direction(cli) == GFS_SYNC_COMMIT || cli->push;
	/* sops commits ciphertext only: allowed. */
	if (!commits || cfg->filter->secrets != GFS_SECRETS_SHOW)
		return 0;
	return gfs_error_set(-EINVAL,
			     "secrets: show (%s) with %s would commit every Secret value "
			     "in plain text to Git; use --secrets redact (values as a "
			     "keyed digest) or --secrets exclude",
			     cli->secrets  ? "--secrets show"
			     : cli->config ? cli->config
					   : ".gitopsfs.yaml",
			     gfs_agent_direction(cli) == GFS_SYNC_COMMIT ? "--sync commit"
									 : "--push");
}

/* The config of the tracked branch (or --config), refused when invalid. */
static int gfs_agent_config(struct gfs_agent *a, struct gfs_config **cfg)
{
	char *text = NULL;
	size_t len = 0;
	char path[600];
	/* With --path, the cluster's own config: DIR/.gitopsfs.yaml. */
	snprintf(path, sizeof(path), "%s%s.gitopsfs.yaml", a->cli->path,
		 a->cli->path[0] ? "/" : "");
	int rc = gfs_gitstate_read_file(a->git, path, &text, &len);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = gfs_cli_config(cfg, a->cli, text, len);
	free(text);
	if (rc == 0 && (rc = gfs_agent_secrets_check(a->cli, *cfg)) < 0) {
		gfs_config_free(*cfg);
		*cfg = NULL;
	}
	return rc;
}

/* The sync thread saw a new .gitopsfs.yaml in Git: put it in force
 * without a restart. */
static int gfs_agent_config_changed(void *payload, const char *text, size_t len)
{
	struct gfs_agent *a = payload;
	struct gfs_config *cfg = NULL;
	int rc = gfs_cli_config(&cfg, a->cli, text, len);
	if (rc < 0)
		return rc;
	rc = gfs_agent_secrets_check(a->cli, cfg);
	/* A switch to secrets: sops needs its keys before anything renders
	 * (changed recipients take effect at the next start). */
	if (rc == 0 && cfg->filter->secrets == GFS_SECRETS_SOPS &&
	    !gfs_store_sops(a->cluster.store))
		rc = gfs_cluster_sops(&a->cluster, GFS_SECRETS_SOPS, cfg, NULL, 0);
	if (rc == 0)
		rc = gfs_store_set_filter(a->cluster.store, cfg->filter);
	if (rc == 0) {
		cfg->filter = NULL; /* the store owns it now */
		/* Objects newly included were never kept: list everything. */
		gfs_informers_refresh(a->cluster.informers);
	}
	if ((cfg->webhook || cfg->n_webhooks) && a->alerter && !a->webhook_warned) {
		gfs_warn("changed alerts webhooks take effect at the next start");
		a->webhook_warned = true;
	}
	gfs_config_free(cfg);
	return rc;
}

/* A Secret's file in the tree: <namespace>/secrets/<name>.yaml. */
static bool gfs_agent_is_secret_path(const char *path)
{
	const char *slash = strchr(path, '/');
	size_t len = strlen(path);
	return slash && strncmp(slash, "/secrets/", 9) == 0 && !strchr(slash + 9, '/') &&
	       len > 5 && strcmp(path + len - 5, ".yaml") == 0;
}

static int gfs_agent_sops_seed_one(void *payload, const char *path, const char *data,
				   size_t len)
{
	json_t *doc = NULL;
	if (gfs_yaml_parse(&doc, data, len, NULL) == 0 && gfs_sops_is_encrypted(doc))
		gfs_sops_seed(payload, path, doc);
	json_decref(doc);
	return 0;
}

/* secrets: sops - the keys, and the Secrets of the checked-out commit as
 * what each file showed last, so that an unchanged Secret shows the same
 * ciphertext as in Git (no false drift across mounts). */
static int gfs_agent_sops(struct gfs_agent *a, const struct gfs_config *cfg)
{
	char *rules = NULL;
	size_t len = 0;
	if (gfs_store_filter(a->cluster.store)->secrets != GFS_SECRETS_SOPS)
		return 0;
	int rc = cfg->sops_age
		     ? 0
		     : gfs_gitstate_read_file(a->git, ".sops.yaml", &rules, &len);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = gfs_cluster_sops(&a->cluster, GFS_SECRETS_SOPS, cfg, rules, len);
	free(rules);
	struct gfs_sops *sops = gfs_store_sops(a->cluster.store);
	if (rc == 0 && sops)
		rc = gfs_gitstate_foreach_file(a->git, gfs_agent_is_secret_path,
					       gfs_agent_sops_seed_one, sops);
	return rc;
}

/* The alerter, with alerts.webhook (JSON) and each of alerts.webhooks. */
static int gfs_agent_alerter(struct gfs_agent *a, const struct gfs_config *cfg)
{
	struct gfs_alert_webhook hooks[GFS_CONFIG_WEBHOOKS_MAX];
	struct gfs_alert_opts opts = {.webhook_url = cfg->webhook,
				      .webhooks = hooks,
				      .n_webhooks = cfg->n_webhooks};
	for (size_t i = 0; i < cfg->n_webhooks; i++) {
		hooks[i].url = cfg->webhooks[i].url;
		/* The config parser admits only the known names. */
		if (gfs_alert_format_parse(&hooks[i].format, cfg->webhooks[i].format) < 0)
			return gfs_error_set(-EINVAL, "unknown webhook format \"%s\"",
					     cfg->webhooks[i].format);
	}
	return gfs_alerter_new_opts(&a->alerter, &opts);
}

int gfs_agent_open(struct gfs_agent *a, const struct gfs_cli *cli, const char *worktree)
{
	char dir[PATH_MAX + 16];
	struct gfs_config *cfg = NULL;
	a->cli = cli;
	int rc = gfs_gitstate_open(&a->git, a->repo, a->state_dir, worktree, cli->branch);
	if (rc == 0)
		rc = gfs_agent_config(a, &cfg);
	if (rc == 0) {
		rc = gfs_cluster_open(&a->cluster, cli, cfg->filter);
		cfg->filter = NULL; /* the cluster owns it now */
		if (rc == 0)
			rc = gfs_agent_sops(a, cfg);
	}
	/* Every mount alerts (a write in the mount whose rollout fails is a
	 * failed deployment too), not only a syncing one. */
	if (rc == 0)
		rc = gfs_agent_alerter(a, cfg);
	if (rc == 0) {
		struct gfs_monitor_opts mo = {
		    .store = a->cluster.store,
		    .alerter = a->alerter,
		    .timeout_s =
			cli->health_timeout ? cli->health_timeout : cfg->health_timeout,
		    .monitor_after = gfs_agent_direction(cli) == GFS_SYNC_APPLY,
		};
		rc = gfs_monitor_new(&a->monitor, &mo);
		a->cluster.monitor = a->monitor;
	}
	gfs_config_free(cfg);
	if (rc < 0)
		return rc;
	/* What gitopsfs applied before (this or an earlier run) keeps the
	 * server's defaults out of the files from the first list on. */
	snprintf(dir, sizeof(dir), "%s/applied", a->state_dir);
	rc = gfs_applied_open(&a->applied, dir);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/deletes", a->state_dir);
	rc = gfs_journal_open(&a->journal, dir);
	if (rc < 0)
		return rc;
	a->view.applied = a->applied;
	a->view.client = a->cluster.client;
	gfs_store_set_prepare(a->cluster.store, gfs_applier_prepare, &a->view);
	if (gfs_agent_direction(cli) == GFS_SYNC_OFF)
		return gfs_cli_metrics_start(a);
	struct gfs_sync_opts so = {
	    .direction = gfs_agent_direction(cli),
	    .gitdir = gfs_gitstate_gitdir(a->git),
	    .state_dir = a->state_dir,
	    .cluster = a->cluster.server,
	    .branch = cli->branch,
	    .interval = cli->interval,
	    .push = cli->push,
	    .prune = cli->prune,
	    .heal = cli->heal,
	    .store = a->cluster.store,
	    .alerter = a->alerter,
	    .monitor = a->monitor,
	    .config_changed = gfs_agent_config_changed,
	    .config_payload = a,
	};
	rc = gfs_sync_new(&a->sync, &so);
	return rc == 0 ? gfs_cli_metrics_start(a) : rc;
}

/* malloc's threshold for serving an allocation with its own mapping,
 * fixed (see gfs_agent_start). */
#define GFS_MMAP_THRESHOLD (128u << 10)

int gfs_agent_start(struct gfs_agent *a)
{
	/* A mount runs for weeks and now and then handles something large
	 * and short-lived: a list page, the first import's pack, a health
	 * summary of every path. glibc raises its mmap threshold each time
	 * such a block is freed (up to 32 MiB), after which the next ones
	 * come from the arenas and their space stays resident (100k objects:
	 * ~6 MB). Setting it fixes it at its default: large blocks keep
	 * their own mappings and go back to the system when freed. */
	mallopt(M_MMAP_THRESHOLD, GFS_MMAP_THRESHOLD);
	int64_t t0 = gfs_monotonic_ms();
	int rc = gfs_cluster_start(&a->cluster, a->cli);
	if (rc < 0)
		return rc;
	gfs_metrics_ready_mark(GFS_READY_LISTED);
	struct gfs_store_stats st;
	gfs_store_get_stats(&st, a->cluster.store);
	gfs_info("loaded %llu objects of %llu resources in %lld ms",
		 (unsigned long long)st.objects, (unsigned long long)st.resources,
		 (long long)(gfs_monotonic_ms() - t0));
	struct gfs_applier_opts ao = {
	    .client = a->cluster.client,
	    .store = a->cluster.store,
	    .informers = a->cluster.informers,
	    .applied = a->applied,
	    .journal = a->journal,
	    .allow_cascade_delete = a->cli->allow_cascade_delete,
	};
	rc = gfs_applier_new(&a->applier, &ao);
	t0 = gfs_monotonic_ms();
	if (rc == 0)
		rc = gfs_gitstate_prepare(a->git, a->cluster.store);
	gfs_debug("Git state prepared in %lld ms", (long long)(gfs_monotonic_ms() - t0));
	/* Start-up's transient memory - list pages parsed, the first import's
	 * packs and index - is free but still held by malloc's arenas, in
	 * holes between what stays: give it back to the system once. */
	malloc_trim(0);
	if (rc == 0 && a->sync)
		gfs_sync_ready(a->sync, a->applier);
	return rc;
}

void gfs_agent_stop(struct gfs_agent *a)
{
	/* No new writes can come. The sync thread finishes (its last commit)
	 * while the applier it uses still exists; then pending deletions are
	 * carried out; then watching stops, after which nothing reaches the
	 * sync thread's change queue and it can go. Metrics first: their
	 * collectors read the parts freed here. */
	gfs_cli_metrics_stop(a);
	gfs_sync_stop(a->sync);
	gfs_applier_free(a->applier);
	a->applier = NULL;
	gfs_cluster_stop(&a->cluster);
	gfs_sync_free(a->sync);
	a->sync = NULL;
}

void gfs_agent_release(struct gfs_agent *a)
{
	gfs_agent_stop(a);
	/* The informers are stopped: nothing feeds the monitor any more; it
	 * goes before the alerter and the store it uses. */
	gfs_monitor_free(a->monitor);
	gfs_alerter_free(a->alerter);
	gfs_gitstate_free(a->git);
	gfs_cluster_release(&a->cluster);
	gfs_applied_free(a->applied);
	gfs_journal_free(a->journal);
	free(a->state_dir);
	memset(a, 0, sizeof(*a));
}
