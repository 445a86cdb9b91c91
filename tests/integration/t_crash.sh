#!/usr/bin/env bash
# Crash safety of acknowledged deletions (SPEC section 5: "an
# acknowledged rm is carried out even if gitopsfs crashes during its
# grace period"): kill -9 inside the grace period, mount again, and the
# object goes; one created anew at the same path meanwhile (another uid)
# is left alone.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mkcm shop doomed a=1
mkcm shop reborn a=1
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
jp() { kc get "$@" 2>/dev/null; }
crash() { kill -9 "$(daemon_pid)"; for _ in $(seq 50); do daemon_running || break; sleep 0.1; done; fusermount3 -uz "$MNT" 2>/dev/null; }

check "rm of a ConfigMap is acknowledged" rm "$MNT/shop/configmaps/doomed.yaml" "$MNT/shop/configmaps/reborn.yaml"
crash
check "killed within the grace period: the objects still exist" bash -c 'kubectl get configmap doomed reborn -n shop >/dev/null'
uid0=$(jp configmap reborn -n shop -o jsonpath='{.metadata.uid}')
kc delete configmap reborn -n shop >/dev/null
mkcm shop reborn a=2
check "someone created 'reborn' anew meanwhile (test set-up)" test "$(jp configmap reborn -n shop -o jsonpath='{.metadata.uid}')" != "$uid0"
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
check "after a restart the acknowledged deletion is carried out" wait_for 10 bash -c '! kubectl get configmap doomed -n shop >/dev/null 2>&1'
check "and the file is gone" test ! -e "$MNT/shop/configmaps/doomed.yaml"
sleep 1
is "$(jp configmap reborn -n shop -o jsonpath='{.data.a}')" "2" "the object created anew at the same path is left alone"
is "$(ls "$STATE/deletes")" "" "nothing is left in the deletion journal"

# git checkout's unlink and re-create is an update, journal or not.
check "an rm then a write at the same path in the grace period succeed" bash -c 'f=$1/shop/configmaps/web-config.yaml; c=$(cat "$f"); rm "$f" && printf "%s\n" "$c" | sed "s/LOG_LEVEL: info/LOG_LEVEL: debug/" > "$f"' _ "$MNT"
sleep 1.5
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "debug" "the object was updated, not deleted"
is "$(ls "$STATE/deletes")" "" "and the cancelled deletion left no record"
# A refused write in the grace period changes nothing: the rm goes ahead.
mkcm shop refused-rewrite a=1
wait_for 5 test -f "$MNT/shop/configmaps/refused-rewrite.yaml"
check "rm of another ConfigMap is acknowledged" rm "$MNT/shop/configmaps/refused-rewrite.yaml"
out=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: [broken\n' | put "$MNT/shop/configmaps/refused-rewrite.yaml" 2>&1)
check "an invalid write at its path in the grace period is refused" grep -q "Invalid argument" <<<"$out"
check "and the acknowledged deletion is still carried out" wait_for 10 bash -c '! kubectl get configmap refused-rewrite -n shop >/dev/null 2>&1'
check "leaving no file" test ! -e "$MNT/shop/configmaps/refused-rewrite.yaml"
is "$(ls "$STATE/deletes")" "" "nor a record in the journal"
done_testing
