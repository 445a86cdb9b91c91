#!/usr/bin/env bash
# Secrets (SPEC section 4): a redacted value is a digest keyed with a key
# that is not in Git (the cluster's Secret kube-system/gitopsfs-redaction-key),
# bound to the Secret and its key, the same on every mount of the cluster;
# a 6-digit PIN does not come back from `git log -p`. A Secret written with
# stringData in Git is not drift. --secrets show never combines with commit
# mode or --push.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml" --readonly-token "ro-$$"
make_repo
kc create secret generic pins -n shop --from-literal=pin=123456 >/dev/null
kc create secret generic pins2 -n shop --from-literal=pin=123456 >/dev/null

# ---- keyed, bound, shared ---------------------------------------------------------------
check "a mount with --sync commit" mount_gfs --sync commit
S=$MNT/shop/secrets
check "the import is committed" wait_for 10 git --git-dir="$STATE/git" rev-parse -q --verify main
check "the cluster got its redaction key" kc get secret gitopsfs-redaction-key -n kube-system
check "which the mount does not show" test ! -e "$MNT/kube-system/secrets/gitopsfs-redaction-key.yaml"
pin1=$(sed -n 's/^  pin: //p' "$S/pins.yaml")
pin2=$(sed -n 's/^  pin: //p' "$S/pins2.yaml")
check "the value is shown as a keyed digest" grep -qE '^gitopsfs-redacted:hmac-sha256:[0-9a-f]{32}$' <<<"$pin1"
check "equal values in two Secrets do not match" test "$pin1" != "$pin2"
log=$(git --git-dir="$STATE/git" log -p main)
check "git log -p holds the digest" grep -qF "$pin1" <<<"$log"
check "and not the value" bash -c '! grep -qE "123456|MTIzNDU2" <<<"$1"' _ "$log"
key=$(kc get secret gitopsfs-redaction-key -n kube-system -o jsonpath='{.data.key}')
check "nor the key" bash -c '! grep -qF "$1" <<<"$2" && ! git --git-dir="$3" grep -qF "$1" main' _ "$key" "$log" "$STATE/git"
# An attacker with the repository tries every 6-digit PIN, with every
# digest they could compute without the key; only the key finds it.
found=$(python3 - "${pin1##*:}" "$key" <<'EOF'
import base64, hashlib, hmac, sys
digest, key = sys.argv[1], base64.b64decode(sys.argv[2])
def keyless(pin):
    b = pin.encode()
    for v in (b, base64.b64encode(b)):
        for h in (hashlib.sha256(v).hexdigest(),
                  hmac.new(b'', v, hashlib.sha256).hexdigest(),
                  hmac.new(b'', b'gitopsfs-redact-v1\0shop\0pins\0pin\0' + v, hashlib.sha256).hexdigest()):
            if h.startswith(digest[:16]):
                return True
    return False
without = [p for p in ('%06d' % i for i in range(1000000)) if keyless(p)]
msg = lambda p: b'gitopsfs-redact-v1\0shop\0pins\0pin\0' + p.encode()
with_key = [p for p in ('%06d' % i for i in range(1000000))
            if hmac.new(key, msg(p), hashlib.sha256).hexdigest()[:32] == digest]
print(len(without), ','.join(with_key))
EOF
)
is "$found" "0 123456" "a brute force of all PINs finds nothing without the key (and the PIN with it)"

mkdir -p "$T/mnt2"
check "a second mount of the same cluster" "$GFS" mount --state-dir "$T/state2" "$REPO" "$T/mnt2"
check "shows the same digests, byte for byte" diff -r "$S" "$T/mnt2/shop/secrets"
check "as does export" bash -c '"$1" export "$2" 2>/dev/null && diff -r "$3" "$2/shop/secrets"' _ "$GFS" "$T/exp" "$S"
fusermount3 -u "$T/mnt2"
check "unmounts" unmount_gfs
check "remounts" mount_gfs
is "$(sed -n 's/^  pin: //p' "$S/pins.yaml")" "$pin1" "the digest is stable across remounts"
is "$(git -C "$MNT" status --porcelain shop/secrets)" "" "so committed Secrets show no drift"
# A digest is never stored as a value: not this version's, not an older
# (unkeyed) one that a repository may still hold.
err=$(sed 's/^  pin: .*/  pin: gitopsfs-redacted:sha256:0123456789abcdef/' "$S/pins.yaml" | put "$S/pins.yaml" 2>&1)
check "a Secret written back with an old-style digest is refused" grep -q "Invalid argument" <<<"$err"
is "$(kc get secret pins -n shop -o jsonpath='{.data.pin}')" "MTIzNDU2" "and the value is untouched"
check "unmounts" unmount_gfs

# Credentials that may neither read nor create the key: a key of this
# machine, with a warning (the readonly user may get, not create).
kc delete secret gitopsfs-redaction-key -n kube-system >/dev/null
err=$("$GFS" export --context emu-readonly "$T/exp-ro" 2>&1)
check "without the right to create the key, export still works" test -f "$T/exp-ro/shop/secrets/pins.yaml"
check "warning that other machines show other digests" grep -q "redacted with a key of this machine" <<<"$err"
check "that key is private to the user" test "$(stat -c %a "$HOME"/.local/state/gitopsfs/redaction-key-*)" = 600
check "and the cluster still has no key" bash -c '! kubectl get secret gitopsfs-redaction-key -n kube-system >/dev/null 2>&1'

# ---- stringData is not drift --------------------------------------------------------------
W=$T/work
git clone -q "$REPO" "$W" 2>/dev/null
mkdir -p "$W/shop/secrets"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-git\n  namespace: shop\ntype: Opaque\nstringData:\n  token: abc\n' \
	>"$W/shop/secrets/from-git.yaml"
git -C "$W" add -A && git -C "$W" commit -qm "a Secret with stringData" && git -C "$W" push -q origin HEAD:main 2>/dev/null
"$GFS" sync --sync apply --interval 1 --state-dir "$T/state3" "$REPO" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
trap 'kill $SYNC_PID 2>/dev/null; cleanup' EXIT
check "the Secret is applied" wait_for 15 kc get secret from-git -n shop
is "$(kc get secret from-git -n shop -o jsonpath='{.data.token}')" "YWJj" "with its stringData as data"
emu DELETE /_emu/requests >/dev/null
sleep 5
writes=$(emu GET /_emu/requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] in ("PUT","PATCH","POST") and "/secrets/from-git" in r["path"]))')
is "$writes" "0" "no round re-applies it: stringData compared with the decoded data"
check "and no drift is reported" bash -c '! grep -q "from-git.yaml drifted" "$1"' _ "$T/sync.log"
kc patch secret from-git -n shop --type merge -p '{"stringData":{"token":"changed"}}' >/dev/null
check "a real change is still drift, and is healed" \
	wait_for 10 bash -c '[ "$(kubectl get secret from-git -n shop -o jsonpath={.data.token})" = YWJj ]'
kill "$SYNC_PID"; wait "$SYNC_PID" 2>/dev/null

# ---- --secrets show never commits --------------------------------------------------------
out=$("$GFS" mount --secrets show --sync commit --state-dir "$T/state4" "$REPO" "$MNT" 2>&1)
is "$?" "1" "--secrets show --sync commit is refused at start"
check "with a clear message" grep -q "would commit every Secret value in plain text to Git" <<<"$out"
check "nothing is mounted" bash -c '! mountpoint -q "$1"' _ "$MNT"
out=$("$GFS" sync --sync commit --secrets show --state-dir "$T/state5" "$REPO" 2>&1)
is "$?" "1" "the agent refuses it too"
out=$("$GFS" mount --secrets show --push --state-dir "$T/state6" "$REPO" "$MNT" 2>&1)
is "$?" "1" "--secrets show --push is refused"
printf 'secrets: show\n' >"$T/show.yaml"
out=$("$GFS" mount --config "$T/show.yaml" --sync commit --state-dir "$T/state7" "$REPO" "$MNT" 2>&1)
is "$?" "1" "secrets: show in the config with --sync commit is refused"
check "naming the config" grep -qF "secrets: show ($T/show.yaml)" <<<"$out"
check "--secrets show alone still mounts" mount_gfs --secrets show
is "$(stat -c %a "$S/pins.yaml")" "600" "shown Secrets are 0600"
check "unmounts" unmount_gfs

done_testing
