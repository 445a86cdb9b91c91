#!/usr/bin/env bash
# Directories a user expects (SPEC sections 3 and 5): every served resource
# is a directory in every namespace the mount shows and in _cluster/, so cp
# and editors create the first object of a kind; a directory for a
# resource not served yet holds object files that wait for their CRD (a
# CRD and its objects in one git checkout), and fail naming the resource
# when it never comes - never a silent plain file; README files, excluded
# resources and namespaces outside --namespace stay ordinary files.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
G add -A && G commit -qm import && G push -q -u origin HEAD:main
jp() { kc get "$@" 2>/dev/null; }
quiet() { "$@" >/dev/null; }
LOCAL=$STATE/files
# posts RESOURCE: how many creates of that resource reached the API server.
posts() { grep '"POST"' "$T/requests.log" | grep -c "/$1[?\"]"; }

# ---- every served resource resolves as a directory -------------------------------
M=$MNT/monitoring
check "monitoring has no ConfigMap: its listing shows no configmaps/" bash -c '! ls "$1" | grep -qx configmaps' _ "$M"
check "ls -d monitoring/configmaps finds a directory all the same" quiet ls -d "$M/configmaps"
check "an empty one" test -d "$M/configmaps" -a -z "$(ls -A "$M/configmaps")"
st1=$(stat -c '%i %Y' "$M/configmaps")
sleep 1.2 # past the brief attribute cache of such a directory
is "$(stat -c '%i %Y' "$M/configmaps")" "$st1" "its inode and mtime are stable"
check "cluster-scoped resources too (_cluster/storageclasses.storage.k8s.io)" test -d "$MNT/_cluster/storageclasses.storage.k8s.io"
check "a resource the cluster does not serve is no directory" test ! -e "$M/gadgets.nowhere.example"
check "nor is an excluded one (events)" test ! -e "$M/events"
check "nor a served resource in the wrong scope" test ! -e "$M/namespaces"
check "nor anything in a namespace that does not exist" test ! -e "$MNT/nosuchns/configmaps"
check "mkdir -p of a resource directory succeeds" mkdir -p "$M/secrets"
check "without making a local folder" test ! -e "$LOCAL/monitoring/secrets"

# ---- cp of the first object of a kind ------------------------------------------
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  a: "1"\n' >"$T/first.yaml"
check "cp x.yaml monitoring/configmaps/ creates the first ConfigMap there" cp "$T/first.yaml" "$M/configmaps/"
is "$(jp configmap first -n monitoring -o jsonpath='{.data.a}')" "1" "the cluster has it"
check "the file reads back the object" grep -q 'name: first' "$M/configmaps/first.yaml"
check "the namespace now lists configmaps/" bash -c 'ls "$1" | grep -qx configmaps' _ "$M"
is "$(stat -c '%i' "$M/configmaps")" "${st1% *}" "the directory kept its inode"

# ---- an editor creates the first object of a kind -------------------------------
cat >"$T/role.yaml" <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups:
  - ""
  resources:
  - pods
  verbs:
  - get
YAML
VIM=$(command -v vim || command -v vi)
check "vim writes the first Role of monitoring" "$VIM" -Es -u NONE -i NONE \
	-c "call setline(1, readfile('$T/role.yaml'))" -c wq "$M/roles.rbac.authorization.k8s.io/reader.yaml"
is "$(jp role reader -n monitoring -o jsonpath='{.rules[0].verbs[0]}')" "get" "the cluster has vim's Role"
check "vim leaves no swap file behind" bash -c '! ls -a "$1" | grep -E "\.swp$|^4913$"' _ "$M/roles.rbac.authorization.k8s.io"
is "$(ls "$M/roles.rbac.authorization.k8s.io")" "reader.yaml" "the directory lists the new object"

# ---- a CRD and an object of it in one git checkout -------------------------------
git clone -q "$REPO" "$T/work"
mkdir -p "$T/work/_cluster/customresourcedefinitions.apiextensions.k8s.io" "$T/work/shop/gizmos.example.com"
cat >"$T/work/_cluster/customresourcedefinitions.apiextensions.k8s.io/gizmos.example.com.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.example.com
spec:
  group: example.com
  names:
    kind: Gizmo
    plural: gizmos
    singular: gizmo
  scope: Namespaced
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    served: true
    storage: true
YAML
cat >"$T/work/shop/gizmos.example.com/g1.yaml" <<'YAML'
apiVersion: example.com/v1
kind: Gizmo
metadata:
  name: g1
  namespace: shop
spec:
  size: 3
YAML
git -C "$T/work" add -A && git -C "$T/work" commit -qm "gizmos" && git -C "$T/work" push -q origin HEAD:main
check "git pull of a commit adding a CRD and an object of it succeeds" G pull -q --ff-only
check "the CRD is created" quiet jp crd gizmos.example.com
is "$(jp gizmos.example.com g1 -n shop -o jsonpath='{.spec.size}')" "3" "and so is the object, once discovery saw the CRD"
check "the mount shows the object" wait_for 5 test -f "$MNT/shop/gizmos.example.com/g1.yaml"
check "the directory holds no plain file" test ! -e "$LOCAL/shop/gizmos.example.com/g1.yaml"
is "$(G status --porcelain -- shop _cluster)" "" "git status shows no drift for them"

# ---- a resource that is never served --------------------------------------------
check "mkdir of a directory for a resource not served yet succeeds" mkdir "$MNT/shop/gadgets.nowhere.example"
cat >"$T/write_fsync.py" <<'PY'
import errno, os, sys
path, data = sys.argv[1], open(sys.argv[2], "rb").read()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data)
try:
    os.fsync(fd)                       # the apply, refused
    print("fsync: ok")
except OSError as e:
    print("fsync: " + errno.errorcode[e.errno])
try:                                   # the reason, while the file is open
    print("xattr: " + os.getxattr(fd, "user.gitopsfs.error").decode())
except OSError as e:
    print("xattr: " + errno.errorcode[e.errno])
os.close(fd)
PY
printf 'apiVersion: nowhere.example/v1\nkind: Gadget\nmetadata:\n  name: g1\n' >"$T/gadget.yaml"
out=$(python3 "$T/write_fsync.py" "$MNT/shop/gadgets.nowhere.example/g1.yaml" "$T/gadget.yaml" 2>&1)
diag "$(tr '\n' ' ' <<<"$out")"
check "a file for it waits, then fails with EINVAL" grep -qx "fsync: EINVAL" <<<"$out"
check "the xattr names the resource" grep -q "xattr: .*serves no resource gadgets.nowhere.example; install its CRD first" <<<"$out"
check ".gitopsfs/errors has it" grep -q "shop/gadgets.nowhere.example/g1.yaml: not applied: the cluster serves no resource gadgets.nowhere.example" "$MNT/.gitopsfs/errors"
is "$(ls -A "$MNT/shop/gadgets.nowhere.example")" "" "no plain file remains: the directory lists nothing"
check "and none was kept locally" test ! -e "$LOCAL/shop/gadgets.nowhere.example/g1.yaml"

# ---- ordinary files stay ordinary -----------------------------------------------
echo "# notes" >"$MNT/README.md"
check "a README.md at the top is an ordinary file" test -f "$LOCAL/README.md"
mkdir -p "$MNT/shop/leases.coordination.k8s.io"
printf 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: l1\n' >"$T/lease.yaml"
check "a file of an excluded resource (leases) is written at once" cp "$T/lease.yaml" "$MNT/shop/leases.coordination.k8s.io/l1.yaml"
check "and kept as an ordinary file" cmp "$T/lease.yaml" "$MNT/shop/leases.coordination.k8s.io/l1.yaml"
is "$(posts leases)" "0" "never sent to the cluster"
mkdir -p "$MNT/docs/guide"
check "docs/guide/intro.yaml is no object path (guide names no CRD)" bash -c 'echo "a: 1" >"$1/docs/guide/intro.yaml" && test -f "$2/docs/guide/intro.yaml"' _ "$MNT" "$LOCAL"

# ---- a remount -------------------------------------------------------------------------
pvc=$(stat -c '%i %Y' "$M/persistentvolumeclaims")
unmount_gfs
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
is "$(stat -c '%i %Y' "$M/persistentvolumeclaims")" "$pvc" "an empty resource directory has the same inode and mtime after a remount"
check "the README is still there" test -f "$MNT/README.md"
is "$(ls -A "$MNT/shop/gadgets.nowhere.example")" "" "and no object file of the unserved resource came back as a plain file"

# ---- outside --namespace, everything is ordinary ---------------------------------
unmount_gfs
mount_gfs --namespace shop || { echo "Bail out! remount failed"; exit 1; }
check "with --namespace shop, shop/configmaps is a directory" test -d "$MNT/shop/configmaps"
check "an empty resource directory of shop too" test -d "$MNT/shop/persistentvolumeclaims"
check "monitoring is not shown" test ! -e "$MNT/monitoring/configmaps"
mkdir -p "$MNT/monitoring/widgets.example.com"
check "a file in another namespace is written at once" cp "$T/gadget.yaml" "$MNT/monitoring/widgets.example.com/x.yaml"
check "and kept as an ordinary file" test -f "$LOCAL/monitoring/widgets.example.com/x.yaml"
mkdir -p "$MNT/shop/clusterroles.rbac.authorization.k8s.io"
check "a cluster-scoped resource's name under shop/ is no object path" cp "$T/gadget.yaml" "$MNT/shop/clusterroles.rbac.authorization.k8s.io/x.yaml"
check "kept as an ordinary file" test -f "$LOCAL/shop/clusterroles.rbac.authorization.k8s.io/x.yaml"
done_testing
