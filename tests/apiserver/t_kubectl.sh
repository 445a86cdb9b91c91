#!/usr/bin/env bash
# The emulated kube-apiserver driven by the real kubectl: every assertion checks an outcome
# read back from the server (kubectl -o jsonpath, or curl on the wire). Prints TAP.
# Run from the repository root: bash tests/apiserver/t_kubectl.sh
. "$(dirname "$0")/lib.sh"

# --- start -------------------------------------------------------------------------------
start_emulator --readonly-token "ro-$TOKEN" --history 10000 --bookmark-seconds 1
ok "emulator starts (TLS, token) on port $PORT and writes a kubeconfig"
is "pidfile holds the emulator's pid" "$EMU_PID" "$(cat "$T/pid")"

# --- discovery and start-up state ---------------------------------------------------------
like "kubectl version reports server v1.32" 'Server Version: v1\.32' "$(k version)"
is "get namespaces: the four start-up namespaces" \
	"default kube-node-lease kube-public kube-system" \
	"$(kj get ns -o jsonpath='{.items[*].metadata.name}')"
is "namespaces are Active with spec.finalizers [kubernetes] and the metadata.name label" \
	"Active kubernetes default" \
	"$(kj get ns default -o jsonpath='{.status.phase} {.spec.finalizers[0]} {.metadata.labels.kubernetes\.io/metadata\.name}')"
is "every namespace has a default ServiceAccount and kube-root-ca.crt" "default kube-root-ca.crt" \
	"$(kj get sa,cm -n kube-public -o jsonpath='{.items[*].metadata.name}')"
like "kube-root-ca.crt holds the CA certificate" 'BEGIN CERTIFICATE' \
	"$(kj get cm kube-root-ca.crt -o jsonpath='{.data.ca\.crt}')"
is "the kubernetes Service is at 10.96.0.1:443" "10.96.0.1 443" \
	"$(kj get svc kubernetes -o jsonpath='{.spec.clusterIP} {.spec.ports[0].port}')"
like "start-up ClusterRoles exist" 'admin cluster-admin edit view' \
	"$(kj get clusterroles -o jsonpath='{.items[*].metadata.name}')"
like "a Lease in kube-node-lease" 'emu-node' "$(kj get leases -n kube-node-lease -o name)"
out=$(k api-versions)
like "api-versions lists the served groups" \
	'apiextensions.k8s.io/v1.*apps/v1.*coordination.k8s.io/v1.*discovery.k8s.io/v1.*rbac.authorization.k8s.io/v1.*v1' \
	"$(echo $out)"
like "api-resources shows kinds with short names" 'deployments +deploy +apps/v1 +true +Deployment' \
	"$(k api-resources)"
like "discovery lists subresources (deployments/status, pods/log)" \
	'"name":"deployments/status".*' "$(kj get --raw /apis/apps/v1)"
like "discovery lists pods/log" '"name":"pods/log"' "$(kj get --raw /api/v1)"

# --- create -f: Deployment and Service, defaulting, controllers -----------------------------
cat >"$T/web.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
EOF
like "create -f creates a Deployment and a Service" 'deployment.apps/web created.*service/web created' \
	"$(echo $(k create -f "$T/web.yaml"))"
is "Deployment defaults" "10 600 RollingUpdate 25% 25%" \
	"$(kj get deploy web -o jsonpath='{.spec.revisionHistoryLimit} {.spec.progressDeadlineSeconds} {.spec.strategy.type} {.spec.strategy.rollingUpdate.maxSurge} {.spec.strategy.rollingUpdate.maxUnavailable}')"
is "pod template defaults" "Always 30 ClusterFirst default-scheduler IfNotPresent /dev/termination-log File TCP" \
	"$(kj get deploy web -o jsonpath='{.spec.template.spec.restartPolicy} {.spec.template.spec.terminationGracePeriodSeconds} {.spec.template.spec.dnsPolicy} {.spec.template.spec.schedulerName} {.spec.template.spec.containers[0].imagePullPolicy} {.spec.template.spec.containers[0].terminationMessagePath} {.spec.template.spec.containers[0].terminationMessagePolicy} {.spec.template.spec.containers[0].ports[0].protocol}')"
like "template metadata has creationTimestamp: null, as the real server writes it" \
	'"template":\{"metadata":\{"creationTimestamp":null,"labels"' "$(kj get --raw /apis/apps/v1/namespaces/default/deployments/web)"
svc=$(kj get svc web -o jsonpath='{.spec.clusterIP} {.spec.type} {.spec.sessionAffinity} {.spec.ipFamilies[0]} {.spec.ipFamilyPolicy} {.spec.internalTrafficPolicy} {.spec.ports[0].protocol} {.spec.ports[0].targetPort}')
like "Service defaults: clusterIP from 10.96.0.0/12 and the rest" \
	'^10\.(9[6-9]|10[0-9]|11[01])\.[0-9]+\.[0-9]+ ClusterIP None IPv4 SingleStack Cluster TCP 80$' "$svc"
is "metadata: uid, resourceVersion, creationTimestamp, generation 1" "yes yes yes 1" \
	"$(kj get deploy web -o go-template='{{if .metadata.uid}}yes{{end}} {{if .metadata.resourceVersion}}yes{{end}} {{if .metadata.creationTimestamp}}yes{{end}} {{.metadata.generation}}')"
is "managedFields: kubectl-create Update, FieldsV1" "kubectl-create Update FieldsV1 apps/v1" \
	"$(kj get deploy web -o jsonpath='{.metadata.managedFields[0].manager} {.metadata.managedFields[0].operation} {.metadata.managedFields[0].fieldsType} {.metadata.managedFields[0].apiVersion}')"
dep_uid=$(kj get deploy web -o jsonpath='{.metadata.uid}')
rs=$(kj get rs -l app=web -o jsonpath='{.items[*].metadata.name}')
like "a ReplicaSet web-<hash> is created" '^web-[bcdfghjklmnpqrstvwxz2456789]+$' "$rs"
is "the ReplicaSet is owned by the Deployment (controller, blockOwnerDeletion)" \
	"Deployment web $dep_uid true true" \
	"$(kj get rs "$rs" -o jsonpath='{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].uid} {.metadata.ownerReferences[0].controller} {.metadata.ownerReferences[0].blockOwnerDeletion}')"
pods=$(kj get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.ownerReferences[0].name}/{.status.phase} {end}')
like "two Running pods <rs>-<5 chars> owned by the ReplicaSet" \
	"^$rs-[a-z0-9]{5}=$rs/Running $rs-[a-z0-9]{5}=$rs/Running \$" "$pods"
is "pod defaults: nodeName, serviceAccountName" "emu-node default" \
	"$(kj get pods -l app=web -o jsonpath='{.items[0].spec.nodeName} {.items[0].spec.serviceAccountName}')"
is "Deployment status written by the controller" "1 2 2 2 2 True" \
	"$(kj get deploy web -o jsonpath='{.status.observedGeneration} {.status.replicas} {.status.readyReplicas} {.status.availableReplicas} {.status.updatedReplicas} {.status.conditions[?(@.type=="Available")].status}')"
like "kubectl get prints the server-side Table" 'NAME +READY +UP-TO-DATE +AVAILABLE +AGE.*web +2/2 +2 +2' \
	"$(echo $(k get deploy web))"

# --- patches -------------------------------------------------------------------------------
old_pods=$(kj get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
k patch deploy web --type=merge -p '{"spec":{"replicas":3}}' >/dev/null
is "merge patch of replicas scales the same ReplicaSet" "$rs 3" \
	"$(kj get rs -l app=web -o jsonpath='{.items[*].metadata.name} {.items[*].spec.replicas}')"
new_pods=$(kj get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
missing=
for p in $old_pods; do [[ " $new_pods " == *" $p "* ]] || missing="$missing $p"; done
is "... and keeps the existing pods (3 pods now)" " 3" "$missing $(echo $new_pods | wc -w)"
gen=$(kj get deploy web -o jsonpath='{.metadata.generation}')
k label deploy web tier=front >/dev/null
is "a metadata-only change does not bump generation" "$gen" \
	"$(kj get deploy web -o jsonpath='{.metadata.generation}')"
k patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}' >/dev/null
is "strategic merge patch merges containers by name (latest image: Always)" "nginx sidecar IfNotPresent Always" \
	"$(kj get deploy web -o jsonpath='{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[*].imagePullPolicy}')"
is "a template change bumps generation" "$((gen + 1))" "$(kj get deploy web -o jsonpath='{.metadata.generation}')"
rs2=$(kj get rs -l app=web -o jsonpath='{range .items[?(@.spec.replicas==3)]}{.metadata.name}{end}')
is "a template change makes a new ReplicaSet and scales the old one to 0" "$rs:0 $rs2:3" \
	"$(kj get rs "$rs" "$rs2" -o jsonpath='{range .items[*]}{.metadata.name}:{.spec.replicas} {end}' | sed 's/ $//')"
like "... and replaces the pods" "^($rs2-[a-z0-9]{5} ){3}\$" \
	"$(kj get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {end}')"
is "deployment.kubernetes.io/revision follows" "2" \
	"$(kj get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
k patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}' >/dev/null
is "strategic merge patch honours \$patch: delete" "nginx" \
	"$(kj get deploy web -o jsonpath='{.spec.template.spec.containers[*].name}')"
cat >"$T/cm.json" <<'EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"k1":"v1","k2":"v2"}}
EOF
k create -f "$T/cm.json" >/dev/null
k patch cm cfg --type=json -p '[{"op":"add","path":"/data/k3","value":"v3"},{"op":"remove","path":"/data/k1"},{"op":"replace","path":"/data/k2","value":"two"}]' >/dev/null
is "JSON patch add/remove/replace" '{"k2":"two","k3":"v3"}' "$(kj get cm cfg -o jsonpath='{.data}')"
like "a failing JSON patch test op is refused" 'test failed' \
	"$(k patch cm cfg --type=json -p '[{"op":"test","path":"/data/k2","value":"nope"}]')"

# --- errors --------------------------------------------------------------------------------
kj get cm cfg -o json >"$T/stale.json"
k patch cm cfg --type=merge -p '{"data":{"k4":"v4"}}' >/dev/null
like "replace with a stale resourceVersion: 409 Conflict" \
	'Error from server \(Conflict\).*Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again' \
	"$(k replace -f "$T/stale.json")"
like "create of an existing object: AlreadyExists" 'Error from server \(AlreadyExists\).*configmaps "cfg" already exists' \
	"$(k create -f "$T/cm.json")"
sed 's/"cfg"/"Bad_Name"/' "$T/cm.json" >"$T/bad.json"
like "a bad name is 422 Invalid" 'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' \
	"$(k create -f "$T/bad.json")"
like "create in a missing namespace: NotFound" 'Error from server \(NotFound\).*namespaces "nowhere" not found' \
	"$(k create -f "$T/cm.json" -n nowhere)"
like "get of a missing object: NotFound" 'Error from server \(NotFound\): configmaps "ghost" not found' \
	"$(k get cm ghost)"
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"num"},"data":{"n":1}}' >"$T/num.json"
like "a ConfigMap value that is not a string is refused" 'cannot unmarshal number into Go struct field ConfigMap.data of type string' \
	"$(k create -f "$T/num.json")"
like "a Deployment without selector is 422 Invalid" 'is invalid: .*spec.selector: Required value' \
	"$(echo '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nosel"},"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}' | k create -f -)"

# --- apply ---------------------------------------------------------------------------------
cat >"$T/app.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: app, labels: {a: "1"}}
data: {k1: v1, k2: v2}
EOF
is "client-side apply creates" "configmap/app created" "$(k apply -f "$T/app.yaml")"
is "... is unchanged when applied again" "configmap/app unchanged" "$(k apply -f "$T/app.yaml")"
sed -i 's/k2: v2/k2: v2b/' "$T/app.yaml"
is "... and configures a change" "configmap/app configured" "$(k apply -f "$T/app.yaml")"
is "client-side apply result, with last-applied-configuration" 'v2b yes kubectl-client-side-apply' \
	"$(kj get cm app -o go-template='{{.data.k2}} {{if index .metadata.annotations "kubectl.kubernetes.io/last-applied-configuration"}}yes{{end}} {{(index .metadata.managedFields 0).manager}}')"
sed -i 's/k2: v2b}/k2: v2b, k3: v3}/' "$T/app.yaml"
like "server-side apply" 'configmap/app serverside-applied' "$(k apply --server-side -f "$T/app.yaml")"
like "server-side apply records an Apply entry of manager kubectl" 'kubectl:Apply' \
	"$(kj get cm app -o jsonpath='{range .metadata.managedFields[*]}{.manager}:{.operation} {end}')"
cat >"$T/ssa.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: ssa}
data: {a: "1", b: "2"}
EOF
k apply --server-side --field-manager=gitops -f "$T/ssa.yaml" >/dev/null
k patch cm ssa --type=merge -p '{"data":{"a":"changed"}}' --field-manager=intruder >/dev/null
like "server-side apply over another manager's field: 409 conflict" \
	'Apply failed with 1 conflict: conflict with "intruder" using v1: .data.a' \
	"$(k apply --server-side --field-manager=gitops -f "$T/ssa.yaml")"
k apply --server-side --field-manager=gitops --force-conflicts -f "$T/ssa.yaml" >/dev/null
is "--force-conflicts takes the field back" "1" "$(kj get cm ssa -o jsonpath='{.data.a}')"
is "... and its ownership: the other manager's entry is gone" "gitops" \
	"$(kj get cm ssa --show-managed-fields -o jsonpath='{.metadata.managedFields[*].manager}')"
rv=$(kj get cm ssa -o jsonpath='{.metadata.resourceVersion}')
k apply --server-side --field-manager=gitops -f "$T/ssa.yaml" >/dev/null
is "a no-op apply writes nothing (same resourceVersion)" "$rv" \
	"$(kj get cm ssa -o jsonpath='{.metadata.resourceVersion}')"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: "1"}\n' >"$T/ssa2.yaml"
k apply --server-side --field-manager=gitops -f "$T/ssa2.yaml" >/dev/null
is "a field dropped from the applied config is removed" '{"a":"1"}' "$(kj get cm ssa -o jsonpath='{.data}')"
sed -i 's/nginx:1.25/nginx:1.26/' "$T/web.yaml"
like "client-side apply of a changed Deployment image" 'deployment.apps/web configured' "$(k apply -f "$T/web.yaml")"
is "... rolls out (image, revision 4)" "nginx:1.26 4" \
	"$(kj get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\.kubernetes\.io/revision}')"

# --- CRD and custom resources ----------------------------------------------------------------
cat >"$T/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string, default: blue}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
EOF
cat >"$T/w1.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
EOF
like "create -f a CRD" 'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created' \
	"$(k create -f "$T/crd.yaml")"
is "the CRD is Established" "True" \
	"$(kj get crd widgets.example.com -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')"
like "api-resources shows the CRD's resource at once" 'widgets +wd +example.com/v1 +true +Widget' \
	"$(k api-resources --api-group=example.com)"
like "create -f a custom resource" 'widget.example.com/w1 created' "$(k create -f "$T/w1.yaml")"
is "custom resource read back, schema default applied" "3 blue 1" \
	"$(kj get wd w1 -o jsonpath='{.spec.size} {.spec.color} {.metadata.generation}')"
like "printer columns of the CRD" 'NAME +SIZE.*w1 +3' "$(echo $(k get widgets))"
like "unknown fields are refused under kubectl's strict validation" 'strict decoding error: unknown field "spec.bogus"' \
	"$(printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 1, bogus: 1}\n' | k create -f -)"
like "a wrongly typed field is 422 Invalid" 'The Widget "w3" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer' \
	"$(printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {size: big}\n' | k create -f -)"
like "strategic merge patch is refused for custom resources (415)" 'is not supported by example.com/v1, Kind=Widget' \
	"$(k patch wd w1 -p '{"spec":{"size":4}}')"
k patch wd w1 --type=merge -p '{"spec":{"size":4}}' >/dev/null
is "merge patch of a custom resource bumps generation" "4 2" "$(kj get wd w1 -o jsonpath='{.spec.size} {.metadata.generation}')"
k patch wd w1 --subresource=status --type=merge -p '{"status":{"phase":"Ready"},"spec":{"size":99}}' >/dev/null
is "the /status subresource changes status only" "Ready 4 2" \
	"$(kj get wd w1 -o jsonpath='{.status.phase} {.spec.size} {.metadata.generation}')"

# --- imperative kubectl (typed clients send protobuf bodies) ----------------------------------
k create cm lit --from-literal=x=1 --from-literal=y=2 >/dev/null
is "kubectl create configmap --from-literal (protobuf request)" '{"x":"1","y":"2"}' \
	"$(kj get cm lit -o jsonpath='{.data}')"
k create secret generic pw --from-literal=password=hunter2 >/dev/null
is "kubectl create secret: type Opaque, base64 data" "Opaque hunter2" \
	"$(kj get secret pw -o jsonpath='{.type} {.data.password}' | { read -r t d; echo "$t $(echo "$d" | base64 -d)"; })"
echo '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sd"},"stringData":{"u":"admin"}}' | k create -f - >/dev/null
is "Secret stringData is folded into data" "YWRtaW4= " \
	"$(kj get secret sd -o jsonpath='{.data.u} {.stringData}')"

# --- watch ---------------------------------------------------------------------------------
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched"},"data":{"v":"before"}}' | k create -f - >/dev/null
timeout 30 kubectl get cm watched -w -o jsonpath='{.data.v}{"\n"}' >"$T/watch.out" 2>&1 &
WPID=$!
wait_for "$T/watch.out" '^before$' 100
k patch cm watched --type=merge -p '{"data":{"v":"after"}}' >/dev/null
if wait_for "$T/watch.out" '^after$' 100; then ok "kubectl get -w sees a change"; else
	nok "kubectl get -w sees a change" "$(cat "$T/watch.out")"; fi
kill $WPID 2>/dev/null
wait $WPID 2>/dev/null
rv=$(kj get --raw /api/v1/namespaces/default/configmaps | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
(sleep 0.5 && k patch cm watched --type=merge -p '{"data":{"v":"third"}}' >/dev/null) &
PPID2=$!
out=$(emu_curl GET "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv&timeoutSeconds=3&allowWatchBookmarks=true")
wait $PPID2
like "a watch from a resourceVersion gets MODIFIED, then BOOKMARK events" \
	'^\{"type":"MODIFIED","object":\{"kind":"ConfigMap","apiVersion":"v1".*"v":"third".*\{"type":"BOOKMARK","object":\{"kind":"ConfigMap","apiVersion":"v1","metadata":\{"resourceVersion":"[0-9]+"\}\}\}' \
	"$(echo $out)"
emu_curl POST /_emu/compact >/dev/null
like "after /_emu/compact an old resourceVersion gets a 410 Expired ERROR event" \
	'^\{"type":"ERROR","object":\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"too old resource version: 1 \([0-9]+\)","reason":"Expired","code":410\}\}$' \
	"$(emu_curl GET "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1")"
out=$(emu_curl GET "/api/v1/configmaps?limit=2")
like "paged list: limit, continue token, remainingItemCount" '"continue":"[A-Za-z0-9_-]+","remainingItemCount":[0-9]+' "$out"
is "all-namespaces list with --chunk-size=1 sees every ConfigMap" \
	"$(kj get cm -A -o name | wc -l)" "$(kj get cm -A --chunk-size=1 -o name | wc -l)"
is "field selector metadata.name" "cfg" \
	"$(kj get cm --field-selector metadata.name=cfg -o jsonpath='{.items[*].metadata.name}')"

# --- deletion --------------------------------------------------------------------------------
k create ns doomed >/dev/null
k create -f "$T/web.yaml" -n doomed >/dev/null
k create -f "$T/w1.yaml" -n doomed >/dev/null
k create -f "$T/cm.json" -n doomed >/dev/null
like "objects in a new namespace" 'configmap/cfg.*deployment.apps/web.*widget.example.com/w1' \
	"$(echo $(kj get cm,deploy,wd -n doomed -o name))"
like "delete namespace" 'namespace "doomed" deleted' "$(k delete ns doomed)"
is "... deletes everything in it" "" "$(kj get cm,deploy,rs,pods,sa,wd,svc -n doomed -o name)"
like "... and the namespace is gone" 'namespaces "doomed" not found' "$(k get ns doomed)"
like "the default namespace cannot be deleted" 'Forbidden.*this namespace may not be deleted' "$(k delete ns default)"
like "delete a Deployment" 'deployment.apps "web" deleted' "$(k delete deploy web)"
is "... its ReplicaSets and Pods are garbage-collected" "" "$(kj get rs,pods -l app=web -o name)"
like "delete the CRD" 'customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted' \
	"$(k delete crd widgets.example.com)"
unlike "... removes its resource from discovery" 'widgets' "$(k api-resources)"
like "... and its custom resources" "the server doesn't have a resource type \"widgets\"" "$(k get widgets)"

# --- authentication and faults -----------------------------------------------------------------
like "a wrong token: 401 Unauthorized" 'You must be logged in to the server \(Unauthorized\)' \
	"$(k --token=wrong get ns)"
like "the 401 body is a Status" '"reason":"Unauthorized","code":401' \
	"$(curl -sS --cacert "$T/tls/ca.crt" -H 'Authorization: Bearer nope' "https://127.0.0.1:$PORT/api/v1/namespaces")"
like "a client certificate signed by the CA is accepted" 'namespace/default' \
	"$(k --context emu-cert get ns default -o name)"
like "the read-only user may read" 'configmap/cfg' "$(k --context emu-readonly get cm cfg -o name)"
like "... and gets 403 on a write" \
	'Error from server \(Forbidden\): configmaps "cfg" is forbidden: User "emu-readonly" cannot delete resource "configmaps" in API group "" in the namespace "default"' \
	"$(k --context emu-readonly delete cm cfg)"
like "fault injection is accepted" '"status":503' \
	"$(emu_curl POST /_emu/faults '{"status":503,"count":1,"path_prefix":"/api/v1/namespaces/default/configmaps","method":"GET"}')"
like "kubectl fails on the injected 503" 'Error from server \(ServiceUnavailable\)' "$(k get cm)"
like "... and works again after it" 'configmap/cfg' "$(k get cm -o name)"
emu_curl POST /_emu/faults '{"status":429,"count":1,"path_prefix":"/api/v1/namespaces/default/secrets"}' >/dev/null
like "a 429 carries Retry-After (client-go retries it)" 'secret/pw' "$(k get secrets -o name)"
emu_curl POST /_emu/down '{"seconds":1.5}' >/dev/null
sleep 0.3
like "/_emu/down: connection refused" 'refused' "$(k get ns --request-timeout=2s)"
sleep 1.7
like "... and up again afterwards" 'namespace/default' "$(k get ns default -o name)"

# --- request log ----------------------------------------------------------------------------
out=$(emu_curl GET /_emu/requests)
like "the request log records kubectl requests with their User-Agent" \
	'"method":"PATCH","path":"/api/v1/namespaces/default/configmaps/cfg".*"user_agent":"kubectl/v1\.32' "$out"
unlike "control requests are not in the log" '"path":"/_emu/' "$out"
like "the --logfile has one JSON object per request" '^\{"time": "[0-9T:.-]+Z", "method": "GET"' \
	"$(head -n 1 "$T/requests.log")"
emu_curl DELETE /_emu/requests >/dev/null
is "DELETE /_emu/requests clears the log" "[]" "$(emu_curl GET /_emu/requests)"

# --- SIGTERM --------------------------------------------------------------------------------
kill -TERM "$EMU_PID"
wait "$EMU_PID"
is "SIGTERM ends the emulator cleanly" "0" "$?"
EMU_PID=
echo "1..$n"
[ "$failed" -eq 0 ]
