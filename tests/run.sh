#!/usr/bin/env bash
# Runs every test and ends with the line "N passed, N failed".
#
# Each test program prints TAP ("ok N - name" / "not ok N - name"): the C
# unit tests in $GFS_BUILD/tests, the emulator's own kubectl tests in
# tests/apiserver/t_*.sh and the end-to-end tests in tests/integration/t_*.sh.
# Every program runs with a timeout; one that dies without reporting a
# failure counts as one failure.
set -u
cd "$(dirname "$0")/.."
export GFS_BUILD=${GFS_BUILD:-build}
export GFS_BIN=$PWD/$GFS_BUILD/gitopsfs
export GFS_ROOT=$PWD
FILTER=${1:-}
passed=0 failed=0 failed_names=()
logdir=$(mktemp -d /tmp/gfs-test-logs.XXXXXX)
# Sanitizer reports go to files: the daemon's stderr is /dev/null once it
# is in the background. Any report at all fails the run (see the end).
mkdir -p "$logdir/sanitizers"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:log_path=$logdir/sanitizers/asan}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:log_path=$logdir/sanitizers/ubsan}

run_one() { # name timeout command...
	local name=$1 limit=$2; shift 2
	[ -n "$FILTER" ] && [[ "$name" != *"$FILTER"* ]] && return
	local log="$logdir/$(echo "$name" | tr '/' '_').log" rc
	printf '# %s\n' "$name"
	timeout -k 10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	local p f
	p=$(grep -cE '^ok ' "$log")
	f=$(grep -cE '^not ok ' "$log")
	grep -E '^(not ok|#   )' "$log" | sed 's/^/  /'
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "  not ok - $name exited with status $rc (124 = timeout); last lines:"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
	[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && { f=1; echo "  not ok - $name ran no test"; }
	passed=$((passed + p)) failed=$((failed + f))
	[ "$f" -gt 0 ] && failed_names+=("$name")
	echo "  $p passed, $f failed ($log)"
}

for t in "$GFS_BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" 120 "$t"
done
for t in tests/apiserver/t_*.sh tests/integration/t_*.sh; do
	# A test may ask for more time with a "# gfs-test-timeout: SECONDS" line.
	limit=$(sed -n 's/^# gfs-test-timeout: \([0-9]*\)$/\1/p' "$t" 2>/dev/null | head -n 1)
	[ -f "$t" ] && run_one "$t" "${limit:-300}" bash "$t"
done

reports=$(ls "$logdir/sanitizers" 2>/dev/null)
if [ -n "$reports" ]; then
	echo "not ok - sanitizer reports:"
	for r in "$logdir"/sanitizers/*; do sed 's/^/    /' "$r" | head -60; done
	failed=$((failed + 1)) failed_names+=("sanitizers")
fi
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
