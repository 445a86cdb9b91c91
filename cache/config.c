/*
 * config.c - parsing .gitopsfs.yaml with line numbers for every error.
 *
 * libyaml's document API keeps each node's position, so an error can say
 * where it is; values are checked as they are read, and nothing is kept
 * from a file that has any error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gfs_config.h"
#include "gfs_strv.h"

struct gfs_cfg_parse {
	yaml_document_t doc;
	const char *name;
	struct gfs_config *cfg;
};

__attribute__((format(printf, 3, 4))) static int
gfs_cfg_fail(struct gfs_cfg_parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gfs_error_set(-EINVAL, "%s, line %lu: %s", p->name,
			     (unsigned long)(n ? n->start_mark.line + 1 : 1), msg);
}

static const char *gfs_cfg_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

static yaml_node_t *gfs_cfg_node(struct gfs_cfg_parse *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

/* One {resource, namespace, name} rule, or with `paths` for ignore. */
static int gfs_cfg_rule(struct gfs_cfg_parse *p, yaml_node_t *n, const char *section)
{
	const char *fields[3] = {NULL, NULL, NULL};
	const char *pointers[64];
	size_t n_pointers = 0;
	bool ignore = strcmp(section, "ignore") == 0;
	if (n->type != YAML_MAPPING_NODE)
		return gfs_cfg_fail(p, n, "each %s rule must be a mapping", section);
	for (yaml_node_pair_t *pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = gfs_cfg_node(p, pair->key),
			    *v = gfs_cfg_node(p, pair->value);
		const char *key = gfs_cfg_scalar(k);
		int idx = !key                            ? -1
			  : strcmp(key, "resource") == 0  ? 0
			  : strcmp(key, "namespace") == 0 ? 1
			  : strcmp(key, "name") == 0      ? 2
							  : -1;
		if (idx >= 0) {
			if (!gfs_cfg_scalar(v) || !*gfs_cfg_scalar(v))
				return gfs_cfg_fail(p, v, "%s must be a non-empty string",
						    key);
			fields[idx] = gfs_cfg_scalar(v);
		} else if (ignore && key && strcmp(key, "paths") == 0) {
			if (v->type != YAML_SEQUENCE_NODE)
				return gfs_cfg_fail(
				    p, v, "paths must be a list of JSON pointers");
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				yaml_node_t *pn = gfs_cfg_node(p, *it);
				const char *ptr = gfs_cfg_scalar(pn);
				if (!ptr || ptr[0] != '/')
					return gfs_cfg_fail(
					    p, pn,
					    "\"%s\" is not a JSON pointer "
					    "(like /spec/replicas)",
					    ptr ? ptr : "?");
				if (n_pointers == 64)
					return gfs_cfg_fail(p, pn,
							    "at most 64 paths per rule");
				pointers[n_pointers++] = ptr;
			}
		} else {
			return gfs_cfg_fail(
			    p, k,
			    "unknown key \"%s\" in an %s rule (expected resource, "
			    "namespace, name%s)",
			    key ? key : "?", section, ignore ? ", paths" : "");
		}
	}
	if (ignore && n_pointers == 0)
		return gfs_cfg_fail(p, n, "an ignore rule needs paths");
	int rc =
	    ignore ? gfs_filter_add_ignore(p->cfg->filter, fields[0], fields[1],
					   fields[2], pointers, n_pointers)
		   : gfs_filter_add_rule(p->cfg->filter, strcmp(section, "include") == 0,
					 fields[0], fields[1], fields[2]);
	return rc < 0 ? gfs_error_set(rc, "out of memory") : 0;
}

static int gfs_cfg_rules(struct gfs_cfg_parse *p, yaml_node_t *v, const char *section)
{
	if (v->type == YAML_SCALAR_NODE && !*gfs_cfg_scalar(v))
		return 0; /* "exclude:" with nothing under it */
	if (v->type != YAML_SEQUENCE_NODE)
		return gfs_cfg_fail(p, v, "%s must be a list of rules", section);
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		int rc = gfs_cfg_rule(p, gfs_cfg_node(p, *it), section);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool gfs_cfg_is_http_url(const char *url)
{
	return url &&
	       (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
}

/* One {url: URL, format: json|slack|alertmanager} of alerts.webhooks. */
static int gfs_cfg_webhook(struct gfs_cfg_parse *p, yaml_node_t *n)
{
	const char *url = NULL, *format = "json";
	if (n->type != YAML_MAPPING_NODE)
		return gfs_cfg_fail(p, n,
				    "each webhook must be a mapping (url: URL, format: "
				    "json | slack | alertmanager)");
	for (yaml_node_pair_t *pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = gfs_cfg_node(p, pair->key),
			    *v = gfs_cfg_node(p, pair->value);
		const char *key = gfs_cfg_scalar(k), *val = gfs_cfg_scalar(v);
		if (key && strcmp(key, "url") == 0) {
			if (!gfs_cfg_is_http_url(val))
				return gfs_cfg_fail(
				    p, v, "a webhook's url must be an http(s) URL");
			url = val;
		} else if (key && strcmp(key, "format") == 0) {
			if (!val ||
			    (strcmp(val, "json") != 0 && strcmp(val, "slack") != 0 &&
			     strcmp(val, "alertmanager") != 0))
				return gfs_cfg_fail(
				    p, v,
				    "a webhook's format must be json, slack "
				    "or alertmanager, not \"%s\"",
				    val ? val : "?");
			format = val;
		} else {
			return gfs_cfg_fail(
			    p, k,
			    "unknown key \"%s\" in a webhook (expected url, format)",
			    key ? key : "?");
		}
	}
	if (!url)
		return gfs_cfg_fail(p, n, "a webhook needs a url");
	if (p->cfg->n_webhooks == GFS_CONFIG_WEBHOOKS_MAX)
		return gfs_cfg_fail(p, n, "at most %d webhooks", GFS_CONFIG_WEBHOOKS_MAX);
	struct gfs_config_webhook *w = &p->cfg->webhooks[p->cfg->n_webhooks];
	if (!(w->url = strdup(url)) || !(w->format = strdup(format))) {
		free(w->url);
		w->url = NULL;
		return -ENOMEM;
	}
	p->cfg->n_webhooks++;
	return 0;
}

static int gfs_cfg_webhooks(struct gfs_cfg_parse *p, yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return gfs_cfg_fail(
		    p, v,
		    "alerts.webhooks must be a list of {url: URL, format: "
		    "json | slack | alertmanager}");
	if (!p->cfg->webhooks && !(p->cfg->webhooks = calloc(GFS_CONFIG_WEBHOOKS_MAX,
							     sizeof(*p->cfg->webhooks))))
		return -ENOMEM;
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		int rc = gfs_cfg_webhook(p, gfs_cfg_node(p, *it));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int gfs_cfg_alerts(struct gfs_cfg_parse *p, yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE)
		return gfs_cfg_fail(p, v,
				    "alerts must be a mapping (webhook: URL, webhooks: "
				    "[...])");
	for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
	     pair < v->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = gfs_cfg_node(p, pair->key),
			    *val = gfs_cfg_node(p, pair->value);
		const char *key = gfs_cfg_scalar(k), *url = gfs_cfg_scalar(val);
		int rc;
		if (key && strcmp(key, "webhooks") == 0) {
			if ((rc = gfs_cfg_webhooks(p, val)) < 0)
				return rc;
			continue;
		}
		if (!key || strcmp(key, "webhook") != 0)
			return gfs_cfg_fail(
			    p, k,
			    "unknown key \"%s\" in alerts (expected webhook, webhooks)",
			    key ? key : "?");
		if (!gfs_cfg_is_http_url(url))
			return gfs_cfg_fail(p, val,
					    "alerts.webhook must be an http(s) URL");
		free(p->cfg->webhook);
		if (!(p->cfg->webhook = strdup(url)))
			return -ENOMEM;
	}
	return 0;
}

/* health: {timeout: SECONDS} (as --health-timeout). */
static int gfs_cfg_health(struct gfs_cfg_parse *p, yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE)
		return gfs_cfg_fail(p, v, "health must be a mapping (timeout: SECONDS)");
	for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
	     pair < v->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = gfs_cfg_node(p, pair->key),
			    *val = gfs_cfg_node(p, pair->value);
		const char *key = gfs_cfg_scalar(k), *num = gfs_cfg_scalar(val);
		char *end = NULL;
		if (!key || strcmp(key, "timeout") != 0)
			return gfs_cfg_fail(
			    p, k, "unknown key \"%s\" in health (expected timeout)",
			    key ? key : "?");
		unsigned long secs = num ? strtoul(num, &end, 10) : 0;
		if (!num || !*num || *end || secs == 0 || secs > 86400)
			return gfs_cfg_fail(p, val,
					    "health.timeout must be a number of seconds "
					    "from 1 to 86400, not \"%s\"",
					    num ? num : "?");
		p->cfg->health_timeout = (unsigned)secs;
	}
	return 0;
}

/* sops: {age: [age1...]} - the recipients are checked when the sops
 * mode starts (gfs_sops_new), where a bad one is named. */
static int gfs_cfg_sops(struct gfs_cfg_parse *p, yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE)
		return gfs_cfg_fail(p, v,
				    "sops must be a mapping: sops: {age: [age1...]}");
	for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
	     pair < v->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = gfs_cfg_node(p, pair->key),
			    *list = gfs_cfg_node(p, pair->value);
		const char *key = gfs_cfg_scalar(k);
		if (!key || strcmp(key, "age") != 0)
			return gfs_cfg_fail(p, k,
					    "unknown key \"%s\" in sops (expected age)",
					    key ? key : "?");
		if (list->type == YAML_SCALAR_NODE) {
			if (gfs_strv_push(&p->cfg->sops_age, gfs_cfg_scalar(list)) < 0)
				return -ENOMEM;
			continue;
		}
		if (list->type != YAML_SEQUENCE_NODE)
			return gfs_cfg_fail(p, list,
					    "sops.age must be a list of age1... "
					    "recipients");
		for (yaml_node_item_t *it = list->data.sequence.items.start;
		     it < list->data.sequence.items.top; it++) {
			const char *r = gfs_cfg_scalar(gfs_cfg_node(p, *it));
			if (!r || !*r)
				return gfs_cfg_fail(p, gfs_cfg_node(p, *it),
						    "sops.age must be a list of age1... "
						    "recipients");
			if (gfs_strv_push(&p->cfg->sops_age, r) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int gfs_cfg_top(struct gfs_cfg_parse *p, yaml_node_t *root)
{
	if (root->type == YAML_SCALAR_NODE && !*gfs_cfg_scalar(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return gfs_cfg_fail(p, root, "the config must be a mapping");
	for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = gfs_cfg_node(p, pair->key),
			    *v = gfs_cfg_node(p, pair->value);
		const char *key = gfs_cfg_scalar(k);
		int rc;
		if (key && (strcmp(key, "exclude") == 0 || strcmp(key, "include") == 0 ||
			    strcmp(key, "ignore") == 0)) {
			rc = gfs_cfg_rules(p, v, key);
		} else if (key && strcmp(key, "secrets") == 0) {
			const char *mode = gfs_cfg_scalar(v);
			if (mode && strcmp(mode, "redact") == 0)
				p->cfg->filter->secrets = GFS_SECRETS_REDACT;
			else if (mode && strcmp(mode, "show") == 0)
				p->cfg->filter->secrets = GFS_SECRETS_SHOW;
			else if (mode && strcmp(mode, "exclude") == 0)
				p->cfg->filter->secrets = GFS_SECRETS_EXCLUDE;
			else if (mode && strcmp(mode, "sops") == 0)
				p->cfg->filter->secrets = GFS_SECRETS_SOPS;
			else
				return gfs_cfg_fail(
				    p, v,
				    "secrets must be redact, show, exclude or sops, not "
				    "\"%s\"",
				    mode ? mode : "?");
			rc = 0;
		} else if (key && strcmp(key, "alerts") == 0) {
			rc = gfs_cfg_alerts(p, v);
		} else if (key && strcmp(key, "health") == 0) {
			rc = gfs_cfg_health(p, v);
		} else if (key && strcmp(key, "sops") == 0) {
			rc = gfs_cfg_sops(p, v);
		} else {
			rc = gfs_cfg_fail(
			    p, k,
			    "unknown key \"%s\" (expected exclude, include, ignore, "
			    "secrets, sops, alerts, health)",
			    key ? key : "?");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int gfs_config_parse(struct gfs_config **out, const char *name, const char *data,
		     size_t len, enum gfs_secrets_mode secrets_default)
{
	struct gfs_cfg_parse p = {.name = name};
	yaml_parser_t parser;
	int rc = 0;
	if (!(p.cfg = calloc(1, sizeof(*p.cfg))) ||
	    !(p.cfg->filter = gfs_filter_new_default())) {
		gfs_config_free(p.cfg);
		return -ENOMEM;
	}
	p.cfg->filter->secrets = secrets_default;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &p.doc)) {
		rc = gfs_error_set(-EINVAL, "%s, line %lu: %s", name,
				   (unsigned long)parser.problem_mark.line + 1,
				   parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		gfs_config_free(p.cfg);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&p.doc);
	if (root)
		rc = gfs_cfg_top(&p, root);
	yaml_document_delete(&p.doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		gfs_config_free(p.cfg);
		return rc;
	}
	*out = p.cfg;
	return 0;
}

void gfs_config_free(struct gfs_config *c)
{
	if (!c)
		return;
	gfs_filter_free(c->filter);
	free(c->webhook);
	for (size_t i = 0; i < c->n_webhooks; i++) {
		free(c->webhooks[i].url);
		free(c->webhooks[i].format);
	}
	free(c->webhooks);
	gfs_strv_free(c->sops_age);
	free(c);
}
