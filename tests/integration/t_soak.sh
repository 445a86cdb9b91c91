#!/usr/bin/env bash
# A short fault soak (issue 9; `make soak` runs the long one): writers and
# a sync-apply agent under 429/503 bursts, dropped watches, 410
# compactions, API server restarts and kill -9 of gitopsfs itself; then
# nothing acknowledged lost, nothing applied twice, no refused write
# applied, files equal to the live objects, git fsck clean, RSS bounded.
# The seed is printed: SOAK_SEED=N repeats a run's choices.
# gfs-test-timeout: 420
set -u
ROOT=${GFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
GFS=${GFS_BIN:-$ROOT/build/gitopsfs}
limit=${SOAK_RSS_LIMIT_MB:-200}
if ldd "$GFS" | grep -q libasan; then
	# ASan's quarantine and shadow memory, not gitopsfs, would set the figure.
	limit=${SOAK_RSS_LIMIT_MB:-600}
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32
fi
exec python3 "$ROOT/tests/soak/soak.py" --seconds "${SOAK_SECONDS:-45}" --rss-limit-mb "$limit" \
	--gfs "$GFS" --tap
