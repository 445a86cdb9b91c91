#!/usr/bin/env bash
# bench/bench.sh [N | mix [COPIES]] - gitopsfs at scale, measured side by
# side in one run against the emulator holding N ConfigMaps (default
# 10,000; 30000 and 100000 for the larger rows), or a realistic mix of
# real upstream manifests (see below), plus its start-up objects:
#   * mount until every object is listed (empty repository), and the
#     API requests that took,
#   * the first import, `git add -A && git commit`, in the mount against
#     the same files on tmpfs,
#   * `git status` after it, mount against a clone on tmpfs,
#   * `cat` of every file, mount against tmpfs (first read and warm),
#   * a change made through the API until its file shows it (median),
#   * memory: objects, rendered bytes, RSS, against 3 x rendered + 30 MiB,
#   * `gitopsfs export` against `kubectl get <every resource> -A -o yaml`,
#   * a scrape of /metrics (--metrics-addr: one walk over every file),
#   * API requests and bytes (gitopsfs_api_bytes_total) at mount and in
#     QUIET quiet seconds (default 65).
# EMU_ARGS adds emulator options: EMU_ARGS=--no-watch-list measures a
# server without streaming lists (Kubernetes before 1.32, or 1.33, where
# the WatchList gate is off), read in pages of 500.
# Figures are medians of RUNS runs (default 5) where a row is repeated;
# the emulator runs on loopback. It prints figures; nothing asserts on time.
set -euo pipefail
N=${1:-10000}
# `bench.sh mix [COPIES]`: a realistic mix instead of N small ConfigMaps -
# the vendored upstream manifests (bench/mix.py: CRDs with large schemas,
# multi-line ConfigMaps, workloads, RBAC) with their namespaced objects
# copied COPIES times (default 14, about 8,000 objects), plus one bulk
# ConfigMap that the change row edits.
SEED=()
WHAT="$N ConfigMaps"
COPIES=0
if [ "$N" = mix ]; then
	COPIES=${2:-14}
	N=1
fi
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
ratio() { echo "$1 / $2" | bc -l; }
# median_time COMMAND...: runs it RUNS times, prints the median in seconds.
median_time() {
	local times=() s e
	for _ in $(seq "$RUNS"); do
		s=$(now); "$@" >/dev/null 2>&1; e=$(now)
		times+=("$(echo "$e - $s" | bc -l)")
	done
	printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}
# requests [watch]: API requests in the emulator's log so far (by verb).
requests() {
	python3 -c '
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        c["WATCH" if r.get("watch") else ("LIST" if "limit=" in r.get("query", "") else r["method"])] += 1
print(" ".join("%s %d" % kv for kv in sorted(c.items())) or "none")' "$T/requests.log"
}

if [ "$COPIES" -gt 0 ]; then
	SEED=(--seed "$T/mix.yaml")
	WHAT="realistic mix ($(python3 "$ROOT/bench/mix.py" "$COPIES" "$T/mix.yaml") upstream objects: $COPIES copies of tests/fixtures/upstream)"
fi
echo "gitopsfs bench: $WHAT, median of $RUNS runs, $(nproc) cores"
python3 "$ROOT/tests/apiserver/kube_emulator.py" --port 0 --portfile "$T/port" \
	--tls-dir "$T/tls" --token bench --kubeconfig "$KUBECONFIG" --bulk "$N" \
	"${SEED[@]}" ${EMU_ARGS:-} --history 100000 --logfile "$T/requests.log" >"$T/emulator.log" 2>&1 &
EMU=$!
# Seeding the mix takes the emulator a while (each object is validated).
for _ in $(seq 6000); do [ -s "$KUBECONFIG" ] && break; sleep 0.1; done
git init -q --bare "$T/repo.git"
: >"$T/requests.log"

MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
s=$(now)
"$GFS" mount -q --timeout 600 --state-dir "$T/state" --metrics-addr "127.0.0.1:$MPORT" \
	"$T/repo.git" "$T/mnt"
e=$(now)
ready=$(echo "$e - $s" | bc -l)
# api_bytes: "RECEIVED SENT", the mount's gitopsfs_api_bytes_total so far.
api_bytes() {
	curl -sf "http://127.0.0.1:$MPORT/metrics" | awk '
		/^gitopsfs_api_bytes_total\{direction="received"\}/ { r = $2 }
		/^gitopsfs_api_bytes_total\{direction="sent"\}/ { s = $2 }
		END { printf "%.0f %.0f\n", r, s }'
}
mib() { echo "$1 / 1048576" | bc -l; }
printf 'mount ready:             %6.2f s   (API requests: %s)\n' "$ready" "$(requests)"
read -r rx tx < <(api_bytes)
printf 'API bytes at mount:      %6.1f MiB received, %.3f MiB sent (HTTP bodies)\n' "$(mib "$rx")" "$(mib "$tx")"
files=$(find "$T/mnt" -name '*.yaml' -not -path '*/.git*' | wc -l)
echo "files in the mount:      $files"

# cat every file: first read (kernel cache cold).
s=$(now); find "$T/mnt" -name '*.yaml' -exec cat {} + >/dev/null; e=$(now)
cold_mnt=$(echo "$e - $s" | bc -l)

# The first import: in the mount (the index was staged at mount), and the
# same files in a fresh repository on tmpfs.
mkdir -p "$SHM/import"
(cd "$T/mnt" && find . -name '*.yaml' -not -path './.git*' -print0 |
	xargs -0 cp --parents -t "$SHM/import")
git -C "$SHM/import" init -q
s=$(now); (cd "$T/mnt" && git add -A && git commit -qm import); e=$(now)
imp_mnt=$(echo "$e - $s" | bc -l)
s=$(now); (cd "$SHM/import" && git add -A && git commit -qm import); e=$(now)
imp_shm=$(echo "$e - $s" | bc -l)
printf 'first import, mount:     %6.3f s   (git add -A && git commit)\n' "$imp_mnt"
printf 'first import, tmpfs:     %6.3f s   ratio %.2fx\n' "$imp_shm" "$(ratio "$imp_mnt" "$imp_shm")"
(cd "$T/mnt" && git push -q origin HEAD:main)

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
	"$st_shm" "$(ratio "$st_mnt" "$st_shm")" "$clean"
printf 'cat all, mount (first):  %6.3f s   tmpfs (first) %.3f s\n' "$cold_mnt" "$cold_shm"
printf 'cat all, mount (warm):   %6.3f s\n' "$warm_mnt"
printf 'cat all, tmpfs (warm):   %6.3f s   ratio %.2fx\n' "$warm_shm" "$(ratio "$warm_mnt" "$warm_shm")"

# A change through the API until its file shows it: RUNS changes.
printf 'change -> file (median): %6s ms  (PATCH answered and file read included)\n' \
	"$(python3 "$ROOT/bench/change_latency.py" "$RUNS" \
		"/api/v1/namespaces/bulk-0/configmaps/cm-000000=$T/mnt/bulk-0/configmaps/cm-000000.yaml")"

python3 - "$T/mnt/.gitopsfs/status" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
MiB = 1048576
goal = 3 * m["rendered_bytes"] + 30 * MiB
print("memory: rendered %.1f MiB, RSS %.1f MiB, peak %.1f MiB; goal 3x rendered + 30 MiB = %.1f MiB"
      % (m["rendered_bytes"] / MiB, m["rss_bytes"] / MiB, m["peak_rss_bytes"] / MiB, goal / MiB))
EOF

scrape=$(median_time curl -sf "http://127.0.0.1:$MPORT/metrics")
printf 'scrape /metrics:         %6.3f s   (%s bytes)\n' "$scrape" \
	"$(curl -sf "http://127.0.0.1:$MPORT/metrics" | wc -c)"

# Steady state: API requests over QUIET seconds (default 65: one round of
# the periodic rediscovery, every 60 s, falls in it).
QUIET=${QUIET:-65}
: >"$T/requests.log"
read -r rx0 tx0 < <(api_bytes)
sleep "$QUIET"
read -r rx tx < <(api_bytes)
echo "API requests in $QUIET quiet seconds: $(requests); bytes received $((rx - rx0)), sent $((tx - tx0))"
fusermount3 -u "$T/mnt"

# export against kubectl, each reading every resource of the cluster.
resources=$(kubectl api-resources --verbs=list -o name | paste -sd, -)
# Into tmpfs (what gitopsfs costs) and into $T's file system (what a disk
# adds: ext4 here, where creating many files after many deletions spends
# most of its time in the kernel's inode allocator).
exp=$(median_time bash -c 'rm -rf "$1" && "$2" export -q "$1"' _ "$SHM/export" "$GFS")
exp_disk=$(median_time bash -c 'rm -rf "$1" && "$2" export -q "$1"' _ "$T/export" "$GFS")
kc=$(median_time bash -c 'kubectl get "$1" -A -o yaml >"$2"' _ "$resources" "$SHM/kubectl.yaml")
printf 'export, to tmpfs:        %6.3f s   (%s files)\n' "$exp" "$(find "$SHM/export" -name '*.yaml' | wc -l)"
printf 'export, to %-13s %6.3f s\n' "$(stat -f -c %T "$T"):" "$exp_disk"
printf 'kubectl get -A -o yaml:  %6.3f s   export (tmpfs)/kubectl %.2fx\n' "$kc" "$(ratio "$exp" "$kc")"
