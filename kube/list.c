/*
 * list.c - one page of a list, decoded as it arrives.
 *
 * A list page is one JSON document, {"kind", "apiVersion", "metadata",
 * "items": [...]}, and a server that ignores `limit` may send the whole
 * resource in it: hundreds of megabytes. Buffering the body and parsing it
 * whole would hold it twice (text and tree) on top of what the store
 * keeps. Instead the bytes are split as they arrive: each element of the
 * top-level "items" array is collected alone (at most GFS_KUBE_MAX_EVENT
 * bytes), parsed and handed over, then dropped; everything else (the
 * envelope, with "items" left empty) is collected up to LIST_MAX_ENVELOPE
 * and parsed at the end. Memory stays bounded by one item, whatever the
 * size of the page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gfs_common.h"
#include "gfs_kube.h"
#include "gfs_metrics.h"
#include "kube_private.h"

#define LIST_MAX_ENVELOPE (1u << 20)
#define LIST_MAX_DEPTH    4096 /* deeper than jansson would parse anyway */

void gfs_list_split_init(struct gfs_list_split *sp, gfs_list_item_cb cb, void *payload)
{
	memset(sp, 0, sizeof(*sp));
	gfs_buf_init(&sp->item, GFS_KUBE_MAX_EVENT);
	gfs_buf_init(&sp->envelope, LIST_MAX_ENVELOPE);
	sp->cb = cb;
	sp->payload = payload;
}

void gfs_list_split_release(struct gfs_list_split *sp)
{
	gfs_buf_release(&sp->item);
	gfs_buf_release(&sp->envelope);
}

/* Where the byte at the current position belongs. */
static struct gfs_buf *split_dest(struct gfs_list_split *sp)
{
	if (!sp->in_items)
		return &sp->envelope;
	return sp->in_item ? &sp->item : NULL; /* between items: dropped */
}

static int split_item_done(struct gfs_list_split *sp)
{
	json_error_t err;
	json_t *item = json_loadb(sp->item.data, sp->item.len, 0, &err);
	sp->in_item = false;
	gfs_buf_reset(&sp->item);
	if (!item)
		return gfs_error_set(-EPROTO,
				     "item %zu of the list is not valid JSON: %s",
				     sp->items, err.text);
	sp->items++;
	int rc = sp->cb ? sp->cb(item, sp->payload) : 0;
	json_decref(item);
	return rc;
}

/* A byte outside strings. Returns 0 or -errno. */
static int split_structural(struct gfs_list_split *sp, char c)
{
	switch (c) {
	case '"':
		sp->in_string = true;
		sp->key_len = 0;
		sp->capturing_key = sp->depth == 1 && sp->expect_key;
		return 0;
	case '{':
	case '[':
		if (sp->depth >= LIST_MAX_DEPTH)
			return gfs_error_set(-EPROTO, "the list is nested too deeply");
		if (sp->depth == 1 && c == '[' && sp->key_is_items && !sp->items_seen) {
			sp->in_items = sp->items_seen = true;
		} else if (sp->in_items && sp->depth == 2 && c == '{') {
			sp->in_item = true;
			gfs_buf_reset(&sp->item);
		}
		sp->depth++;
		sp->expect_key = c == '{';
		return 0;
	case '}':
	case ']':
		if (sp->depth == 0)
			return gfs_error_set(-EPROTO, "the list is not valid JSON");
		sp->depth--;
		if (sp->in_items && sp->depth == 1)
			sp->in_items = false; /* the items array is done */
		return 0;
	case ':':
		sp->expect_key = false;
		return 0;
	case ',':
		if (sp->depth == 1) {
			sp->expect_key = true;
			sp->key_is_items = false;
		}
		return 0;
	default:
		return 0;
	}
}

/* A byte inside a string: only the key of a top-level member is looked at. */
static void split_string_byte(struct gfs_list_split *sp, char c)
{
	if (sp->escape) {
		sp->escape = false;
	} else if (c == '\\') {
		sp->escape = true;
	} else if (c == '"') {
		sp->in_string = false;
		if (sp->capturing_key)
			sp->key_is_items =
			    sp->key_len == 5 && memcmp(sp->key, "items", 5) == 0;
		sp->capturing_key = false;
		return;
	}
	if (!sp->capturing_key)
		return;
	if (sp->key_len < sizeof(sp->key))
		sp->key[sp->key_len] = c;
	if (sp->key_len <= sizeof(sp->key))
		sp->key_len++; /* past sizeof: too long to be "items" */
}

static int split_overflow(const struct gfs_list_split *sp, const struct gfs_buf *dest,
			  int rc)
{
	if (dest == &sp->item)
		return gfs_error_set(rc, "item %zu of the list is larger than %u MiB",
				     sp->items, GFS_KUBE_MAX_EVENT >> 20);
	return gfs_error_set(rc, "the list's metadata is larger than %u KiB",
			     LIST_MAX_ENVELOPE >> 10);
}

/* The length of the run at p that changes no state: plain string bytes,
 * or bytes outside strings that are not structure. */
static size_t split_plain_run(const struct gfs_list_split *sp, const char *p, size_t n)
{
	size_t k = 0;
	if (sp->in_string) {
		if (sp->escape || sp->capturing_key)
			return 0;
		while (k < n && p[k] != '"' && p[k] != '\\')
			k++;
	} else {
		while (k < n && !strchr("\"{}[]:,", p[k]))
			k++;
	}
	return k;
}

int gfs_list_split_feed(struct gfs_list_split *sp, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t run = split_plain_run(sp, p + i, n - i);
		if (run > 0) {
			struct gfs_buf *dest = split_dest(sp);
			int rc = dest ? gfs_buf_add(dest, p + i, run) : 0;
			if (rc < 0)
				return split_overflow(sp, dest, rc);
			i += run;
			if (i == n)
				break;
		}
		char c = p[i];
		bool opens_items = false, closes_item = false;
		int rc = 0;
		if (sp->in_string) {
			split_string_byte(sp, c);
		} else {
			opens_items = sp->depth == 1 && c == '[' && sp->key_is_items &&
				      !sp->items_seen;
			closes_item = sp->in_item && sp->depth == 3 && c == '}';
			rc = split_structural(sp, c);
			if (rc < 0)
				return rc;
		}
		/* The bracket that opens "items" stays in the envelope, which
		 * so keeps an empty "items": []; an item's braces are its own;
		 * what lies between items is dropped. */
		struct gfs_buf *dest = opens_items ? &sp->envelope : split_dest(sp);
		if (dest && (rc = gfs_buf_add(dest, &c, 1)) < 0)
			return split_overflow(sp, dest, rc);
		if (closes_item && (rc = split_item_done(sp)) < 0)
			return rc;
	}
	return 0;
}

int gfs_list_split_finish(struct gfs_list_split *sp, json_t **envelope)
{
	json_error_t err;
	if (sp->depth != 0 || sp->in_string)
		return gfs_error_set(-EPROTO, "the list ends in the middle of its JSON");
	json_t *doc = json_loadb(sp->envelope.data, sp->envelope.len, 0, &err);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return gfs_error_set(-EPROTO, "the list is not a JSON object: %s",
				     err.text);
	}
	*envelope = doc;
	return 0;
}

/* ---- the transfer ------------------------------------------------------------- */

struct gfs_kube_list {
	struct gfs_kube_conn *conn;
	const char *path; /* borrowed from the caller of begin */
	gfs_list_item_cb cb;
	void *payload;
	unsigned gen; /* of the credential used */
	int attempts; /* 401 retries so far */
	struct gfs_list_split split;
	long status;
	int rc; /* why the write callback stopped the transfer */
};

static size_t list_write(char *ptr, size_t size, size_t nmemb, void *payload)
{
	struct gfs_kube_list *x = payload;
	size_t n = size * nmemb;
	x->conn->last_rx_ms = gfs_monotonic_ms();
	gfs_metrics_api_bytes(n, 0);
	if (!x->status) {
		curl_easy_getinfo(x->conn->curl, CURLINFO_RESPONSE_CODE, &x->status);
		gfs_kube_transport_saw(x->conn);
	}
	if (x->status < 200 || x->status >= 300) {
		/* A Status document, not a list; a huge one is cut short. */
		(void)gfs_buf_add(&x->conn->body, ptr, n);
		return n;
	}
	int rc = gfs_list_split_feed(&x->split, ptr, n);
	if (rc == 0)
		return n;
	x->rc = rc;
	return 0; /* aborts the transfer */
}

static int list_finish(struct gfs_kube_list *x, CURLcode cc, const char *path,
		       json_t **envelope)
{
	struct gfs_kube_conn *conn = x->conn;
	int plen = (int)strcspn(path, "?");
	if (x->rc < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		return gfs_error_set(x->rc, "GET %.*s: %s", plen, path, msg);
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && gfs_kube_conn_stopping(conn))
		return gfs_error_set(-ECANCELED, "GET %.*s: cancelled (stopping)", plen,
				     path);
	if (cc != CURLE_OK) {
		return gfs_kube_curl_errno(cc, gfs_kube_client_server(conn->client),
					   conn->errbuf, gfs_kube_conn_os_errno(conn));
	}
	if (x->status < 200 || x->status >= 300) {
		json_t *doc = json_loadb(conn->body.data ? conn->body.data : "",
					 conn->body.len, 0, NULL);
		int rc = gfs_kube_status_error(conn, "GET", path, x->status, doc);
		json_decref(doc);
		return rc;
	}
	int rc = gfs_list_split_finish(&x->split, envelope);
	if (rc < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", gfs_error_last());
		return gfs_error_set(rc, "GET %.*s: %s", plen, path, msg);
	}
	return 0;
}

/* Sets up conn's handle for (another attempt at) the page, from its
 * first byte. */
static int list_prepare(struct gfs_kube_list *x)
{
	struct gfs_kube_conn *conn = x->conn;
	gfs_list_split_release(&x->split);
	gfs_list_split_init(&x->split, x->cb, x->payload);
	int rc = gfs_kube_conn_prepare(conn, "GET", x->path, NULL, false, &x->gen);
	if (rc < 0)
		return rc;
	conn->body.limit = LIST_MAX_ENVELOPE; /* for a Status answer */
	curl_easy_setopt(conn->curl, CURLOPT_WRITEFUNCTION, list_write);
	curl_easy_setopt(conn->curl, CURLOPT_WRITEDATA, x);
	x->status = 0;
	x->rc = 0;
	return 0;
}

static void list_free(struct gfs_kube_list *x)
{
	x->conn->body.limit = GFS_KUBE_MAX_BODY;
	gfs_list_split_release(&x->split);
	free(x);
}

int gfs_kube_list_begin(struct gfs_kube_list **out, struct gfs_kube_conn *conn,
			const char *path, gfs_list_item_cb cb, void *payload)
{
	struct gfs_kube_list *x = calloc(1, sizeof(*x));
	if (!x)
		return gfs_error_set(-ENOMEM, "out of memory");
	*x = (struct gfs_kube_list){
	    .conn = conn, .path = path, .cb = cb, .payload = payload};
	gfs_list_split_init(&x->split, cb, payload);
	int rc = list_prepare(x);
	if (rc < 0) {
		list_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int gfs_kube_list_end(struct gfs_kube_list *x, CURLcode cc, json_t **envelope)
{
	struct gfs_kube_conn *conn = x->conn;
	int rc;
	*envelope = NULL;
	if (!x->status)
		curl_easy_getinfo(conn->curl, CURLINFO_RESPONSE_CODE, &x->status);
	gfs_metrics_api_request("LIST", x->status);
	/* As for requests: a rejected exec credential is renewed once. */
	if (x->status == 401 && x->attempts++ == 0 &&
	    gfs_kube_client_auth_failed(conn->client, x->gen)) {
		gfs_buf_reset(&conn->body);
		rc = list_prepare(x);
		if (rc == 0)
			return GFS_KUBE_AGAIN;
	} else {
		rc = list_finish(x, cc, x->path, envelope);
		gfs_debug("GET %.*s: %ld (%zu items)", (int)strcspn(x->path, "?"),
			  x->path, x->status, x->split.items);
	}
	list_free(x);
	return rc;
}

int gfs_kube_list_page(struct gfs_kube_conn *conn, json_t **envelope, const char *path,
		       gfs_list_item_cb cb, void *payload)
{
	struct gfs_kube_list *x;
	*envelope = NULL;
	int rc = gfs_kube_list_begin(&x, conn, path, cb, payload);
	if (rc < 0)
		return rc;
	do
		rc = gfs_kube_list_end(x, gfs_kube_conn_perform(conn), envelope);
	while (rc == GFS_KUBE_AGAIN);
	return rc;
}
