#!/usr/bin/env bash
# The command line: help, version, and clear refusals when gitopsfs
# cannot mount (bad kubeconfig, unreachable server, wrong token, busy
# mount point); SIGTERM unmounts cleanly.
. "$(dirname "$0")/lib.sh"

check "--help prints usage" bash -c '"$1" --help | grep -q "gitopsfs mount"' _ "$GFS"
check "--version prints the version" bash -c '"$1" --version | grep -qE "^gitopsfs [0-9]"' _ "$GFS"
out=$("$GFS" frobnicate 2>&1); rc=$?
check "an unknown command fails with usage" test "$rc" -ne 0 -a -n "$out"

make_repo
out=$("$GFS" mount --kubeconfig "$T/nope" --state-dir "$STATE" "$REPO" "$MNT" 2>&1); rc=$?
check "a missing kubeconfig is refused" test "$rc" -ne 0
check "the message names the file" grep -q "$T/nope" <<<"$out"
diag "$out"

printf 'apiVersion: v1\nkind: Config\nclusters: [\n' >"$T/bad.yaml"
out=$("$GFS" mount --kubeconfig "$T/bad.yaml" --state-dir "$STATE" "$REPO" "$MNT" 2>&1); rc=$?
check "an invalid kubeconfig is refused with file and line" bash -c 'test "$1" -ne 0 && grep -q "bad.yaml" <<<"$2" && grep -qi "line" <<<"$2"' _ "$rc" "$out"
diag "$out"

# A server that is not there.
cat >"$T/down.yaml" <<YAML
apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: very-secret-token}}]
YAML
start=$SECONDS
out=$("$GFS" mount --kubeconfig "$T/down.yaml" --state-dir "$STATE" "$REPO" "$MNT" 2>&1); rc=$?
check "an unreachable server is refused" test "$rc" -ne 0
check "promptly" test $((SECONDS - start)) -lt 30
check "with a message naming the server" grep -q "127.0.0.1:1" <<<"$out"
check "never showing the token" bash -c '! grep -q very-secret-token <<<"$1"' _ "$out"
check "and nothing is mounted" bash -c '! mountpoint -q "$1"' _ "$MNT"
diag "$out"

start_emulator
sed "s/test-token-$$/wrong-token-$$/" "$KUBECONFIG" >"$T/wrong.yaml"
out=$("$GFS" mount --kubeconfig "$T/wrong.yaml" --state-dir "$STATE" "$REPO" "$MNT" 2>&1); rc=$?
check "a wrong token is refused" test "$rc" -ne 0
check "with a message about authorization" grep -qiE "unauthori|401" <<<"$out"
check "without the token" bash -c '! grep -q "wrong-token" <<<"$1"' _ "$out"
diag "$out"

check "a good kubeconfig mounts" mount_gfs
out=$("$GFS" mount --state-dir "$T/state2" "$REPO" "$MNT" 2>&1); rc=$?
check "a busy mount point is refused" bash -c 'test "$1" -ne 0 && grep -qi busy <<<"$2"' _ "$rc" "$out"
diag "$out"
out=$("$GFS" status "$T" 2>&1); rc=$?
check "gitopsfs status on a non-mount fails clearly" bash -c 'test "$1" -ne 0 && grep -q "not a gitopsfs mount" <<<"$2"' _ "$rc" "$out"

pid=$(daemon_pid)
kill -TERM $pid
check "SIGTERM unmounts" wait_for 10 bash -c '! mountpoint -q "$1"' _ "$MNT"
check "and the daemon exits" wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"

# A relative --state-dir that does not exist yet is the working
# directory's, not the mount point's (git in the mount finds its clone).
check "a relative new --state-dir mounts" bash -c 'cd "$1" && "$2" mount --state-dir rel-state "$3" "$4"' _ "$T" "$GFS" "$REPO" "$MNT"
check "the state directory is made where the command ran" test -d "$T/rel-state/git"
check "git in the mount finds it" git -C "$MNT" status --porcelain
unmount_gfs
done_testing
