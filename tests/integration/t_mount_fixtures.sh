#!/usr/bin/env bash
# Invariants over a fixture set of real upstream manifests
# (tests/fixtures/upstream, loaded with kubectl as their projects document),
# through a real mount: every object reads back equal to the server's; an
# unchanged rewrite of every file sends no request; an edit through every
# file changes that field and nothing else; no false drift after a remount;
# deletions acknowledged before a kill -9 are carried out.
# gfs-test-timeout: 900
. "$(dirname "$0")/lib.sh"
FIX=${GFS_FIXTURES:-$ROOT/tests/fixtures}

start_emulator
python3 "$FIX/load.py" --kubeconfig "$KUBECONFIG" >"$T/load.log" 2>&1 ||
	{ echo "Bail out! the fixtures did not load"; tail -20 "$T/load.log"; exit 1; }
diag "$(tail -n 1 "$T/load.log")"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
writes() { grep -cE '"method": "(PUT|POST|PATCH|DELETE)"' "$T/requests.log"; }
CHK=(python3 "$ROOT/tests/integration/fixture_check.py" --url "$EMU_URL" --token "test-token-$$" --ca "$T/tls/ca.crt")
files=$(find "$MNT" -path "$MNT/.git*" -prune -o -name '*.yaml' -print | wc -l)
check "the mount shows hundreds of objects ($files)" test "$files" -ge 300

out=$("${CHK[@]}" readback "$MNT" 2>&1); rc=$?
diag "$(tail -n 1 <<<"$out")"
check "every object file reads back equal to the server's object, and every object has its file" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' <<<"$out" | head -20

G add -A && G commit -qm import
n0=$(writes)
out=$("${CHK[@]}" rewrite "$MNT" 2>&1)
check "every file written back with its own bytes is accepted" test $? -eq 0
is "$(writes)" "$n0" "and not one request reached the cluster"
is "$(G status --porcelain)" "" "nor does git see any change"

out=$("${CHK[@]}" edit "$MNT" 2>&1); rc=$?
diag "$(tail -n 1 <<<"$out")"
check "an edit through every file changes that field and nothing else on the server" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' <<<"$out" | head -20
added=$(G diff | grep -E '^\+' | grep -vE '^\+\+\+|^\+ *gitopsfs.test/edited: "?yes"?$|^\+ *labels:$' | head -5)
removed=$(G diff | grep -E '^-' | grep -vE '^---' | head -5)
is "$added$removed" "" "git diff shows the label and nothing else"

G add -A && G commit -qm edited
unmount_gfs
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
is "$(G status --porcelain)" "" "no false drift after a remount"

# Deletions acknowledged before a crash are carried out after it.
mapfile -t victims < <(cd "$MNT" && ls */configmaps/*.yaml */services/*.yaml */serviceaccounts/*.yaml 2>/dev/null | head -n 20)
check "${#victims[@]} files of several kinds removed" bash -c 'cd "$1" && shift && rm -- "$@"' _ "$MNT" "${victims[@]}"
kill -9 "$(daemon_pid)"; for _ in $(seq 50); do daemon_running || break; sleep 0.1; done
fusermount3 -uz "$MNT" 2>/dev/null
mount_gfs || { echo "Bail out! remount after kill -9 failed"; exit 1; }
gone() { for v in "${victims[@]}"; do [ ! -e "$MNT/$v" ] || return 1; done; }
check "after kill -9 and a restart every acknowledged deletion is carried out" wait_for 20 gone
out=$("${CHK[@]}" readback "$MNT" 2>&1); rc=$?
check "and the mount still equals the cluster" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' <<<"$out" | head -10
done_testing
