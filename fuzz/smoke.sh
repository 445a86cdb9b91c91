#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR for SECONDS each (default 20)
# over its seeds, and fails on the first finding: a crash, a sanitizer
# report, a leak, a broken property (FUZZ_CHECK) or an input slower than
# 10 s. Usage: fuzz/smoke.sh BUILD_DIR [SECONDS]
#
# fuzz/corpus/<target>/ holds the committed seeds; what a run discovers
# goes to BUILD_DIR/corpus/<target>/ (the first directory libFuzzer is
# given is the one it writes), so later runs start from there. A finding
# is saved as BUILD_DIR/artifacts/<target>-crash-<sha1>: reproduce it with
#   BUILD_DIR/<target> BUILD_DIR/artifacts/<target>-crash-<sha1>
set -eu
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz/smoke.sh BUILD_DIR [SECONDS]}
seconds=${2:-20}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
mkdir -p "$build/artifacts"
failed=""
for bin in "$build"/fuzz_*; do
	case "$bin" in *.d) continue ;; esac
	[ -x "$bin" ] || continue
	t=$(basename "$bin")
	seeds="fuzz/corpus/$t"
	# The renderer's golden files seed the YAML and JSON targets.
	case "$t" in
	fuzz_yaml_parse | fuzz_render) seeds="$seeds tests/unit/golden" ;;
	esac
	seed=""
	[ -n "${FUZZ_SEED:-}" ] && seed="-seed=$FUZZ_SEED"
	dict=""
	[ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
	mkdir -p "$build/corpus/$t"
	printf '  %-6s %s (%s s)\n' FUZZ "$t" "$seconds"
	# shellcheck disable=SC2086 # $seeds, $seed and $dict are word lists
	if ! nice "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$build/artifacts/$t-" $seed $dict \
		"$build/corpus/$t" $seeds </dev/null >"$build/$t.log" 2>&1; then
		echo "not ok - $t found a bug; the last lines of $build/$t.log:"
		tail -n 40 "$build/$t.log" | sed 's/^/    /'
		failed="$failed $t"
	fi
done
[ -z "$failed" ] || { echo "fuzz-smoke failed:$failed"; exit 1; }
echo "fuzz-smoke: every target ran ${seconds} s without a finding"
