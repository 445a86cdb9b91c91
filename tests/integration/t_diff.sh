#!/usr/bin/env bash
# gitopsfs diff REPO|DIR (SPEC section 2): the branch's tree (or a
# directory) against the live cluster, rendered as the mount renders,
# as a unified diff; exit 0 same, 1 differ, 2 error; writes nothing.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
W=$T/work
git clone -q "$REPO" "$W" 2>/dev/null
push() { git -C "$W" add -A && git -C "$W" commit -qm "$1" && git -C "$W" push -q origin HEAD:main; }

# The desired state: the live cluster as export writes it (this also
# makes the cluster's redaction key, which diff itself never would).
"$GFS" export "$W" 2>/dev/null
printf '# shop cluster\n' >"$W/README.md"
push "import"
gdiff() { "$GFS" diff "$@" >"$T/diff.out" 2>"$T/diff.err"; echo $? >"$T/diff.rc"; }
rc() { cat "$T/diff.rc"; }
# The changed lines of the diff, without the file headers.
changes() { grep -E '^[-+]' "$T/diff.out" | grep -vE '^(---|\+\+\+) '; }

before=$(wc -l <"$T/requests.log")
gdiff "$REPO"
is "$(rc)" "0" "the cluster as committed: exit 0"
is "$(cat "$T/diff.out")" "" "and no output"
is "$(cat "$T/diff.err")" "" "and nothing on stderr"
writes=$(tail -n +"$((before + 1))" "$T/requests.log" | grep -cvE '"method": "GET"')
is "$writes" "0" "diff sends only GET requests to the cluster"

# An out-of-band change shows as exactly that field.
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"debug"}}' >/dev/null
gdiff "$REPO"
is "$(rc)" "1" "a live change: exit 1"
is "$(changes)" $'-  LOG_LEVEL: info\n+  LOG_LEVEL: debug' "the diff shows exactly the changed field"
is "$(grep '^diff --git' "$T/diff.out")" "diff --git a/shop/configmaps/web-config.yaml b/shop/configmaps/web-config.yaml" \
	"one file, with its path in the tree"
check "the diff is one git apply accepts (it turns Git into live)" bash -c '
	cd "$1" && git apply --check "$2"' _ "$W" "$T/diff.out"

# A file only in Git, a live object not in Git.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planned\n  namespace: shop\ndata:\n  a: "1"\n' \
	>"$W/shop/configmaps/planned.yaml"
push "planned"
mkcm shop adhoc k=v
gdiff "$REPO"
is "$(rc)" "1" "files missing on either side: exit 1"
check "a file only in Git shows as deleted" bash -c 'grep -A1 -F "a/shop/configmaps/planned.yaml b/" "$1" | grep -q "^deleted file mode"' _ "$T/diff.out"
check "a live object not in Git shows as new" bash -c 'grep -A1 -F "a/shop/configmaps/adhoc.yaml b/" "$1" | grep -q "^new file mode"' _ "$T/diff.out"
check "  with its rendered bytes" grep -qx '+  k: v' "$T/diff.out"
check "ordinary files (README.md) are not compared" bash -c '! grep -q README "$1"' _ "$T/diff.out"
is "$(grep -c '^diff --git' "$T/diff.out")" "3" "three files differ, no more"

# Git rendered the way the mount renders: a sparse, unsorted manifest
# with stringData equals the live object.
kc create secret generic api-token -n shop --from-literal=token=t0ken >/dev/null
printf 'kind: Secret\napiVersion: v1\nmetadata: {namespace: shop, name: api-token}\ntype: Opaque\nstringData:\n  token: t0ken\n' \
	>"$W/shop/secrets/api-token.yaml"
git -C "$W" rm -q shop/configmaps/planned.yaml
"$GFS" export "$T/exp" 2>/dev/null
cp "$T/exp/shop/configmaps/adhoc.yaml" "$T/exp/shop/configmaps/web-config.yaml" "$W/shop/configmaps/"
push "catch up"
gdiff "$REPO"
is "$(rc)" "0" "formatting and stringData make no difference"
check "  (no output)" test ! -s "$T/diff.out"
check "no Secret value in any output" bash -c '! grep -rq -e t0ken -e "$(printf t0ken | base64)" "$1"/diff.*' _ "$T"

# Ignore rules of the branch's config hold.
printf 'ignore:\n  - resource: configmaps\n    paths: [/data/LOG_LEVEL]\n' >"$W/.gitopsfs.yaml"
push "ignore log level"
kc patch configmap web-config -n shop --type merge -p '{"data":{"LOG_LEVEL":"warn"}}' >/dev/null
gdiff "$REPO"
is "$(rc)" "0" "an ignored field never differs"
kc patch configmap web-config -n shop --type merge -p '{"data":{"nginx.conf":"x"}}' >/dev/null
gdiff "$REPO"
is "$(rc)" "1" "another field of the same object still does"

# DIR mode: a directory in the layout, as it is (not committed).
gdiff "$T/exp"
is "$(rc)" "1" "DIR mode: the export taken before the changes differs"
is "$(changes | grep '^+')" $'+  LOG_LEVEL: warn\n+  nginx.conf: x' "  the live side of exactly the two changed fields"
"$GFS" export "$T/exp" 2>/dev/null
gdiff "$T/exp"
is "$(rc)" "0" "DIR mode: a fresh export is equal"
printf 'not: [valid\n' >"$T/exp/shop/configmaps/web-config.yaml"
gdiff "$T/exp"
is "$(rc)" "1" "an invalid manifest differs"
check "  with a warning naming the file and line" grep -q 'web-config.yaml: invalid YAML at line' "$T/diff.err"

# A diff ends up in CI logs: never a Secret value, even with secrets: show
# (both sides are compared as keyed digests).
"$GFS" export --secrets show "$T/shown" 2>/dev/null
check "(an export with the values shown has them)" grep -q "$(printf s3cr3t-password | base64)" "$T/shown/shop/secrets/db-credentials.yaml"
gdiff --secrets show "$T/shown"
is "$(rc)" "0" "--secrets show: a tree of plain values equals the cluster"
kc patch secret db-credentials -n shop --type merge -p "{\"data\":{\"password\":\"$(printf n3w-pass | base64)\"}}" >/dev/null
gdiff --secrets show "$T/shown"
is "$(rc)" "1" "  a changed value differs"
check "  shown as its digest" grep -q '^+  password: gitopsfs-redacted:hmac-sha256:' "$T/diff.out"
check "  never as the value, old or new" bash -c '! grep -q -e s3cr3t -e n3w-pass -e "$(printf s3cr3t-password | base64)" -e "$(printf n3w-pass | base64)" "$1"' _ "$T/diff.out"

# --branch, and a URL (cloned into a temporary directory that goes away).
git -C "$W" checkout -qb other
git -C "$W" rm -q shop/configmaps/adhoc.yaml
git -C "$W" commit -qm "other" && git -C "$W" push -q origin other
mkdir -p "$T/tmp"
TMPDIR=$T/tmp gdiff --branch other "file://$REPO"
is "$(rc)" "1" "--branch other of a URL"
check "  shows that branch's tree" bash -c 'grep -A1 -F "a/shop/configmaps/adhoc.yaml b/" "$1" | grep -q "^new file mode"' _ "$T/diff.out"
is "$(ls -A "$T/tmp")" "" "  and the temporary clone is removed"
is "$(git -C "$REPO" for-each-ref | wc -l)" "2" "REPO is not changed (two branches, as pushed)"

# An empty repository: every live object is new.
git init -q --bare "$T/empty.git"
gdiff "$T/empty.git"
is "$(rc)" "1" "an empty repository: exit 1"
is "$(grep -c '^new file mode' "$T/diff.out")" "$(find "$T/exp" -name '*.yaml' | wc -l)" "  every live object shows as new"

# Errors: exit 2 with a message that says what is wrong.
gdiff --branch nope "$REPO"
is "$(rc)" "2" "no such branch: exit 2"
check "  says so" grep -q 'has no branch nope' "$T/diff.err"
gdiff "$T/no-such-repo"
is "$(rc)" "2" "no such repository: exit 2"
check "  says so" grep -q 'neither a Git repository nor a directory' "$T/diff.err"
gdiff --kubeconfig "$T/missing-kubeconfig" "$REPO"
is "$(rc)" "2" "a kubeconfig that is not there: exit 2"
check "  names it" grep -q 'missing-kubeconfig' "$T/diff.err"
sed "s#$EMU_URL#https://127.0.0.1:1#" "$KUBECONFIG" >"$T/unreachable"
gdiff --kubeconfig "$T/unreachable" --timeout 5 "$REPO"
is "$(rc)" "2" "an unreachable server: exit 2"
check "  says which" grep -q '127.0.0.1:1' "$T/diff.err"
gdiff "$REPO" extra
is "$(rc)" "2" "a usage error: exit 2"
check "no stdout on errors" test ! -s "$T/diff.out"

done_testing
