/*
 * object.c - a parsed Kubernetes object and the facts about objects.
 * See gfs_object.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_common.h"
#include "gfs_object.h"

struct gfs_object {
	atomic_int refs;
	json_t *doc;
	/* Borrowed from doc (immutable, so they stay valid): */
	const char *kind, *api_version, *name, *ns, *uid, *rv;
};

static const char *gfs_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int gfs_object_new(struct gfs_object **out, json_t *doc)
{
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	struct gfs_object *o = calloc(1, sizeof(*o));
	if (!o) {
		json_decref(doc);
		return -ENOMEM;
	}
	atomic_init(&o->refs, 1);
	o->doc = doc;
	const json_t *md = json_object_get(doc, "metadata");
	o->kind = gfs_str(doc, "kind");
	o->api_version = gfs_str(doc, "apiVersion");
	o->name = gfs_str(md, "name");
	o->ns = gfs_str(md, "namespace");
	o->uid = gfs_str(md, "uid");
	o->rv = gfs_str(md, "resourceVersion");
	*out = o;
	return 0;
}

struct gfs_object *gfs_object_ref(struct gfs_object *o)
{
	if (o)
		atomic_fetch_add(&o->refs, 1);
	return o;
}

void gfs_object_unref(struct gfs_object *o)
{
	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	json_decref(o->doc);
	free(o);
}

const json_t *gfs_object_json(const struct gfs_object *o)
{
	return o->doc;
}

const char *gfs_object_kind(const struct gfs_object *o)
{
	return o->kind;
}

const char *gfs_object_api_version(const struct gfs_object *o)
{
	return o->api_version;
}

const char *gfs_object_name(const struct gfs_object *o)
{
	return o->name;
}

const char *gfs_object_namespace(const struct gfs_object *o)
{
	return o->ns;
}

const char *gfs_object_uid(const struct gfs_object *o)
{
	return o->uid;
}

const char *gfs_object_resource_version(const struct gfs_object *o)
{
	return o->rv;
}

/* A decimal resourceVersion as a number; false for anything else. */
static bool gfs_rv_number(const char *rv, unsigned long long *out)
{
	if (!rv || !*rv || strlen(rv) > 19)
		return false;
	for (const char *p = rv; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	*out = strtoull(rv, NULL, 10);
	return true;
}

int gfs_rv_cmp(const char *a, const char *b)
{
	unsigned long long x, y;
	if (!gfs_rv_number(a, &x) || !gfs_rv_number(b, &y))
		return 0;
	return x < y ? -1 : x > y;
}

/* ---- facts about any document ---------------------------------------------- */

bool gfs_json_is_secret(const json_t *obj)
{
	const char *api = gfs_str(obj, "apiVersion"), *kind = gfs_str(obj, "kind");
	return api && kind && strcmp(api, "v1") == 0 && strcmp(kind, "Secret") == 0;
}

bool gfs_json_controller_owned(const json_t *obj)
{
	const json_t *refs =
	    json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
	size_t i;
	const json_t *ref;
	json_array_foreach(refs, i, ref)
	{
		if (json_is_true(json_object_get(ref, "controller")))
			return true;
	}
	return false;
}

const char *const gfs_server_metadata_fields[] = {
    "uid",           "resourceVersion", "generation", "creationTimestamp",
    "managedFields", "selfLink",        NULL,
};

void gfs_json_strip_server_metadata(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	for (const char *const *f = gfs_server_metadata_fields; *f; f++)
		json_object_del(md, *f);
}

static int64_t gfs_parse_time(const char *s)
{
	struct tm tm = {0};
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm) * 1000000000;
}

void gfs_json_newest_manager(struct gfs_manager_entry *out, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	size_t i;
	const json_t *mf;
	memset(out, 0, sizeof(*out));
	json_array_foreach(json_object_get(md, "managedFields"), i, mf)
	{
		const char *t = gfs_str(mf, "time");
		/* RFC 3339 times in UTC compare as strings; a later entry
		 * wins a tie, as the server appends. */
		if (t && (!out->time || strcmp(t, out->time) >= 0)) {
			out->time = t;
			out->manager = gfs_str(mf, "manager");
			out->operation = gfs_str(mf, "operation");
		}
	}
	out->time_ns = gfs_parse_time(out->time);
}

int gfs_json_trim_managed_fields(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	const json_t *mf = json_object_get(md, "managedFields");
	struct gfs_manager_entry m;
	if (!json_is_array(mf) || json_array_size(mf) == 0)
		return 0;
	gfs_json_newest_manager(&m, obj);
	json_t *entry = json_object(), *list = json_array();
	int rc = entry && list ? 0 : -ENOMEM;
	if (rc == 0 && m.manager)
		rc = json_object_set_new(entry, "manager", json_string(m.manager));
	if (rc == 0 && m.operation)
		rc = json_object_set_new(entry, "operation", json_string(m.operation));
	if (rc == 0 && m.time)
		rc = json_object_set_new(entry, "time", json_string(m.time));
	if (rc == 0 && json_object_size(entry) > 0)
		rc = json_array_append(list, entry);
	/* The old list (and the strings m borrowed) goes only here. */
	if (rc == 0)
		rc = json_object_set(md, "managedFields", list);
	json_decref(entry);
	json_decref(list);
	return rc < 0 ? -ENOMEM : 0;
}

int64_t gfs_json_change_time(const json_t *obj)
{
	struct gfs_manager_entry m;
	gfs_json_newest_manager(&m, obj);
	int64_t created = gfs_parse_time(
	    gfs_str(json_object_get(obj, "metadata"), "creationTimestamp"));
	int64_t changed = m.time_ns;
	return changed > created ? changed : created;
}
