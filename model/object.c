/*
 * object.c - a parsed Kubernetes object and the facts about objects.
 * See gfs_object.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_common.h"
#include "gfs_object.h"

/* One allocation: the struct, then the facts' strings, then the compact
 * JSON text (NUL-terminated). */
struct gfs_object {
	atomic_int refs;
	size_t len; /* of text */
	const char *text;
	/* Into the same allocation; NULL when the document has none: */
	const char *kind, *api_version, *name, *ns, *uid, *rv;
	struct gfs_manager_entry newest;
	int64_t change_time;
	bool secret, has_status, deleting;
	char data[];
};

static const char *gfs_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int gfs_object_text_add(const char *buffer, size_t size, void *payload)
{
	return gfs_buf_add(payload, buffer, size);
}

/* Copies s (if any) to *p, returns the copy and moves *p past it. */
static const char *gfs_pack(char **p, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *copy = memcpy(*p, s, n);
	*p += n;
	return copy;
}

int gfs_object_new(struct gfs_object **out, json_t *doc)
{
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	const json_t *md = json_object_get(doc, "metadata");
	const char *facts[] = {gfs_str(doc, "kind"), gfs_str(doc, "apiVersion"),
			       gfs_str(md, "name"),  gfs_str(md, "namespace"),
			       gfs_str(md, "uid"),   gfs_str(md, "resourceVersion")};
	struct gfs_manager_entry m;
	gfs_json_newest_manager(&m, doc);
	const char *mfacts[] = {m.manager, m.operation, m.time};
	/* JSON_COMPACT keeps the members' order; reals are written with
	 * 17 digits: parsing the text gives back the same document. Dumped
	 * once into a buffer (json_dumpb would dump twice: to size, then
	 * to write). */
	struct gfs_buf text = GFS_BUF_INIT(SIZE_MAX);
	if (json_dump_callback(doc, gfs_object_text_add, &text, JSON_COMPACT) < 0) {
		gfs_buf_release(&text);
		json_decref(doc);
		return -ENOMEM;
	}
	size_t len = text.len, strs = 0;
	for (size_t i = 0; i < GFS_ARRAY_SIZE(facts); i++)
		strs += facts[i] ? strlen(facts[i]) + 1 : 0;
	for (size_t i = 0; i < GFS_ARRAY_SIZE(mfacts); i++)
		strs += mfacts[i] ? strlen(mfacts[i]) + 1 : 0;
	struct gfs_object *o = len ? malloc(sizeof(*o) + strs + len + 1) : NULL;
	if (!o) {
		gfs_buf_release(&text);
		json_decref(doc);
		return -ENOMEM;
	}
	atomic_init(&o->refs, 1);
	char *p = o->data;
	o->kind = gfs_pack(&p, facts[0]);
	o->api_version = gfs_pack(&p, facts[1]);
	o->name = gfs_pack(&p, facts[2]);
	o->ns = gfs_pack(&p, facts[3]);
	o->uid = gfs_pack(&p, facts[4]);
	o->rv = gfs_pack(&p, facts[5]);
	o->newest = m;
	o->newest.manager = gfs_pack(&p, m.manager);
	o->newest.operation = gfs_pack(&p, m.operation);
	o->newest.time = gfs_pack(&p, m.time);
	o->change_time = gfs_json_change_time(doc);
	o->secret = gfs_json_is_secret(doc);
	o->has_status = json_object_get(doc, "status") != NULL;
	o->deleting = json_object_get(md, "deletionTimestamp") != NULL;
	memcpy(p, text.data, len + 1);
	gfs_buf_release(&text);
	o->text = p;
	o->len = len;
	json_decref(doc);
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
	free(o);
}

json_t *gfs_object_doc(const struct gfs_object *o)
{
	json_error_t err;
	json_t *doc = json_loadb(o->text, o->len, 0, &err);
	if (!doc)
		gfs_error_set(-ENOMEM, "cannot read back %s/%s: %s", o->ns ? o->ns : "",
			      o->name ? o->name : "?", err.text);
	return doc;
}

size_t gfs_object_size(const struct gfs_object *o)
{
	return o->len;
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

void gfs_object_newest_manager(struct gfs_manager_entry *out, const struct gfs_object *o)
{
	*out = o->newest;
}

int64_t gfs_object_change_time(const struct gfs_object *o)
{
	return o->change_time;
}

bool gfs_object_is_secret(const struct gfs_object *o)
{
	return o->secret;
}

bool gfs_object_has_status(const struct gfs_object *o)
{
	return o->has_status;
}

bool gfs_object_deleting(const struct gfs_object *o)
{
	return o->deleting;
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
