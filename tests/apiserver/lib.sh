# tests/apiserver/lib.sh - what the emulator's kubectl tests share. Sourced, never run.
#
# Gives a test its own directory ($T), a token ($TOKEN), TAP helpers (ok, nok, is, like,
# unlike), wait_for, kubectl pointed at the emulator (k: stdout and stderr, kj: stdout
# only), emu_curl for raw requests, start_emulator, and a trap that always stops the
# emulator and removes $T.
set -u
ROOT=${GFS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EMU=$ROOT/tests/apiserver/kube_emulator.py
T=$(mktemp -d /tmp/gfs-apiserver.XXXXXX)
TOKEN=tok-$RANDOM$RANDOM
EMU_PID=
cleanup() {
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "${l:0:1500}" | sed 's/^/#   /'; done
}
is() { # description expected actual
	if [ "$2" == "$3" ]; then ok "$1"; else nok "$1" "expected: $2" "got:      $3"; fi
}
like() { # description extended-regex actual
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else nok "$1" "wanted /$2/" "got: $3"; fi
}
unlike() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then nok "$1" "unwanted /$2/" "got: $3"; else ok "$1"; fi
}
wait_for() { # file regex [tenths]
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

export HOME=$T/home KUBECONFIG=$T/kubeconfig KUBECACHEDIR=$T/cache NO_PROXY=127.0.0.1,localhost
unset HTTPS_PROXY HTTP_PROXY https_proxy http_proxy ALL_PROXY all_proxy
mkdir -p "$HOME"
k() { kubectl --request-timeout=20s "$@" 2>&1; }
kj() { kubectl --request-timeout=20s "$@" 2>/dev/null; } # stdout only
emu_curl() { # method path [json-body]
	curl -sS --max-time 10 --cacert "$T/tls/ca.crt" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' -X "$1" ${3:+--data "$3"} "https://127.0.0.1:$PORT$2"
}

# start_emulator [OPTION...]: starts kube_emulator.py with TLS, $TOKEN, a kubeconfig at
# $KUBECONFIG and a request log in $T, plus the options given; sets EMU_PID and PORT. When it
# does not come up, reports one failure and ends the test.
start_emulator() {
	python3 "$EMU" --port 0 --portfile "$T/port" --pidfile "$T/pid" --logfile "$T/requests.log" \
		--tls-dir "$T/tls" --token "$TOKEN" --kubeconfig "$T/kubeconfig" "$@" >"$T/emu.out" 2>&1 &
	EMU_PID=$!
	wait_for "$T/port" '^[0-9]+$' 150
	PORT=$(cat "$T/port" 2>/dev/null)
	if [ -z "$PORT" ] || [ ! -s "$T/kubeconfig" ]; then
		nok "emulator starts and writes port and kubeconfig" "$(cat "$T/emu.out")"
		echo "1..$n"
		exit 1
	fi
}
