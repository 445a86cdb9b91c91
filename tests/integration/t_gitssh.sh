#!/usr/bin/env bash
# An ssh origin (SPEC section 2) against a real OpenSSH server on
# 127.0.0.1: gitopsfs clones and pushes with GITOPSFS_GIT_SSH_KEY only
# after the server's host key is found for it in known_hosts (plain,
# hashed, [host]:port); an unknown key, a changed key or a revoked one
# stops it before it authenticates, with the fingerprint in the message.
. "$(dirname "$0")/lib.sh"

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! command -v ssh-keygen >/dev/null; then
	ok "# SKIP no OpenSSH server here (Debian: openssh-server; make deps installs it)"
	done_testing; exit 0
fi
S=$T/ssh
mkdir -p "$S" && chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -C host -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -C other -f "$S/other_key"
ssh-keygen -q -t ed25519 -N '' -C client -f "$S/client_key"
cp "$S/client_key.pub" "$S/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$S/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
LogLevel VERBOSE
CONF
mkdir -p /run/sshd 2>/dev/null
"$SSHD" -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
SSHD_PID=$!
trap 'kill $SSHD_PID 2>/dev/null; cleanup' EXIT
wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$PORT" 2>/dev/null ||
	{ echo "Bail out! sshd did not start"; cat "$S/sshd.log"; exit 1; }

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
URL="ssh://$(id -un)@127.0.0.1:$PORT$REPO"
export GITOPSFS_GIT_SSH_KEY=$S/client_key
FP=$(ssh-keygen -lf "$S/host_key.pub" | awk '{print $2}')
KEY=$(cut -d' ' -f1,2 "$S/host_key.pub")
accepted() { grep -c "Accepted publickey" "$S/sshd.log"; }
# libgit2 1.5's ssh transport leaks 48 bytes per connection (git_str
# buffers inside git_remote_connect_ext, no frame of ours between; the same
# without gitopsfs): not ours to report, so leak detection is off for these
# runs only (other sanitizer checks stay on).
try_mount() {
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		"$GFS" mount --state-dir "$T/state-$1" "${@:2}" "$URL" "$MNT" 2>&1
}

# Unknown host: nothing is sent.
: >"$S/known_hosts"
export GITOPSFS_GIT_KNOWN_HOSTS=$S/known_hosts
out=$(try_mount unknown); rc=$?
check "an origin whose host key is in no known_hosts is refused" test "$rc" -ne 0
check "the message names the host, the key's fingerprint and how to add it" \
	bash -c 'grep -q "127.0.0.1\]:$2" <<<"$1" && grep -qF "$3" <<<"$1" && grep -q "ssh-keyscan -p $2" <<<"$1"' _ "$out" "$PORT" "$FP"
diag "$out"
is "$(accepted)" "0" "and no key was offered to the server"

# A changed key: the host is listed with another one.
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$S/other_key.pub")" >"$S/known_hosts"
out=$(try_mount mismatch); rc=$?
check "a host key other than the one listed is refused" test "$rc" -ne 0
check "as possibly someone posing as the origin" grep -q "posing as the origin" <<<"$out"
is "$(accepted)" "0" "again without offering a key"

# A line for port 22 does not vouch for another port.
echo "127.0.0.1 $KEY" >"$S/known_hosts"
out=$(try_mount port); rc=$?
check "a key listed for port 22 does not vouch for port $PORT" test "$rc" -ne 0

# A revoked key is refused even where a line lists it.
printf '@revoked * %s\n[127.0.0.1]:%s %s\n' "$KEY" "$PORT" "$KEY" >"$S/known_hosts"
out=$(try_mount revoked); rc=$?
check "a key marked @revoked is refused" bash -c '[ "$1" -ne 0 ] && grep -q "@revoked" <<<"$2"' _ "$rc" "$out"

# Hashed names, as ssh-keygen -H writes them: the clone goes ahead.
echo "[127.0.0.1]:$PORT $KEY" >"$S/known_hosts"
ssh-keygen -q -H -f "$S/known_hosts" 2>/dev/null
check "(set-up) the known_hosts line is hashed" grep -q '^|1|' "$S/known_hosts"
out=$(try_mount hashed --sync commit --push); rc=$?
check "with the host key listed (hashed) the ssh origin mounts" test "$rc" -eq 0
diag "$out"
check "the key was offered only now" test "$(accepted)" -ge 1
mkcm shop over-ssh via=ssh
check "a cluster change is committed and pushed over ssh" \
	wait_for 20 bash -c 'git --git-dir "$1" log --format=%s main 2>/dev/null | grep -q over-ssh || git --git-dir "$1" log -p main 2>/dev/null | grep -q "over-ssh"' _ "$REPO"
check "the pushed tree holds the object" bash -c 'git --git-dir "$1" show main:shop/configmaps/over-ssh.yaml | grep -q "via: ssh"' _ "$REPO"
unmount_gfs
# ~/.ssh/known_hosts is read when the variable is not set.
unset GITOPSFS_GIT_KNOWN_HOSTS
mkdir -p "$HOME/.ssh" && echo "[127.0.0.1]:$PORT $KEY" >"$HOME/.ssh/known_hosts"
out=$(try_mount home); rc=$?
check "~/.ssh/known_hosts is read by default" test "$rc" -eq 0
diag "$out"
check "and the mount shows the pushed history" bash -c 'git -C "$1" log --oneline | grep -q .' _ "$MNT"
unmount_gfs
done_testing
