#!/usr/bin/env bash
# The vendored upstream manifests (tests/fixtures/upstream/: Argo CD, kube-prometheus,
# ingress-nginx, Gateway API, Tekton, ...) loaded into the emulated kube-apiserver with the
# real kubectl, as their projects document it: every object is accepted and reads back, custom
# resources read at every served version of their CRD, and discovery shows resources that a
# group serves only at a version it does not prefer. Prints TAP.
# Run from the repository root: bash tests/apiserver/t_fixtures.sh
. "$(dirname "$0")/lib.sh"
LOAD=$ROOT/tests/fixtures/load.py

# --- load the set with kubectl ----------------------------------------------------------------
start_emulator --history 20000
ok "emulator starts on port $PORT"
out=$(python3 "$LOAD" --kubeconfig "$KUBECONFIG" 2>&1)
rc=$?
last=$(printf '%s\n' "$out" | tail -n 1)
objects=$(printf '%s' "$last" | sed -n 's/^objects: \([0-9]*\) .*/\1/p')
kinds=$(printf '%s' "$last" | sed -n 's/^objects: [0-9]* kinds: \([0-9]*\) .*/\1/p')
like "the set: several hundred objects of many kinds" '^objects: [0-9]{3,} kinds: [0-9]{2,} ' "$last"
unlike "no object is defined twice (the set loads into one cluster)" '^duplicate' "$out"
like "kubectl apply --server-side accepts all $objects objects of $kinds kinds" \
	"^objects: $objects kinds: $kinds accepted: all " "$last"
like "kubectl get -f returns every one of them" "found: $objects\$" "$last"
is "the loader reports no failure" "0 $last" "$rc $(printf '%s\n' "$out" | grep -v '^objects:' | head -n 20)$last"

# --- custom resources at every served version (conversion strategy None) ----------------------
G=gateway.networking.k8s.io
at_version() { # plural version -> "<apiVersion> <namespace>/<name>" per object, sorted
	kj get "$1.$2.$G" -A -o jsonpath='{range .items[*]}{.apiVersion} {.metadata.namespace}/{.metadata.name}{"\n"}{end}' | sort
}
for r in gateways httproutes referencegrants; do
	v1=$(at_version $r v1)
	b1=$(at_version $r v1beta1)
	like "$r: objects exist at v1" "^$G/v1 " "$v1"
	is "$r: the same objects read at v1beta1, apiVersion $G/v1beta1" \
		"$(printf '%s\n' "$v1" | sed "s|^$G/v1 |$G/v1beta1 |")" "$b1"
done
is "referencegrants are stored at v1beta1 and were written at v1" "v1beta1 true true" \
	"$(kj get crd referencegrants.$G -o jsonpath='{.status.storedVersions[0]} {.spec.versions[?(@.name=="v1")].served} {.spec.versions[?(@.name=="v1beta1")].storage}')"
same=$(python3 - "$(kj get --raw /apis/$G/v1/namespaces/gateway-examples/httproutes)" \
	"$(kj get --raw /apis/$G/v1beta1/namespaces/gateway-examples/httproutes)" <<'EOF'
import json, sys
a, b = (json.loads(x)['items'] for x in sys.argv[1:3])
for o in a + b:
    o.pop('apiVersion')
print('same' if a == b and a else 'differ: %d vs %d items' % (len(a), len(b)))
EOF
)
is "an HTTPRoute list is the same at v1 and v1beta1 but for apiVersion" "same" "$same"
route=$ROOT/tests/fixtures/upstream/gateway-api/examples/standard/httproute.yaml
sed -e "s|apiVersion: $G/v1\$|apiVersion: $G/v1beta1|" -e 's|^  name: .*|  name: written-at-v1beta1|' \
	"$route" >"$T/route-v1beta1.yaml"
like "an HTTPRoute manifest pinned to v1beta1 is created at v1beta1" \
	"httproute.$G/written-at-v1beta1 created" "$(k create -f "$T/route-v1beta1.yaml")"
is "... and reads back at v1 with the same spec" "$G/v1 True" \
	"$(python3 - "$(kj get httproutes.v1.$G written-at-v1beta1 -o json)" \
		"$(kj get httproutes.v1beta1.$G written-at-v1beta1 -o json)" <<'EOF'
import json, sys
a, b = (json.loads(x) for x in sys.argv[1:3])
print(a['apiVersion'], a['spec'] == b['spec'] and b['apiVersion'].endswith('/v1beta1'))
EOF
)"

# --- discovery: resources served only at a version the group does not prefer ------------------
M=monitoring.coreos.com
is "$M prefers v1 and also serves v1alpha1" "v1 v1 v1alpha1" \
	"$(kj get --raw /apis/$M | python3 -c 'import json,sys; g=json.load(sys.stdin); print(g["preferredVersion"]["version"], *[v["version"] for v in g["versions"]])')"
is "/apis/$M/v1alpha1 lists the resources served only there" \
	"alertmanagerconfigs prometheusagents scrapeconfigs" \
	"$(kj get --raw /apis/$M/v1alpha1 | python3 -c 'import json,sys; print(*[r["name"] for r in json.load(sys.stdin)["resources"] if "/" not in r["name"]])')"
like "kubectl api-resources shows them at $M/v1alpha1" \
	"alertmanagerconfigs +amcfg +$M/v1alpha1 .*prometheusagents +promagent +$M/v1alpha1 .*scrapeconfigs +scfg +$M/v1alpha1" \
	"$(echo $(k api-resources --api-group=$M))"
like "tekton.dev prefers v1; customruns are served only at v1beta1" \
	'"preferredVersion":\{"groupVersion":"tekton.dev/v1".*customruns tekton.dev/v1beta1 ' \
	"$(echo $(kj get --raw /apis/tekton.dev) $(k api-resources --api-group=tekton.dev --no-headers))"
is "a Prometheus and the PrometheusRules read back at the preferred version" "$M/v1 $M/v1" \
	"$(kj get prometheus k8s -n monitoring -o jsonpath='{.apiVersion}') $(kj get prometheusrules -A -o jsonpath='{.items[0].apiVersion}')"

# --- built-in kinds the manifests need, read back with the server's defaults ------------------
is "ValidatingWebhookConfiguration: webhook defaults" "Fail Equivalent 10 443 *" \
	"$(kj get validatingwebhookconfiguration ingress-nginx-admission -o jsonpath='{.webhooks[0].failurePolicy} {.webhooks[0].matchPolicy} {.webhooks[0].timeoutSeconds} {.webhooks[0].clientConfig.service.port} {.webhooks[0].rules[0].scope}')"
is "MutatingWebhookConfiguration: reinvocationPolicy Never" "Never" \
	"$(kj get mutatingwebhookconfigurations -o jsonpath='{.items[0].webhooks[0].reinvocationPolicy}')"
is "HorizontalPodAutoscaler (autoscaling/v2): the rules a behavior leaves out are filled in" \
	"Max 0 Pods Max 30" \
	"$(kj get hpa -n kubernetes-examples gemma-server-hpa -o jsonpath='{.spec.behavior.scaleUp.selectPolicy} {.spec.behavior.scaleUp.stabilizationWindowSeconds} {.spec.behavior.scaleUp.policies[0].type} {.spec.behavior.scaleDown.selectPolicy} {.spec.behavior.scaleDown.stabilizationWindowSeconds}')"
is "IngressClass, RuntimeClass, FlowSchema, ValidatingAdmissionPolicy are served" \
	"nginx kata-qemu health-for-strangers safe-upgrades.gateway.networking.k8s.io" \
	"$(kj get ingressclass nginx -o name | cut -d/ -f2) $(kj get runtimeclass kata-qemu -o name | cut -d/ -f2) $(kj get flowschema health-for-strangers -o name | cut -d/ -f2) $(kj get validatingadmissionpolicies -o name | cut -d/ -f2)"
is "Ingress: an empty load balancer status" '{"loadBalancer":{}}' \
	"$(kj get ingress -n kubernetes-examples -o jsonpath='{.items[0].status}')"
is "the system PriorityClasses exist, and a pod gets the priority of its class" \
	"2000001000 2000000000 2000000000" \
	"$(kj get pc system-node-critical -o jsonpath='{.value}') $(kj get pc system-cluster-critical -o jsonpath='{.value}') $(kj get pods -n kube-system -l app=csi-nfs-controller -o jsonpath='{.items[0].spec.priority}')"
is "APIService: not available, as nothing serves its group" "False MissingEndpoints" \
	"$(kj get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[0].status} {.status.conditions[0].reason}')"
is "Job: the server's selector and labels" "yes ingress-nginx-admission-create" \
	"$(kj get job -n ingress-nginx ingress-nginx-admission-create -o go-template='{{if eq (index .spec.selector.matchLabels "batch.kubernetes.io/controller-uid") .metadata.uid}}yes{{end}} {{index .spec.template.metadata.labels "job-name"}}')"
is "StatefulSet: volumeClaimTemplates stored as full claims" "PersistentVolumeClaim Filesystem Pending" \
	"$(kj get sts -n kubernetes-examples cassandra -o jsonpath='{.spec.volumeClaimTemplates[0].kind} {.spec.volumeClaimTemplates[0].spec.volumeMode} {.spec.volumeClaimTemplates[0].status.phase}')"
is "ReplicationController: selector and labels from the template's; scale subresource" \
	"guestbook frontend guestbook 3" \
	"$(kj get rc -n kubernetes-examples frontend -o jsonpath='{.spec.selector.app} {.spec.selector.tier} {.metadata.labels.app}') $(kj get --raw /api/v1/namespaces/kubernetes-examples/replicationcontrollers/frontend/scale | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["replicas"])')"
is "CSIDriver: the fields the manifest leaves out are defaulted" "false File false false false" \
	"$(kj get csidriver nfs.csi.k8s.io -o jsonpath='{.spec.attachRequired} {.spec.fsGroupPolicy} {.spec.podInfoOnMount} {.spec.requiresRepublish} {.spec.storageCapacity}')"

# --- what a real server refuses, refused the same way -----------------------------------------
like "client-side apply of a large CRD fails as on a real server (annotation too long)" \
	'metadata.annotations: Too long: may not be more than 262144 bytes' \
	"$(k apply -f "$ROOT/tests/fixtures/upstream/kube-prometheus/manifests/setup/0prometheusCustomResourceDefinition.yaml")"
cat >"$T/deprecated.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, kind: Gadget}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema: {openAPIV3Schema: {type: object}}
EOF
k create -f "$T/deprecated.yaml" >/dev/null
like "a request at a deprecated served version gets the deprecation warning" \
	'Warning: example.com/v1beta1 Gadget is deprecated' "$(k get gadgets.v1beta1.example.com)"

kill -TERM "$EMU_PID"
wait "$EMU_PID"
is "SIGTERM ends the emulator cleanly" "0" "$?"
EMU_PID=
echo "1..$n"
[ "$failed" -eq 0 ]
