/*
 * object.c - a parsed Kubernetes object and the facts about objects.
 * See gfs_object.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gfs_common.h"
#include "gfs_object.h"

/* The facts' strings, in the order of their offsets. */
enum gfs_fact {
	GFS_FACT_KIND,
	GFS_FACT_API_VERSION,
	GFS_FACT_NAME,
	GFS_FACT_NS,
	GFS_FACT_UID,
	GFS_FACT_RV,
	GFS_FACT_MANAGER,
	GFS_FACT_OPERATION,
	GFS_FACT_TIME,
	GFS_FACTS
};

#define GFS_FACT_NONE     UINT32_MAX
#define GFS_FACT_INTERNED 0x80000000u /* off[] holds an index of gfs_interned */

/* Strings that repeat across objects - kinds, apiVersions, field managers
 * and their operations: a few dozen in a cluster - are kept once, for the
 * life of the process, and an object names them by index. At most
 * GFS_INTERN_MAX of them, each shorter than GFS_INTERN_LEN (the rest stay
 * in their object): a cluster cannot make this grow without bound. */
#define GFS_INTERN_MAX 4096
#define GFS_INTERN_LEN 256

static pthread_mutex_t gfs_intern_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by gfs_intern_lock: string (borrowed from gfs_interned) ->
 * index + 1. */
static struct gfs_map *gfs_intern_map;
static uint32_t gfs_intern_n;
/* Written once, under the lock, before its index is given out; read
 * without it (an index reaches a reader through an object, published
 * after the write). */
static const char *gfs_interned[GFS_INTERN_MAX];

/* s's index in gfs_interned, made if it is new; -1 when it stays inline
 * (too long, the table full, out of memory). */
static int gfs_intern(const char *s)
{
	if (strlen(s) >= GFS_INTERN_LEN)
		return -1;
	int idx = -1, err = 0;
	pthread_mutex_lock(&gfs_intern_lock);
	if (!gfs_intern_map)
		gfs_intern_map = gfs_map_new_borrowed();
	uintptr_t found = gfs_intern_map ? (uintptr_t)gfs_map_get(gfs_intern_map, s) : 0;
	if (found) {
		idx = (int)(found - 1);
	} else if (gfs_intern_map && gfs_intern_n < GFS_INTERN_MAX) {
		char *copy = strdup(s);
		if (copy) {
			gfs_map_put(gfs_intern_map, copy,
				    (void *)(uintptr_t)(gfs_intern_n + 1), &err);
			if (err) {
				free(copy);
			} else {
				gfs_interned[gfs_intern_n] = copy;
				idx = (int)gfs_intern_n++;
			}
		}
	}
	pthread_mutex_unlock(&gfs_intern_lock);
	return idx;
}

/* One allocation: the struct, then the facts' strings (NUL-terminated,
 * found by offset: a cluster holds one of these per object, and offsets
 * cost half what pointers do), then the compact JSON text of the document
 * kept, if any (NUL-terminated). */
struct gfs_object {
	atomic_int refs;
	uint32_t len; /* of the text; 0: nothing kept */
	int64_t change_time;
	int64_t newest_time_ns;
	/* Into data; GFS_FACT_NONE: absent; GFS_FACT_INTERNED | i:
	 * gfs_interned[i]. */
	uint32_t off[GFS_FACTS];
	uint32_t text_off;
	bool whole; /* the text is the whole document */
	/* The newest manager's time is not kept as text: it was exactly
	 * gfs_time_text(newest_time_ns) (a server's form: seconds, "Z"). */
	bool time_rebuilt;
	bool secret, has_status, deleting, controller_owned;
	char data[];
};

static const char *gfs_fact(const struct gfs_object *o, enum gfs_fact f)
{
	uint32_t off = o->off[f];
	if (off == GFS_FACT_NONE)
		return NULL;
	return off & GFS_FACT_INTERNED ? gfs_interned[off & ~GFS_FACT_INTERNED]
				       : o->data + off;
}

static const char *gfs_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int gfs_object_text_add(const char *buffer, size_t size, void *payload)
{
	return gfs_buf_add(payload, buffer, size);
}

/* RFC 3339 in UTC to the second, as the API server writes times. */
static void gfs_time_text(char out[32], int64_t ns)
{
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000);
	out[0] = '\0';
	if (gmtime_r(&secs, &tm))
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int gfs_object_new(struct gfs_object **out, json_t *doc, const json_t *keep)
{
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	const json_t *md = json_object_get(doc, "metadata");
	struct gfs_manager_entry m;
	gfs_json_newest_manager(&m, doc);
	const char *facts[GFS_FACTS] = {[GFS_FACT_KIND] = gfs_str(doc, "kind"),
					[GFS_FACT_API_VERSION] =
					    gfs_str(doc, "apiVersion"),
					[GFS_FACT_NAME] = gfs_str(md, "name"),
					[GFS_FACT_NS] = gfs_str(md, "namespace"),
					[GFS_FACT_UID] = gfs_str(md, "uid"),
					[GFS_FACT_RV] = gfs_str(md, "resourceVersion"),
					[GFS_FACT_MANAGER] = m.manager,
					[GFS_FACT_OPERATION] = m.operation,
					[GFS_FACT_TIME] = m.time};
	/* Nearly every object has one, and the server's form is rebuilt
	 * exactly from the number: the text is kept only when it differs. */
	char rebuilt[32] = "";
	if (m.time && m.time_ns)
		gfs_time_text(rebuilt, m.time_ns);
	bool time_rebuilt = m.time && *rebuilt && strcmp(rebuilt, m.time) == 0;
	if (time_rebuilt)
		facts[GFS_FACT_TIME] = NULL;
	/* JSON_COMPACT keeps the members' order; reals are written with
	 * 17 digits: parsing the text gives back the same document. Dumped
	 * once into a buffer (json_dumpb would dump twice: to size, then
	 * to write). */
	struct gfs_buf text = GFS_BUF_INIT(UINT32_MAX / 4);
	static const bool repeats[GFS_FACTS] = {[GFS_FACT_KIND] = true,
						[GFS_FACT_API_VERSION] = true,
						[GFS_FACT_MANAGER] = true,
						[GFS_FACT_OPERATION] = true};
	int interned[GFS_FACTS];
	size_t strs = 0;
	for (size_t i = 0; i < GFS_FACTS; i++) {
		interned[i] = facts[i] && repeats[i] ? gfs_intern(facts[i]) : -1;
		strs += facts[i] && interned[i] < 0 ? strlen(facts[i]) + 1 : 0;
	}
	struct gfs_object *o = NULL;
	if (strs < UINT32_MAX / 2 &&
	    !(keep &&
	      json_dump_callback(keep, gfs_object_text_add, &text, JSON_COMPACT) < 0))
		o = malloc(sizeof(*o) + strs + text.len + 1);
	if (!o) {
		gfs_buf_release(&text);
		json_decref(doc);
		return -ENOMEM;
	}
	atomic_init(&o->refs, 1);
	uint32_t at = 0;
	for (size_t i = 0; i < GFS_FACTS; i++) {
		o->off[i] = facts[i] ? at : GFS_FACT_NONE;
		if (interned[i] >= 0) {
			o->off[i] = GFS_FACT_INTERNED | (uint32_t)interned[i];
		} else if (facts[i]) {
			size_t n = strlen(facts[i]) + 1;
			memcpy(o->data + at, facts[i], n);
			at += (uint32_t)n;
		}
	}
	o->newest_time_ns = m.time_ns;
	o->change_time = gfs_json_change_time(doc);
	o->secret = gfs_json_is_secret(doc);
	o->has_status = json_object_get(doc, "status") != NULL;
	o->deleting = json_object_get(md, "deletionTimestamp") != NULL;
	o->controller_owned = gfs_json_controller_owned(doc);
	o->whole = keep == doc;
	o->time_rebuilt = time_rebuilt;
	o->text_off = at;
	o->len = (uint32_t)text.len;
	o->data[at] = '\0';
	if (text.len)
		memcpy(o->data + at, text.data, text.len + 1);
	gfs_buf_release(&text);
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
	if (!o->whole) {
		gfs_error_set(-ENODATA, "%s/%s: the document was not kept",
			      gfs_fact(o, GFS_FACT_NS) ? gfs_fact(o, GFS_FACT_NS) : "",
			      gfs_fact(o, GFS_FACT_NAME) ? gfs_fact(o, GFS_FACT_NAME)
							 : "?");
		return NULL;
	}
	return gfs_object_kept(o);
}

json_t *gfs_object_kept(const struct gfs_object *o)
{
	json_error_t err;
	if (!o->len) {
		gfs_error_set(-ENODATA, "%s/%s: nothing of the document was kept",
			      gfs_fact(o, GFS_FACT_NS) ? gfs_fact(o, GFS_FACT_NS) : "",
			      gfs_fact(o, GFS_FACT_NAME) ? gfs_fact(o, GFS_FACT_NAME)
							 : "?");
		return NULL;
	}
	json_t *doc = json_loadb(o->data + o->text_off, o->len, 0, &err);
	if (!doc)
		gfs_error_set(-ENOMEM, "cannot read back %s/%s: %s",
			      gfs_fact(o, GFS_FACT_NS) ? gfs_fact(o, GFS_FACT_NS) : "",
			      gfs_fact(o, GFS_FACT_NAME) ? gfs_fact(o, GFS_FACT_NAME)
							 : "?",
			      err.text);
	return doc;
}

bool gfs_object_whole(const struct gfs_object *o)
{
	return o->whole;
}

size_t gfs_object_size(const struct gfs_object *o)
{
	return o->len;
}

const char *gfs_object_kind(const struct gfs_object *o)
{
	return gfs_fact(o, GFS_FACT_KIND);
}

const char *gfs_object_api_version(const struct gfs_object *o)
{
	return gfs_fact(o, GFS_FACT_API_VERSION);
}

const char *gfs_object_name(const struct gfs_object *o)
{
	return gfs_fact(o, GFS_FACT_NAME);
}

const char *gfs_object_namespace(const struct gfs_object *o)
{
	return gfs_fact(o, GFS_FACT_NS);
}

const char *gfs_object_uid(const struct gfs_object *o)
{
	return gfs_fact(o, GFS_FACT_UID);
}

const char *gfs_object_resource_version(const struct gfs_object *o)
{
	return gfs_fact(o, GFS_FACT_RV);
}

void gfs_object_newest_manager(struct gfs_manager_entry *out, const struct gfs_object *o)
{
	out->manager = gfs_fact(o, GFS_FACT_MANAGER);
	out->operation = gfs_fact(o, GFS_FACT_OPERATION);
	out->time = gfs_fact(o, GFS_FACT_TIME);
	out->time_ns = o->newest_time_ns;
	out->time_text[0] = '\0';
	if (o->time_rebuilt) {
		gfs_time_text(out->time_text, o->newest_time_ns);
		out->time = out->time_text;
	}
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

bool gfs_object_controller_owned(const struct gfs_object *o)
{
	return o->controller_owned;
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
