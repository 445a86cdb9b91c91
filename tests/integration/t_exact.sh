#!/usr/bin/env bash
# Exact write-back (SPEC section 5, "a write changes exactly what the
# writer changed"): an unchanged rewrite sends nothing; an edit keeps what
# the file does not show (kubectl's last-applied annotation, the revision
# annotation, status of a custom resource without a status subresource,
# hidden server defaults); a field deleted from the file is deleted; no
# lost update through a read-write open; a write over the size limit
# applies nothing; a refused create leaves nothing behind.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
jp() { kc get "$@" 2>/dev/null; }
# writes: the number of PUT/POST/PATCH/DELETE requests so far.
writes() { grep -cE '"method": "(PUT|POST|PATCH|DELETE)"' "$T/requests.log"; }

# An object made by kubectl apply: it carries last-applied-configuration.
cat >"$T/applied.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  labels:
    app: api
    tier: backend
spec:
  replicas: 1
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - image: nginx:1.25.3
        name: api
YAML
kc apply -f "$T/applied.yaml" >/dev/null
F=$MNT/shop/deployments.apps/api.yaml
wait_for 5 test -s "$F" || { echo "Bail out! api.yaml did not appear"; exit 1; }
lac() { jp deployment api -n shop -o jsonpath='{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}'; }
rev() { jp deployment api -n shop -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}'; }
lac0=$(lac) rev0=$(rev)
check "kubectl apply left its annotation (test set-up)" test -n "$lac0"

# 1. An unchanged rewrite sends no request.
cat "$F" >"$T/copy.yaml"
n0=$(writes)
check "cp of the unchanged bytes succeeds" cp "$T/copy.yaml" "$F"
check "cat > of the unchanged bytes succeeds" bash -c 'cat "$1" > "$2"' _ "$T/copy.yaml" "$F"
check "vim :wq without a change succeeds" vim -Es -u NONE -i NONE -c wq "$F"
is "$(writes)" "$n0" "none of them sent a request to the cluster"

# 2. An edit changes that field and keeps what the file does not show.
check "sed -i changes one field" sed -i 's/replicas: 1/replicas: 3/' "$F"
is "$(jp deployment api -n shop -o jsonpath='{.spec.replicas}')" "3" "the edit is applied"
is "$(lac)" "$lac0" "kubectl's last-applied-configuration annotation survives"
is "$(rev)" "$rev0" "the deployment.kubernetes.io/revision annotation survives"
out=$(kc apply -f "$T/applied.yaml" 2>&1)
check "kubectl apply afterwards gives no missing-annotation warning" bash -c '! grep -qi "missing the kubectl.kubernetes.io/last-applied-configuration" <<<"$1"' _ "$out"
# The watch brings kubectl's change to the file a moment later; an edit of
# the bytes from before it would be refused (EBUSY), rightly.
check "the file shows kubectl's apply" wait_for 10 grep -q '^  replicas: 1$' "$F"

# 3. A field deleted from the file is deleted from the object.
check "deleting a label line succeeds" sed -i '/^    tier: backend$/d' "$F"
is "$(jp deployment api -n shop -o jsonpath='{.metadata.labels.tier}')" "" "the label is gone from the object"
is "$(jp deployment api -n shop -o jsonpath='{.metadata.labels.app}')" "api" "the other label stays"
is "$(lac)" "$lac0" "the hidden annotation is still there"

# 4. status of a custom resource whose CRD has no status subresource.
cat <<'YAML' | kc apply -f - >/dev/null
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: apps.argo.example.com
spec:
  group: argo.example.com
  scope: Namespaced
  names: {plural: apps, singular: app, kind: App}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
YAML
kc wait --for condition=established crd/apps.argo.example.com >/dev/null
printf 'apiVersion: argo.example.com/v1\nkind: App\nmetadata:\n  name: guestbook\n  namespace: shop\nspec:\n  path: guestbook\nstatus:\n  history:\n  - revision: abc\n  - revision: def\n' | kc create -f - >/dev/null
A=$MNT/shop/apps.argo.example.com/guestbook.yaml
wait_for 15 test -s "$A"
check "the custom resource's file shows no status" bash -c '! grep -q history "$1"' _ "$A"
check "editing it succeeds" sed -i 's/path: guestbook/path: guestbook2/' "$A"
is "$(jp apps.argo.example.com guestbook -n shop -o jsonpath='{.spec.path}')" "guestbook2" "the edit is applied"
is "$(jp apps.argo.example.com guestbook -n shop -o jsonpath='{.status.history[*].revision}')" "abc def" "its status (history) survives"

# 5. Hidden server defaults survive an edit of a sparse object.
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: sparse\n  namespace: shop\nspec:\n  ports:\n  - port: 80\n  selector:\n    app: api\n' | put "$MNT/shop/services/sparse.yaml"
ip0=$(jp service sparse -n shop -o jsonpath='{.spec.clusterIP}')
check "a sparse Service reads back without its clusterIP" bash -c '! grep -q clusterIP "$1"' _ "$MNT/shop/services/sparse.yaml"
check "editing it succeeds" sed -i 's/port: 80/port: 8080/' "$MNT/shop/services/sparse.yaml"
is "$(jp service sparse -n shop -o jsonpath='{.spec.ports[0].port}')" "8080" "the port changed"
is "$(jp service sparse -n shop -o jsonpath='{.spec.clusterIP}')" "$ip0" "the allocated clusterIP is kept"
is "$(jp service sparse -n shop -o jsonpath='{.spec.ports[0].protocol}')" "TCP" "the defaulted protocol is kept"
check "and it still reads back sparse" bash -c '! grep -qE "clusterIP|protocol" "$1"' _ "$MNT/shop/services/sparse.yaml"

# 6. No lost update through a read-write open (an editor that keeps the
# file open): someone changes the object between the read and the write.
CM=$MNT/shop/configmaps/web-config.yaml
out=$(python3 - "$CM" <<'PY' 2>&1
import subprocess, sys, time
with open(sys.argv[1], "r+") as f:
    text = f.read()
    subprocess.run(["kubectl", "patch", "configmap", "web-config", "-n", "shop", "--type",
                    "merge", "-p", '{"data":{"LOG_LEVEL":"theirs"}}'], check=True,
                   capture_output=True)
    time.sleep(1.5)
    f.seek(0)
    f.write(text.replace("LOG_LEVEL: info", "LOG_LEVEL: mine!"))
    f.truncate()
    try:
        f.flush()
        f.close()
    except OSError as e:
        print(e.strerror)
        sys.exit(3)
PY
); rc=$?
check "a read-write open's stale write fails" test "$rc" -eq 3
check "as a conflict (EBUSY)" grep -q "busy" <<<"$out"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "theirs" "their change is kept"

# 7. A write over the size limit applies nothing, even what fit.
n0=$(writes)
out=$(python3 - "$CM" <<'PY' 2>&1
import sys
head = open(sys.argv[1]).read().replace("LOG_LEVEL: theirs", "LOG_LEVEL: truncated")
try:
    with open(sys.argv[1], "w") as f:
        f.write(head + "#" * (9 << 20))
except OSError as e:
    print(e.strerror)
    sys.exit(3)
PY
); rc=$?
check "a 9 MB write fails" test "$rc" -eq 3
check "with EFBIG (File too large)" grep -q "too large" <<<"$out"
is "$(writes)" "$n0" "nothing was sent"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "theirs" "the object is unchanged"
check "the reason is in .gitopsfs/errors" grep -q "web-config.yaml: not applied: the file is larger" "$MNT/.gitopsfs/errors"

# 8. A refused create leaves no entry behind: the corrected write at the
# same path succeeds at once.
NEW=$MNT/shop/configmaps/second-try.yaml
err=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second-try\ndata:\n  count: 5\n' | put "$NEW" 2>&1)
check "a create the server refuses fails" grep -q "Invalid argument" <<<"$err"
check "the path does not exist afterwards" test ! -e "$NEW"
err=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second-try\ndata:\n  count: "5"\n' | put "$NEW" 2>&1)
is "$err" "" "the corrected write at the same path succeeds"
is "$(kc get configmap second-try -n shop -o jsonpath="{.data.count}" 2>&1)" "5" "and the object exists"

# 9. What is in Git reads back equal after all of it: no false drift.
G add -A && G commit -qm all
unmount_gfs
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
is "$(G status --porcelain)" "" "no false drift after a remount"
done_testing
