#!/usr/bin/env bash
# Every served resource at every served version (SPEC sections 3 and 5): a
# resource served only at a non-preferred version of its group is shown
# and writable; a manifest in another served version is applied in that
# version and reads back in it (no false drift for a repository that
# pins an older version); an unserved version is refused with the
# versions that are served.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
crd() { # PLURAL KIND VERSION:STORAGE...
	local plural=$1 kind=$2; shift 2
	printf 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: %s.ver.example.com\nspec:\n  group: ver.example.com\n  scope: Namespaced\n  names: {plural: %s, kind: %s}\n  versions:\n' "$plural" "$plural" "$kind"
	for v in "$@"; do
		printf '  - name: %s\n    served: true\n    storage: %s\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n' "${v%%:*}" "${v#*:}"
	done
}
{ crd widgets Widget v1:true v1beta1:false; echo ---; crd gadgets Gadget v1alpha1:true; } | kc apply -f - >/dev/null
kc wait --for condition=established crd/widgets.ver.example.com crd/gadgets.ver.example.com >/dev/null
printf 'apiVersion: ver.example.com/v1alpha1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: shop\nspec:\n  size: 1\n' | kc create -f - >/dev/null
printf 'apiVersion: ver.example.com/v1\nkind: Widget\nmetadata:\n  name: w0\n  namespace: shop\n' | kc create -f - >/dev/null
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
jp() { kc get "$@" 2>/dev/null; }

# A resource served only at v1alpha1 while its group prefers v1.
GD=$MNT/shop/gadgets.ver.example.com
check "a resource served only at a non-preferred version is shown" test -f "$GD/g1.yaml"
check "at that version" grep -q '^apiVersion: ver.example.com/v1alpha1$' "$GD/g1.yaml"
sed 's/name: g1/name: g2/; s/size: 1/size: 2/' "$GD/g1.yaml" >"$T/g2.yaml"
check "a file copied to its directory creates the object" cp "$T/g2.yaml" "$GD/g2.yaml"
is "$(jp gadgets.ver.example.com g2 -n shop -o jsonpath='{.spec.size}')" "2" "the cluster has it"
check "and it is no plain file: it reads back the live object" grep -q '^  size: 2$' "$GD/g2.yaml"

# A manifest in the older served version of a resource.
W=$MNT/shop/widgets.ver.example.com/w1.yaml
printf 'apiVersion: ver.example.com/v1beta1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: shop\nspec:\n  color: blue\n' >"$T/w1.yaml"
check "a v1beta1 manifest is accepted" cp "$T/w1.yaml" "$W"
check "it was created through the v1beta1 API" grep -q '"method": "POST", "path": "/apis/ver.example.com/v1beta1/namespaces/shop/widgets"' "$T/requests.log"
check "it reads back in v1beta1" diff "$T/w1.yaml" "$W"
sed -i 's/color: blue/color: red/' "$W"
is "$(jp widgets.ver.example.com w1 -n shop -o jsonpath='{.spec.color}')" "red" "an edit in v1beta1 is applied"
check "through the v1beta1 API" grep -q '"method": "PUT", "path": "/apis/ver.example.com/v1beta1/namespaces/shop/widgets/w1"' "$T/requests.log"
check "and still reads back in v1beta1" grep -q '^apiVersion: ver.example.com/v1beta1$' "$W"
G add -A && G commit -qm pinned
kc patch widgets.ver.example.com w1 -n shop --type merge -p '{"spec":{"color":"green"}}' >/dev/null
check "a change by someone else shows, still in v1beta1" wait_for 5 grep -q 'color: green' "$W"
check "as drift in git diff" bash -c 'git -C "$1" diff | grep -q "^+  color: green"' _ "$MNT"
G checkout -q -- shop/widgets.ver.example.com/w1.yaml
is "$(jp widgets.ver.example.com w1 -n shop -o jsonpath='{.spec.color}')" "red" "git checkout puts Git's version back"
unmount_gfs
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
is "$(G status --porcelain)" "" "no false drift after a remount for the pinned version"

# An unserved version is refused with the served ones named.
err=$(sed 's|ver.example.com/v1beta1|ver.example.com/v2|' "$T/w1.yaml" | put "$MNT/shop/widgets.ver.example.com/w2.yaml" 2>&1)
check "a manifest in an unserved version is refused" grep -q "Invalid argument" <<<"$err"
check "naming the versions served" grep -q "not served at ver.example.com/v2.*versions: v1, v1beta1" "$MNT/.gitopsfs/errors"
done_testing
