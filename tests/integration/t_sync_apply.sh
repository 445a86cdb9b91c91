#!/usr/bin/env bash
# gitopsfs sync --sync apply (SPEC section 6): pull-based deployment from a
# bare repository: follows pushes, heals drift, prunes only its own
# objects, alerts a webhook once on failure and once on recovery (in the
# generic JSON, Slack and Alertmanager formats), and a kill -9 and restart
# repeats nothing.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
W=$T/work
git clone -q "$REPO" "$W" 2>/dev/null
python3 "$ROOT/tests/unit/fixtures/webhook_receiver.py" --port 0 --portfile "$T/hook.port" \
	--logfile "$T/hook.log" >/dev/null 2>&1 &
HOOK_PID=$!
wait_for 10 test -s "$T/hook.port"
SLACK_PID= AM_PID=
trap 'kill $HOOK_PID $SYNC_PID $SLACK_PID $AM_PID 2>/dev/null; cat "$T/sync.log" | sed "s/^/# sync: /" | tail -20; cleanup' EXIT
cat >"$W/.gitopsfs.yaml" <<YAML
alerts:
  webhook: http://127.0.0.1:$(cat "$T/hook.port")/alerts
YAML
mkdir -p "$W/shop/configmaps"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\n  namespace: shop\ndata:\n  colour: blue\n' >"$W/shop/configmaps/from-git.yaml"
push() { git -C "$W" add -A && git -C "$W" commit -qm "$1" && git -C "$W" push -q origin HEAD:main; }
push "first"

SYNC_PID=
start_sync() {
	"$GFS" sync --sync apply --interval 1 --prune --state-dir "$STATE" "$REPO" >>"$T/sync.log" 2>&1 &
	SYNC_PID=$!
}
start_sync
cm() { kc get configmap "$1" -n shop -o jsonpath="{.data.$2}" 2>/dev/null; }
cm_is() { [ "$(cm "$1" "$2")" = "$3" ]; }
check "a pushed object is applied" wait_for 10 cm_is from-git colour blue

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\n  namespace: shop\ndata:\n  colour: green\n' >"$W/shop/configmaps/from-git.yaml"
push "green"
check "a pushed change is applied within an interval or two" wait_for 10 cm_is from-git colour green

kc patch configmap from-git -n shop --type merge -p '{"data":{"colour":"red"}}' >/dev/null
check "a manual change is healed" wait_for 10 cm_is from-git colour green

# A config change in Git takes effect without a restart.
HOOK="http://127.0.0.1:$(cat "$T/hook.port")/alerts"
printf 'alerts:\n  webhook: %s\nignore:\n  - resource: configmaps\n    name: from-git\n    paths: [/data/colour]\n' "$HOOK" >"$W/.gitopsfs.yaml"
push "ignore colour"
check "the new config is put in force" wait_for 10 grep -q "gitopsfs.yaml of .* is in force" "$T/sync.log"
kc patch configmap from-git -n shop --type merge -p '{"data":{"colour":"purple"}}' >/dev/null
sleep 3
is "$(cm from-git colour)" "purple" "an ignored field is not healed"
printf 'alerts:\n  webhook: %s\ncolour: x\n' "$HOOK" >"$W/.gitopsfs.yaml"
push "bad config"
check "an invalid config in Git is alerted with file and line" wait_for 10 bash -c 'grep "gitopsfs.yaml" "$1" | grep -q "line 3"' _ "$T/hook.log"
printf 'alerts:\n  webhook: %s\n' "$HOOK" >"$W/.gitopsfs.yaml"
push "no ignore"
check "dropping the ignore rule heals the field again" wait_for 10 cm_is from-git colour green

# A bad manifest: one alert when it starts failing, one when it recovers.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  value: [1, 2\n' >"$W/shop/configmaps/broken.yaml"
push "broken"
hook_count() { grep -c "\"$1\"" "$T/hook.log" 2>/dev/null || echo 0; }
check "a bad push alerts the webhook" wait_for 15 bash -c 'grep -q "broken.yaml" "$1" && grep -q "failing" "$1"' _ "$T/hook.log"
sleep 3
is "$(grep -c 'broken.yaml' "$T/hook.log")" "1" "exactly once, not every interval"
check "the alert names the object, the commit and the error" python3 - "$T/hook.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    body = json.loads(json.loads(line)["body"])
    if "broken" in body["object"]:
        assert body["state"] == "failing" and body["error"] and len(body["commit"]) == 40, body
        sys.exit(0)
sys.exit(1)
PY
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  value: "fixed"\n' >"$W/shop/configmaps/broken.yaml"
push "fixed"
check "the fix is applied" wait_for 10 cm_is broken value fixed
check "recovery is alerted" wait_for 10 grep -q '\\"recovered\\"' "$T/hook.log"
is "$(grep -c 'broken.yaml' "$T/hook.log")" "2" "one alert on failure, one on recovery"

# --prune deletes what gitopsfs applied and Git dropped, never others.
mkcm shop hand-made k=v
git -C "$W" rm -q shop/configmaps/from-git.yaml
push "drop from-git"
check "pruned: an object gitopsfs applied and Git no longer has" wait_for 10 bash -c '! kubectl get configmap from-git -n shop >/dev/null 2>&1'
check "not pruned: an object gitopsfs never applied" kc get configmap hand-made -n shop

# kill -9 and restart: nothing applied again.
sleep 2
kill -9 $SYNC_PID; wait $SYNC_PID 2>/dev/null
mark=$(request_count)
start_sync
sleep 5
puts=$(tail -n +"$((mark + 1))" "$T/requests.log" | grep -cE '"method": ?"(PUT|POST|DELETE)"')
is "$puts" "0" "after kill -9 and restart, nothing is applied twice"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-restart\n  namespace: shop\ndata:\n  k: v\n' >"$W/shop/configmaps/after-restart.yaml"
push "after restart"
check "and new pushes are applied" wait_for 10 cm_is after-restart k v

# The remote going away and coming back.
mv "$REPO" "$REPO.away"
sleep 3
check "the agent keeps running while the remote is down" kill -0 $SYNC_PID
mv "$REPO.away" "$REPO"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-outage\n  namespace: shop\ndata:\n  k: v\n' >"$W/shop/configmaps/after-outage.yaml"
push "after outage"
check "and catches up when it is back" wait_for 15 cm_is after-outage k v
kill -TERM $SYNC_PID
check "SIGTERM stops the agent" wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$SYNC_PID"

# Webhook formats: a Slack and an Alertmanager webhook (webhooks are set
# at start) each get one POST in their format when an apply starts failing
# and one when it recovers.
for f in slack am; do
	python3 "$ROOT/tests/unit/fixtures/webhook_receiver.py" --port 0 --portfile "$T/$f.port" \
		--logfile "$T/$f.log" >/dev/null 2>&1 &
	[ $f = slack ] && SLACK_PID=$! || AM_PID=$!
done
wait_for 10 test -s "$T/slack.port" && wait_for 10 test -s "$T/am.port"
cat >"$T/hooks.yaml" <<YAML
alerts:
  webhooks:
    - url: http://127.0.0.1:$(cat "$T/slack.port")/services/T0/B0/s3cretToken
      format: slack
    - url: http://127.0.0.1:$(cat "$T/am.port")
      format: alertmanager
YAML
"$GFS" sync --sync apply --interval 1 --prune --config "$T/hooks.yaml" --state-dir "$STATE" "$REPO" >>"$T/sync.log" 2>&1 &
SYNC_PID=$!
check "the agent takes a Slack and an Alertmanager webhook" wait_for 10 grep -q "Alertmanager webhook at 127.0.0.1" "$T/sync.log"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken2\ndata:\n  value: [1, 2\n' >"$W/shop/configmaps/broken2.yaml"
push "broken2"
check "Slack gets the failure" wait_for 15 grep -q 'broken2.yaml is failing' "$T/slack.log"
check "Alertmanager gets the failure" wait_for 15 grep -q 'broken2' "$T/am.log"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken2\ndata:\n  value: "fixed"\n' >"$W/shop/configmaps/broken2.yaml"
push "fixed broken2"
check "the fix is applied" wait_for 10 cm_is broken2 value fixed
check "Slack gets the recovery" wait_for 10 grep -q 'broken2.yaml recovered' "$T/slack.log"
check "Alertmanager gets the recovery" wait_for 10 grep -q 'endsAt' "$T/am.log"
sleep 2
check "one Slack text per change of state" python3 - "$T/slack.log" <<'PY'
import json, sys
texts = [json.loads(json.loads(l)["body"])["text"] for l in open(sys.argv[1])]
mine = [t for t in texts if "broken2" in t]
assert len(mine) == 2, texts
assert mine[0].startswith("gitopsfs: shop/configmaps/broken2.yaml is failing: "), mine
assert mine[1].startswith("gitopsfs: shop/configmaps/broken2.yaml recovered (commit "), mine
assert all(json.loads(l)["path"] == "/services/T0/B0/s3cretToken" for l in open(sys.argv[1]))
PY
check "one Alertmanager alert per change of state, resolved with the same labels" python3 - "$T/am.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["path"] == "/api/v2/alerts" for r in recs), recs
alerts = [a for r in recs for a in json.loads(r["body"])]
mine = [a for a in alerts if "broken2" in a["labels"]["object"]]
assert len(mine) == 2, alerts
fail, ok = mine
assert fail["labels"] == {"alertname": "GitopsfsFailing", "object": "shop/configmaps/broken2.yaml"}, fail
assert "endsAt" not in fail and fail["annotations"]["description"], fail
assert ok["labels"] == fail["labels"] and ok["startsAt"] == fail["startsAt"], ok
assert ok["endsAt"] >= ok["startsAt"] and len(ok["annotations"]["commit"]) == 40, ok
PY
is "$(grep -c s3cretToken "$T/sync.log")" "0" "the Slack webhook's secret path is never logged"
kill -TERM $SYNC_PID
check "SIGTERM stops the agent again" wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$SYNC_PID"
done_testing
