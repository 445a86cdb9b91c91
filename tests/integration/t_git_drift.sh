#!/usr/bin/env bash
# git in the mount: an empty repository imports the cluster, git status
# stays clean, out-of-band changes show in git diff as exactly the changed
# lines, status-only changes never do, new CRDs and namespaces appear
# without a remount, push works, and stat survives a remount.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }

# The index carries the stat data the mount shows: git trusts every entry
# by lstat alone, so the import reads nothing back through FUSE. First,
# before git status refreshes the index: diff-files does not read a file
# whose stat data differs from its entry's, it lists it.
is "$(G diff-files --name-only | wc -l)" "0" "the staged index's stat data matches every file's"
staged=$(G status --porcelain | grep -c '^A ')
check "empty repo: the live cluster is staged for import ($staged files)" test "$staged" -ge 25
check "git add -A && git commit imports the cluster" bash -c 'git -C "$1" add -A && git -C "$1" commit -qm import' _ "$MNT"
is "$(G status --porcelain)" "" "git status is clean after the import"
is "$(G status --porcelain)" "" "and stays clean on the next call"
check "git log shows the import" bash -c 'git -C "$1" log --oneline | grep -q import' _ "$MNT"
check ".gitopsfs is ignored by git" bash -c '! git -C "$1" status --porcelain --ignored | grep -q "^?? .gitopsfs"' _ "$MNT"

# An out-of-band change shows within 2 seconds as exactly the changed line.
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"debug"}}' >/dev/null
check "drift appears in git diff within 2 s" wait_for 2 bash -c 'git -C "$1" diff --quiet; test $? -eq 1' _ "$MNT"
is "$(G diff --numstat)" $'1\t1\tshop/configmaps/web-config.yaml' "the diff is one line changed in one file"
is "$(G diff -U0 | grep '^[-+] ')" $'-  LOG_LEVEL: info\n+  LOG_LEVEL: debug' "exactly the changed lines"

# Status-only changes never show.
G commit -qam "record log level"
emu POST /_emu/status-tick >/dev/null
kc scale deployment api -n shop --replicas=3 >/dev/null  # no-op scale: status churn only
sleep 2
is "$(G status --porcelain)" "" "status-only updates do not show as drift"

kc scale deployment web -n shop --replicas=5 >/dev/null
check "scaling shows as drift" wait_for 2 bash -c '! git -C "$1" diff --quiet' _ "$MNT"
is "$(G diff -U0 | grep '^[-+] ')" $'-  replicas: 2\n+  replicas: 5' "the diff is the replicas line"
check "pods and replicasets of the deployment never show" bash -c '! git -C "$1" status --porcelain | grep -qE "pods|replicasets"' _ "$MNT"
G commit -qam "scale web"

# Objects created and deleted out of band.
mkcm shop extra a=b
check "a new object appears as untracked within 2 s" wait_for 2 bash -c 'git -C "$1" status --porcelain | grep -q "?? shop/configmaps/extra.yaml"' _ "$MNT"
kc delete configmap extra -n shop >/dev/null
check "a deleted object disappears" wait_for 2 bash -c '! test -e "$1/shop/configmaps/extra.yaml"' _ "$MNT"
kc delete configmap web-config -n shop >/dev/null
check "deleting a committed object shows as deleted" wait_for 2 bash -c 'git -C "$1" status --porcelain | grep -q "^ D shop/configmaps/web-config.yaml"' _ "$MNT"

# A new namespace and a CRD created while mounted show up without a remount.
printf "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: late\n" | kc create -f - >/dev/null
mkcm late hello x=y
check "a new namespace's objects appear" wait_for 3 test -f "$MNT/late/configmaps/hello.yaml"
cat >"$T/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
YAML
kc create -f "$T/crd.yaml" >/dev/null
sleep 1
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: shop\nspec:\n  size: 3\n' >"$T/w1.yaml"
check "a custom resource of the new CRD can be created" wait_for 5 kc create -f "$T/w1.yaml"
check "a CRD created while mounted shows up without a remount" wait_for 10 test -f "$MNT/shop/widgets.example.com/w1.yaml"
check "its file renders the object" grep -q '  size: 3' "$MNT/shop/widgets.example.com/w1.yaml"

# git push goes to REPO.
check "git push to the origin works" bash -c 'git -C "$1" push -q origin HEAD:main 2>&1' _ "$MNT"
check "the origin has the import commit" bash -c 'git --git-dir="$1" log --oneline main | grep -q import' _ "$REPO"

# stat stays stable across a remount, so git status stays fast and clean.
G add -A && G commit -qm "all"
before=$(stat -c '%i %s %Y' "$MNT/shop/services/web.yaml" "$MNT/_cluster/namespaces/shop.yaml")
unmount_gfs
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
after=$(stat -c '%i %s %Y' "$MNT/shop/services/web.yaml" "$MNT/_cluster/namespaces/shop.yaml")
is "$after" "$before" "inode, size and mtime are the same after a remount"
is "$(G status --porcelain)" "" "git status is clean after a remount"

# A fresh state directory (a new machine) mounting a repository with
# commits: HEAD's entries whose files the mount shows unchanged get the
# mount's stat data; the one that drifted while unmounted does not (git
# reads it and finds the change).
G push -q origin HEAD:main
unmount_gfs
kc annotate -n shop service web drifted=yes >/dev/null
STATE=$T/state-new mount_gfs || { echo "Bail out! mount with a new state dir failed"; exit 1; }
is "$(G diff-files --name-only)" "shop/services/web.yaml" "new state dir: only the drifted file's stat data differs"
is "$(G status --porcelain)" " M shop/services/web.yaml" "and git status shows it modified"
done_testing
