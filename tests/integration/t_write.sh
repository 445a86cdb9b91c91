#!/usr/bin/env bash
# Write-back (SPEC section 5): editing a file applies it; real tools'
# write patterns; git checkout/stash/reset update objects in place (same
# uid); no false drift for sparse manifests; no lost update; Secrets keep
# their values; errors are refused with a reason; rm deletes.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
G add -A && G commit -qm import
D=$MNT/shop/deployments.apps/web.yaml
CM=$MNT/shop/configmaps/web-config.yaml
jp() { kc get "$@" 2>/dev/null; }
image() { jp deployment web -n shop -o jsonpath='{.spec.template.spec.containers[0].image}'; }
uid0=$(jp deployment web -n shop -o jsonpath='{.metadata.uid}')
rs0=$(jp replicasets -n shop -l app=web -o name | sort | tr '\n' ' ')

# sed -i: a temp file renamed onto the object.
check "sed -i applies the change" sed -i 's/nginx:1.25.3/nginx:1.25.4/' "$D"
is "$(image)" "nginx:1.25.4" "the cluster has the new image"
check "the file reads back the change" grep -q 'image: nginx:1.25.4' "$D"
check "the PUT carried the resourceVersion it replaced" python3 - "$T/requests.log" <<'PY'
import json, sys
puts = [json.loads(l) for l in open(sys.argv[1]) if '"PUT"' in l and "/deployments/web" in l]
sys.exit(0 if puts and puts[-1]["status"] == 200 else 1)
PY
is "$(G diff --numstat)" $'1\t1\tshop/deployments.apps/web.yaml' "git diff shows just that line"

# git checkout -- F puts the committed version back, in place.
check "git checkout -- file succeeds" G checkout -- shop/deployments.apps/web.yaml
is "$(image)" "nginx:1.25.3" "the old image is back in the cluster"
is "$(jp deployment web -n shop -o jsonpath='{.metadata.uid}')" "$uid0" "same uid: updated, not recreated"
is "$(G status --porcelain)" "" "git status is clean again"
sleep 1.5  # past the delete grace period: the object must still exist
is "$(jp deployment web -n shop -o jsonpath='{.metadata.uid}')" "$uid0" "the unlink by git did not delete it"

# An editor that writes a temp file and renames it (vim's backupcopy=no).
cp "$D" "$MNT/shop/deployments.apps/.web.yaml.swp"
sed 's/replicas: 2/replicas: 4/' "$D" >"$MNT/shop/deployments.apps/web.yaml.tmp~"
check "write-temp-then-rename applies" mv "$MNT/shop/deployments.apps/web.yaml.tmp~" "$D"
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "4" "the cluster scaled to 4"
check "ordinary files (swap files) stay local" test -f "$MNT/shop/deployments.apps/.web.yaml.swp"
check "and are never sent to the cluster" bash -c '! grep -q "swp" "$1"' _ "$T/requests.log"
rm -f "$MNT/shop/deployments.apps/.web.yaml.swp"

# vim, both ways it saves: renaming the original to a backup and writing a
# new file (backupcopy=no), and overwriting in place (backupcopy=yes); with
# its swap file and 4913 probe along the way.
VIM=$(command -v vim || command -v vi)
vim_edit() { # FILE BACKUPCOPY EX-COMMAND
	"$VIM" -Es -u NONE -i NONE -c "set backupcopy=$2 writebackup" -c "$3" -c wq "$1"
}
check "vim (backupcopy=no: rename, then write anew) saves" vim_edit "$D" no '%s/replicas: 4/replicas: 5/'
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "5" "the cluster has vim's edit"
is "$(jp deployment web -n shop -o jsonpath='{.metadata.uid}')" "$uid0" "vim's rename and rewrite updated it in place"
check "vim (backupcopy=yes: in place) saves" vim_edit "$D" yes '%s/replicas: 5/replicas: 4/'
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "4" "the cluster has the second edit"
check "vim leaves no backup or swap file behind" bash -c '! ls -a "$1" | grep -E "~$|\.swp$|^4913$"' _ "$MNT/shop/deployments.apps"

# git stash / stash pop round trip.
check "git stash reverts the change" G stash -q
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "2" "stash put replicas back to 2"
check "git stash pop re-applies it" G stash pop -q
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "4" "stash pop put 4 back"
check "git reset --hard restores Git's version" G reset -q --hard
is "$(jp deployment web -n shop -o jsonpath='{.spec.replicas}')" "2" "reset --hard: 2 again"
is "$(jp deployment web -n shop -o jsonpath='{.metadata.uid}')" "$uid0" "still the same uid"

# echo > and cat > create and replace.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\n  namespace: shop\ndata:\n  a: "1"\n' >"$MNT/shop/configmaps/fresh.yaml"
is "$(jp configmap fresh -n shop -o jsonpath='{.data.a}')" "1" "a new file creates the object"
printf 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "2"\n' >"$MNT/shop/configmaps/fresh.yaml"
is "$(jp configmap fresh -n shop -o jsonpath='{.data.a}')" "2" "name and namespace filled in from the path"
printf 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "3"\n' >"$T/noname.yaml"
check "cp onto a new path creates (name from the path)" cp "$T/noname.yaml" "$MNT/shop/configmaps/copy.yaml"
is "$(jp configmap copy -n shop -o jsonpath='{.data.a}')" "3" "copy exists in the cluster"

# No false drift: a sparse Deployment reads back sparse.
cat >"$MNT/shop/deployments.apps/sparse.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sparse
  namespace: shop
spec:
  selector:
    matchLabels:
      app: sparse
  template:
    metadata:
      labels:
        app: sparse
    spec:
      containers:
      - image: busybox:1.36
        name: main
YAML
cp "$MNT/shop/deployments.apps/sparse.yaml" "$T/sparse-written.yaml"
check "the sparse Deployment exists with server defaults" test "$(jp deployment sparse -n shop -o jsonpath='{.spec.progressDeadlineSeconds}')" = 600
check "it reads back exactly as written" diff "$T/sparse-written.yaml" "$MNT/shop/deployments.apps/sparse.yaml"
G add -A && G commit -qm sparse
is "$(G status --porcelain)" "" "git diff is empty after committing it"
kc patch deployment sparse -n shop --type merge -p '{"spec":{"progressDeadlineSeconds":900}}' >/dev/null
check "a defaulted field changed later by someone else shows as drift" wait_for 3 grep -q 'progressDeadlineSeconds: 900' "$MNT/shop/deployments.apps/sparse.yaml"
unmount_gfs
mount_gfs || { echo "Bail out! remount failed"; exit 1; }
check "no false drift survives a remount" bash -c '! grep -q "revisionHistoryLimit" "$1"' _ "$MNT/shop/deployments.apps/sparse.yaml"
check "the later change still shows" grep -q 'progressDeadlineSeconds: 900' "$MNT/shop/deployments.apps/sparse.yaml"
G checkout -q -- shop/deployments.apps/sparse.yaml

# Secrets: a redacted file written back keeps the live values.
S=$MNT/shop/secrets/db-credentials.yaml
pw0=$(jp secret db-credentials -n shop -o jsonpath='{.data.password}')
check "a redacted Secret written back is accepted" sed -i 's/^metadata:/metadata:\n  labels:\n    touched: "yes"/' "$S"
is "$(jp secret db-credentials -n shop -o jsonpath='{.metadata.labels.touched}')" "yes" "the change to the Secret is applied"
is "$(jp secret db-credentials -n shop -o jsonpath='{.data.password}')" "$pw0" "its values are kept"
newpw=$(printf 'n3w' | base64)
sed -i "s/  password: .*/  password: $newpw/" "$S"
is "$(jp secret db-credentials -n shop -o jsonpath='{.data.password}')" "$newpw" "a changed value is applied"
check "and shows redacted again" grep -q 'password: gitopsfs-redacted:hmac-sha256:' "$S"

# Errors: refused with a reason, nothing applied, the file shows the live object.
before=$(cat "$CM")
err=$(printf 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [1,\n' | put "$CM" 2>&1)
check "invalid YAML is refused" grep -q "Invalid argument" <<<"$err"
check "the reason is in the xattr user.gitopsfs.error" python3 -c 'import os,sys; v=os.getxattr(sys.argv[1], "user.gitopsfs.error").decode(); print("#", v); assert "line" in v' "$CM"
check "and in .gitopsfs/errors" grep -q "web-config.yaml: not applied: invalid YAML" "$MNT/.gitopsfs/errors"
is "$(cat "$CM")" "$before" "the file goes on showing the live object"
# Input refused, never altered: kubectl would drop the tag and send the
# 30-digit number as a float.
err=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  a: !foo x\n' | put "$CM" 2>&1)
check "a custom YAML tag is refused" grep -q "Invalid argument" <<<"$err"
check "the reason names the line, column and tag" grep -q "web-config.yaml: not applied: invalid YAML at line 6, column 6: unknown tag !foo" "$MNT/.gitopsfs/errors"
err=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  labels:\n    n: 123456789012345678901234567890\n' | put "$CM" 2>&1)
check "an integer past 64 bits is refused" grep -q "Invalid argument" <<<"$err"
check "the reason says to quote it" grep -q "web-config.yaml: not applied: invalid YAML at line 6, column 8: integer out of range; quote it to make it a string" "$MNT/.gitopsfs/errors"
is "$(cat "$CM")" "$before" "the file still shows the live object"
err=$(sed 's/name: web-config/name: other/' <<<"$before" | put "$CM" 2>&1)
check "a name that does not match the path is refused" grep -q "Invalid argument" <<<"$err"
is "$(jp configmap other -n shop -o name)" "" "nothing was created"
err=$(sed 's/kind: ConfigMap/kind: Secret/' <<<"$before" | put "$CM" 2>&1)
check "a kind that does not match the directory is refused" grep -q "Invalid argument" <<<"$err"
err=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  n: 5\n' | put "$MNT/shop/configmaps/bad.yaml" 2>&1)
check "a server rejection (422) is refused" grep -q "Invalid argument" <<<"$err"
check "and the rejected new file does not linger" test ! -e "$MNT/shop/configmaps/bad.yaml"

# No lost update: someone changes the object between our read and our write.
cat >"$T/editor.py" <<'PY'
import os, subprocess, sys, time
path, ns = sys.argv[1], sys.argv[2]
text = open(path).read()                 # the writer reads the file...
subprocess.run(["kubectl", "patch", "configmap", "web-config", "-n", ns, "--type", "merge",
                "-p", '{"data":{"LOG_LEVEL":"trace"}}'], check=True, capture_output=True)
time.sleep(1.5)                          # ...someone else changes the object meanwhile...
try:                                     # ...then the writer saves its stale edit
    with open(path, "w") as f:
        f.write(text.replace("LOG_LEVEL: info", "LOG_LEVEL: mine"))
except OSError as e:
    print(e.strerror)
    sys.exit(3)
PY
out=$(python3 "$T/editor.py" "$CM" shop 2>&1); rc=$?
check "a stale write fails" test "$rc" -eq 3
check "with EBUSY (Device or resource busy)" grep -q "busy" <<<"$out"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "trace" "someone else's change is kept"
check "the conflict is explained in .gitopsfs/errors" grep -q "changed in the cluster since you read" "$MNT/.gitopsfs/errors"

# A slow apply holds no lock over the open file: a read through the same
# handle is answered while the PUT is in flight (the server takes 2 s).
emu POST /_emu/faults '{"delay":2,"count":1,"method":"PUT","path_prefix":"/api/v1/namespaces/shop/configmaps/web-config"}' >/dev/null
cat >"$T/slowapply.py" <<'PY'
import os, sys, threading, time
fd = os.open(sys.argv[1], os.O_RDWR)
text = os.pread(fd, 1 << 20, 0).decode()
new = text.replace("LOG_LEVEL: trace", "LOG_LEVEL: slow").encode()
os.pwrite(fd, new, 0)
os.ftruncate(fd, len(new))
t = threading.Thread(target=os.fsync, args=(fd,))  # applies: the slow PUT
t.start()
time.sleep(0.5)
t0 = time.monotonic()
os.pread(fd, 100, 0)
waited = time.monotonic() - t0
t.join()
os.close(fd)
print("read answered after %.2f s" % waited)
sys.exit(0 if waited < 1.0 else 1)
PY
check "a read through an open file is answered while its apply is in flight" python3 "$T/slowapply.py" "$CM"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "slow" "and the slow apply went through"

# A write waiting on the API server stalls no one else: while a close
# waits 3 s for its PUT, other files, listings and the status file are
# answered (the dispatcher hands the apply to a worker: fs/dispatch.c).
emu POST /_emu/faults '{"delay":3,"count":1,"method":"PUT","path_prefix":"/api/v1/namespaces/shop/configmaps/web-config"}' >/dev/null
cat >"$T/slowclose.py" <<'PY'
import os, sys, threading, time
cm, other, mnt = sys.argv[1:4]
text = open(cm).read()
def save():
    with open(cm, "w") as f:  # the close applies: the slow PUT
        f.write(text.replace("LOG_LEVEL: slow", "LOG_LEVEL: patient"))
t = threading.Thread(target=save)
t0 = time.monotonic()
t.start()
time.sleep(0.5)
worst = 0.0
for _ in range(5):
    s = time.monotonic()
    open(other).read()
    os.listdir(os.path.dirname(other))
    open(os.path.join(mnt, ".gitopsfs/status")).read()
    worst = max(worst, time.monotonic() - s)
t.join()
print("others answered within %.2f s; the save took %.2f s" % (worst, time.monotonic() - t0))
sys.exit(0 if worst < 1.0 and time.monotonic() - t0 >= 2.5 else 1)
PY
check "reads of other files are answered while a close waits for its apply" \
	python3 "$T/slowclose.py" "$CM" "$D" "$MNT"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "patient" "and that apply went through"
sed -i 's/LOG_LEVEL: patient/LOG_LEVEL: slow/' "$CM"

# An editor that reads a file once and saves it twice: the second save
# builds on its own first one, not a conflict with it.
cat >"$T/savetwice.py" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
assert "LOG_LEVEL: slow" in text
for level in ("once", "twice"):   # the editor's buffer, saved whole each time
    with open(path, "w") as f:
        f.write(text.replace("LOG_LEVEL: slow", "LOG_LEVEL: " + level))
PY
check "one process that read once saves twice without a conflict" python3 "$T/savetwice.py" "$CM"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "twice" "and its second save is applied"

# A throttling server (429 with Retry-After, as API priority and fairness
# answers): the write waits as asked and goes through; one throttled past
# the retries is refused with EAGAIN and changes nothing.
emu POST /_emu/faults '{"status":429,"count":2,"method":"PUT","path_prefix":"/api/v1/namespaces/shop/configmaps/web-config"}' >/dev/null
out=$(sed 's/LOG_LEVEL: twice/LOG_LEVEL: throttled/' "$CM" | put "$CM" 2>&1)
check "a write answered 429 twice with Retry-After is retried and applied" test -z "$out"
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "throttled" "its change is in the cluster"
emu POST /_emu/faults '{"status":429,"count":20,"method":"PUT","path_prefix":"/api/v1/namespaces/shop/configmaps/web-config"}' >/dev/null
out=$(sed 's/LOG_LEVEL: throttled/LOG_LEVEL: never/' "$CM" | put "$CM" 2>&1)
check "a write throttled past the retries is refused with EAGAIN" grep -q "temporarily unavailable" <<<"$out"
emu DELETE /_emu/faults >/dev/null
is "$(jp configmap web-config -n shop -o jsonpath='{.data.LOG_LEVEL}')" "throttled" "and changes nothing"

# rm deletes; a Namespace needs --allow-cascade-delete.
check "rm of a ConfigMap succeeds" rm "$MNT/shop/configmaps/fresh.yaml"
check "and deletes it from the cluster" wait_for 5 bash -c '! kubectl get configmap fresh -n shop >/dev/null 2>&1'
out=$(rm "$MNT/_cluster/namespaces/shop.yaml" 2>&1); rc=$?
check "rm of a Namespace file is refused without --allow-cascade-delete" test "$rc" -ne 0
check "with a reason" grep -q "allow-cascade-delete" "$MNT/.gitopsfs/errors"
check "the namespace still exists" kc get namespace shop
done_testing
