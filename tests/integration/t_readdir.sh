#!/usr/bin/env bash
# Listing directories: the kernel opens them without asking us (and keeps
# the listings), readdir resumes at a cookie that is a hash of the name,
# so a listing read in many replies, with objects coming and going in
# between, lists every object that stayed exactly once (fs/dirlist.c).
. "$(dirname "$0")/lib.sh"

start_emulator --bulk 20000
make_repo
check "mount returns once ready" mount_gfs --read-only
D=$MNT/bulk-0/configmaps

names_api() { kc get configmaps -n bulk-0 -o jsonpath='{range .items[*]}{.metadata.name}.yaml{"\n"}{end}' | grep -vx kube-root-ca.crt.yaml | sort; }
is "$(ls "$D" | wc -l)" 2000 "a directory of 2,000 objects lists them all"
check "the same names as the API server's" diff <(ls "$D" | sort) <(names_api)
check "find lists every file once" bash -c '[ -z "$(find "$1" | sort | uniq -d)" ]' _ "$MNT"
is "$(find "$MNT" -name '*.yaml' -path '*/configmaps/*' -path '*bulk-*' | wc -l)" 20000 "and all 20,000 of them"

# Half a listing, then 50 objects deleted and 50 created through the API,
# then the rest of the listing from the same open directory.
cat >"$T/midway.py" <<'PY'
import os, subprocess, sys, time
d, kcfg = sys.argv[1], sys.argv[2]
before = set(os.listdir(d))
it = os.scandir(d)  # getdents64 with a 32 KiB buffer: several replies each
seen = [next(it).name for _ in range(300)]
gone = sorted(before)[1000:1050]
subprocess.run(["kubectl", "--request-timeout=10s", "delete", "configmap", "-n", "bulk-0", "--wait=false"]
               + [n[:-5] for n in gone], check=True, capture_output=True)
new = "".join("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: midway-%03d\n  namespace: bulk-0\n" % i
              for i in range(50))
subprocess.run(["kubectl", "--request-timeout=10s", "create", "-f", "-"], input=new.encode(),
               check=True, capture_output=True)
for _ in range(200):  # until the watch brought the changes
    if os.path.exists(os.path.join(d, "midway-049.yaml")) and not os.path.exists(os.path.join(d, gone[-1])):
        break
    time.sleep(0.05)
seen += [e.name for e in it]
stayed = before - set(gone)
dups = [n for n in set(seen) if seen.count(n) > 1]
missing = stayed - set(seen)
print("listed %d, duplicates %d, missing %d" % (len(seen), len(dups), len(missing)))
sys.exit(0 if not dups and not missing else 1)
PY
check "objects that stayed are listed once each while others come and go" \
	python3 "$T/midway.py" "$D" "$KUBECONFIG"
is "$(ls "$D" | wc -l)" 2000 "a new listing shows the change: 50 gone, 50 new"
check "and names the new ones" test -f "$D/midway-000.yaml"

# The status directory is listed too (its files are rendered on a worker).
is "$(ls "$MNT/.gitopsfs" | tr '\n' ' ')" "errors health last-apply status " ".gitopsfs lists its files"
check "a file in it reads" grep -q '"objects"' "$MNT/.gitopsfs/status"

done_testing
