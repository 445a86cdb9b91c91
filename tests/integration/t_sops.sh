#!/usr/bin/env bash
# secrets: sops (SPEC sections 4 and 7): Secrets show in the SOPS YAML
# format, encrypted to the config's age recipients; the files decrypt with
# the age CLI and an independent implementation (sops_check.py); an
# unchanged Secret keeps its bytes across reads and mounts, a changed value
# changes its own line only; a SOPS file made by sops (Flux's published
# test data) or by the independent encryptor, written into the mount, is
# verified and applied, a tampered one refused; sync commit puts no
# plaintext in Git; sync apply decrypts what Git holds.
. "$(dirname "$0")/lib.sh"
CHECKER=$ROOT/tests/integration/sops_check.py
FIX=$ROOT/tests/fixtures/sops

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
age-keygen -o "$T/me.txt" 2>/dev/null
R=$(age-keygen -y "$T/me.txt")
# The mount's identities: its own key, and Flux's published test key (so
# that the file sops made for that key can be written in).
cat "$T/me.txt" "$FIX/flux-keys-age.txt" >"$T/keys.txt"
W=$T/work
git clone -q "$REPO" "$W" 2>/dev/null
printf 'secrets: sops\nsops:\n  age: [%s]\n' "$R" >"$W/.gitopsfs.yaml"
git -C "$W" add -A && git -C "$W" commit -qm config && git -C "$W" push -q origin HEAD:main 2>/dev/null
kc create secret generic db -n shop --from-literal=password=s3cr3t-pw --from-literal=user=admin-user >/dev/null
b64() { printf %s "$1" | base64 -w0; }

# ---- refused without an identity -----------------------------------------------------------
out=$(mount_gfs 2>&1)
is "$?" "1" "without an age identity the mount refuses to start"
check "saying how to provide one" grep -q "set SOPS_AGE_KEY_FILE to a key file made by age-keygen" <<<"$out"
check "nothing is mounted" bash -c '! mountpoint -q "$1"' _ "$MNT"
rm -rf "$STATE"
check "--secrets redact overrides the config" mount_gfs --secrets redact
err=$(put "$MNT/shop/secrets/age.yaml" <"$FIX/flux-algorithms-age.yaml" 2>&1)
check "where a SOPS file written in is refused" grep -q "Invalid argument" <<<"$err"
check "saying the mount cannot decrypt it" grep -q "SOPS-encrypted, but this mount is not in secrets: sops mode" "$MNT/.gitopsfs/errors"
check "and nothing is created" bash -c '! kubectl get secret age -n shop >/dev/null 2>&1'
check "unmounts" unmount_gfs
rm -rf "$STATE"

# ---- shown encrypted, decrypts outside gitopsfs --------------------------------------------
export SOPS_AGE_KEY_FILE=$T/keys.txt
check "with SOPS_AGE_KEY_FILE it mounts" mount_gfs
F=$MNT/shop/secrets/db.yaml
check "the Secret's values are ENC[AES256_GCM,...]" grep -qE '^  password: ENC\[AES256_GCM,data:.*,type:str\]$' "$F"
check "with the sops block and recipient" grep -qF "    recipient: $R" "$F"
check "encrypted_regex as Flux expects" grep -qF 'encrypted_regex: ^(data|stringData)$' "$F"
check "no plaintext in the file" bash -c '! grep -qE "s3cr3t-pw|$1|admin-user|$2" "$3"' _ "$(b64 s3cr3t-pw)" "$(b64 admin-user)" "$F"
plain=$(python3 "$CHECKER" decrypt "$F" "$T/me.txt")
is "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["password"])' <<<"$plain")" "$(b64 s3cr3t-pw)" \
	"age -d + python's AES-GCM decrypt it, MAC verified, to the live value"
key=$(sed -n '/-----BEGIN AGE/,/-----END AGE/p' "$F" | sed 's/^ *//' | age -d -i "$T/me.txt" | wc -c)
is "$key" "32" "the data key opens with age -d -i (32 bytes)"
first=$(cat "$F")
is "$(cat "$F")" "$first" "a second read gives the same bytes"

# ---- stable across mounts once committed; a change shows as its own line -------------------
git -C "$MNT" add -A >/dev/null 2>&1
check "the cluster is committed" git -C "$MNT" commit -qm import
check "unmounts" unmount_gfs
check "remounts" mount_gfs
is "$(cat "$F")" "$first" "a remount shows the same bytes"
is "$(git -C "$MNT" status --porcelain shop/secrets)" "" "git status stays clean"
kc patch secret db -n shop --type merge -p "{\"data\":{\"password\":\"$(b64 n3w-pw)\"}}" >/dev/null
check "a live change shows" wait_for 10 bash -c '! diff -q <(printf "%s\n" "$1") "$2" >/dev/null' _ "$first" "$F"
changed=$(git -C "$MNT" diff -U0 shop/secrets/db.yaml | grep -E '^[-+] ' | sed -E 's/^[-+] *//; s/:.*//' | sort -u | tr '\n' ' ')
is "$changed" "lastmodified mac password " "git diff shows the password line only (and the MAC)"
plain=$(python3 "$CHECKER" decrypt "$F" "$T/me.txt")
is "$(python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["password"], d["user"])' <<<"$plain")" \
	"$(b64 n3w-pw) $(b64 admin-user)" "and decrypts to the new value, the other unchanged"
kc patch secret db -n shop --type merge -p "{\"data\":{\"password\":\"$(b64 s3cr3t-pw)\"}}" >/dev/null
check "a value changed back shows Git's bytes again" wait_for 10 bash -c '[ -z "$(git -C "$1" status --porcelain shop/secrets)" ]' _ "$MNT"
kc patch secret db -n shop --type merge -p "{\"data\":{\"password\":\"$(b64 n3w-pw)\"}}" >/dev/null
check "changed again" wait_for 10 bash -c '[ -n "$(git -C "$1" status --porcelain shop/secrets)" ]' _ "$MNT"
check "git checkout puts Git's version back" git -C "$MNT" checkout -- shop/secrets/db.yaml
check "the cluster follows" wait_for 10 bash -c '[ "$(kubectl get secret db -n shop -o jsonpath={.data.password})" = "$1" ]' _ "$(b64 s3cr3t-pw)"
check "and the file shows Git's bytes again" wait_for 10 bash -c '[ -z "$(git -C "$1" status --porcelain shop/secrets)" ]' _ "$MNT"

# ---- writing SOPS files --------------------------------------------------------------------
check "a file made by sops (Flux's test data) is written" put "$MNT/shop/secrets/age.yaml" <"$FIX/flux-algorithms-age.yaml"
is "$(kc get secret age -n shop -o jsonpath='{.data.key}')" "$(b64 value)" "and its plaintext applied"
check "then shows encrypted to the mount's recipient" grep -qF "    recipient: $R" "$MNT/shop/secrets/age.yaml"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: indep\n  namespace: shop\n  labels:\n    tier: db\ntype: Opaque\nimmutable: false\nstringData:\n  token: py-t0ken\n  port: "5432"\n' >"$T/indep.yaml"
python3 "$CHECKER" encrypt "$T/indep.yaml" "$R" >"$T/indep.enc.yaml"
check "a file made by the independent encryptor is written" put "$MNT/shop/secrets/indep.yaml" <"$T/indep.enc.yaml"
is "$(kc get secret indep -n shop -o jsonpath='{.data.token}')" "$(b64 py-t0ken)" "and applied"
sed 's/tier: db/tier: web/' "$T/indep.enc.yaml" >"$T/tampered.yaml"
err=$(put "$MNT/shop/secrets/indep.yaml" <"$T/tampered.yaml" 2>&1)
check "a tampered file (a clear field changed) is refused with EINVAL" grep -q "Invalid argument" <<<"$err"
check "the reason is in the file's xattr" python3 -c 'import os,sys; v=os.getxattr(sys.argv[1], "user.gitopsfs.error").decode(); print("#", v); assert "MAC does not match" in v' "$MNT/shop/secrets/indep.yaml"
check "and in .gitopsfs/errors" grep -q "indep.yaml: not applied: SOPS: the MAC does not match the values" "$MNT/.gitopsfs/errors"
diag "$(tail -n 1 "$MNT/.gitopsfs/errors")"
is "$(kc get secret indep -n shop -o jsonpath='{.metadata.labels.tier}')" "db" "nothing was applied"
check "no plaintext in errors" bash -c '! grep -qE "py-t0ken|s3cr3t|n3w-pw" "$1"' _ "$MNT/.gitopsfs/errors"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\n  namespace: shop\ntype: Opaque\nstringData:\n  api: pl41n-v4lue\n' |
	put "$MNT/shop/secrets/plain.yaml"
is "$(kc get secret plain -n shop -o jsonpath='{.data.api}')" "$(b64 pl41n-v4lue)" "a plaintext Secret written is applied"
check "and then shows encrypted" wait_for 5 grep -qE '^  api: ENC\[AES256_GCM' "$MNT/shop/secrets/plain.yaml"
check "unmounts" unmount_gfs
printf 'secrets: sops\nsops:\n  age: [%s]\n' "$R" >"$T/export.yaml"
check "export --config with secrets: sops" "$GFS" export --config "$T/export.yaml" "$T/exp"
check "writes the Secret encrypted" grep -qE '^  password: ENC\[AES256_GCM' "$T/exp/shop/secrets/db.yaml"
check "which decrypts outside gitopsfs" python3 "$CHECKER" decrypt "$T/exp/shop/secrets/db.yaml" "$T/me.txt"

# ---- sync commit: no plaintext in Git ------------------------------------------------------
check "a mount with --sync commit" mount_gfs --sync commit
kc patch secret db -n shop --type merge -p "{\"data\":{\"password\":\"$(b64 c0mmit-pw)\"}}" >/dev/null
check "the change is committed" wait_for 15 bash -c 'git --git-dir="$1" log -p main -- shop/secrets/db.yaml | grep -q "^+  password: ENC"' _ "$STATE/git"
hist=$(git --git-dir="$STATE/git" log -p --all)
check "the Flux Secret's value is not in Git's history" bash -c '! grep -qF "$1" <<<"$2"' _ "$(b64 value)" "$hist"
for v in s3cr3t-pw n3w-pw c0mmit-pw admin-user py-t0ken pl41n-v4lue; do
	check "no $v in Git's history (nor its base64)" bash -c '! grep -qE -- "(^|[^a-z])$1([^a-z]|$)|$2" <<<"$3"' _ "$v" "$(b64 "$v")" "$hist"
done
check "unmounts" unmount_gfs

# ---- sync apply decrypts what Git holds ----------------------------------------------------
git -C "$W" pull -q origin main 2>/dev/null
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-git\n  namespace: shop\ntype: Opaque\ndata:\n  token: %s\n' "$(b64 g1t-t0ken)" >"$T/fg.yaml"
mkdir -p "$W/shop/secrets"
python3 "$CHECKER" encrypt "$T/fg.yaml" "$R" >"$W/shop/secrets/from-git.yaml"
git -C "$W" add -A && git -C "$W" commit -qm "an encrypted Secret" && git -C "$W" push -q origin HEAD:main 2>/dev/null
SOPS_AGE_KEY="$(grep AGE-SECRET "$T/me.txt")" SOPS_AGE_KEY_FILE= \
	"$GFS" sync --sync apply --interval 1 --state-dir "$T/state-apply" "$REPO" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
trap 'kill $SYNC_PID 2>/dev/null; cleanup' EXIT
check "the agent (key in SOPS_AGE_KEY) applies the Secret from Git" wait_for 15 kc get secret from-git -n shop
is "$(kc get secret from-git -n shop -o jsonpath='{.data.token}')" "$(b64 g1t-t0ken)" "decrypted"
emu DELETE /_emu/requests >/dev/null
sleep 4
writes=$(emu GET /_emu/requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] in ("PUT","PATCH","POST") and "/secrets/from-git" in r["path"]))')
is "$writes" "0" "an unchanged Secret is not drift (plaintext compared with plaintext)"
kc patch secret from-git -n shop --type merge -p "{\"data\":{\"token\":\"$(b64 dr1ft)\"}}" >/dev/null
check "a changed value is drift, and is healed" \
	wait_for 10 bash -c '[ "$(kubectl get secret from-git -n shop -o jsonpath={.data.token})" = "$1" ]' _ "$(b64 g1t-t0ken)"
check "the log holds no plaintext" bash -c '! grep -qE "g1t-t0ken|dr1ft|$1|$2" "$3"' _ "$(b64 g1t-t0ken)" "$(b64 dr1ft)" "$T/sync.log"
kill "$SYNC_PID"; wait "$SYNC_PID" 2>/dev/null

# ---- gitopsfs diff decrypts SOPS files and prints no value --------------------------------
gdiff() { SOPS_AGE_KEY="$(grep AGE-SECRET "$T/me.txt")" SOPS_AGE_KEY_FILE= "$GFS" diff "$REPO" 2>&1; }
out=$(gdiff)
check "diff: the SOPS Secret equal to the cluster is no difference" bash -c '! grep -q "secrets/from-git.yaml" <<<"$1"' _ "$out"
kc patch secret from-git -n shop --type merge -p "{\"data\":{\"token\":\"$(b64 d1ff-pw)\"}}" >/dev/null
out=$(gdiff)
check "diff: a changed value is a difference of that Secret" grep -q "secrets/from-git.yaml" <<<"$out"
check "diff: and no value, plain or base64, is in its output" \
	bash -c '! grep -qE "d1ff-pw|g1t-t0ken|$1|$2" <<<"$3"' _ "$(b64 d1ff-pw)" "$(b64 g1t-t0ken)" "$out"

# ---- recipients from .sops.yaml ------------------------------------------------------------
age-keygen -o "$T/team.txt" 2>/dev/null
R2=$(age-keygen -y "$T/team.txt")
printf 'secrets: sops\n' >"$W/.gitopsfs.yaml"
printf 'creation_rules:\n  - path_regex: ^shop/secrets/db\\.yaml$\n    key_groups:\n      - age: [%s]\n  - path_regex: \\.yaml$\n    age: %s,%s\n' "$R2" "$R" "$R2" >"$W/.sops.yaml"
git -C "$W" add -A && git -C "$W" commit -qm ".sops.yaml" && git -C "$W" push -q origin HEAD:main 2>/dev/null
rm -rf "$STATE"
check "a mount with recipients from .sops.yaml" mount_gfs
check "the first matching creation rule names the recipient" \
	bash -c 'grep -qF "recipient: $1" "$2" && ! grep -qF "recipient: $3" "$2"' _ "$R2" "$MNT/shop/secrets/db.yaml" "$R"
is "$(grep -c 'recipient: ' "$MNT/shop/secrets/age.yaml")" "2" "a later rule gives another file both recipients"
plain=$(python3 "$CHECKER" decrypt "$MNT/shop/secrets/db.yaml" "$T/team.txt")
is "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["user"])' <<<"$plain")" "$(b64 admin-user)" \
	"which the team's key decrypts"
check "unmounts" unmount_gfs

done_testing
