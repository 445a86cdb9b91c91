#!/usr/bin/env bash
# One repository, many clusters (--path DIR, SPEC sections 2 and 3): two
# clusters committed into clusters/a and clusters/b of one repository; a
# mount of one shows it live under its DIR and everything else as plain
# files, `git` works from the root; sync apply applies from its DIR only;
# .gitopsfs.yaml is read from DIR; export and diff take --path too.
# gfs-test-timeout: 400
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
A_KC=$KUBECONFIG
# A second cluster: its own emulator, port, certificates and kubeconfig.
B_KC=$T/kubeconfig-b
python3 "$ROOT/tests/apiserver/kube_emulator.py" --port 0 --portfile "$T/port-b" \
	--tls-dir "$T/tls-b" --token "test-token-b-$$" --kubeconfig "$B_KC" \
	--bookmark-seconds 1 >"$T/emulator-b.out" 2>&1 &
EMU_B_PID=$!
SYNC_PID=
trap 'kill $EMU_B_PID $SYNC_PID 2>/dev/null; cleanup' EXIT
wait_for 20 test -s "$B_KC" || { echo "Bail out! the second emulator did not start"; exit 1; }
kb() { KUBECONFIG=$B_KC kc "$@"; }
kb create namespace shop >/dev/null
KUBECONFIG=$B_KC mkcm shop only-in-b colour=blue

make_repo
W=$T/work
git clone -q "$REPO" "$W" 2>/dev/null
printf '# Our clusters\n' >"$W/README.md"
mkdir -p "$W/docs" && printf 'How we run things.\n' >"$W/docs/runbook.md"
git -C "$W" add -A && git -C "$W" commit -qm "a repository for two clusters" && git -C "$W" push -q origin HEAD:main

# commit_into DIR KUBECONFIG: a commit-mode agent records its cluster
# under DIR and pushes, then stops.
commit_into() {
	"$GFS" sync --sync commit --push --path "$1" --kubeconfig "$2" --state-dir "$T/state-${1//\//-}" \
		"$REPO" >"$T/sync-${1//\//-}.log" 2>&1 &
	SYNC_PID=$!
	wait_for 30 grep -q 'committed' "$T/sync-${1//\//-}.log"
	kill -TERM "$SYNC_PID"; wait "$SYNC_PID"; SYNC_PID=
}
commit_into clusters/a "$A_KC"
commit_into clusters/b "$B_KC"
git -C "$W" pull -q origin main 2>/dev/null
check "cluster a is committed under clusters/a" test -f "$W/clusters/a/shop/configmaps/web-config.yaml"
check "cluster b is committed under clusters/b" test -f "$W/clusters/b/shop/configmaps/only-in-b.yaml"
check "  and not a's objects" test ! -e "$W/clusters/b/shop/configmaps/web-config.yaml"
is "$(git -C "$W" log --format= --name-only | grep -v '^clusters/[ab]/' | grep -v '^$' | sort -u | tr '\n' ' ')" \
	"README.md docs/runbook.md " "the agents' commits touch nothing outside their DIR"
is "$(git -C "$W" show --format= --name-only HEAD | cut -d/ -f1-2 | sort -u)" "clusters/b" \
	"b's commit touches clusters/b only"
is "$(cat "$W/README.md")" "# Our clusters" "README.md kept as it was"

# A mount of cluster a: live under clusters/a, the rest ordinary files.
check "mount --path clusters/a" mount_gfs --path clusters/a
is "$(ls "$MNT" | tr '\n' ' ')" "README.md clusters docs " "the root holds the repository's files"
is "$(ls "$MNT/clusters" | tr '\n' ' ')" "a b " "clusters/ holds both clusters"
check "clusters/a is the live cluster a" test -f "$MNT/clusters/a/_cluster/namespaces/shop.yaml"
is "$(cat "$MNT/clusters/b/shop/configmaps/only-in-b.yaml")" "$(cat "$W/clusters/b/shop/configmaps/only-in-b.yaml")" \
	"clusters/b is plain files, as in Git"
is "$(git -C "$MNT" status --porcelain)" "" "git status is clean at the mount's root"
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"debug"}}' >/dev/null
check "a live change in a shows as drift under clusters/a" wait_for 10 bash -c \
	'[ "$(git -C "$1" status --porcelain)" = " M clusters/a/shop/configmaps/web-config.yaml" ]' _ "$MNT"
check "  git diff from the root shows the field" bash -c 'git -C "$1" diff | grep -qx "+  LOG_LEVEL: debug"' _ "$MNT"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-b\n  namespace: shop\ndata:\n  colour: red\n' |
	put "$MNT/clusters/b/shop/configmaps/only-in-b.yaml"
check "a write under clusters/b is a plain file" grep -q 'colour: red' "$MNT/clusters/b/shop/configmaps/only-in-b.yaml"
is "$(kb get cm only-in-b -n shop -o jsonpath='{.data.colour}')" "blue" "  it reaches neither cluster b"
check "  nor cluster a" bash -c '! kubectl get cm only-in-b -n shop >/dev/null 2>&1'
git -C "$MNT" checkout -- clusters/b
check "git checkout puts the plain file back" grep -q 'colour: blue' "$MNT/clusters/b/shop/configmaps/only-in-b.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made-in-mount\n  namespace: shop\ndata:\n  k: v\n' |
	put "$MNT/clusters/a/shop/configmaps/made-in-mount.yaml"
is "$(kc get cm made-in-mount -n shop -o jsonpath='{.data.k}')" "v" "a write under clusters/a is applied to cluster a"
check "the status names the path" grep -q '"path": "clusters/a"' "$MNT/.gitopsfs/status"
unmount_gfs

# .gitopsfs.yaml is read from DIR: an exclusion in clusters/a's config.
printf 'exclude:\n  - resource: configmaps\n    namespace: shop\n' >"$W/clusters/a/.gitopsfs.yaml"
git -C "$W" add -A && git -C "$W" commit -qm "a: no shop configmaps" && git -C "$W" push -q origin HEAD:main
"$GFS" export --path clusters/a "$T/exp" 2>"$T/export.err"
check "export --path writes the tree under DIR/clusters/a" test -f "$T/exp/clusters/a/shop/configmaps/web-config.yaml"
check "  and nothing at DIR's top but clusters" bash -c '[ "$(ls "$1")" = clusters ]' _ "$T/exp"
rm -rf "$T/state-mount2"
"$GFS" mount --state-dir "$T/state-mount2" --path clusters/a "$REPO" "$MNT"
# Excluded, web-config.yaml is an ordinary file: Git's version (info), not
# the live one (debug).
check "the mount reads clusters/a/.gitopsfs.yaml" grep -qx '  LOG_LEVEL: info' "$MNT/clusters/a/shop/configmaps/web-config.yaml"
check "  (its other objects are live)" grep -q 'image: nginx' "$MNT/clusters/a/shop/deployments.apps/web.yaml"
unmount_gfs

# diff --path: the DIR of the branch against the cluster.
"$GFS" diff --path clusters/b --kubeconfig "$B_KC" "$REPO" >"$T/diff.out" 2>"$T/diff.err"
is "$?" "0" "diff --path clusters/b: cluster b is as committed"
kb patch configmap only-in-b -n shop --type merge -p '{"data":{"colour":"green"}}' >/dev/null
"$GFS" diff --path clusters/b --kubeconfig "$B_KC" "$REPO" >"$T/diff.out" 2>"$T/diff.err"
is "$?" "1" "  a change in b: exit 1"
is "$(grep '^+++' "$T/diff.out")" "+++ b/clusters/b/shop/configmaps/only-in-b.yaml" "  paths from the repository's root"

# sync apply from clusters/b applies only what is under clusters/b.
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: shop\ndata:\n  from: %s\n' "$1" "$2"; }
cm for-b clusters/b >"$W/clusters/b/shop/configmaps/for-b.yaml"
cm for-a clusters/a >"$W/clusters/a/shop/configmaps/for-a.yaml"
mkdir -p "$W/shop/configmaps" && cm at-root root >"$W/shop/configmaps/at-root.yaml"
git -C "$W" add -A && git -C "$W" commit -qm "one object per place" && git -C "$W" push -q origin HEAD:main
"$GFS" sync --sync apply --prune --interval 1 --path clusters/b --kubeconfig "$B_KC" \
	--state-dir "$T/state-apply-b" "$REPO" >"$T/apply.log" 2>&1 &
SYNC_PID=$!
check "sync apply --path clusters/b applies clusters/b's object" wait_for 15 bash -c \
	'[ "$(KUBECONFIG=$1 kubectl get cm for-b -n shop -o jsonpath={.data.from} 2>/dev/null)" = clusters/b ]' _ "$B_KC"
check "  and heals b's drift from clusters/b" wait_for 15 bash -c \
	'[ "$(KUBECONFIG=$1 kubectl get cm only-in-b -n shop -o jsonpath={.data.colour} 2>/dev/null)" = blue ]' _ "$B_KC"
sleep 2
check "  never an object outside its DIR (clusters/a, the root)" bash -c \
	'! KUBECONFIG=$1 kubectl get cm for-a -n shop >/dev/null 2>&1 && ! KUBECONFIG=$1 kubectl get cm at-root -n shop >/dev/null 2>&1' _ "$B_KC"
# The same relative path outside DIR, added and removed: were it taken for
# b's, --prune would delete the object b's agent applied.
cp "$W/clusters/b/shop/configmaps/for-b.yaml" "$W/shop/configmaps/for-b.yaml"
git -C "$W" add -A && git -C "$W" commit -qm "a copy at the root" && git -C "$W" push -q origin HEAD:main
sleep 2
git -C "$W" rm -q shop/configmaps/for-b.yaml
git -C "$W" commit -qm "the copy goes" && git -C "$W" push -q origin HEAD:main
sleep 3
check "  nor prunes for a file gone outside it" bash -c 'KUBECONFIG=$1 kubectl get cm for-b -n shop >/dev/null' _ "$B_KC"
kill -TERM "$SYNC_PID"; wait "$SYNC_PID"; SYNC_PID=
check "  the agent said nothing about other files" bash -c '! grep -qE "for-a|at-root" "$1"' _ "$T/apply.log"

# DIR is checked.
"$GFS" mount --path ../elsewhere "$REPO" "$MNT" 2>"$T/bad.err"
is "$?" "2" "--path leaving the repository is refused"
check "  with a message saying why" grep -q "'..' would leave the repository" "$T/bad.err"
"$GFS" sync --sync commit --path /abs "$REPO" 2>"$T/bad.err"
check "an absolute --path is refused" grep -q 'relative to the repository' "$T/bad.err"
"$GFS" export --path clusters/.git "$T/x" 2>"$T/bad.err"
check "a --path into .git is refused" grep -q 'belongs to Git' "$T/bad.err"

done_testing
