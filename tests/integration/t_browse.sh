#!/usr/bin/env bash
# Browsing the live cluster with shell tools: layout, rendering, filters,
# Secret redaction, stable stat, no API request per read, writes refused.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
check "mount returns once ready" mount_gfs --read-only
check "the mount is a mount point" mountpoint -q "$MNT"

top=$(ls "$MNT" | tr '\n' ' ')
is "$top" "_cluster default kube-node-lease kube-public kube-system monitoring shop " \
	"top level: _cluster and one directory per namespace with objects"
shop=$(ls "$MNT/shop" | tr '\n' ' ')
is "$shop" "configmaps deployments.apps roles.rbac.authorization.k8s.io secrets serviceaccounts services " \
	"namespace directory: <resource>[.<group>], no pods/replicasets (owned), no events/endpoints"
check "cluster-scoped namespaces" test -f "$MNT/_cluster/namespaces/shop.yaml"
check "cluster-scoped CRDs" test -f "$MNT/_cluster/customresourcedefinitions.apiextensions.k8s.io/alertrules.monitoring.example.com.yaml"
check "custom resources alike" test -f "$MNT/monitoring/alertrules.monitoring.example.com/web-errors.yaml"
check "kube-root-ca.crt left out" test ! -e "$MNT/shop/configmaps/kube-root-ca.crt.yaml"
check "leases left out by default" test ! -e "$MNT/kube-node-lease/leases.coordination.k8s.io"

web=$(cat "$MNT/shop/deployments.apps/web.yaml")
is "$(head -n 2 <<<"$web")" $'apiVersion: apps/v1\nkind: Deployment' "keys sorted: apiVersion, kind first"
check "rendered spec holds the image" grep -q '        image: nginx:1.25.3' <<<"$web"
check "status left out" bash -c '! grep -q "^status:" <<<"$1"' _ "$web"
check "server metadata left out" bash -c '! grep -qE "uid:|resourceVersion:|managedFields:|creationTimestamp:|generation:" <<<"$1"' _ "$web"
check "lists at the parent key's indent, kubectl style" grep -q '^      containers:$' <<<"$web"
check "list items at the same indent" grep -q '^      - envFrom:$' <<<"$web"
cm=$(cat "$MNT/shop/configmaps/web-config.yaml")
check "multi-line strings as literal blocks" grep -q '  nginx.conf: |' <<<"$cm"
check "strings that read as other types are quoted" grep -q '  FEATURE_CHECKOUT_V2: "true"' <<<"$cm"

secret=$(cat "$MNT/shop/secrets/db-credentials.yaml")
check "Secret values redacted by default" grep -q 'password: gitopsfs-redacted:hmac-sha256:' <<<"$secret"
b64=$(printf 's3cr3t-password' | base64)
check "the Secret value appears nowhere in the mount" bash -c '! grep -rqF -e "s3cr3t" -e "$1" "$2"' _ "$b64" "$MNT"
is "$(cat "$MNT/shop/secrets/db-credentials.yaml")" "$secret" "redaction is stable"

# The mount and `export` give the same tree and the same bytes.
"$GFS" export "$T/export" 2>"$T/export.err"
check "export succeeds" test -d "$T/export/shop"
check "mount and export hold the same files and bytes" diff -r -x .git -x .gitopsfs "$T/export" "$MNT"
n_mount=$(find "$MNT" -name '*.yaml' -not -path '*/.git*' | wc -l)
check "find sees every object ($n_mount files)" test "$n_mount" -ge 25

# stat is stable: same inode, size, mtime on every call.
f=$MNT/shop/services/web.yaml
s1=$(stat -c '%i %s %Y %Z' "$f"); sleep 1.2; s2=$(stat -c '%i %s %Y %Z' "$f")
is "$s2" "$s1" "stat is stable (inode, size, mtime, ctime)"
check "size matches the bytes" test "$(stat -c %s "$f")" -eq "$(wc -c <"$f")"

# Reads never call the API server.
api_requests() { python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and not json.loads(l).get("watch")))' "$T/requests.log"; }
before=$(api_requests)
for _ in 1 2 3; do
	find "$MNT" -type f -not -path '*/.git*' -exec cat {} + >/dev/null
	grep -rq nginx "$MNT/shop"
	ls -lR "$MNT" >/dev/null
done
after=$(api_requests)
is "$after" "$before" "reading every file three times made no API request"

# Special entries.
check ".git is a gitfile into the state directory" grep -q "^gitdir: $STATE/git" "$MNT/.git"
status=$(cat "$MNT/.gitopsfs/status")
check ".gitopsfs/status is JSON with counts" python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["counts"]["objects"]>=25 and s["stale"] is False and s["direction"]=="off"' "$status"
# The memory the status reports: the object files' bytes exactly (the
# mount is idle: nothing changes between the two reads), and the process.
check "status memory: rendered_bytes is the object files' size, rss is set" python3 -c '
import json, os, sys
mnt = sys.argv[1]
s = json.load(open(os.path.join(mnt, ".gitopsfs/status")))
total = 0
for d, dirs, files in os.walk(mnt):
    dirs[:] = [x for x in dirs if x not in (".git", ".gitopsfs")]
    total += sum(os.path.getsize(os.path.join(d, f)) for f in files if f.endswith(".yaml"))
m = s["memory"]
assert m["rendered_bytes"] == total, (m, total)
assert 0 < m["rss_bytes"] <= m["peak_rss_bytes"], m
' "$MNT"
check "gitopsfs status prints the same JSON" bash -c '"$1" status "$2" | python3 -m json.tool >/dev/null' _ "$GFS" "$MNT"

# --read-only: every change is refused cleanly.
out=$(sh -c "echo x > '$MNT/shop/configmaps/web-config.yaml'" 2>&1)
check "writing an object fails with EROFS" grep -q "Read-only file system" <<<"$out"
check "rm fails with EROFS" bash -c 'rm -f "$1" 2>&1 | grep -q "Read-only file system"' _ "$MNT/shop/configmaps/web-config.yaml"
check "creating an ordinary file fails with EROFS" bash -c '! touch "$1/README.md" 2>/dev/null' _ "$MNT"
check "the object is untouched" test -f "$MNT/shop/configmaps/web-config.yaml"

fusermount3 -u "$MNT"
check "fusermount3 -u unmounts" wait_for 10 bash -c '! mountpoint -q "$1"' _ "$MNT"
check "the daemon exits after unmount" wait_for 10 bash -c '! pgrep -f "[g]itopsfs mount .*$1" >/dev/null' _ "$T"
# --namespace: only those namespaces; cluster-scoped objects are left out.
mount_gfs --read-only --namespace shop --namespace monitoring || { echo "Bail out! remount failed"; exit 1; }
is "$(ls "$MNT" | tr '\n' ' ')" "monitoring shop " "--namespace shows only those namespaces, no _cluster"
check "their objects are there" test -f "$MNT/shop/deployments.apps/web.yaml"
done_testing
