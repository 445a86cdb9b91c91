/*
 * gfs_health.h - is a live object healthy? (SPEC section 4, "Health")
 *
 * The answer uses kstatus' vocabulary (sigs.k8s.io/cli-utils, what Flux
 * and `kubectl wait` reason with), so a person who knows those tools reads
 * ours the same way:
 *
 *   Current      the object is what its spec asks for (a Deployment's new
 *                pods are all ready, a Job completed, a PVC is bound)
 *   InProgress   it is getting there (a rollout, a pending claim, a
 *                controller that has not seen the latest generation)
 *   Failed       it will not get there without a change: a progress
 *                deadline exceeded, a failed Job, a Stalled condition, a
 *                pod that cannot pull its image or crash-loops
 *   Terminating  it is being deleted (deletionTimestamp)
 *   Unknown      its status cannot be read (malformed)
 *
 * and a one-line reason. Everything here is a pure function of the
 * documents passed in: no lock, no I/O, safe from any thread. A workload's
 * verdict also looks at its pods (those it owns through ownerReferences,
 * directly or through its ReplicaSets: the caller resolves that), so that
 * the reason names the pod and the container at fault.
 */
#ifndef GFS_HEALTH_H
#define GFS_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum gfs_health_state {
	GFS_HEALTH_CURRENT,
	GFS_HEALTH_IN_PROGRESS,
	GFS_HEALTH_FAILED,
	GFS_HEALTH_TERMINATING,
	GFS_HEALTH_UNKNOWN,
};
#define GFS_HEALTH_NSTATES 5

/* Longer reasons are cut (they are one line of a file, an xattr). */
#define GFS_HEALTH_REASON_MAX 384

struct gfs_health {
	enum gfs_health_state state;
	char reason[GFS_HEALTH_REASON_MAX]; /* one line, never empty */
};

/* "Current", "InProgress", "Failed", "Terminating", "Unknown". */
const char *gfs_health_state_name(enum gfs_health_state s);
/* The inverse; -1 for anything else. */
int gfs_health_state_parse(const char *word);

/* The health of obj by its own status only (a pod's included). */
void gfs_health_of_object(struct gfs_health *out, const json_t *obj);

/* The health of an object known by its kind and two facts, when they
 * are enough: it has no status, is not being deleted, and its kind has
 * no rule of its own - a ConfigMap, a Role. Then true, with *out what
 * gfs_health_of_object would say of the whole document; else false (the
 * document must be read). Spares parsing most objects of a cluster. */
bool gfs_health_of_plain(struct gfs_health *out, const char *kind, bool has_status,
			 bool deleting);

/* The health of obj given the pods it owns (pods[i] borrowed, any order;
 * n_pods may be 0). For a workload, a failing pod (image that cannot be
 * pulled, crash loop, failed) makes it Failed with that pod's reason;
 * otherwise its own verdict stands. */
void gfs_health_of(struct gfs_health *out, const json_t *obj, const json_t *const *pods,
		   size_t n_pods);

/* What the rules read of obj, and nothing else - kind and apiVersion, the
 * metadata's name, namespace, generation and deletionTimestamp, status,
 * and the few fields of spec that some rule reads (replicas,
 * updateStrategy, backoffLimit, type, suspend): a new document that
 * gfs_health_of judges exactly as it judges obj. NULL when
 * gfs_health_of_plain answers for obj (nothing to keep) or out of memory.
 * What the monitor keeps of each object between events. */
json_t *gfs_health_view(const json_t *obj);

/* Does the health of objects of this kind depend on the pods they own
 * (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job)? */
bool gfs_health_kind_has_pods(const char *kind);

/* "Failed: pod web-1: ..." into out (cut to outsz, always terminated). */
void gfs_health_format(char *out, size_t outsz, const struct gfs_health *h);

#endif
