#!/usr/bin/env bash
# The emulator's --crds N / --crd-objects K: N CustomResourceDefinitions made at start as
# kubectl would make them, ten per API group, Established and in discovery, K objects of
# each in namespace crds; listed, watched (streaming lists too) and changed like any CRD.
# Then many watches open at once. Prints TAP. Run from the repository root.
. "$(dirname "$0")/lib.sh"

start_emulator --crds 25 --crd-objects 2 --bookmark-seconds 1
ok "emulator starts with --crds 25 --crd-objects 2"

is "25 CRDs, in kubectl's order" \
	"widget0000s.g000.scale.example.com widget0024s.g002.scale.example.com 25" \
	"$(kj get crd -o jsonpath='{.items[0].metadata.name}') $(kj get crd -o name | tail -n 1 | cut -d/ -f2) $(kj get crd -o name | wc -l)"
is "each is Established with its names accepted" "25" \
	"$(kj get crd -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\n"}{end}' | grep -c True)"
is "ten kinds per API group: three groups" \
	"g000.scale.example.com/v1 g001.scale.example.com/v1 g002.scale.example.com/v1" \
	"$(k api-versions | grep scale.example.com | xargs)"
like "discovery of a group lists its kinds" '"name":"widget0012s".*"kind":"Widget0012"' \
	"$(kj get --raw /apis/g001.scale.example.com/v1)"
like "api-resources shows them namespaced" 'widget0024s +g002.scale.example.com/v1 +true +Widget0024' \
	"$(k api-resources --api-group=g002.scale.example.com)"
is "two objects of each kind in namespace crds" "widget0007-0 widget0007-1" \
	"$(kj get widget0007s -n crds -o jsonpath='{.items[*].metadata.name}')"
is "the objects have their spec, and the category lists them all" "1 50" \
	"$(kj get widget0007s -n crds widget0007-1 -o jsonpath='{.spec.index}') $(kj get scale -n crds -o name | wc -l)"

# A streaming list of one kind: its objects, then the initial-events-end bookmark.
out=$(emu_curl GET "/apis/g002.scale.example.com/v1/namespaces/crds/widget0021s?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2")
is "a streaming list sends both objects, then initial-events-end" "ADDED ADDED BOOKMARK:true" \
	"$(printf '%s\n' "$out" | python3 -c '
import json, sys
out = []
for l in sys.stdin:
    e = json.loads(l)
    if e["type"] == "BOOKMARK":
        a = e["object"]["metadata"].get("annotations") or {}
        if a.get("k8s.io/initial-events-end"):
            out.append("BOOKMARK:true")
    else:
        out.append(e["type"])
print(" ".join(out))')"

# A change made with kubectl arrives on an open watch.
emu_curl GET "/apis/g001.scale.example.com/v1/namespaces/crds/widget0013s?watch=1&resourceVersion=$(kj get widget0013s -n crds -o jsonpath='{.metadata.resourceVersion}')&timeoutSeconds=5" >"$T/watch.out" &
watcher=$!
sleep 0.5
k label widget0013s -n crds widget0013-0 changed=yes >/dev/null
if wait_for "$T/watch.out" '"type":"MODIFIED".*"changed":"yes"' 60; then
	ok "kubectl label reaches an open watch of that kind"
else nok "kubectl label reaches an open watch of that kind" "$(cat "$T/watch.out")"; fi
wait "$watcher"

# Many watches at once (one connection each): past select()'s 1024 descriptors the
# emulator still serves them, and a change reaches the one it concerns.
W=1100
out=$(python3 - "$PORT" "$T/tls/ca.crt" "$TOKEN" $W <<'EOF'
import resource, select, socket, ssl, sys, time, urllib.request, json
port, ca, tok, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 100:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100) if hard > 0 else n + 100, hard))
ctx = ssl.create_default_context(cafile=ca)
socks = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)), server_hostname='127.0.0.1')
    k = i % 25
    s.sendall(('GET /apis/g%03d.scale.example.com/v1/namespaces/crds/widget%04ds?watch=1'
               '&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true'
               ' HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n'
               % (k // 10, k, tok)).encode())
    s.setblocking(False)
    socks.append(s)
bufs = [b''] * n
closed = set()
def pump(secs, done):
    end = time.time() + secs
    while time.time() < end and not done():
        p = select.poll()
        for s in socks:
            p.register(s, select.POLLIN)
        fds = {s.fileno(): i for i, s in enumerate(socks)}
        for fd, _ in p.poll(100):
            i = fds[fd]
            try:
                while i not in closed:
                    d = socks[i].recv(65536)
                    if not d:
                        closed.add(i)
                        break
                    bufs[i] += d
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
pump(60, lambda: all(b'initial-events-end' in b for b in bufs))
print('streamed %d/%d' % (sum(b'initial-events-end' in b for b in bufs), n))
pump(3, lambda: False)   # idle a while: each watch looks at its client
print('closed %d' % len(closed))
last = n - 1
mark = len(bufs[last])
req = urllib.request.Request(
    'https://127.0.0.1:%d/apis/g%03d.scale.example.com/v1/namespaces/crds/widget%04ds/widget%04d-1'
    % (port, (last % 25) // 10, last % 25, last % 25), method='PATCH',
    data=json.dumps({'metadata': {'labels': {'many': 'yes'}}}).encode(),
    headers={'Authorization': 'Bearer ' + tok, 'Content-Type': 'application/merge-patch+json'})
urllib.request.urlopen(req, context=ctx).read()
pump(30, lambda: b'"many":"yes"' in bufs[last][mark:])
print('change %s' % ('arrived' if b'"many":"yes"' in bufs[last][mark:] else 'missing'))
EOF
)
is "$W concurrent watches all stream their initial events" "streamed $W/$W" "$(echo "$out" | head -n 1)"
is "none of them is closed while idle" "closed 0" "$(echo "$out" | sed -n 2p)"
is "and a change reaches the last one opened" "change arrived" "$(echo "$out" | tail -n 1)"

# Deleting a CRD removes its kind from discovery, as for any CRD.
k delete crd widget0024s.g002.scale.example.com >/dev/null
unlike "a deleted CRD leaves discovery" 'widget0024s' "$(kj get --raw /apis/g002.scale.example.com/v1)"

echo "1..$n"
[ "$failed" -eq 0 ]
