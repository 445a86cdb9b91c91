#!/usr/bin/env bash
# bench/bench_crds.sh [N...] - gitopsfs watching many resource kinds (issue 15): the emulator
# with N CRDs (default: 300, then 1000), OBJECTS objects of each (default 3), mounted once
# over HTTP/1.1 straight to the emulator and once through an HTTP/2 front (nghttpx, as
# tests/integration/t_h2.sh sets it up), each time into an empty repository and a fresh
# state directory. Per row, from the mount process once `gitopsfs mount` has returned:
#   * mount ready: `gitopsfs mount` until it returns (every resource listed),
#   * threads (/proc/PID/status), TCP connections to the server it was given (the emulator
#     or the front), descriptors and, of them, sockets (/proc/PID/fd), RSS,
#   * a change to an object of a kind chosen at random (five of them) until its file shows
#     it, median (bench/change_latency.py),
#   * what .gitopsfs/status's "api" object says (http, connections, watches), when it has one.
# One run per row; the emulator and nghttpx run on loopback. It prints figures; nothing
# asserts on time. A mount that fails is printed as such, with its first error.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export GFS_ROOT=$ROOT
# lib.sh gives $T, $MNT, $REPO, start_emulator, start_h2_front, daemon_pid and a trap that
# stops everything.
. "$ROOT/tests/integration/lib.sh"
SIZES=${*:-300 1000}
OBJECTS=${OBJECTS:-3}
MiB=1048576

measure() { M=$(python3 "$ROOT/tests/integration/proc_check.py" "$@"); }
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$M"; }
# api_summary: "http H, C conns, W watches" from .gitopsfs/status, or "-".
api_summary() {
	python3 -c '
import json, sys
try:
    a = json.load(open(sys.argv[1])).get("api")
except (OSError, ValueError):
    a = None
print("-" if not isinstance(a, dict) else "http %s, %s conns, %s watches" % (
    a.get("http", "?"), a.get("connections", "?"), a.get("watches", "?")))' "$MNT/.gitopsfs/status"
}
stop_servers() {
	[ -n "$H2_PID" ] && kill "$H2_PID" 2>/dev/null && wait "$H2_PID" 2>/dev/null
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	H2_PID= EMU_PID=
	rm -f "$KUBECONFIG" "$T/port"
}

# row CRDS LABEL KUBECONFIG PORT: one mount, one line of the table.
row() {
	local n=$1 label=$2 kc=$3 port=$4 s e rc pid
	rm -rf "$T/state"
	s=$(date +%s.%N)
	KUBECONFIG=$kc "$GFS" mount -q --timeout 600 --state-dir "$T/state" "$REPO" "$MNT" \
		>"$T/mount.out" 2>"$T/mount.err"
	rc=$?
	e=$(date +%s.%N)
	if [ "$rc" -ne 0 ]; then
		printf '%5s  %-16s  mount failed (exit %s): %s\n' "$n" "$label" "$rc" \
			"$(head -c 160 "$T/mount.err" | head -n 1)"
		for _ in $(seq 100); do daemon_running || break; sleep 0.1; done
		return
	fi
	sleep 1   # let the watches settle after the last list
	pid=$(daemon_pid)
	measure "$pid" "$port"
	# A change to an object of five kinds chosen at random, each until its file shows it.
	local targets=() i w plural group
	w=$(( ${#n} > 4 ? ${#n} : 4 ))
	for _ in 1 2 3 4 5; do
		i=$((RANDOM % n))
		plural=$(printf 'widget%0*ds' "$w" "$i")
		group=$(printf 'g%03d.scale.example.com' $((i / 10)))
		targets+=("/apis/$group/v1/namespaces/crds/$plural/${plural%s}-0=$MNT/crds/$plural.$group/${plural%s}-0.yaml")
	done
	local change
	change=$(KUBECONFIG=$kc python3 "$ROOT/bench/change_latency.py" 5 "${targets[@]}" 2>&1) ||
		change="failed: $change"
	printf '%5s  %-16s  %7.2f s  %7s  %9s  %11s  %7s  %7.1f  %9s  %s\n' "$n" "$label" \
		"$(echo "$e - $s" | bc -l)" "$(val threads)" "$(val "tcp_to_$port")" "$(val fds)" \
		"$(val sockets)" "$(echo "$(val rss_kib) * 1024 / $MiB" | bc -l)" "$change ms" \
		"$(api_summary)"
	unmount_gfs || { fusermount3 -uz "$MNT"; sleep 1; }
}

command -v nghttpx >/dev/null || { echo "bench_crds: nghttpx is missing (make deps installs nghttp2-proxy)" >&2; exit 1; }
make_repo
echo "gitopsfs bench: many CRDs (issue 15), $OBJECTS objects each, one run per row, $(nproc) cores," \
	"open files $(ulimit -Sn)/$(ulimit -Hn)"
printf '%5s  %-16s  %9s  %7s  %9s  %11s  %7s  %7s  %9s  %s\n' CRDs via "ready" threads "TCP conns" \
	descriptors sockets "RSS MiB" "change" "status api"
for n in $SIZES; do
	# bookmarks every 60 s, as a real API server sends them about once a minute
	start_emulator --crds "$n" --crd-objects "$OBJECTS" --bookmark-seconds 60
	start_h2_front
	row "$n" "HTTP/1.1" "$KUBECONFIG" "$(cat "$T/port")"
	row "$n" "HTTP/2 (nghttpx)" "$H2_KUBECONFIG" "$H2_PORT"
	stop_servers
done
