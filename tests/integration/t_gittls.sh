#!/usr/bin/env bash
# An https origin with a private CA (SPEC section 2): the server's
# certificate is verified before a token is sent; git's own
# GIT_SSL_CAINFO names the CA that signs it; a certificate for another
# name is refused even from that CA; a file that holds no certificate
# is a clear error at start.
. "$(dirname "$0")/lib.sh"

TOKEN="tok-$$-tls-only"
C=$T/ca
mkdir -p "$C" "$T/srv" "$T/work"
# A private CA, a certificate for localhost (libgit2 on mbedTLS 2.28 checks
# DNS names, not IP addresses) and one for another name.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gitopsfs test CA" \
	-keyout "$C/ca.key" -out "$C/ca.crt" 2>/dev/null
cert() { # NAME SAN
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$C/$1.key" -out "$C/$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$2" >"$C/$1.ext"
	openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial \
		-days 2 -extfile "$C/$1.ext" -out "$C/$1.crt" 2>/dev/null
}
cert origin "DNS:localhost"
cert elsewhere "DNS:elsewhere.example"
check "(set-up) the certificates are made" test -s "$C/origin.crt" -a -s "$C/elsewhere.crt"

git init -q --bare "$T/srv/private.git"
git clone -q "$T/srv/private.git" "$T/work/private" 2>/dev/null
mkdir -p "$T/work/private/shop/configmaps"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: over-tls\n  namespace: shop\ndata:\n  a: "1"\n' \
	>"$T/work/private/shop/configmaps/over-tls.yaml"
git -C "$T/work/private" add -A && git -C "$T/work/private" commit -qm one && git -C "$T/work/private" push -q origin HEAD:main 2>/dev/null

SERVERS=
start_git() { # NAME CERT
	python3 "$ROOT/tests/integration/git_http_server.py" --root "$T/srv" --token "git:$TOKEN" \
		--tls-cert "$C/$2.crt" --tls-key "$C/$2.key" \
		--portfile "$T/$1.port" --logfile "$T/$1.log" >"$T/$1.out" 2>&1 &
	SERVERS="$SERVERS $!"
	wait_for 20 test -s "$T/$1.port" || { echo "Bail out! git server $1 did not start"; exit 1; }
	touch "$T/$1.log"
}
agent_pid=
trap '[ -n "$agent_pid" ] && kill $agent_pid 2>/dev/null; for p in $SERVERS; do kill $p 2>/dev/null; done; cleanup' EXIT
start_emulator --seed "$ROOT/tests/demo/seed.yaml"
start_git good origin
start_git wrong elsewhere
URL=https://localhost:$(cat "$T/good.port")/private.git
export GITOPSFS_GIT_TOKEN=$TOKEN

out=$(timeout 30 "$GFS" sync --sync apply --state-dir "$T/s0" "$URL" 2>&1); rc=$?
check "a certificate from a CA the system does not know is refused" test "$rc" -ne 0
check "saying so" grep -qi "certificate" <<<"$out"
diag "$out"
check "and the server never saw a request, let alone the token" test ! -s "$T/good.log"

out=$(GIT_SSL_CAINFO=$T/nothing.pem timeout 30 "$GFS" sync --sync apply --state-dir "$T/s1" "$URL" 2>&1); rc=$?
check "GIT_SSL_CAINFO naming no certificate is an error at start" bash -c '[ "$1" -ne 0 ] && grep -q "GIT_SSL_CAINFO" <<<"$2"' _ "$rc" "$out"
diag "$out"

GIT_SSL_CAINFO=$C/ca.crt "$GFS" sync --sync apply --interval 1 --state-dir "$T/s2" "$URL" >"$T/agent.log" 2>&1 &
agent_pid=$!
check "with GIT_SSL_CAINFO naming the private CA the origin is cloned and applied" \
	wait_for 30 kc get configmap over-tls -n shop
check "with the token, over https" grep -q '"authorization": "Basic' "$T/good.log"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null; agent_pid=

URL2=https://localhost:$(cat "$T/wrong.port")/private.git
out=$(GIT_SSL_CAINFO=$C/ca.crt timeout 30 "$GFS" sync --sync apply --state-dir "$T/s3" "$URL2" 2>&1); rc=$?
check "a certificate from that CA for another name is refused" test "$rc" -ne 0
diag "$out"
check "and that server never saw the token" bash -c '! grep -q "Basic" "$1"' _ "$T/wrong.log"
done_testing
