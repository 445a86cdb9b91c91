#!/usr/bin/env bash
# Streaming lists (sendInitialEvents, KEP-3157): each resource is read with
# one watch that sends every object and then the initial-events-end
# bookmark, instead of list pages and a watch; a server that refuses them
# (422, as one without the WatchList feature does) is listed in pages.
. "$(dirname "$0")/lib.sh"

# requests FILTER: how many logged API requests match (a Python expression
# over the request r: its method, path, query, status and watch flag).
requests() {
	python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        n += bool(eval(sys.argv[2]))
print(n)' "$T/requests.log" "$1"
}

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
check "mount returns once ready" mount_gfs
check "every object is shown" test -f "$MNT/shop/configmaps/web-config.yaml"
is "$(requests '"sendInitialEvents=true" in r["query"] and "resourceVersionMatch=NotOlderThan" in r["query"] and r["status"] == 200')" \
	"$(requests '"sendInitialEvents=true" in r["query"]')" "every streaming list was accepted"
check "configmaps were read with a streaming list" test \
	"$(requests 'r["path"] == "/api/v1/configmaps" and "sendInitialEvents=true" in r["query"]')" -ge 1
is "$(requests 'r["path"] == "/api/v1/configmaps" and "limit=" in r["query"]')" "0" \
	"and not in list pages"
is "$(ls "$MNT/shop/configmaps" | wc -l)" "$(kc get configmaps -n shop -o name | grep -vc kube-root-ca)" \
	"the streamed objects are all there (as kubectl lists them)"
# The stream goes on as the watch: a change arrives in its file.
mkcm shop streamed a=1
check "an object created after the initial events appears" \
	wait_for 10 test -f "$MNT/shop/configmaps/streamed.yaml"
kc delete configmap -n shop streamed >/dev/null
check "and its deletion removes it" wait_for 10 test ! -e "$MNT/shop/configmaps/streamed.yaml"
# A 410 on the resumed watch makes it list again, streaming as before: the
# configmaps watch is kept down (500s, with back-off) while an object is
# made and the history compacted past the watch's resourceVersion.
before=$(requests 'r["path"] == "/api/v1/configmaps" and "sendInitialEvents=true" in r["query"]')
emu POST /_emu/faults '{"status":500,"count":4,"path_prefix":"/api/v1/configmaps","watch":true}' >/dev/null
emu POST /_emu/close-watches '{}' >/dev/null
mkcm shop after-compact a=1
emu POST /_emu/compact '{}' >/dev/null
check "after a compaction the object still appears" \
	wait_for 20 test -f "$MNT/shop/configmaps/after-compact.yaml"
check "listed again with a streaming list" test \
	"$(requests 'r["path"] == "/api/v1/configmaps" and "sendInitialEvents=true" in r["query"]')" -gt "$before"
fusermount3 -u "$MNT"
check "the daemon exits" wait_for 10 bash -c '! pgrep -f "[g]itopsfs mount .*$1" >/dev/null' _ "$T"

# A server without streaming lists: 422, then list pages, once for all.
kill "$EMU_PID"
wait "$EMU_PID" 2>/dev/null
rm -f "$T/requests.log" "$KUBECONFIG"
start_emulator --seed "$ROOT/tests/demo/seed.yaml" --no-watch-list
rm -rf "$STATE"
check "mount against a server without streaming lists" mount_gfs
check "every object is shown" test -f "$MNT/shop/configmaps/web-config.yaml"
check "the streaming lists were refused with 422" test \
	"$(requests '"sendInitialEvents=true" in r["query"] and r["status"] == 422')" -ge 1
is "$(requests '"sendInitialEvents=true" in r["query"] and r["status"] != 422')" "0" \
	"no streaming list was answered otherwise"
check "configmaps were listed in pages" test \
	"$(requests 'r["path"] == "/api/v1/configmaps" and "limit=" in r["query"] and r["status"] == 200')" -ge 1
check "the log says why" grep -q "does not stream lists" "$STATE/log"
refused=$(requests '"sendInitialEvents=true" in r["query"]')
mkcm shop paged a=1
check "changes arrive through the ordinary watch" wait_for 10 test -f "$MNT/shop/configmaps/paged.yaml"
emu POST /_emu/faults '{"status":500,"count":4,"path_prefix":"/api/v1/configmaps","watch":true}' >/dev/null
emu POST /_emu/close-watches '{}' >/dev/null
mkcm shop paged-again a=1
emu POST /_emu/compact '{}' >/dev/null
check "after a compaction too" wait_for 20 test -f "$MNT/shop/configmaps/paged-again.yaml"
is "$(requests '"sendInitialEvents=true" in r["query"]')" "$refused" \
	"a refused streaming list is not tried again"
fusermount3 -u "$MNT"

done_testing
