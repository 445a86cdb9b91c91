#!/usr/bin/env bash
# Long work shows progress (issue 12): on a terminal, the first list of a
# big cluster shows resources and objects done on one line updated in
# place and erased at the end; --quiet silences it; a pipe, a file and
# the log never get any of it. script(1) gives the commands a terminal.
# gfs-test-timeout: 400
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || { echo "1..0 # SKIP script(1) (util-linux) is not installed"; exit 0; }
# 6000 ConfigMaps listed in pages of 500, each page held back 0.25 s by the
# emulator: about 3 s of listing, long enough for the line to show (it
# waits 300 ms so that small clusters do not flicker) and to count up.
# (A streaming list of them would be over too soon to see.)
start_emulator --bulk 6000 --no-watch-list
check "the big cluster is there" wait_for 60 bash -c 'kubectl get cm cm-005999 -n bulk-9 >/dev/null 2>&1'
emu POST /_emu/faults '{"delay":0.25,"count":null,"path_prefix":"/api/v1/configmaps","method":"GET","watch":false}' >/dev/null
make_repo

# on_tty FILE COMMAND: runs COMMAND (a shell string) on a pseudo-terminal,
# its terminal output into FILE.
on_tty() { local out=$1; shift; script -qec "$*" /dev/null >"$out" 2>&1 </dev/null; }
# What a terminal would show at the end: each line as its last '\r'
# left it.
screen() { python3 -c '
import sys
for line in open(sys.argv[1], "rb").read().decode().replace("\r\n", "\n").split("\n"):
    shown = ""
    for part in line.split("\r"):
        shown = part + shown[len(part):]
    if shown.strip():
        print(shown.rstrip())' "$1"; }
progress_re='gitopsfs: listing the cluster: [0-9]+/[0-9]+ resources, [0-9]+ objects'

on_tty "$T/export.tty" "$GFS" export "$T/exp"
check "export on a terminal: the first list shows resources and objects done" grep -qE "$progress_re" "$T/export.tty"
check "  updated in place with \\r, not line after line" bash -c '[ "$(grep -cE "listing the cluster" "$1")" -eq 1 ] && [ "$(grep -oE "listing the cluster" "$1" | wc -l)" -gt 1 ]' _ "$T/export.tty"
check "  the count grows to every object" grep -qE 'listing the cluster: [0-9]+/[0-9]+ resources, [0-9]{4} objects' "$T/export.tty"
check "  and the files written" grep -qE 'writing files: [0-9]+/[0-9]+' "$T/export.tty"
is "$(screen "$T/export.tty")" "gitopsfs: exported $(find "$T/exp" -name '*.yaml' | wc -l) objects from $EMU_URL into $T/exp" \
	"  erased at the end: only the result is left on the screen"

"$GFS" export "$T/exp2" 2>"$T/export.pipe"
is "$(cat "$T/export.pipe")" "gitopsfs: exported $(find "$T/exp2" -name '*.yaml' | wc -l) objects from $EMU_URL into $T/exp2" \
	"export into a pipe: no progress at all"
check "  not even a carriage return" bash -c '! grep -q "$2" "$1"' _ "$T/export.pipe" $'\r'

on_tty "$T/quiet.tty" "$GFS" export --quiet "$T/exp3"
check "--quiet: no progress on a terminal" bash -c '! grep -qE "listing|writing files" "$1"' _ "$T/quiet.tty"
check "  the export is complete all the same" test -f "$T/exp3/bulk-9/configmaps/cm-005999.yaml"

# mount: the progress is shown before it returns ready, then erased; the
# daemon's log has none of it.
on_tty "$T/mount.tty" "$GFS" mount --state-dir "$STATE" "$REPO" "$MNT"
check "mount on a terminal shows the first list's progress" grep -qE "$progress_re" "$T/mount.tty"
is "$(screen "$T/mount.tty")" "" "  and leaves nothing on the screen once mounted"
check "  the mount is ready when it returns" test -f "$MNT/bulk-9/configmaps/cm-005999.yaml"
check "  the log has no progress" bash -c '! grep -qE "listing the cluster" "$1/log"' _ "$STATE"
check "  the log has the load" grep -q 'loaded [0-9]* objects' "$STATE/log"
unmount_gfs

# sync logs to stderr: progress and log lines share the terminal, and no
# log line carries progress inside it.
git clone -q "$REPO" "$T/w" 2>/dev/null
on_tty "$T/sync.tty" timeout -s TERM 12 "$GFS" sync --sync commit --state-dir "$T/sync-state" "$REPO"
check "sync on a terminal shows the first list's progress" grep -qE "$progress_re" "$T/sync.tty"
screen "$T/sync.tty" >"$T/sync.screen"
check "  its log lines start at the left margin, progress erased" bash -c '
	out=$(grep -E "gitopsfs (info|warning|error):" "$1")
	[ -n "$out" ] && ! grep -vE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T" <<<"$out" && ! grep -q "listing the cluster" <<<"$out"' _ "$T/sync.screen"
check "  the sync ran: it committed the cluster" grep -q 'committed [0-9]* changes' "$T/sync.screen"
"$GFS" sync --sync commit --state-dir "$T/sync-state2" "$REPO" >"$T/sync.pipe" 2>&1 &
SYNC_PID=$!
wait_for 60 grep -q 'loaded [0-9]* objects' "$T/sync.pipe"
kill -TERM "$SYNC_PID"; wait "$SYNC_PID"
check "sync into a pipe (a log file): no progress" bash -c '! grep -qE "listing the cluster|$2" "$1"' _ "$T/sync.pipe" $'\r'

# diff: the progress goes to the terminal, the diff to stdout untouched.
on_tty "$T/diff.tty" "$GFS diff $REPO >$T/diff.out"
check "diff on a terminal shows the first list's progress" grep -qE "$progress_re" "$T/diff.tty"
check "  and the diff on stdout has none of it" bash -c 'grep -q "^diff --git" "$1" && ! grep -qE "listing|$2" "$1"' _ "$T/diff.out" $'\r'

done_testing
