#!/usr/bin/env bash
# --sync commit (SPEC section 6): every cluster change becomes a commit
# naming the object and who changed it; changes landing together make one
# commit per manager; status-only changes make none; Secret values never enter Git;
# --push pushes; a change made while gitopsfs was down is committed at start.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs --sync commit --push || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
ncommits() { git --git-dir="$REPO" rev-list --count main 2>/dev/null || echo 0; }
more_commits_than() { [ "$(ncommits)" -gt "$1" ]; }

check "the first round imports the cluster and pushes it" wait_for 10 more_commits_than 0
check "the import names the objects" bash -c 'git --git-dir="$1" log --format=%B main | grep -q "A shop/deployments.apps/web.yaml"' _ "$REPO"
is "$(G status --porcelain)" "" "git status in the mount is clean after the commit"

n0=$(ncommits)
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"debug"}}' >/dev/null
check "an out-of-band change becomes a commit within 3 s" wait_for 3 more_commits_than "$n0"
msg=$(git --git-dir="$REPO" log -1 --format=%B main)
check "the message names the object" grep -q "M shop/configmaps/web-config.yaml" <<<"$msg"
check "and the manager that changed it" grep -q "by kubectl-patch" <<<"$msg"
is "$(git --git-dir="$REPO" show main:shop/configmaps/web-config.yaml | grep LOG_LEVEL)" "  LOG_LEVEL: debug" "the commit holds the new state"
is "$(G status --porcelain)" "" "git status stays clean"

n1=$(ncommits)
kc patch configmap web-config -n shop --type merge -p '{"data":{"A":"1"}}' >/dev/null & p1=$!
kc scale deployment web -n shop --replicas=3 >/dev/null & p2=$!
wait $p1 $p2
check "changes landing together" wait_for 4 more_commits_than "$n1"
sleep 1.5
is "$(ncommits)" "$((n1 + 2))" "make one commit per manager (kubectl-patch, kubectl-scale)"
check "naming both objects" bash -c 'git --git-dir="$1" log -2 --format=%B main | grep -q web-config.yaml && git --git-dir="$1" log -2 --format=%B main | grep -q deployments.apps/web.yaml' _ "$REPO"

n2=$(ncommits)
emu POST /_emu/status-tick >/dev/null
sleep 2.5
is "$(ncommits)" "$n2" "status-only changes make no commit"

kc patch secret db-credentials -n shop --type merge -p '{"stringData":{"password":"rotated-pw-42"}}' >/dev/null
check "a Secret change is committed" wait_for 4 more_commits_than "$n2"
b64=$(printf 'rotated-pw-42' | base64)
check "its value never enters Git history" bash -c '! git --git-dir="$1" log -p --all | grep -qF -e rotated-pw-42 -e "$2"' _ "$REPO" "$b64"

# Restarts lose nothing: a change made while gitopsfs was down.
unmount_gfs
n3=$(ncommits)
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"while-down"}}' >/dev/null
mount_gfs --sync commit --push || { echo "Bail out! remount failed"; exit 1; }
check "a change made while down is committed at start" wait_for 10 more_commits_than "$n3"
check "with its content" bash -c 'git --git-dir="$1" show main:shop/configmaps/web-config.yaml | grep -q while-down' _ "$REPO"
sleep 1.5
n4=$(ncommits)
sleep 2
is "$(ncommits)" "$n4" "and nothing is committed twice"
check ".gitopsfs/status reports the last sync" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["direction"]=="commit" and s["last_sync"] and s["last_commit"]' "$MNT/.gitopsfs/status"
done_testing
