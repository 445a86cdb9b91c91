#!/usr/bin/env bash
# Files gitopsfs writes stay private and where they belong: the state
# directory is made 0700/0600 whatever existed before (and refused when it
# is someone else's); export never follows a symbolic link and writes shown
# Secrets 0600 even over an existing 0644 file; the write buffers of all
# open files share one memory budget.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo

# ---- the state directory ------------------------------------------------------------
check "first mount" mount_gfs
check "unmounts" unmount_gfs
# As an older version, a hand-made directory or a restored backup leaves it.
chmod -R go+rwX "$STATE"
chmod 0644 "$STATE/log"
check "the stale state directory is open to others before the mount" test -n "$(find "$STATE" -perm /077 | head -n 1)"
err=$(mount_gfs 2>&1)
check "mounts over it" mountpoint -q "$MNT"
is "$(stat -c %a "$STATE")" "700" "the state directory is made 0700"
is "$(stat -c %a "$STATE/log")" "600" "the log is made 0600"
is "$(stat -c %a "$STATE/git")" "700" "the git directory is made 0700"
is "$(find "$STATE" -perm /077 | head -n 3)" "" "nothing in it is open to group or others"
check "the tightening is reported" grep -q "made [0-9]* entries private" <<<"$err"
# What the daemon writes from now on is private too (umask 077).
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\n  namespace: shop\ndata:\n  a: "1"\n' | put "$MNT/shop/configmaps/fresh.yaml"
check "a new object is applied" wait_for 5 test -f "$MNT/shop/configmaps/fresh.yaml"
is "$(find "$STATE" -perm /077 | head -n 3)" "" "files written after the start are private too"
check "unmounts" unmount_gfs

if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$T/theirs"
	chown 65534 "$T/theirs"
	err=$("$GFS" mount --state-dir "$T/theirs" "$REPO" "$MNT" 2>&1)
	is "$?" "1" "a state directory owned by another user is refused"
	check "with a message saying whose it is" grep -q "belongs to uid 65534" <<<"$err"
	check "and nothing is mounted" bash -c '! mountpoint -q "$1"' _ "$MNT"
else
	ok "# SKIP a state directory of another user needs root to make one"
fi

# ---- export ---------------------------------------------------------------------------
OUT=$T/export
mkdir -p "$OUT/shop/secrets" "$T/elsewhere"
echo "victim" >"$T/victim"
ln -s "$T/victim" "$OUT/shop/secrets/db-credentials.yaml"
ln -s "$T/elsewhere" "$OUT/shop/configmaps"
err=$("$GFS" export --secrets show "$OUT" 2>&1)
is "$?" "1" "export refuses a directory that is a symbolic link"
check "saying which" grep -q "shop/configmaps is a symbolic link or not a directory" <<<"$err"
is "$(ls "$T/elsewhere")" "" "nothing is written where the link points"
rm "$OUT/shop/configmaps"
printf 'old plaintext\n' >"$OUT/shop/secrets/other.yaml"
chmod 0644 "$OUT/shop/secrets/other.yaml"
ino=$(stat -c %i "$OUT/shop/secrets/other.yaml")
kc create secret generic other -n shop --from-literal=pin=123456 >/dev/null
check "export over planted links succeeds" "$GFS" export --secrets show "$OUT"
is "$(cat "$T/victim")" "victim" "a file linked from an object path is not written"
check "the link is replaced by a regular file" test -f "$OUT/shop/secrets/db-credentials.yaml" -a ! -L "$OUT/shop/secrets/db-credentials.yaml"
is "$(stat -c %a "$OUT/shop/secrets/db-credentials.yaml")" "600" "a shown Secret is written 0600"
is "$(stat -c %a "$OUT/shop/secrets/other.yaml")" "600" "also where a 0644 file stood"
check "as a new file, not by rewriting the old one" test "$(stat -c %i "$OUT/shop/secrets/other.yaml")" != "$ino"
check "holding the Secret" grep -q "pin: MTIzNDU2" "$OUT/shop/secrets/other.yaml"
is "$(stat -c %a "$OUT/shop/configmaps/web-config.yaml")" "644" "other objects are 0644"
is "$(find "$OUT" -name '.*gitopsfs-*')" "" "no temporary file is left behind"

# ---- one budget for all write buffers ------------------------------------------------
check "mounts" mount_gfs
# Nine writers of 7.5 MiB each (under the 8 MiB limit of one file) stay open
# together: the ninth goes past the 64 MiB budget of all of them.
out=$(python3 - "$MNT/shop/configmaps" <<'EOF'
import errno, os, sys
d = sys.argv[1]
chunk = b'# ' + b'x' * (1 << 20) + b'\n'
fds, results = [], []
for i in range(9):
    fd = os.open(os.path.join(d, 'big%d.yaml' % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fds.append(fd)
    err = 'ok'
    try:
        for _ in range(7):
            os.write(fd, chunk)
        os.write(fd, b'# ' + b'x' * (512 << 10) + b'\n')
    except OSError as e:
        err = errno.errorcode[e.errno]
    results.append(err)
closes = []
for fd in fds:
    try:
        os.close(fd)
        closes.append('ok')
    except OSError as e:
        closes.append(errno.errorcode[e.errno])
print(' '.join(results))
print(closes[-1])
EOF
)
is "$(head -n 1 <<<"$out")" "ok ok ok ok ok ok ok ok ENOSPC" "the writer past the budget gets ENOSPC"
is "$(tail -n 1 <<<"$out")" "ENOSPC" "and its close reports it: nothing of it is applied"
check "the reason is in .gitopsfs/errors" grep -q "hold more than 64 MiB together" "$MNT/.gitopsfs/errors"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  namespace: shop\ndata:\n  a: "1"\n' | put "$MNT/shop/configmaps/after.yaml"
check "once they are closed the budget is free again" wait_for 5 test -f "$MNT/shop/configmaps/after.yaml"
check "unmounts" unmount_gfs

done_testing
