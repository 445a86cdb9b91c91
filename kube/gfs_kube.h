/*
 * gfs_kube.h - talking to the Kubernetes API server (libcurl + jansson).
 *
 * A gfs_kube_client holds the resolved credentials and is shared by every
 * thread (thread-safe, immutable after creation except the exec-plugin
 * token cache, which it locks itself). Each thread that makes requests
 * opens its own gfs_kube_conn (one libcurl easy handle: keep-alive
 * connection reuse, TLS session reuse); a conn is used by one thread at a
 * time.
 *
 * Errors: HTTP statuses map to errno in one place (gfs_kube_errno):
 *   400/422 -EINVAL, 401/403 -EACCES, 404 -ENOENT, 409 -EEXIST
 *   (AlreadyExists) or -EBUSY (Conflict), 410 -ESTALE (Gone),
 *   429 -EAGAIN, 5xx -EIO, transport failures -ECONNREFUSED/-ETIMEDOUT/
 *   -EHOSTUNREACH/-EPROTO (TLS). The per-thread error then holds the
 *   server's Status message, e.g. "PUT .../web: 409 Conflict: the object
 *   has been modified; please apply your changes to the latest version".
 *
 * Bodies are limited (GFS_KUBE_MAX_BODY; list pages item by item); a
 * bigger answer is -EFBIG.
 */
#ifndef GFS_KUBE_H
#define GFS_KUBE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "gfs_kubeconfig.h"

/* One answer that is not a list: an object (etcd keeps them under 1.5
 * MiB), a discovery document, a Status. Lists are decoded item by item
 * (gfs_kube_list_page), each item at most GFS_KUBE_MAX_EVENT. */
#define GFS_KUBE_MAX_BODY  (32u << 20)
#define GFS_KUBE_MAX_EVENT (16u << 20) /* one watch event line */

struct gfs_kube_client;
struct gfs_kube_conn;

/* Copies what it needs from creds (the caller may free creds after).
 * Runs the exec plugin lazily, on the first request that needs it. */
int gfs_kube_client_new(struct gfs_kube_client **out, const struct gfs_kube_creds *creds);
void gfs_kube_client_free(struct gfs_kube_client *c);
/* "https://host:port" - borrowed, for messages. */
const char *gfs_kube_client_server(const struct gfs_kube_client *c);

int gfs_kube_conn_open(struct gfs_kube_conn **out, struct gfs_kube_client *c);
void gfs_kube_conn_close(struct gfs_kube_conn *conn);

/* How the process reaches the API server, for .gitopsfs/status. */
struct gfs_kube_transport {
	unsigned connections; /* TCP connections open now, of every conn */
	/* "2" or "1.1": the protocol of the latest answer to a list or watch
	 * of the informers' event loop; NULL before the first. Static. */
	const char *http;
};
void gfs_kube_transport_get(struct gfs_kube_transport *out);

/* One request. `path` is the URL path with query ("/api/v1/namespaces").
 * `content_type` and `body` may be NULL (no body). On any HTTP answer,
 * *status (if not NULL) gets the HTTP status and *out (if not NULL) the
 * parsed JSON body (a new reference; NULL when the body is not JSON).
 * Returns 0 for 2xx, otherwise the mapped -errno with the per-thread
 * error set. Retries nothing: callers decide about back-off. */
int gfs_kube_request(struct gfs_kube_conn *conn, json_t **out, long *status,
		     const char *method, const char *path, const char *content_type,
		     const char *body, size_t body_len);

/* Watch event types. */
enum gfs_watch_event {
	GFS_WATCH_ADDED,
	GFS_WATCH_MODIFIED,
	GFS_WATCH_DELETED,
	GFS_WATCH_BOOKMARK
};

/* Called for every event; obj is borrowed for the call. Return non-zero
 * to end the watch early (gfs_kube_watch then returns 0). */
typedef int (*gfs_watch_cb)(enum gfs_watch_event type, json_t *obj, void *payload);

/* Streams `path` (which must already carry watch=1&resourceVersion=...)
 * and calls cb per event until the server ends the stream (returns 0),
 * the server sends an ERROR event or answers 410 (returns -ESTALE: the
 * caller must re-list), *stop becomes true (returns 0, checked at least
 * every second), or the connection fails (-errno). */
int gfs_kube_watch(struct gfs_kube_conn *conn, const char *path, gfs_watch_cb cb,
		   void *payload, const atomic_bool *stop);

/* HTTP status to -errno, as documented above. `reason` is the Status
 * object's reason field ("Conflict", "AlreadyExists") or NULL. */
int gfs_kube_errno(long http_status, const char *reason);

/* ---- discovery ---------------------------------------------------------- */

/* One list-and-watchable resource (group + plural), once, whatever the
 * number of versions that serve it.
 *
 * Invariants: `version` is the group's preferred version when that
 * version serves the resource, else the highest-priority version that
 * does (gfs_kube_version_cmp); `api_path` is that version's path, where
 * informers list and watch. `versions` holds every version that serves
 * the resource, in priority order, `version` among them (first unless
 * the server prefers a version that ranks lower). The kind is taken from
 * `version`'s discovery document and assumed the same in every version
 * (Kubernetes allows no CRD to change its kind between versions; a
 * built-in group that did would be found by find_kind at `version`'s
 * kind only). All strings are owned by the struct. */
struct gfs_resource {
	char *group;     /* "" for the core group */
	char *version;   /* "v1": the version informers watch */
	char **versions; /* NULL-terminated: {"v1", "v1beta1", NULL} */
	char *resource;  /* plural, "deployments" */
	char *kind;      /* "Deployment" */
	bool namespaced;
	char *dirname;  /* "deployments.apps", or "configmaps" for core */
	char *api_path; /* "/apis/apps/v1" or "/api/v1": of `version` */
};

struct gfs_resource_list {
	struct gfs_resource *items; /* sorted by dirname */
	size_t count;
};

/* Kubernetes' version priority, as kube-apiserver orders a group's
 * versions: GA before beta before alpha, then the higher major, then the
 * higher minor (v2 > v1 > v1beta2 > v1beta1 > v1alpha1); names that are
 * not of the form v<N>[(alpha|beta)<M>] come after all of those, in
 * alphabetical order. qsort-style: negative when a ranks before
 * (is preferred to) b, 0 when equal. */
int gfs_kube_version_cmp(const char *a, const char *b);

/* Queries /api, /api/v1, /apis and every version of every group that
 * /apis lists; keeps resources whose verbs include list and watch,
 * skipping subresources, each once (see struct gfs_resource for the
 * version chosen). A group whose preferred version fails to answer (e.g.
 * an unavailable aggregated API) is skipped with a warning rather than
 * failing everything; when only another version of a group fails, the
 * group's resources that the failed version could have taken (those
 * first found at a version ranking below it) are left out with it and
 * the rest is kept, so that a flaky version never moves a resource to
 * another version (the kept resources' `versions` then lack the failed
 * one). Such groups count as failed for gfs_discovery_run_ex. */
int gfs_discovery_run(struct gfs_resource_list **out, struct gfs_kube_conn *conn);
void gfs_resource_list_free(struct gfs_resource_list *l);
/* Looks up by dirname ("deployments.apps"); borrowed, or NULL. */
const struct gfs_resource *gfs_resource_list_find(const struct gfs_resource_list *l,
						  const char *dirname);
/* Looks up by apiVersion ("apps/v1", "v1") and kind; borrowed, or NULL.
 * Found only when that version serves the kind: "apps/v1beta1" finds
 * Deployment on a server that serves apps/v1beta1 deployments beside
 * apps/v1 (the result's `version` is still the watched one; send the
 * manifest to gfs_resource_api_path(..., its own version)), and NULL on
 * a server that does not. The caller need not check
 * gfs_resource_serves again. */
const struct gfs_resource *gfs_resource_list_find_kind(const struct gfs_resource_list *l,
						       const char *api_version,
						       const char *kind);
/* Like find_kind, but compares only the group of api_version, not its
 * version: for messages about a manifest whose version is not served
 * ("Deployment is served in apps/v1, not apps/v1beta2"). Borrowed, or
 * NULL. */
const struct gfs_resource *
gfs_resource_list_find_group_kind(const struct gfs_resource_list *l,
				  const char *api_version, const char *kind);
/* Whether `version` ("v1beta1", no group) serves r. */
bool gfs_resource_serves(const struct gfs_resource *r, const char *version);
/* Writes the API path of r's group at `version` into out: "/apis/apps/v1beta1",
 * or "/api/v1" for the core group; NULL version: r->version. Returns 0,
 * -ENOENT when r is not served at that version, -ENAMETOOLONG when out is
 * too small; on error out holds "" and the per-thread error says why. */
int gfs_resource_api_path(char *out, size_t outsz, const struct gfs_resource *r,
			  const char *version);
/* Deep copy of one resource into *dst (caller releases with
 * gfs_resource_release). A src without `versions` (built by hand) gets
 * {version}. On error *dst is untouched. */
int gfs_resource_copy(struct gfs_resource *dst, const struct gfs_resource *src);
/* Frees r's strings and zeroes it (not r itself); NULL-safe. */
void gfs_resource_release(struct gfs_resource *r);

#endif
