#!/usr/bin/env bash
# Writes while the mount is behind the cluster. Most objects keep no
# document in memory, only their file's bytes (model/gfs_object.h), so a
# write reads the object it changes from the API server. With the watch of
# a resource held up, the mount shows an older version than the cluster
# has: an unchanged rewrite still sends nothing; an edit onto an object
# whose shown fields changed meanwhile is refused (EBUSY) rather than
# overwrite them; one whose hidden fields (status) changed is carried onto
# the newer object. When the watch comes back the files catch up.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
CM=$MNT/shop/configmaps/web-config.yaml
D=$MNT/shop/deployments.apps/web.yaml
jp() { kc get "$@" 2>/dev/null; }

# hold PREFIX: lists and watches under PREFIX fail (500) from now on, and
# the open watches are cut: the mount keeps what it has.
hold() {
	emu POST /_emu/faults "{\"status\":500,\"count\":100000,\"method\":\"GET\",\"watch\":true,\"path_prefix\":\"$1\"}" >/dev/null
	emu POST /_emu/faults "{\"status\":500,\"count\":100000,\"method\":\"GET\",\"watch\":false,\"path_prefix\":\"$1\"}" >/dev/null
	emu POST /_emu/close-watches >/dev/null
	sleep 1
}
# requests_to NAME: gitopsfs's API requests so far whose path ends in /NAME.
requests_to() { grep "\"path\": \"[^\"]*/$1\"" "$T/requests.log" | grep -c '"user_agent": "gitopsfs' || true; }

check "the ConfigMap's file is shown" grep -q 'web-config' "$CM"
hold /api/v1/configmaps
kc patch configmap web-config -n shop --type merge -p '{"data":{"from-kubectl":"yes"}}' >/dev/null
sleep 1
check "the mount is behind: it does not show kubectl's change" bash -c '! grep -q from-kubectl "$1"' _ "$CM"

before=$(requests_to web-config)
check "an unchanged rewrite of the stale file succeeds" put "$CM" <"$CM"
is "$(requests_to web-config)" "$before" "and sends no request, not even a read"

sed 's/^data:$/data:\n  from-mount: "yes"/' "$CM" >"$T/edited.yaml"
check "the edit is a real one" grep -q from-mount "$T/edited.yaml"
out=$(put "$CM" <"$T/edited.yaml" 2>&1)
is "$(requests_to web-config)" "$((before + 1))" "the edit read the object from the API server (one GET), and sent nothing"
check "an edit onto the stale file is refused" test -n "$out"
check "with EBUSY (Device or resource busy)" grep -q "busy" <<<"$out"
check "the reason is in .gitopsfs/errors" grep -q "changed the object in the cluster meanwhile" "$MNT/.gitopsfs/errors"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.from-kubectl}')" "yes" "kubectl's change stands"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.from-mount}')" "" "and the refused edit did not reach the cluster"

# A hidden change (status) while behind: the edit goes onto the newer
# object, which still shows what the writer was shown.
hold /apis/apps/v1/deployments
rv0=$(jp deployment web -n shop -o jsonpath='{.metadata.resourceVersion}')
emu POST /_emu/status-tick >/dev/null
rv1=$(jp deployment web -n shop -o jsonpath='{.metadata.resourceVersion}')
check "the Deployment's status changed in the cluster (a new resourceVersion)" test "$rv0" != "$rv1"
check "an edit of the Deployment while behind applies" sed -i 's/replicas: 2/replicas: 3/' "$D"
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "3" "the cluster has the edit"
check "the PUT carried the newer resourceVersion (no conflict retry)" python3 - "$T/requests.log" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
puts = [r for r in reqs if r["method"] == "PUT" and r["path"].endswith("/deployments/web")]
sys.exit(0 if len(puts) == 1 and puts[0]["status"] == 200 else 1)
PY

# The watches come back: the files catch up with the cluster.
emu DELETE /_emu/faults >/dev/null
check "the ConfigMap's file catches up" wait_for 30 grep -q from-kubectl "$CM"
check "the Deployment's file shows the edit" wait_for 30 grep -q 'replicas: 3' "$D"
check "nothing was lost from .gitopsfs/status" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$MNT/.gitopsfs/status"

done_testing
