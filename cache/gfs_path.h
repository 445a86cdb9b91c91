/*
 * gfs_path.h - the file layout of SPEC section 3, in both directions.
 *
 *   _cluster/<dirname>/<name>.yaml          cluster-scoped objects
 *   <namespace>/<dirname>/<name>.yaml       namespaced objects
 *
 * where <dirname> is the plural resource with its group
 * ("deployments.apps"; no suffix for the core group). Paths are relative
 * to the mount's root, without a leading '/'.
 */
#ifndef GFS_PATH_H
#define GFS_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GFS_CLUSTER_DIR "_cluster"
#define GFS_FILE_SUFFIX ".yaml"
#define GFS_PATH_MAX    1024

/* A path split into its parts; borrowed pointers into `buf`. */
struct gfs_path_parts {
	const char *ns; /* NULL for _cluster */
	const char *dirname;
	const char *name; /* without .yaml */
	char buf[GFS_PATH_MAX];
};

/* Splits "ns/dirname/name.yaml" or "_cluster/dirname/name.yaml". Returns
 * 0, or -EINVAL when the path does not have that shape (the caller then
 * treats it as an ordinary file). Validates that ns and name could be
 * Kubernetes names (no empty part, no leading '.'). */
int gfs_path_parse(struct gfs_path_parts *out, const char *path);

/* Writes the path of an object into out (size outsz). ns NULL for
 * cluster-scoped. Returns 0 or -ENAMETOOLONG. */
int gfs_path_format(char *out, size_t outsz, const char *ns, const char *dirname,
		    const char *name);

/* The inode number of a path of the mount: 1 for the root (""), else the
 * 64-bit FNV-1a hash of the path with bit 1 set, so never 0 or 1: the same
 * path has the same number on every mount. The one place of the scheme:
 * the store's files and directories, its implied directories and fs/'s
 * entries all take theirs from here. */
uint64_t gfs_path_ino(const char *path);

/* True when s is a valid DNS-1123 subdomain-ish object name as the API
 * server would accept for most kinds (lowercase alnum, '-', '.', ':' for
 * RBAC names), 1..253 bytes. */
bool gfs_path_name_valid(const char *s);

/* True when s is a DNS-1123 label, as a namespace's name must be:
 * lowercase alnum and '-', alnum at both ends, 1..63 bytes. */
bool gfs_path_label_valid(const char *s);

/* True when dirname could name a custom resource: "<plural>.<group>" with
 * the plural a DNS-1123 label and the group a DNS-1123 subdomain holding
 * at least one dot, as the API server requires of a CRD's group
 * ("widgets.example.com"). Built-in resources are known to discovery from
 * the start, so only such a name can belong to a resource that is not
 * served yet; "guide" or "v1.2" never do (docs/guide/x.yaml stays an
 * ordinary file). */
bool gfs_path_crd_dirname(const char *dirname);

/* The --path DIR of a cluster's tree inside the repository, checked and
 * normalised into out ("clusters//prod/" -> "clusters/prod"; "" or "."
 * -> "", the root): relative, without "..", ".git" or ".gitopsfs". 0, or
 * -EINVAL / -ENAMETOOLONG with a message that says what to give. */
int gfs_path_subdir_check(char *out, size_t outsz, const char *dir);

#endif
