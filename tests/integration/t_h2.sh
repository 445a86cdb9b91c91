#!/usr/bin/env bash
# Issue 15: many resource kinds watched by one event loop, multiplexed over HTTP/2, instead
# of a thread and a TCP connection per kind. The emulator serves 200 CRDs (--crds 200, one
# object each) directly (HTTP/1.1) and through nghttpx (start_h2_front: TLS, ALPN h2 and
# http/1.1). Checked: the front itself (kubectl, curl --http2, a watch streams through it at
# once); a mount through the front (every kind's directory, a change arrives, and then the
# process's threads, TCP connections and sockets, and .gitopsfs/status's "api" object); a
# mount over HTTP/1.1 (one socket per watch and nothing more per watch); a mount with 128
# open files allowed (fails or says so, naming the limit; no crash). Every count check prints
# what it measured. Nothing asserts on time.
# gfs-test-timeout: 600
. "$(dirname "$0")/lib.sh"

NCRD=200
TOKEN=test-token-$$

# measure PID [PORT...]: what the process holds (tests/integration/proc_check.py), into $M.
measure() {
	if [ -z "$1" ] || [ ! -d "/proc/$1" ]; then M="no process"; diag "no mount process to measure"
	else M=$(python3 "$ROOT/tests/integration/proc_check.py" "$@"); fi
}
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$M"; }
# at_most DESCRIPTION GOT MAX: GOT <= MAX, with the measured figure in the description.
at_most() {
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -le "$3" ]; then ok "$1 <= $3 (measured $2)"
	else not_ok "$1 <= $3 (measured ${2:-nothing})"; fi
}
# api KEY: .gitopsfs/status's api.KEY, or what is missing.
api() {
	python3 -c '
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print("status unreadable: %s" % e)
    sys.exit()
a = s.get("api")
print("no api object in status" if not isinstance(a, dict) else
      a[sys.argv[2]] if sys.argv[2] in a else "no api.%s in status" % sys.argv[2])' \
		"$MNT/.gitopsfs/status" "$1"
}
# counts KEY: .gitopsfs/status's counts.KEY.
counts() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counts"][sys.argv[2]])' "$MNT/.gitopsfs/status" "$1"; }
# within GOT WANT SLACK: |GOT - WANT| <= SLACK, both numbers.
within() { [[ "$1" =~ ^[0-9]+$ ]] && [[ "$2" =~ ^[0-9]+$ ]] && [ $(($1 - $2)) -le "$3" ] && [ $(($2 - $1)) -le "$3" ]; }
kind_dir() { printf 'widget%04ds.g%03d.scale.example.com' "$1" $(($1 / 10)); }

start_emulator --crds "$NCRD"
start_h2_front
make_repo
diag "emulator $EMU_URL, HTTP/2 front $H2_URL (nghttpx pid $H2_PID)"

# --- the front ------------------------------------------------------------------------------
is "$(KUBECONFIG=$H2_KUBECONFIG kc get widget0001s -n crds -o name)" \
	"widget0001.g000.scale.example.com/widget0001-0" "kubectl through the front lists a CRD's objects"
is "$(KUBECONFIG=$H2_KUBECONFIG kc get crd -o name | wc -l)" "$NCRD" "and sees every CRD"
h2get() { curl -sS --cacert "$T/tls/ca.crt" -H "Authorization: Bearer $TOKEN" "$@"; }
is "$(h2get --http2 -o /dev/null -w '%{http_version}' "$H2_URL/apis/g000.scale.example.com/v1")" "2" \
	"curl --http2 through the front speaks HTTP/2"
is "$(h2get --http1.1 -o /dev/null -w '%{http_version}' "$H2_URL/version")" "1.1" \
	"and HTTP/1.1 to a client that offers only that"
# A watch streams through the front: a change made now arrives on the open stream.
rv=$(kc get widget0003s -n crds -o jsonpath='{.metadata.resourceVersion}')
h2get --http2 -N "$H2_URL/apis/g000.scale.example.com/v1/namespaces/crds/widget0003s?watch=1&resourceVersion=$rv" \
	>"$T/front-watch.out" 2>&1 &
watcher=$!
# (the emulator logs a watch when its stream starts)
wait_for 10 grep -q '"path": "/apis/g000.scale.example.com/v1/namespaces/crds/widget0003s".*"watch": true' \
	"$T/requests.log"
kc label widget0003s -n crds widget0003-0 through=front >/dev/null
check "a change reaches a watch through the front without waiting for more data" \
	wait_for 10 grep -q '"through":"front"' "$T/front-watch.out"
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null

# --- a mount through the front (HTTP/2) ----------------------------------------------------
KUBECONFIG=$H2_KUBECONFIG check "mount through the HTTP/2 front" mount_gfs --timeout 120
want=$(for ((i = 0; i < NCRD; i++)); do kind_dir "$i"; echo; done)
got=$(ls "$MNT/crds" 2>/dev/null | grep '^widget')
is "$(echo "$got" | grep -c .)" "$NCRD" "ls shows a directory for every CRD kind"
is "$got" "$want" "named <plural>.<group>, every one of them"
i=$((RANDOM % NCRD))
stamp=changed-$$-$RANDOM
f=$MNT/crds/$(kind_dir "$i")/$(printf 'widget%04d-0.yaml' "$i")
diag "changing $(kind_dir "$i")/widget-0 (kind chosen at random)"
kc patch "$(kind_dir "$i")" -n crds "$(printf 'widget%04d-0' "$i")" --type=merge \
	-p "{\"spec\":{\"value\":\"$stamp\"}}" >/dev/null
check "the change to a randomly chosen kind appears in its file" wait_for 10 grep -q "$stamp" "$f"

pid=$(daemon_pid)
measure "$pid" "$H2_PORT"
diag "mount process $pid: $(echo $M)"
at_most "threads of the mount (/proc/PID/status)" "$(val threads)" 24
at_most "TCP connections from the mount to the front" "$(val "tcp_to_$H2_PORT")" 4
at_most "socket descriptors of the mount" "$(val sockets)" 8
is "$(api http)" "2" "status: api.http is \"2\""
got=$(api connections)
at_most "status: api.connections" "$got" 4
got=$(api watches)
if [[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -ge "$NCRD" ]; then ok "status: api.watches >= $NCRD (reported $got)"
else not_ok "status: api.watches >= $NCRD (reported: $got)"; fi
measure "$pid"
got=$(api descriptors)
if within "$got" "$(val fds)" 3; then ok "status: api.descriptors is the count of /proc/PID/fd ($(val fds)) +-3 (reported $got)"
else not_ok "status: api.descriptors is the count of /proc/PID/fd ($(val fds)) +-3 (reported: $got)"; fi
is "$(api descriptor_limit)" "$(val nofile_soft)" \
	"status: api.descriptor_limit is the soft RLIMIT_NOFILE of the process ($(val nofile_soft))"
check "unmounted" unmount_gfs

# --- the same emulator directly: HTTP/1.1 ---------------------------------------------------
STATE=$T/state-h1
check "mount over HTTP/1.1 (the emulator directly)" mount_gfs --timeout 120
is "$(ls "$MNT/crds" 2>/dev/null | grep -c '^widget')" "$NCRD" "every CRD kind's directory"
pid=$(daemon_pid)
measure "$pid" "$(cat "$T/port")"
diag "mount process $pid: $(echo $M)"
is "$(api http)" "1.1" "status: api.http is \"1.1\""
watches=$(api watches)
if ! [[ "$watches" =~ ^[0-9]+$ ]]; then
	diag "$watches: counting one watch per resource (counts.resources) instead"
	watches=$(counts resources)
fi
at_most "socket descriptors of the mount, at most one per watch ($watches) + 8:" "$(val sockets)" $((watches + 8))
at_most "threads of the mount" "$(val threads)" 24
check "unmounted" unmount_gfs

# --- 128 open files allowed, 200 kinds to watch over HTTP/1.1 ---------------------------------
STATE=$T/state-limit
prlimit --nofile=128:128 "$GFS" mount --timeout 30 --state-dir "$STATE" "$REPO" "$MNT" \
	>"$T/limit.out" 2>"$T/limit.err"
rc=$?
diag "mount with prlimit --nofile=128:128: exit status $rc"
check "does not crash (exit status $rc < 128)" test "$rc" -lt 128
msg=$(cat "$T/limit.err" "$STATE/log" 2>/dev/null | grep -Ei '(descriptor|open files).*128|128.*(descriptor|open files)' | head -n 3)
if [ -n "$msg" ]; then ok "a message names the limit: $(head -n 1 <<<"$msg" | cut -c1-200)"
else
	not_ok "a message names the limit of 128 open files (\"descriptor\" or \"open files\" and 128)"
	diag "stderr said: $(head -c 300 "$T/limit.err")"
fi
if [ "$rc" -eq 0 ]; then
	check "mounted in spite of the limit: the tree answers" test -d "$MNT/crds"
	is "$(api descriptor_limit)" "128" "status: api.descriptor_limit is 128"
	check "the daemon keeps running" daemon_running
	check "unmounted" unmount_gfs
else
	check "the failed mount left no mount behind" bash -c '! mountpoint -q "$1"' _ "$MNT"
	check "and no gitopsfs process" wait_for 15 bash -c '! pgrep -f "[g]itopsfs mount .*$1" >/dev/null' _ "$T"
fi

done_testing
