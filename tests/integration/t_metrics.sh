#!/usr/bin/env bash
# --metrics-addr (SPEC section 2): Prometheus /metrics, /healthz and /readyz
# from a real mount and from `gitopsfs sync`: /readyz flips once the first
# list is in (and, for sync, the first round is done), counters move with
# writes, applies, failures, drift and alerts, every scrape parses as the
# text exposition format, and an address without a host is refused.
# gfs-test-timeout: 240
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=$(free_port)
URL=http://127.0.0.1:$P
code() { curl -s -o /dev/null -w '%{http_code}' "$URL$1"; }
# scrape NAME...: checks the format of a fresh scrape, prints "NAME VALUE" lines.
scrape() {
	curl -sf "$URL/metrics" >"$T/metrics.txt" || { echo "scrape failed"; return 1; }
	python3 "$ROOT/tests/integration/prom_check.py" "$T/metrics.txt" "$@"
}
# val SERIES: one series' value from a fresh scrape ("absent" if none).
val() { scrape "$1" | sed -n '$s/.* //p'; }
gt() { local v; v=$(val "$1"); [ "$v" != absent ] && [ "$v" -gt "$2" ]; }
ge() { local v; v=$(val "$1"); [ "$v" != absent ] && [ "$v" -ge "$2" ]; }
val_is() { [ "$(val "$1")" = "$2" ]; }
code_is() { [ "$(code "$1")" = "$2" ]; }

# ---- refusals, before anything starts --------------------------------------------
out=$("$GFS" mount --metrics-addr ":$P" --state-dir "$STATE" "$REPO" "$MNT" 2>&1)
is "$?" "2" "an address without a host is refused (exit 2)"
check "the refusal says how to choose" grep -q "127.0.0.1:PORT for this machine only, or 0.0.0.0:PORT" <<<"$out"
check "nothing was mounted" bash -c '! mountpoint -q "$1"' _ "$MNT"
out=$("$GFS" sync --sync apply --metrics-addr "$P" "$REPO" 2>&1)
is "$?" "2" "a bare port is refused as well"
out=$("$GFS" export --metrics-addr "127.0.0.1:$P" "$T/export" 2>&1)
check "export does not take --metrics-addr" grep -q "is for mount and sync" <<<"$out"

# ---- a mount: /readyz flips after the first list -------------------------------------
# The first list of configmaps takes 3 s, so the probes can be seen before it.
emu POST /_emu/faults '{"delay":3,"count":1,"path_prefix":"/api/v1/configmaps","method":"GET"}' >/dev/null
mount_gfs -f --metrics-addr "127.0.0.1:$P" >"$T/mount.log" 2>&1 &
MOUNT_PID=$!
check "/healthz answers while the first list loads" wait_for 10 code_is /healthz 200
is "$(code /readyz)" "503" "/readyz is 503 before the first list is complete"
is "$(val gitopsfs_ready)" "0" "gitopsfs_ready is 0 meanwhile"
check "/readyz turns 200 once loaded" wait_for 20 code_is /readyz 200
check "the mount is up" wait_for 10 test -d "$MNT/shop"
is "$(code /nope)" "404" "other paths are 404"
check "the scrape is valid exposition text" scrape
is "$(grep -c '^# TYPE' "$T/metrics.txt")" "$(grep '^# TYPE' "$T/metrics.txt" | sort -u | wc -l)" "each family once"

ncm=$(find "$MNT" -path '*/configmaps/*.yaml' | wc -l)
is "$(val 'gitopsfs_objects{resource="configmaps"}')" "$ncm" "objects per resource match the files in the mount"
bytes=$(find "$MNT" -path '*/configmaps/*.yaml' -exec cat {} + | wc -c)
is "$(val 'gitopsfs_rendered_bytes{resource="configmaps"}')" "$bytes" "rendered bytes per resource match the files' sizes"
check "watches are counted up" gt 'gitopsfs_watches{state="up"}' 0
# Health by state: the counts of .gitopsfs/status, every state present.
hc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["health"]["counts"].get("Current", 0))' "$MNT/.gitopsfs/status")
is "$(val 'gitopsfs_objects_by_health{health="Current"}')" "$hc" "objects by health: Current as in .gitopsfs/status"
is "$(val 'gitopsfs_objects_by_health{health="Failed"}')" "0" "and Failed present, at zero"
is "$(val 'gitopsfs_watches{state="stale"}')" "0" "no stale watch"
# Each resource is read with a streaming list: a WATCH on the wire, counted
# as kube-apiserver counts it (t_watchlist.sh has the paged lists).
check "streaming lists are counted by verb and code" gt 'gitopsfs_api_requests_total{verb="WATCH",code="200"}' 0
# The connections: the emulator speaks HTTP/1.1 (t_h2.sh has HTTP/2), so
# one per watch, and the process's descriptors as status counts them.
conns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"]["connections"])' "$MNT/.gitopsfs/status")
check "API connections are counted, by protocol" gt 'gitopsfs_api_connections{http="1.1"}' 0
check "process_open_fds is there" gt process_open_fds 0
is "$(val process_max_fds)" "$(awk '/Max open files/ {print $4}' /proc/"$(daemon_pid)"/limits)" "process_max_fds is the soft limit"
diag "connections: status $conns, metric $(val 'gitopsfs_api_connections{http="1.1"}')"
check "discovery GETs are counted" gt 'gitopsfs_api_requests_total{verb="GET",code="200"}' 0
is "$(val 'gitopsfs_applies_total{op="apply",result="ok"}')" "0" "no apply yet"
# Bytes exchanged: the lists' bodies at least as large as what they
# rendered (JSON carries more than the YAML shows); nothing sent yet but
# what start-up wrote (the redaction key's Secret).
check "bytes received from the API server are counted" ge 'gitopsfs_api_bytes_total{direction="received"}' "$bytes"
sent0=$(val 'gitopsfs_api_bytes_total{direction="sent"}')

# A write through the mount: an apply, one more object, more bytes.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: metered\n  namespace: shop\ndata:\n  a: "1"\n' | put "$MNT/shop/configmaps/metered.yaml"
is "$(val 'gitopsfs_applies_total{op="apply",result="ok"}')" "1" "a write counts one apply ok"
check "and one more configmap" wait_for 5 val_is 'gitopsfs_objects{resource="configmaps"}' "$((ncm + 1))"
check "and its body as bytes sent" gt 'gitopsfs_api_bytes_total{direction="sent"}' "$((sent0 + 60))"
check "the write's request is counted" bash -c 'test "$(cat "$1" | grep -c "verb=\"P[OU][ST]T\\?\",code=\"20[01]\"")" -ge 1' _ "$T/metrics.txt"
err=$(printf 'data: [1, 2\n' | put "$MNT/shop/configmaps/metered.yaml" 2>&1)
is "$err" "put: Invalid argument" "an invalid manifest is refused (EINVAL)"
is "$(val 'gitopsfs_applies_total{op="apply",result="failed"}')" "1" "a refused write counts one failed apply"
# A server error: counted by its code.
emu POST /_emu/faults '{"status":500,"count":1,"path_prefix":"/api/v1/namespaces/shop/configmaps","method":"PUT"}' >/dev/null
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: metered\n  namespace: shop\ndata:\n  a: "2"\n' | put "$MNT/shop/configmaps/metered.yaml" 2>/dev/null
check "a 500 from the server is counted with its code" gt 'gitopsfs_api_requests_total{verb="PUT",code="500"}' 0
is "$(val 'gitopsfs_applies_total{op="apply",result="failed"}')" "2" "and as a failed apply"
rm "$MNT/shop/configmaps/metered.yaml"
check "rm counts one delete ok (after its grace period)" wait_for 10 val_is 'gitopsfs_applies_total{op="delete",result="ok"}' 1
# The API server going away: watches turn stale, /healthz stays 200.
emu POST /_emu/faults '{"status":503,"count":null,"path_prefix":"/api/v1/configmaps","method":"GET"}' >/dev/null
emu POST /_emu/close-watches >/dev/null
check "a failing watch shows as stale" wait_for 20 ge 'gitopsfs_watches{state="stale"}' 1
is "$(code /healthz)" "200" "/healthz stays 200 (staleness is in the metrics)"
emu DELETE /_emu/faults >/dev/null
check "and up again when it recovers" wait_for 30 val_is 'gitopsfs_watches{state="stale"}' 0
mkdir -p "$T/mnt2"
check "metrics port in use: a second mount says so" bash -c '! "$1" mount -f --metrics-addr "127.0.0.1:$2" --state-dir "$3/state2" "$4" "$3/mnt2" 2>"$3/busy.err"; grep -q "cannot listen there" "$3/busy.err"' _ "$GFS" "$P" "$T" "$REPO"
unmount_gfs
wait "$MOUNT_PID"
is "$?" "0" "the mount exits cleanly"
check "the endpoint is gone after unmount" bash -c '! curl -s "$1/healthz" >/dev/null' _ "$URL"

# In the background (the server's thread starts after the fork): ready as
# soon as `gitopsfs mount` returns.
P=$(free_port)
URL=http://127.0.0.1:$P
mount_gfs --metrics-addr "127.0.0.1:$P"
is "$(code /readyz)" "200" "a background mount serves /readyz, ready when mount returns"
check "and /metrics" ge 'gitopsfs_objects{resource="configmaps"}' 1
unmount_gfs
check "the endpoint goes with the unmount" bash -c '! curl -s "$1/healthz" >/dev/null' _ "$URL"

# ---- gitopsfs sync --sync apply ---------------------------------------------------------
python3 "$ROOT/tests/unit/fixtures/webhook_receiver.py" --port 0 --portfile "$T/hook.port" \
	--logfile "$T/hook.log" >/dev/null 2>&1 &
HOOK_PID=$!
wait_for 10 test -s "$T/hook.port"
W=$T/work
git clone -q "$REPO" "$W" 2>/dev/null
printf 'alerts:\n  webhook: http://127.0.0.1:%s/alerts\n' "$(cat "$T/hook.port")" >"$W/.gitopsfs.yaml"
mkdir -p "$W/shop/configmaps"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\n  namespace: shop\ndata:\n  colour: blue\n' >"$W/shop/configmaps/from-git.yaml"
push() { git -C "$W" add -A && git -C "$W" commit -qm "$1" && git -C "$W" push -q origin HEAD:main; }
push first
P=$(free_port)
URL=http://127.0.0.1:$P
# The first fetch is held back 3 s by a slow list, so not-ready can be seen.
emu POST /_emu/faults '{"delay":3,"count":1,"path_prefix":"/api/v1/configmaps","method":"GET"}' >/dev/null
"$GFS" sync --sync apply --interval 1 --state-dir "$T/sync-state" --metrics-addr "localhost:$P" "$REPO" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
trap 'kill $HOOK_PID $SYNC_PID 2>/dev/null; sed "s/^/# sync: /" "$T/sync.log" | tail -20; cleanup' EXIT
check "sync: /healthz answers (localhost:PORT)" wait_for 10 code_is /healthz 200
is "$(code /readyz)" "503" "sync: not ready before the first list and round"
check "sync: ready after the first round" wait_for 20 code_is /readyz 200
check "sync: the scrape is valid exposition text" scrape
head=$(git -C "$W" rev-parse HEAD)
check "sync: the last commit is the one applied" wait_for 10 bash -c 'curl -s "$1/metrics" | grep -q "^gitopsfs_last_sync_commit_info{commit=\"$2\"} 1$"' _ "$URL" "$head"
check "sync: a last sync time is set" gt gitopsfs_last_sync_timestamp_seconds 1600000000
check "sync: rounds are counted" gt 'gitopsfs_sync_rounds_total{result="ok"}' 0
is "$(val 'gitopsfs_sync_commits_total{direction="apply"}')" "1" "sync: one commit applied"
applied=$(val 'gitopsfs_applies_total{op="apply",result="ok"}')
check "sync: the apply is counted" test "$applied" -ge 1
kc patch configmap from-git -n shop --type merge -p '{"data":{"colour":"red"}}' >/dev/null
check "sync: drift is counted" wait_for 10 ge gitopsfs_drift_detected_total 1
check "sync: and healed (one more apply)" wait_for 10 gt 'gitopsfs_applies_total{op="apply",result="ok"}' "$applied"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  value: [1, 2\n' >"$W/shop/configmaps/broken.yaml"
push broken
check "sync: a failing object shows" wait_for 15 val_is gitopsfs_failing_objects 1
check "sync: its apply counts as failed" gt 'gitopsfs_applies_total{op="apply",result="failed"}' 0
check "sync: the alert sent is counted" wait_for 15 ge 'gitopsfs_alerts_sent_total{result="ok"}' 1
check "sync: a round with a failure counts as failed" gt 'gitopsfs_sync_rounds_total{result="failed"}' 0
check "sync: and is not the last sync" bash -c 'grep -q "^gitopsfs_last_sync_commit_info{commit=\"$2\"} 1$" "$1"' _ "$T/metrics.txt" "$head"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  value: "fixed"\n' >"$W/shop/configmaps/broken.yaml"
push fixed
check "sync: the fixed commit is the last sync" wait_for 15 bash -c 'curl -s "$1/metrics" | grep -q "^gitopsfs_last_sync_commit_info{commit=\"$2\"} 1$"' _ "$URL" "$(git -C "$W" rev-parse HEAD)"
check "sync: nothing failing any more" wait_for 10 val_is gitopsfs_failing_objects 0
kill "$SYNC_PID"
wait "$SYNC_PID"
is "$?" "0" "sync stops cleanly on SIGTERM"
check "sync: no secret in the metrics" bash -c '! grep -q "test-token" "$1"' _ "$T/metrics.txt"
done_testing
