#!/usr/bin/env bash
# A hostile or broken API server (tests/apiserver/hostile_server.py) cannot
# make gitopsfs write outside its folder, ask for paths it should not, hold
# a huge list twice in memory, or spin on a watch that answers garbage.
. "$(dirname "$0")/lib.sh"

# start_hostile NAME [options...]: a hostile server whose kubeconfig is $T/NAME.kc.
start_hostile() {
	local name=$1; shift
	python3 "$ROOT/tests/apiserver/hostile_server.py" --portfile "$T/$name.port" \
		--kubeconfig "$T/$name.kc" --logfile "$T/$name.log" "$@" >"$T/$name.out" 2>&1 &
	HOSTILE_PIDS="${HOSTILE_PIDS:-} $!"
	wait_for 120 test -s "$T/$name.kc" || { echo "Bail out! hostile server did not start"; cat "$T/$name.out"; exit 1; }
}
stop_hostile() { for p in ${HOSTILE_PIDS:-}; do kill "$p" 2>/dev/null; done; }
trap 'stop_hostile; cleanup' EXIT

# ---- names from discovery ---------------------------------------------------------
start_hostile names
mkdir -p "$T/deep/er"
touch "$T/marker"
err=$(KUBECONFIG=$T/names.kc "$GFS" export "$T/deep/er/out" 2>&1)
is "$?" "0" "export from a server with hostile discovery names succeeds"
files=$(cd "$T/deep/er/out" && find . -type f | sort | tr '\n' ' ')
is "$files" "./_cluster/namespaces/big.yaml ./_cluster/namespaces/default.yaml ./default/configmaps/plain.yaml ./default/widgets.good.example.com/w1.yaml " \
	"only the objects of valid resources, groups and namespaces are written"
# (gitopsfs's own key for redacted Secrets aside: this server cannot keep one.)
outside=$(find "$T" -newer "$T/marker" -type f ! -path "$T/deep/er/out/*" ! -name 'names.*' ! -name marker \
	! -path "$HOME/.local/state/gitopsfs/redaction-key-*")
is "$outside" "" "nothing is written outside the export folder"
check "a group named ../../../../escape is skipped with a warning" \
	grep -qF 'skipping API group "../../../../escape": not a valid group name' <<<"$err"
check "a resource named evil\\n is skipped, printed safely" \
	grep -qF 'skipping resource "evil?" (kind "Evil")' <<<"$err"
check "a kind ../Kind is skipped" grep -qF '(kind "../Kind")' <<<"$err"
check "no request ever names a path with .." bash -c '! grep -q "\"path\": \"[^\"]*\.\./" "$1"' _ "$T/names.log"
check "no request to a group that is not a DNS name" bash -c '! grep -qE "\"/apis/(a/b|escape|\.\.)" "$1"' _ "$T/names.log"

# ---- a huge list in one page -------------------------------------------------------
# Memory bounds, in KiB for 100 MB: AddressSanitizer (make check) adds its
# shadow memory and allocator overhead to everything.
if ldd "$GFS" | grep -q libasan; then EXPORT_MAX=360000 MOUNT_MAX=400000; else EXPORT_MAX=280000 MOUNT_MAX=280000; fi
# 100 MB of ConfigMaps, sent in one page whatever limit says. The store keeps
# each object parsed and rendered (about twice the list); the list itself is
# decoded item by item, never held whole beside them.
start_hostile big --list-mb 100
rss=$(KUBECONFIG=$T/big.kc ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8" \
	/usr/bin/time -f '%M' "$GFS" export "$T/bigout" 2>&1 >/dev/null | tail -n 1)
n=$(find "$T/bigout/big/configmaps" -name '*.yaml' | wc -l)
check "a 100 MB list in one page is exported whole ($n objects)" test "$n" -gt 1400
diag "peak RSS of the export: $rss KiB"
check "at most $((EXPORT_MAX / 100000)).$((EXPORT_MAX / 10000 % 10)) times the list in memory (peak RSS $rss KiB)" test "$rss" -lt "$EXPORT_MAX"

# The first mount of that cluster over an empty repository stages every
# object for the import commit: in packs of bounded size, not all at once.
make_repo
KUBECONFIG=$T/big.kc ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8" mount_gfs
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$(daemon_pid)/status")
diag "peak RSS of the mount: $hwm KiB"
check "the mount holds it in at most $((MOUNT_MAX / 100000)).$((MOUNT_MAX / 10000 % 10)) times its size (peak RSS $hwm KiB)" test "$hwm" -lt "$MOUNT_MAX"
staged=$(cd "$MNT" && git ls-files -s big/configmaps | wc -l)
is "$staged" "$n" "every object is staged for the import commit"
check "the repository is sound" git --git-dir="$STATE/git" fsck --no-progress
check "unmounts" unmount_gfs
rm -rf "$STATE" "$REPO"

# ---- an answer that is not a list, and huge -------------------------------------------
start_hostile fat --discovery-mb 40
err=$(KUBECONFIG=$T/fat.kc /usr/bin/time -f '%M' "$GFS" export "$T/fatout" 2>&1)
is "$?" "1" "a 40 MiB discovery document is refused"
check "with a clear message" grep -q "GET /api/v1: the answer is larger than 32 MiB" <<<"$err"
rss=$(tail -n 1 <<<"$err")
check "without holding it (peak RSS $rss KiB)" test "$rss" -lt 120000

# ---- a watch that answers 200, then garbage ---------------------------------------
start_hostile garbage --watch garbage
make_repo
KUBECONFIG=$T/garbage.kc mount_gfs
check "the mount comes up against a server whose watches send garbage" test -f "$MNT/default/configmaps/plain.yaml"
sleep 10
watches=$(grep -c '"path": "/api/v1/configmaps", "query": "[^"]*watch=1' "$T/garbage.log")
diag "ConfigMap watches in 10 s: $watches"
check "a bare connect does not reset the back-off: few reconnects in 10 s ($watches)" test "$watches" -le 8
check "the mount reports itself stale" grep -q '"stale": *true' "$MNT/.gitopsfs/status"
check "unmounts" unmount_gfs

done_testing
