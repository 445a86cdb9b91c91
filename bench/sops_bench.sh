#!/usr/bin/env bash
# bench/sops_bench.sh [N] - the cost of `secrets: sops`: mount-ready time
# with N Secrets (default 1,000, two keys each) in redact mode, in sops
# mode on a first mount (every Secret encrypted: a data key, an age file
# per Secret), and in sops mode on a remount over a commit of them (every
# ciphertext reused: the commit's data keys opened and values checked).
set -euo pipefail
N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GFS=${GFS_BIN:-$ROOT/build/gitopsfs}
T=$(mktemp -d /tmp/gfs-sops-bench.XXXXXX)
export KUBECONFIG=$T/kubeconfig HOME=$T/home
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$T/mnt" "$HOME"
git config --global init.defaultBranch main
cleanup() {
	mountpoint -q "$T/mnt" && fusermount3 -u "$T/mnt"
	[ -n "${EMU:-}" ] && kill "$EMU" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
python3 - "$N" >"$T/seed.yaml" <<'PY'
import base64, os, sys
print("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench")
for i in range(int(sys.argv[1])):
    b = lambda: base64.b64encode(os.urandom(24)).decode()
    print("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s%05d\n  namespace: bench\n"
          "type: Opaque\ndata:\n  password: %s\n  token: %s" % (i, b(), b()))
PY
python3 "$ROOT/tests/apiserver/kube_emulator.py" --port 0 --portfile "$T/port" \
	--tls-dir "$T/tls" --token "bench-$$" --kubeconfig "$KUBECONFIG" --seed "$T/seed.yaml" \
	>"$T/emu.log" 2>&1 &
EMU=$!
for _ in $(seq 200); do [ -s "$KUBECONFIG" ] && break; sleep 0.1; done
age-keygen -o "$T/key.txt" 2>/dev/null
printf 'secrets: sops\nsops:\n  age: [%s]\n' "$(age-keygen -y "$T/key.txt")" >"$T/sops.yaml"
mount_time() { # STATE OPTIONS...: seconds until the mount is ready
	local state=$1 t0; shift
	t0=$(date +%s.%N)
	"$GFS" mount --state-dir "$state" "$@" "$T/repo.git" "$T/mnt"
	echo "$(date +%s.%N) - $t0" | bc
}
git init -q --bare "$T/repo.git"
r=$(mount_time "$T/s1" --secrets redact); fusermount3 -u "$T/mnt"; sleep 1
echo "redact, $N Secrets: mount ready in ${r}s"
export SOPS_AGE_KEY_FILE=$T/key.txt
r=$(mount_time "$T/s2" --config "$T/sops.yaml"); 
git -C "$T/mnt" add -A >/dev/null 2>&1; git -C "$T/mnt" commit -qm import
fusermount3 -u "$T/mnt"; sleep 1
echo "sops, $N Secrets, first mount (all encrypted anew): mount ready in ${r}s"
r=$(mount_time "$T/s2" --config "$T/sops.yaml")
st=$(git -C "$T/mnt" status --porcelain | wc -l)
fusermount3 -u "$T/mnt"
echo "sops, $N Secrets, remount over the commit (all reused): mount ready in ${r}s, git status lines: $st"
