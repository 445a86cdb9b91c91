#!/usr/bin/env bash
# make demo / make demo-stop: an emulated cluster running a small shop,
# mounted at ./demo/mnt over a local Git repository ./demo/repo.git.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$ROOT/demo
GFS=${GFS_BIN:-$ROOT/build/gitopsfs}

stop() {
	if mountpoint -q "$D/mnt" 2>/dev/null; then
		fusermount3 -u "$D/mnt" && echo "demo: unmounted $D/mnt"
	fi
	if [ -f "$D/emulator.pid" ]; then
		kill "$(cat "$D/emulator.pid")" 2>/dev/null && echo "demo: stopped the API server emulator"
		rm -f "$D/emulator.pid"
	fi
}

start() {
	stop
	rm -rf "$D/state" "$D/repo.git" "$D/tls" "$D/port" "$D/kubeconfig"
	mkdir -p "$D/mnt"
	git init -q --bare --initial-branch=main "$D/repo.git"
	python3 "$ROOT/tests/apiserver/kube_emulator.py" --port 0 --portfile "$D/port" \
		--pidfile "$D/emulator.pid" --tls-dir "$D/tls" --token "demo-token" \
		--kubeconfig "$D/kubeconfig" --logfile "$D/requests.log" \
		--seed "$ROOT/tests/demo/seed.yaml" >"$D/emulator.log" 2>&1 &
	for _ in $(seq 100); do [ -s "$D/kubeconfig" ] && break; sleep 0.1; done
	[ -s "$D/kubeconfig" ] || { echo "demo: the emulator did not start; see $D/emulator.log"; exit 1; }
	"$GFS" mount --kubeconfig "$D/kubeconfig" --state-dir "$D/state" "$D/repo.git" "$D/mnt"
	cat <<MSG

  gitopsfs demo: the emulated cluster is mounted at demo/mnt

  Browse it:
    ls demo/mnt demo/mnt/shop
    cat demo/mnt/shop/deployments.apps/web.yaml
    grep -r image: demo/mnt/shop
    find demo/mnt -name '*.yaml' | head
    cat demo/mnt/.gitopsfs/status

  Record the live state as desired, then watch for drift:
    cd demo/mnt && git add -A && git commit -m import && git status
    export KUBECONFIG=$D/kubeconfig
    kubectl -n shop set image deployment/web nginx=nginx:1.27.0   # an out-of-band change
    git diff                                                      # drift, within a second

  Stop it all:  make demo-stop
MSG
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
