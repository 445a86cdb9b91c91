#!/usr/bin/env bash
# Who did what, and when (SPEC section 6): in --sync commit mode each
# commit's author is the field manager that made the change, its author
# date the change's time; changes by different managers landing together
# make one commit each; a deletion is authored by "deleted-in-cluster";
# so git blame, git log --author and git shortlog tell who changed the
# cluster. The committer stays gitopsfs.
. "$(dirname "$0")/lib.sh"

start_emulator --seed "$ROOT/tests/demo/seed.yaml"
make_repo
mount_gfs --sync commit || { echo "Bail out! mount failed"; exit 1; }
G() { git -C "$MNT" "$@"; }
ncommits() { G rev-list --count main 2>/dev/null || echo 0; }
more_commits_than() { [ "$(ncommits)" -gt "$1" ]; }
check "the first round imports the cluster" wait_for 10 more_commits_than 0
sleep 1.5

# Several clients at once, each its own field manager.
n0=$(ncommits)
EDITOR="sed -i s/LOG_LEVEL:\ info/LOG_LEVEL:\ edited/" kc edit configmap web-config -n shop </dev/null >/dev/null & p1=$!
kc label deployment web -n shop tier=frontend >/dev/null & p2=$!
kc patch service web -n shop --type merge --field-manager ci-bot -p '{"metadata":{"annotations":{"owner":"team-a"}}}' >/dev/null & p3=$!
wait $p1 $p2 $p3
check "changes by three managers become commits" wait_for 5 more_commits_than "$((n0 + 2))"
sleep 1.5
is "$(ncommits)" "$((n0 + 3))" "one commit per manager"
is "$(G log -3 --format=%an | sort | tr '\n' ' ')" "ci-bot kubectl-edit kubectl-label " "each authored by its manager"
is "$(G log -3 --format=%cn | sort -u)" "gitopsfs" "the committer stays gitopsfs"
check "an author's email says it is a field manager of this cluster" bash -c 'git -C "$1" log -3 --format=%ae | grep -qx "ci-bot@field-manager.127.0.0.1"' _ "$MNT"
t_edit=$(kc get configmap web-config -n shop -o json --show-managed-fields | python3 -c 'import json,sys; m=json.load(sys.stdin)["metadata"]["managedFields"]; print(max(e["time"] for e in m if e["manager"]=="kubectl-edit"))')
is "$(G log -3 --author=kubectl-edit --format=%ad --date=format-local:%Y-%m-%dT%H:%M:%SZ)" "$t_edit" "the author date is the change's time (managedFields)"
check "each commit holds only its manager's object" bash -c 'git -C "$1" show --stat --format= --author=ci-bot $(git -C "$1" log -3 --author=ci-bot --format=%H) | grep -q "shop/services/web.yaml" && ! git -C "$1" show --stat --format= $(git -C "$1" log -3 --author=ci-bot --format=%H) | grep -q configmaps' _ "$MNT"

# git blame: each line names its manager.
check "git blame names kubectl-edit on the edited line" bash -c 'blame() { git -C "$1" blame --line-porcelain -- "$2" | awk "/^author /{a=substr(\$0,8)} /^\t/{print a \"\t\" substr(\$0,2)}"; }; blame "$1" shop/configmaps/web-config.yaml | grep -qP "^kubectl-edit\tLOG_LEVEL: edited|^kubectl-edit\t  LOG_LEVEL: edited"' _ "$MNT"
check "and kubectl-label on the label line" bash -c 'git -C "$1" blame --line-porcelain -- shop/deployments.apps/web.yaml | awk "/^author /{a=substr(\$0,8)} /^\t/{print a \"|\" substr(\$0,2)}" | grep -q "^kubectl-label|    tier: frontend"' _ "$MNT"
check "while unchanged lines keep the import's author" bash -c 'git -C "$1" blame --line-porcelain -- shop/deployments.apps/web.yaml | awk "/^author /{a=substr(\$0,8)} /^\t/{print a \"|\" substr(\$0,2)}" | grep "|kind: Deployment" | grep -qv "^kubectl-label"' _ "$MNT"

# A deletion.
n1=$(ncommits)
kc delete configmap web-config -n shop >/dev/null
check "a deletion is committed" wait_for 5 more_commits_than "$n1"
is "$(G log -1 --format=%an)" "deleted-in-cluster" "authored by the documented placeholder"

# What Git users get.
check "git log --author=kubectl lists the manual changes" bash -c '[ "$(git -C "$1" log --author=kubectl --format=%an | sort -u | tr "\n" " ")" = "kubectl-edit kubectl-label " ]' _ "$MNT"
check "git shortlog -sn ranks who changes the cluster" bash -c 'git -C "$1" shortlog -sn main | grep -q "ci-bot"' _ "$MNT"
kc set image deployment/web -n shop '*=nginx:1.27.0' >/dev/null
check "an image change is committed" wait_for 5 bash -c 'git -C "$1" log -1 --format=%B | grep -q deployments.apps/web.yaml' _ "$MNT"
is "$(G log -S 'image: nginx:1.27.0' --format=%an | head -1)" "kubectl-set" "git log -S image: finds when an image changed and by whom"
done_testing
