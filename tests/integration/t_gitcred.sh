#!/usr/bin/env bash
# Git credentials (SPEC section 2) against a private Git server on
# 127.0.0.1 (tests/integration/git_http_server.py: git http-backend behind
# Basic auth): the agent clones, fetches and pushes a private repository
# with GITOPSFS_GIT_TOKEN; the token goes to the origin's host and port
# only - never to the server a redirect points at - and never over plain
# http to an address that is not loopback.
. "$(dirname "$0")/lib.sh"

TOKEN="tok-$$-not-for-anyone-else"
SERVERS=
# start_git NAME [options...]: a git server on $T/srv, port in $T/NAME.port.
start_git() {
	local name=$1; shift
	python3 "$ROOT/tests/integration/git_http_server.py" --root "$T/srv" \
		--portfile "$T/$name.port" --logfile "$T/$name.log" "$@" >"$T/$name.out" 2>&1 &
	SERVERS="$SERVERS $!"
	wait_for 20 test -s "$T/$name.port" || { echo "Bail out! git server $name did not start"; cat "$T/$name.out"; exit 1; }
	eval "${name}_URL=http://127.0.0.1:$(cat "$T/$name.port")"
}
agent_pid=
stop_all() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	for p in $SERVERS; do kill "$p" 2>/dev/null; done
	cleanup
}
trap stop_all EXIT

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
mkdir -p "$T/srv" "$T/work"
git init -q --bare "$T/srv/private.git"
git -C "$T/srv/private.git" config http.receivepack true
git clone -q "$T/srv/private.git" "$T/work/private" 2>/dev/null
mkdir -p "$T/work/private/shop/configmaps"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-private\n  namespace: shop\ndata:\n  a: "1"\n' \
	>"$T/work/private/shop/configmaps/from-private.yaml"
git -C "$T/work/private" add -A && git -C "$T/work/private" commit -qm one && git -C "$T/work/private" push -q origin HEAD:main 2>/dev/null

start_git private --token "git:$TOKEN"

# ---- a private repository: clone, fetch, push ------------------------------------------
out=$(GITOPSFS_GIT_TOKEN= timeout 20 "$GFS" sync --sync apply --state-dir "$T/s0" "$private_URL/private.git" 2>&1)
is "$?" "1" "without a token the private repository cannot be cloned"
check "the error says authentication failed" grep -qi "auth" <<<"$out"

GITOPSFS_GIT_TOKEN=$TOKEN "$GFS" sync --sync apply --interval 1 --state-dir "$T/s1" \
	"$private_URL/private.git" >"$T/agent1.log" 2>&1 &
agent_pid=$!
check "gitopsfs sync clones the private repository with GITOPSFS_GIT_TOKEN and applies it" \
	wait_for 30 kc get configmap from-private -n shop
sed -i 's/a: "1"/a: "2"/' "$T/work/private/shop/configmaps/from-private.yaml"
git -C "$T/work/private" commit -qam two && git -C "$T/work/private" push -q origin HEAD:main 2>/dev/null
check "it fetches a new commit with the same credentials" \
	wait_for 30 bash -c '[ "$(kubectl get configmap from-private -n shop -o jsonpath={.data.a})" = 2 ]'
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null; agent_pid=
check "the token is not in the clone's config" bash -c '! grep -rqF "$1" "$2/git/config"' _ "$TOKEN" "$T/s1"
check "nor in the log" bash -c '! grep -qF "$1" "$2"' _ "$TOKEN" "$T/agent1.log"

GITOPSFS_GIT_TOKEN=$TOKEN "$GFS" sync --sync commit --push --state-dir "$T/s2" \
	"$private_URL/private.git" >"$T/agent2.log" 2>&1 &
agent_pid=$!
wait_for 30 grep -q "sync: commit" "$T/agent2.log"
kc create configmap pushed-by-agent -n shop --from-literal=x=1 >/dev/null
check "it pushes a commit with the same credentials" \
	wait_for 30 bash -c 'git -C "$1" log main --name-only | grep -q pushed-by-agent' _ "$T/srv/private.git"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null; agent_pid=

# ---- a redirect to another server -------------------------------------------------------
# The origin takes the token (it is the origin), then redirects to another
# port, which asks for credentials too and records what it gets.
start_git evil --token "git:anything"
start_git moved --token "git:$TOKEN" --redirect "$evil_URL"
out=$(GITOPSFS_GIT_TOKEN=$TOKEN timeout 30 "$GFS" sync --sync apply --state-dir "$T/s3" "$moved_URL/private.git" 2>&1)
is "$?" "1" "a clone redirected to another server fails"
check "saying the credentials are for the origin only" grep -q "not offering Git credentials to 127.0.0.1:$(cat "$T/evil.port")" <<<"$out"
check "the redirect was followed and asked for credentials" grep -q '"authorization": null' "$T/evil.log"
check "the other server never received the token" bash -c '! grep -q "Basic" "$1"' _ "$T/evil.log"
# The same to another host name (localhost is not 127.0.0.1 for this purpose).
start_git moved2 --redirect "http://localhost:$(cat "$T/evil.port")"
out=$(GITOPSFS_GIT_TOKEN=$TOKEN timeout 30 "$GFS" sync --sync apply --state-dir "$T/s4" "$moved2_URL/private.git" 2>&1)
check "a redirect to another host name gets no token either" grep -q "not offering Git credentials to localhost" <<<"$out"
check "the other server still never received a token" bash -c '! grep -q "Basic" "$1"' _ "$T/evil.log"

# ---- ssh goes through the same recorded connection -------------------------------------
# No sshd here: a listener that records what the client says first. libssh2
# speaks on the socket of gitopsfs's recording stream, so its banner arrives.
python3 - "$T/ssh.port" "$T/ssh.banner" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
open(sys.argv[1], 'w').write('%d\n' % s.getsockname()[1])
c, _ = s.accept()
c.settimeout(10)
data = b''
try:
    while b'\n' not in data:
        chunk = c.recv(256)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
open(sys.argv[2], 'wb').write(data)
c.close()
EOF
SERVERS="$SERVERS $!"
wait_for 10 test -s "$T/ssh.port"
# libgit2 1.5's ssh transport leaks 32 bytes when the handshake fails (the
# same without gitopsfs, in a bare git_clone): not ours to report here.
GITOPSFS_GIT_SSH_KEY=$T/nokey ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
	timeout 30 "$GFS" sync --sync apply --state-dir "$T/s7" \
	"ssh://git@127.0.0.1:$(cat "$T/ssh.port")/private.git" >/dev/null 2>&1
check "an ssh origin is reached through the same connection layer" wait_for 10 grep -q "^SSH-2.0-" "$T/ssh.banner"

# ---- plain http -------------------------------------------------------------------------
# 192.0.2.1 is TEST-NET-1: nothing may be sent there, and nothing is.
out=$(GITOPSFS_GIT_TOKEN=$TOKEN timeout 20 "$GFS" sync --sync apply --state-dir "$T/s5" http://192.0.2.1/private.git 2>&1)
is "$?" "1" "a token for a plain http origin that is not loopback is refused"
check "at once, with a clear message" grep -q "refusing to send GITOPSFS_GIT_TOKEN in clear text over http to 192.0.2.1:80" <<<"$out"
check "nothing was cloned" test ! -e "$T/s5/git/HEAD"
mkdir -p "$MNT"
out=$(GITOPSFS_GIT_TOKEN=$TOKEN timeout 20 "$GFS" mount --state-dir "$T/s6" http://192.0.2.1/private.git "$MNT" 2>&1)
is "$?" "1" "the mount refuses it as well"
check "with the same message" grep -q "refusing to send GITOPSFS_GIT_TOKEN in clear text" <<<"$out"

done_testing
