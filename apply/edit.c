/*
 * edit.c - carrying an edit onto the live object. See gfs_edit.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_edit.h"

/* The keys Kubernetes merges list elements by (patchMergeKey in its
 * types): containers, volumes, env, imagePullSecrets by name; ports by
 * containerPort or port; volumeMounts by mountPath; hostAliases by ip;
 * conditions by type. The first one an element has identifies it. */
static const char *const gfs_merge_keys[] = {
    "name", "containerPort", "port", "mountPath", "devicePath", "ip", "type", "key",
};

static json_t *gfs_carry(const json_t *s, const json_t *w, const json_t *l);

/* The merge key an element is identified by, or NULL. */
static const char *gfs_merge_key(const json_t *v)
{
	for (size_t k = 0; json_is_object(v) && k < GFS_ARRAY_SIZE(gfs_merge_keys); k++)
		if (json_object_get(v, gfs_merge_keys[k]))
			return gfs_merge_keys[k];
	return NULL;
}

/* Do a and b stand for the same list element (by merge key)? */
static bool gfs_same_element(const json_t *a, const json_t *b)
{
	if (!json_is_object(a) || !json_is_object(b))
		return false;
	for (size_t k = 0; k < GFS_ARRAY_SIZE(gfs_merge_keys); k++) {
		const json_t *x = json_object_get(a, gfs_merge_keys[k]);
		const json_t *y = json_object_get(b, gfs_merge_keys[k]);
		if (x || y)
			return x && y && !json_is_object(x) && !json_is_array(x) &&
			       json_equal((json_t *)x, (json_t *)y);
	}
	return false;
}

/* The unused element of the shown list `s` that written element `wv` (at
 * index j of a list of wn elements) came from, or -1 for a new one. */
static long gfs_match(const json_t *s, const bool *used, const json_t *wv, size_t j,
		      size_t wn)
{
	size_t n = json_array_size(s);
	for (size_t i = 0; i < n; i++)
		if (!used[i] && json_equal(json_array_get(s, i), (json_t *)wv))
			return (long)i;
	if (j < n && !used[j] && gfs_same_element(json_array_get(s, j), wv))
		return (long)j;
	for (size_t i = 0; i < n; i++)
		if (!used[i] && gfs_same_element(json_array_get(s, i), wv))
			return (long)i;
	/* Nothing identifies either: an element edited in place, in a list
	 * that kept its length. */
	const json_t *sv = j < n ? json_array_get(s, j) : NULL;
	if (wn == n && !used[j] && json_typeof(sv) == json_typeof(wv) &&
	    !gfs_merge_key(sv) && !gfs_merge_key(wv))
		return (long)j;
	return -1;
}

static json_t *gfs_carry_array(const json_t *s, const json_t *w, const json_t *l)
{
	size_t wn = json_array_size(w), n = json_array_size(s);
	bool *used = calloc(n + 1, sizeof(*used));
	json_t *out = json_array();
	if (!used || !out)
		goto fail;
	for (size_t j = 0; j < wn; j++) {
		const json_t *wv = json_array_get(w, j);
		long i = gfs_match(s, used, wv, j, wn);
		json_t *v;
		if (i >= 0) {
			used[i] = true;
			v = gfs_carry(json_array_get(s, (size_t)i), wv,
				      json_array_get(l, (size_t)i));
		} else {
			v = json_incref((json_t *)wv);
		}
		if (!v || json_array_append_new(out, v) < 0)
			goto fail;
	}
	free(used);
	return out;
fail:
	free(used);
	json_decref(out);
	return NULL;
}

static json_t *gfs_carry_object(const json_t *s, const json_t *w, const json_t *l)
{
	/* Shallow: untouched members are shared with l until the final
	 * deep copy in gfs_edit_carry. */
	json_t *out = json_copy((json_t *)l);
	const char *key;
	json_t *v;
	if (!out)
		return NULL;
	json_object_foreach((json_t *)s, key, v)
	{
		if (json_object_get(w, key))
			continue;
		/* The writer deleted it. A map may also hold members the
		 * file never showed (an annotation left out): those stay, and
		 * the map goes only when nothing is left in it. */
		const json_t *lv = json_object_get(l, key);
		json_t *rest = NULL;
		if (json_is_object(v) && json_is_object(lv)) {
			json_t *empty = json_object();
			rest = empty ? gfs_carry(v, empty, lv) : NULL;
			json_decref(empty);
			if (!rest) {
				json_decref(out);
				return NULL;
			}
		}
		if (json_object_size(rest) > 0) {
			json_object_set_new(out, key, rest);
		} else {
			json_decref(rest);
			json_object_del(out, key);
		}
	}
	json_object_foreach((json_t *)w, key, v)
	{
		const json_t *sv = json_object_get(s, key);
		json_t *next;
		if (sv && json_equal((json_t *)sv, v))
			continue; /* untouched: the live value stays */
		if (sv && json_object_get(l, key))
			next = gfs_carry(sv, v, json_object_get(l, key));
		else
			next = json_incref(v); /* added (or over a hidden value) */
		if (!next || json_object_set_new(out, key, next) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *gfs_carry(const json_t *s, const json_t *w, const json_t *l)
{
	if (l && json_equal((json_t *)s, (json_t *)w))
		return json_incref((json_t *)l);
	if (json_is_object(s) && json_is_object(w) && json_is_object(l))
		return gfs_carry_object(s, w, l);
	if (json_is_array(s) && json_is_array(w) && json_is_array(l) &&
	    json_array_size(s) == json_array_size(l))
		return gfs_carry_array(s, w, l);
	return json_incref((json_t *)w);
}

json_t *gfs_edit_carry(const json_t *shown, const json_t *written, const json_t *live)
{
	/* The carried document shares members with the inputs; the copy
	 * makes it the caller's alone, free to change. */
	json_t *shared = gfs_carry(shown, written, live);
	json_t *out = shared ? json_deep_copy(shared) : NULL;
	json_decref(shared);
	return out;
}
