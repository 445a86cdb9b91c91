#!/usr/bin/env bash
# Faults (SPEC section 8): the API server going away, watches ending or
# answering 410 Gone, 5xx and 429: the mount stays up, serves the last
# known state, says it is stale, and recovers by itself.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
stale() { python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["stale"] else 1)' "$MNT/.gitopsfs/status"; }
fresh() { ! stale; }
cm=$MNT/shop/configmaps/web-config.yaml
before=$(cat "$cm")

emu POST /_emu/down '{"seconds":6}' >/dev/null
check "the mount marks itself stale while the server is down" wait_for 5 stale
is "$(cat "$cm")" "$before" "and goes on serving the last known state"
check "the status names the failure" grep -q '"last_error": "' "$MNT/.gitopsfs/status"
check "it recovers by itself when the server is back" wait_for 40 fresh
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"warn"}}' >/dev/null
check "changes after the outage are seen" wait_for 5 grep -q 'LOG_LEVEL: warn' "$cm"

# Watches closed by the server: resumed, nothing missed.
emu POST /_emu/close-watches >/dev/null
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"error"}}' >/dev/null
check "a change right after the watches closed is seen" wait_for 5 grep -q 'LOG_LEVEL: error' "$cm"

# 410 Gone: history compacted, a resume must re-list.
emu POST /_emu/compact >/dev/null
kc delete configmap web-config -n shop >/dev/null
mkcm shop after-compact k=v
check "after 410 Gone the re-list drops deleted objects" wait_for 10 test ! -e "$cm"
check "and picks up new ones" wait_for 10 test -f "$MNT/shop/configmaps/after-compact.yaml"

# 5xx and 429 on the watch path: back-off, then recovery.
emu POST /_emu/faults '{"status":500,"count":3,"path_prefix":"/api/v1","watch":true}' >/dev/null
emu POST /_emu/faults '{"status":429,"count":2,"path_prefix":"/apis/apps","watch":true}' >/dev/null
emu POST /_emu/close-watches >/dev/null
mkcm shop after-faults k=v
check "a change made during 500/429 faults is seen after back-off" wait_for 30 test -f "$MNT/shop/configmaps/after-faults.yaml"
check "and the mount is fresh again" wait_for 30 fresh
check "the mount is still up" mountpoint -q "$MNT"
done_testing
