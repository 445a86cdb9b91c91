#!/usr/bin/env bash
# bench/bench.sh [N] - gitopsfs at scale, measured in one run:
#   * mount-ready time with N objects (default 10,000 ConfigMaps plus the
#     emulator's start-up objects),
#   * `git status` in the mount against the same tree cloned onto tmpfs,
#   * `cat` of every file in the mount against tmpfs (cold and warm),
#   * a scrape of /metrics (--metrics-addr: one walk over every file),
#   * gitopsfs's peak RSS.
# Figures are medians of several runs; the emulator runs on loopback.
set -euo pipefail
N=${1:-10000}
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GFS=${GFS_BIN:-$ROOT/build/gitopsfs}
T=$(mktemp -d /tmp/gfs-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/gfs-bench.XXXXXX)
export KUBECONFIG=$T/kubeconfig HOME=$T/home
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$T/mnt" "$HOME"
git config --global init.defaultBranch main

cleanup() {
	mountpoint -q "$T/mnt" && fusermount3 -u "$T/mnt"
	[ -n "${EMU:-}" ] && kill "$EMU" 2>/dev/null
	rm -rf "$T" "$SHM"
}
trap cleanup EXIT

now() { date +%s.%N; }
# median_time COMMAND...: runs it RUNS times, prints the median in seconds.
median_time() {
	local times=() s e
	for _ in $(seq "$RUNS"); do
		s=$(now); "$@" >/dev/null 2>&1; e=$(now)
		times+=("$(echo "$e - $s" | bc -l)")
	done
	printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}

echo "gitopsfs bench: $N objects, median of $RUNS runs, $(nproc) cores"
python3 "$ROOT/tests/apiserver/kube_emulator.py" --port 0 --portfile "$T/port" \
	--tls-dir "$T/tls" --token bench --kubeconfig "$KUBECONFIG" --bulk "$N" \
	--history 100000 >"$T/emulator.log" 2>&1 &
EMU=$!
for _ in $(seq 600); do [ -s "$KUBECONFIG" ] && break; sleep 0.1; done
git init -q --bare "$T/repo.git"

MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
s=$(now)
"$GFS" mount --state-dir "$T/state" --metrics-addr "127.0.0.1:$MPORT" "$T/repo.git" "$T/mnt"
e=$(now)
printf 'mount ready:             %6.2f s\n' "$(echo "$e - $s" | bc -l)"
files=$(find "$T/mnt" -name '*.yaml' | wc -l)
echo "files in the mount:      $files"

# cat every file: first read (kernel cache cold), then warm.
s=$(now); find "$T/mnt" -name '*.yaml' -exec cat {} + >/dev/null; e=$(now)
cold_mnt=$(echo "$e - $s" | bc -l)

(cd "$T/mnt" && git add -A && git commit -qm import && git push -q origin HEAD:main)
git clone -q "$T/repo.git" "$SHM/tree"
s=$(now); find "$SHM/tree" -name '*.yaml' -exec cat {} + >/dev/null; e=$(now)
cold_shm=$(echo "$e - $s" | bc -l)
warm_mnt=$(median_time find "$T/mnt" -name '*.yaml' -exec cat {} +)
warm_shm=$(median_time find "$SHM/tree" -name '*.yaml' -exec cat {} +)

git -C "$T/mnt" status >/dev/null; git -C "$SHM/tree" status >/dev/null
st_mnt=$(median_time git -C "$T/mnt" status)
st_shm=$(median_time git -C "$SHM/tree" status)
clean=$(git -C "$T/mnt" status --porcelain | wc -l)

printf 'git status, mount:       %6.3f s\n' "$st_mnt"
printf 'git status, tmpfs:       %6.3f s   ratio %.2fx  (dirty entries in mount: %s)\n' \
	"$st_shm" "$(echo "$st_mnt / $st_shm" | bc -l)" "$clean"
printf 'cat all, mount (first):  %6.3f s   tmpfs (first) %.3f s\n' "$cold_mnt" "$cold_shm"
printf 'cat all, mount (warm):   %6.3f s\n' "$warm_mnt"
printf 'cat all, tmpfs (warm):   %6.3f s   ratio %.2fx\n' "$warm_shm" \
	"$(echo "$warm_mnt / $warm_shm" | bc -l)"
scrape=$(median_time curl -sf "http://127.0.0.1:$MPORT/metrics")
printf 'scrape /metrics:         %6.3f s   (%s bytes)\n' "$scrape" \
	"$(curl -sf "http://127.0.0.1:$MPORT/metrics" | wc -c)"
pid=$(pgrep -f "gitopsfs mount --state-dir $T/state" | head -n1)
echo "gitopsfs peak RSS:       $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status)"
