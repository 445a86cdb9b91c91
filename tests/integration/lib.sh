# tests/integration/lib.sh - shared set-up for end-to-end tests.
#
# Each test sources this file, which gives it its own directory ($T), an
# emulated API server with TLS and a bearer token ($KUBECONFIG), a bare
# Git repository ($REPO), TAP helpers, and a trap that always unmounts
# and stops everything, whatever happens.
set -u
ROOT=${GFS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GFS=${GFS_BIN:-$ROOT/build/gitopsfs}
T=$(mktemp -d /tmp/gfs-it.XXXXXX)
MNT=$T/mnt
REPO=$T/repo.git
STATE=$T/state
export KUBECONFIG=$T/kubeconfig
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.com
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.com
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
mkdir -p "$MNT" "$HOME"
git config --global init.defaultBranch main
git config --global safe.directory '*'
EMU_PID= H2_PID=
_n=0 _failed=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" == "$2" ]; then ok "$3"; else
		not_ok "$3"; echo "#   got:      $(printf '%q' "$1")"; echo "#   expected: $(printf '%q' "$2")"
	fi
}
diag() { echo "# $*"; }

# wait_for SECONDS COMMAND...: polls every 0.1 s.
wait_for() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	while [ $SECONDS -le $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# Is our gitopsfs daemon still running? ([g] keeps pgrep from matching
# the shell that runs this very pattern.)
daemon_running() { pgrep -f "[g]itopsfs mount .*$T" >/dev/null; }
daemon_pid() { pgrep -f "[g]itopsfs mount .*$T" | head -n 1; }
# unmount_gfs: unmounts and waits for the daemon to exit.
unmount_gfs() {
	fusermount3 -u "$MNT" || return 1
	for _ in $(seq 100); do daemon_running || return 0; sleep 0.1; done
	return 1
}

cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	fi
	# The daemon exits once unmounted; give ASan a moment to report.
	for _ in $(seq 50); do daemon_running || break; sleep 0.1; done
	pkill -f "[g]itopsfs mount .*$T" 2>/dev/null
	[ -n "$H2_PID" ] && kill "$H2_PID" 2>/dev/null
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null
	[ -n "${GFS_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# start_emulator [emulator options...]: TLS, token, request log.
start_emulator() {
	python3 "$ROOT/tests/apiserver/kube_emulator.py" --port 0 --portfile "$T/port" \
		--tls-dir "$T/tls" --token "test-token-$$" --kubeconfig "$KUBECONFIG" \
		--logfile "$T/requests.log" --bookmark-seconds 1 "$@" >"$T/emulator.out" 2>&1 &
	EMU_PID=$!
	wait_for 20 test -s "$KUBECONFIG" || { echo "Bail out! emulator did not start"; cat "$T/emulator.out"; exit 1; }
	EMU_URL=https://127.0.0.1:$(cat "$T/port")
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (now).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_h2_front [KUBECONFIG_OUT]: an HTTP/2 front for the running emulator: nghttpx
# (Debian's nghttp2-proxy) on a free port of 127.0.0.1, TLS with the emulator's server
# certificate (SAN 127.0.0.1) and ALPN h2 then http/1.1, proxying every request over TLS
# to the emulator, which speaks HTTP/1.1: one backend connection per concurrent stream. The
# backend is verified against the emulator's CA as "localhost" (sni=localhost: nghttpx 1.52
# does not match an IP address against the certificate's IP SANs). A kubeconfig for the front (the token: a client
# certificate would end at the proxy) goes to KUBECONFIG_OUT (default $T/kubeconfig-h2).
# Sets H2_PORT, H2_URL, H2_KUBECONFIG and H2_PID (stopped by the trap). Options:
#   no limit on concurrent streams a client may open (4096) or on backend connections
#   (--backend-connections-per-frontend=0; per-host too, for --http2-proxy mode), so a
#   thousand watches fit in one connection; read timeouts of an hour on both sides (the
#   defaults, 1 to 3 minutes, would cut a quiet watch); no stream write timeout; nghttpx
#   forwards each chunk as it reads it (its response buffer is a bound on what it holds
#   for a slow client, not a delay). --conf=/dev/null: no system config; --no-ocsp: no
#   OCSP fetch script (no network here).
start_h2_front() {
	H2_KUBECONFIG=${1:-$T/kubeconfig-h2}
	command -v nghttpx >/dev/null || { echo "Bail out! nghttpx is missing: make deps (package nghttp2-proxy)"; exit 1; }
	local emu_port nofile try
	emu_port=$(cat "$T/port")
	nofile=$(ulimit -Hn)
	{ [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; } && nofile=65536
	for try in 1 2 3; do
		H2_PORT=$(free_port)
		nghttpx --conf=/dev/null --no-ocsp --workers=1 \
			--frontend="127.0.0.1,$H2_PORT" \
			--backend="127.0.0.1,$emu_port;;tls;sni=localhost;proto=http/1.1" --cacert="$T/tls/ca.crt" \
			--npn-list=h2,http/1.1 \
			--frontend-http2-max-concurrent-streams=4096 \
			--backend-connections-per-frontend=0 --backend-connections-per-host=4096 \
			--frontend-read-timeout=1h --frontend-http2-read-timeout=1h \
			--frontend-keep-alive-timeout=1h --frontend-write-timeout=5m \
			--stream-read-timeout=0 --stream-write-timeout=0 \
			--backend-read-timeout=1h --backend-write-timeout=5m \
			--rlimit-nofile="$nofile" \
			--errorlog-file="$T/nghttpx.log" --accesslog-file="$T/nghttpx-access.log" \
			"$T/tls/server.key" "$T/tls/server.crt" >>"$T/nghttpx.log" 2>&1 &
		H2_PID=$!
		wait_for 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$H2_PORT" && break
		kill "$H2_PID" 2>/dev/null
		H2_PID=
	done
	[ -n "$H2_PID" ] || { echo "Bail out! nghttpx did not start"; cat "$T/nghttpx.log"; exit 1; }
	H2_URL=https://127.0.0.1:$H2_PORT
	cat >"$H2_KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: h2
  cluster:
    server: $H2_URL
    certificate-authority-data: $(base64 -w0 "$T/tls/ca.crt")
users:
- name: h2
  user:
    token: test-token-$$
contexts:
- name: h2
  context:
    cluster: h2
    user: h2
    namespace: default
current-context: h2
EOF
}

# emu METHOD PATH [JSON]: a control request to the emulator.
emu() {
	curl -sS --cacert "$T/tls/ca.crt" -H "Authorization: Bearer test-token-$$" \
		-X "$1" "$EMU_URL$2" ${3:+-H 'Content-Type: application/json' -d "$3"}
}

kc() { kubectl --request-timeout=10s "$@"; }
# mkcm NAMESPACE NAME KEY=VALUE...: creates a ConfigMap from a manifest,
# as a user applying YAML would.
mkcm() {
	local ns=$1 name=$2; shift 2
	{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n' "$name" "$ns"
	  for kv in "$@"; do printf '  %s: "%s"\n' "${kv%%=*}" "${kv#*=}"; done; } | kc create -f - >/dev/null
}

# put PATH: writes stdin to PATH in one open/write/close, and prints the
# error of whichever step failed (close() is where a refused apply shows:
# a shell redirection would not report it).
put() {
	python3 -c '
import sys
data = sys.stdin.buffer.read()
try:
    with open(sys.argv[1], "wb") as f:
        f.write(data)
except OSError as e:
    print("put: " + e.strerror, file=sys.stderr)
    sys.exit(1)' "$1"
}

make_repo() { git init -q --bare "$REPO"; }

# mount_gfs [options...]: mounts $REPO at $MNT, state in $STATE.
mount_gfs() {
	"$GFS" mount --state-dir "$STATE" "$@" "$REPO" "$MNT"
}

# The number of API requests made so far (control requests are not logged).
request_count() { wc -l <"$T/requests.log"; }

done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }
