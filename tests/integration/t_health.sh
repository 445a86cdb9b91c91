#!/usr/bin/env bash
# Health (SPEC sections 4 and 6, issue 10): a Deployment the API server
# accepts but that never becomes ready is a failed deployment. Through a
# real mount: the xattr user.gitopsfs.health, .gitopsfs/health,
# .gitopsfs/status and `gitopsfs status`, one alert (errors + webhook) per
# change of state naming the object and the pod and container at fault,
# one recovery alert, `gitopsfs wait`, the health timeout; pods never in
# the tree nor in Git. Then the headless agent with --sync apply: a bad
# image pushed, its fix, and a later degradation.
. "$(dirname "$0")/lib.sh"

start_emulator
kc create namespace shop >/dev/null
# The emulator's kubelet: this image cannot be pulled, that one crashes.
emu POST /_emu/kubelet '{"pull_fail": ["nginx:1.99"], "crash": ["busybox:crash"]}' >/dev/null
python3 "$ROOT/tests/unit/fixtures/webhook_receiver.py" --port 0 --portfile "$T/hook.port" \
	--logfile "$T/hook.log" >/dev/null 2>&1 &
HOOK_PID=$!
wait_for 10 test -s "$T/hook.port"
SYNC_PID=
trap 'kill $HOOK_PID $SYNC_PID 2>/dev/null; tail -20 "$STATE/log" 2>/dev/null | sed "s/^/# log: /"; cleanup' EXIT
HOOK="http://127.0.0.1:$(cat "$T/hook.port")/alerts"
printf 'alerts:\n  webhook: %s\n' "$HOOK" >"$T/config.yaml"

deployment() { # NAME IMAGE [progressDeadlineSeconds]
	cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
  namespace: shop
spec:
  progressDeadlineSeconds: ${3:-600}
  replicas: 2
  selector:
    matchLabels:
      app: $1
  template:
    metadata:
      labels:
        app: $1
    spec:
      containers:
      - image: $2
        name: $1
YAML
}
# health PATH: the object file's xattr user.gitopsfs.health.
health() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.gitopsfs.health").decode())' "$MNT/$1" 2>/dev/null; }
health_has() { health "$1" | grep -q -- "$2"; }
# hook_bodies OBJECT_SUBSTRING STATE: how many webhook alerts of that state name the object.
hook_count() {
	python3 - "$T/hook.log" "$1" "$2" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        b = json.loads(json.loads(line)["body"])
        n += sys.argv[2] in b["object"] and b["state"] == sys.argv[3]
except FileNotFoundError:
    pass
print(n)
PY
}

export T
export -f hook_count
make_repo
check "mounts with --sync commit and a 3 s health timeout" \
	mount_gfs --sync commit --config "$T/config.yaml" --health-timeout 3
WEB=shop/deployments.apps/web.yaml

# 1. An image that cannot be pulled.
deployment web nginx:1.99 3 | put "$MNT/$WEB"
check "the Deployment is accepted" kc get deployment web -n shop
check "its health turns Failed" wait_for 10 health_has "$WEB" '^Failed: '
diag "$(health "$WEB")"
check "the reason names the pod and the container at fault" \
	bash -c 'grep -qE "pod web-[a-z0-9]+-[a-z0-9]+: container web: ImagePullBackOff: Back-off pulling image \"nginx:1.99\""' <<<"$(health "$WEB")"
check "listxattr names user.gitopsfs.health" python3 -c 'import os, sys; assert "user.gitopsfs.health" in os.listxattr(sys.argv[1])' "$MNT/$WEB"
check ".gitopsfs/health lists it, one line" grep -q "^$WEB	Failed: " "$MNT/.gitopsfs/health"
check ".gitopsfs/health lists no Current object" bash -c '! grep -q "	Current:" "$1"' _ "$MNT/.gitopsfs/health"
check ".gitopsfs/status counts it and lists it" python3 - "$MNT/.gitopsfs/status" "$WEB" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
h = s["health"]
assert h["counts"]["Failed"] >= 1 and h["counts"]["Current"] >= 1, h["counts"]
assert any(o["object"] == sys.argv[2] and o["health"] == "Failed" for o in h["not_current"]), h
assert any(f["object"] == sys.argv[2] and f.get("health") == "Failed" for f in s["failing"]), s["failing"]
PY
check "gitopsfs status shows it" bash -c '"$1" status "$2" | grep -q "ImagePullBackOff"' _ "$GFS" "$MNT"
check "the webhook gets one failing alert" wait_for 10 bash -c '[ "$(hook_count web.yaml failing)" = 1 ]'
check "the alert carries health and reason" python3 - "$T/hook.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if "web.yaml" in b["object"] and b["state"] == "failing":
        assert b["health"] == "Failed" and "ImagePullBackOff" in b["reason"], b
        assert b["error"].startswith("Failed: "), b
        sys.exit(0)
sys.exit(1)
PY
check ".gitopsfs/errors has the alert" grep -q "$WEB: Failed: .*ImagePullBackOff" "$MNT/.gitopsfs/errors"
"$GFS" wait --timeout 5 "$MNT" >"$T/wait.out" 2>"$T/wait.err"
is "$?" "1" "gitopsfs wait (the last apply) exits 1 on a Failed object"
check "and says which and why" grep -q "$WEB: Failed: .*ImagePullBackOff" "$T/wait.err"

# The progress deadline (3 s) passes: still failing, no second alert.
check "the controller's ProgressDeadlineExceeded shows" wait_for 15 health_has "$WEB" 'ProgressDeadlineExceeded'
check "kubectl rollout status reports the same failure" \
	bash -c 'kubectl rollout status deployment/web -n shop --timeout=5s 2>&1 | grep -q "exceeded its progress deadline"'
sleep 1.5
is "$(hook_count web.yaml failing)" "1" "no repeat while the state holds"
is "$(grep -c "$WEB: Failed" "$MNT/.gitopsfs/errors")" "1" "one line in .gitopsfs/errors"

# 2. The fix: one recovery alert, Current.
deployment web nginx:1.25 3 | put "$MNT/$WEB"
check "the fix makes it Current" wait_for 10 health_has "$WEB" '^Current: '
check "one recovery alert" wait_for 10 bash -c '[ "$(hook_count web.yaml recovered)" = 1 ]'
check "gitopsfs wait exits 0 once Current" "$GFS" wait --timeout 10 "$MNT"
check "gitopsfs wait PATH exits 0" "$GFS" wait --timeout 10 "$MNT" "$WEB"
check ".gitopsfs/health no longer lists it" bash -c '! grep -q "^$1	" "$2"' _ "$WEB" "$MNT/.gitopsfs/health"
sleep 1
is "$(hook_count web.yaml failing)$(hook_count web.yaml recovered)" "11" "exactly one alert per change of state"

# 3. A crash loop.
API=shop/deployments.apps/api.yaml
deployment api busybox:crash | put "$MNT/$API"
check "a crash loop is Failed with its container" wait_for 10 health_has "$API" 'container api: CrashLoopBackOff: back-off'
check "and alerted once" wait_for 10 bash -c '[ "$(hook_count api.yaml failing)" = 1 ]'

# 4. Jobs: one that fails past its backoffLimit, one that completes.
job() { # NAME IMAGE
	printf 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\n  namespace: shop\nspec:\n  backoffLimit: 1\n  template:\n    spec:\n      containers:\n      - image: %s\n        name: %s\n      restartPolicy: Never\n' "$1" "$2" "$1"
}
job migrate busybox:crash | put "$MNT/shop/jobs.batch/migrate.yaml"
check "a Job past its backoffLimit is Failed" wait_for 10 health_has shop/jobs.batch/migrate.yaml \
	'^Failed: BackoffLimitExceeded: Job has reached the specified backoff limit; pod migrate-[a-z0-9]*: Failed: container migrate: Error, exit code 1'
diag "$(health shop/jobs.batch/migrate.yaml)"
check "and alerted once" wait_for 10 bash -c '[ "$(hook_count migrate.yaml failing)" = 1 ]'
is "$(kubectl get pods -n shop -l job-name=migrate -o name | wc -l)" "2" "backoffLimit 1: two pods tried"
job report busybox:1.36 | put "$MNT/shop/jobs.batch/report.yaml"
check "a Job that completes is Current" wait_for 10 health_has shop/jobs.batch/report.yaml '^Current: completed: 1 succeeded'

# 5. The health timeout: a claim that is never bound (no provisioner).
PVC=shop/persistentvolumeclaims/data.yaml
printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: shop\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n' | put "$MNT/$PVC"
check "a pending claim is InProgress" wait_for 5 health_has "$PVC" '^InProgress: Pending'
"$GFS" wait --timeout 1 "$MNT" "$PVC" 2>"$T/wait.err"
is "$?" "1" "gitopsfs wait exits 1 when time runs out"
check "and names what is not Current" grep -q "$PVC: InProgress" "$T/wait.err"
check "past --health-timeout it is a failed deployment" wait_for 10 bash -c '[ "$(hook_count data.yaml failing)" = 1 ]'
check "the alert says so" grep -q "$PVC: InProgress: not Current after 3 s" "$MNT/.gitopsfs/errors"
"$GFS" wait "$MNT" nope/x.yaml --timeout 1 2>/dev/null
is "$?" "1" "gitopsfs wait on a path that is no object exits 1"
"$GFS" wait /nonexistent 2>/dev/null
is "$?" "2" "gitopsfs wait on something that is no mount exits 2"
check "gitopsfs wait --help exits 0" bash -c '"$1" wait --help | grep -q "usage: gitopsfs wait"' _ "$GFS"

# 6. Pods (and ReplicaSets) are watched, never shown, never committed.
check "the pods exist in the cluster" bash -c '[ "$(kubectl get pods -n shop -o name | wc -l)" -ge 4 ]'
is "$(find "$MNT/shop" -path '*pods*' -o -path '*replicasets*' | wc -l)" "0" "no pod or ReplicaSet in the tree"
check "sync commit recorded the Deployments" wait_for 10 bash -c 'git --git-dir="$1" log --name-only main | grep -q "$2"' _ "$STATE/git" "$WEB"
is "$(git --git-dir="$STATE/git" log --name-only main | grep -cE '(^|/)(pods|replicasets)')" "0" "no pod or ReplicaSet in any commit"
fusermount3 -u "$MNT"
wait_for 10 bash -c '! mountpoint -q "$1"' _ "$MNT"

# 7. The headless agent, --sync apply: push a bad image, then its fix.
W=$T/work
REPO2=$T/repo2.git
git init -q --bare "$REPO2"
git clone -q "$REPO2" "$W" 2>/dev/null
printf 'alerts:\n  webhook: %s\nhealth:\n  timeout: 30\n' "$HOOK" >"$W/.gitopsfs.yaml"
mkdir -p "$W/shop/deployments.apps"
deployment shop-web nginx:1.99 | sed 's/namespace: shop/namespace: shop/' >"$W/shop/deployments.apps/shop-web.yaml"
push() { git -C "$W" add -A && git -C "$W" commit -qm "$1" && git -C "$W" push -q origin HEAD:main; }
push "bad image"
BAD=$(git -C "$W" rev-parse HEAD)
"$GFS" sync --sync apply --interval 1 --state-dir "$T/state2" "$REPO2" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
check "the agent alerts the failed deployment once" wait_for 15 bash -c '[ "$(hook_count shop-web.yaml failing)" = 1 ]'
check "naming the object, the commit and the reason" python3 - "$T/hook.log" "$BAD" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if "shop-web.yaml" in b["object"] and b["state"] == "failing":
        assert b["object"] == "shop/deployments.apps/shop-web.yaml", b
        assert b["commit"] == sys.argv[2], b
        assert b["health"] == "Failed" and 'Back-off pulling image "nginx:1.99"' in b["reason"], b
        sys.exit(0)
sys.exit(1)
PY
check "the log has it" grep -q "shop-web.yaml: Failed: pod shop-web-" "$T/sync.log"
deployment shop-web nginx:1.25 >"$W/shop/deployments.apps/shop-web.yaml"
push "fix image"
check "the fix: one recovery alert" wait_for 15 bash -c '[ "$(hook_count shop-web.yaml recovered)" = 1 ]'
# Later, its pods start crash-looping (the same image now crashes).
emu POST /_emu/kubelet '{"crash": ["nginx:1.25"]}' >/dev/null
check "a later degradation alerts too" wait_for 15 bash -c '[ "$(hook_count shop-web.yaml failing)" = 2 ]'
emu POST /_emu/kubelet '{}' >/dev/null
check "and its recovery" wait_for 15 bash -c '[ "$(hook_count shop-web.yaml recovered)" = 2 ]'
sleep 2
is "$(hook_count shop-web.yaml failing)$(hook_count shop-web.yaml recovered)" "22" "one alert per change of state, no repeats"
# After a restart, what was applied before is watched again.
kill -TERM $SYNC_PID
check "SIGTERM stops the agent" wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$SYNC_PID"
"$GFS" sync --sync apply --interval 1 --state-dir "$T/state2" "$REPO2" >>"$T/sync.log" 2>&1 &
SYNC_PID=$!
sleep 3
emu POST /_emu/kubelet '{"crash": ["nginx:1.25"]}' >/dev/null
check "after a restart, an object applied before alerts when it degrades" wait_for 15 bash -c '[ "$(hook_count shop-web.yaml failing)" = 3 ]'
emu POST /_emu/kubelet '{}' >/dev/null
check "and when it recovers" wait_for 15 bash -c '[ "$(hook_count shop-web.yaml recovered)" = 3 ]'
kill -TERM $SYNC_PID
wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$SYNC_PID"
done_testing
