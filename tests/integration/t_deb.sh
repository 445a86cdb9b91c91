#!/usr/bin/env bash
# make deb (issue 12): the Debian package builds with debhelper, holds the
# binary in /usr/bin, the man pages, the bash completion, the systemd unit
# and the docs; the man page covers every command and option the program
# knows; completion offers commands, options and their values; lintian is
# clean. Checked without installing into the real root: the package is
# unpacked with dpkg -x into the test's directory and run from there.
# gfs-test-timeout: 900
set -u
ROOT=${GFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/gfs-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
_n=0 _failed=0
ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
is() {
	if [ "$1" == "$2" ]; then ok "$3"; else
		not_ok "$3"; echo "#   got:      $(printf '%q' "$1")"; echo "#   expected: $(printf '%q' "$2")"
	fi
}

for tool in dh dpkg-deb dpkg-checkbuilddeps; do
	if ! command -v "$tool" >/dev/null; then
		ok "# SKIP $tool is not installed (debhelper, dpkg-dev): make deps installs them"
		echo "1..$_n"; exit 0
	fi
done
if ! (cd "$ROOT" && dpkg-checkbuilddeps) 2>"$T/deps.err"; then
	ok "# SKIP build dependencies missing: $(tr '\n' ' ' <"$T/deps.err")"
	echo "1..$_n"; exit 0
fi

VERSION=$(cat "$ROOT/VERSION")
ARCH=$(dpkg --print-architecture)
DEB=$ROOT/build/gitopsfs_${VERSION}_$ARCH.deb
start=$SECONDS
make -C "$ROOT" --no-print-directory deb >"$T/build.log" 2>&1
rc=$?
is "$rc" "0" "make deb builds the package"
[ "$rc" -eq 0 ] || { tail -n 30 "$T/build.log" | sed 's/^/#   /'; echo "1..$_n"; exit 1; }
echo "# make deb took $((SECONDS - start)) s"
check "it is build/gitopsfs_<version>_<arch>.deb" test -f "$DEB"
check "lintian (when installed) found no error or warning" \
	bash -c '! command -v lintian >/dev/null || ! grep -qE "^[EW]: " "$1"' _ "$T/build.log"

info=$(dpkg-deb --info "$DEB")
check "package name and version" bash -c 'grep -q "^ Package: gitopsfs$" <<<"$1" && grep -q "^ Version: $2$" <<<"$1"' _ "$info" "$VERSION"
check "depends on the libraries it links, libmicrohttpd among them, and fuse3" \
	bash -c 'grep "^ Depends:" <<<"$1" | grep -q "libmicrohttpd.*fuse3\|fuse3.*libmicrohttpd"' _ "$info"
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/bin/gitopsfs /usr/share/man/man1/gitopsfs.1.gz /usr/share/man/man5/gitopsfs.yaml.5.gz \
	/usr/share/bash-completion/completions/gitopsfs /lib/systemd/system/gitopsfs@.service \
	/usr/lib/sysusers.d/gitopsfs.conf /usr/share/doc/gitopsfs/copyright \
	/usr/share/doc/gitopsfs/README.md.gz /usr/share/doc/gitopsfs/README.packaging.md.gz \
	/usr/share/doc/gitopsfs/examples/kubernetes/deployment.yaml \
	/usr/share/doc/gitopsfs/examples/kubernetes/servicemonitor.yaml; do
	check "the package holds $f" grep -qx "$f" "$T/contents"
done
check "nothing under /usr/local" bash -c '! grep -q "^/usr/local" "$1"' _ "$T/contents"

# ---- unpacked, not installed ---------------------------------------------------------
dpkg -x "$DEB" "$T/root"
R=$T/root
is "$("$R/usr/bin/gitopsfs" --version)" "gitopsfs $VERSION" "the packaged binary runs and knows its version"
check "the unit runs /usr/bin/gitopsfs" grep -q "^ExecStart=/usr/bin/gitopsfs mount" "$R/lib/systemd/system/gitopsfs@.service"

MAN1=$T/gitopsfs.1.txt
check "man -l renders gitopsfs(1)" bash -c 'MANWIDTH=100 man -l "$1" >"$2" 2>"$2.err" && [ -s "$2" ] && [ ! -s "$2.err" ]' _ "$R/usr/share/man/man1/gitopsfs.1.gz" "$MAN1"
check "groff reports no warning in gitopsfs(1)" bash -c '[ -z "$(zcat "$1" | groff -man -ww -z 2>&1)" ]' _ "$R/usr/share/man/man1/gitopsfs.1.gz"
check "the page carries the package version" grep -q "gitopsfs $VERSION" "$MAN1"
for cmd in mount sync export status diff wait; do
	check "gitopsfs(1) describes the command $cmd" grep -qE "^ +gitopsfs $cmd|^ +$cmd " "$MAN1"
done
# Every option the program's --help lists, and every one SPEC section 2 names
# (some of which other commands' work adds to --help).
spec_opts="--kubeconfig --context --namespace --sync --branch --interval --push --prune --heal
	--config --read-only --path --health-timeout --metrics-addr --foreground --debug --secrets
	--state-dir --quiet --timeout --allow-cascade-delete"
opts=$( { "$R/usr/bin/gitopsfs" --help; echo "$spec_opts"; } |
	grep -oE -- '--[a-z][a-z-]+' | sort -u | grep -vx -- '--help\|--version')
for o in $opts; do
	check "gitopsfs(1) documents $o" grep -qE -- "^ +$o\b|, $o\b" "$MAN1"
done
check "gitopsfs(1) has the metrics, environment, files and exit status" \
	bash -c 'for s in METRICS ENVIRONMENT FILES "EXIT STATUS"; do grep -q "^$s" "$1" || exit 1; done' _ "$MAN1"
MAN5=$T/gitopsfs.yaml.5.txt
check "man -l renders gitopsfs.yaml(5)" bash -c 'MANWIDTH=100 man -l "$1" >"$2" 2>/dev/null && [ -s "$2" ]' _ "$R/usr/share/man/man5/gitopsfs.yaml.5.gz" "$MAN5"
for key in exclude include ignore secrets sops alerts health; do
	check "gitopsfs.yaml(5) documents $key" grep -qE "^ +$key\b" "$MAN5"
done

# ---- bash completion ---------------------------------------------------------------------
COMP=$R/usr/share/bash-completion/completions/gitopsfs
# complete WORDS...: what Tab offers for the last word.
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_gitopsfs; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMP" "$@"
}
is "$(bash -c 'source "$1"; complete -p gitopsfs' _ "$COMP")" "complete -F _gitopsfs gitopsfs" "completion is registered for gitopsfs"
is "$(complete_words gitopsfs '')" "--help --version diff export mount status sync wait " "commands"
is "$(complete_words gitopsfs s)" "status sync " "a command's prefix"
is "$(complete_words gitopsfs mount --sync '')" "apply commit off " "--sync values"
is "$(complete_words gitopsfs sync --heal '')" "no yes " "--heal values"
is "$(complete_words gitopsfs mount --secrets '')" "exclude redact show sops " "--secrets values, sops included"
is "$(complete_words gitopsfs mount --metrics-a)" "--metrics-addr " "an option's prefix"
is "$(complete_words gitopsfs wait --)" "--help --timeout " "wait's options"
# With the bash-completion package loaded first (its _init_completion path),
# as an interactive shell on Debian has it.
if [ -r /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"
		COMP_WORDS=(gitopsfs sync --secrets ""); COMP_CWORD=3; COMP_LINE="gitopsfs sync --secrets "
		COMP_POINT=${#COMP_LINE}; _gitopsfs; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMP")
	is "$got" "exclude redact show sops " "values with bash-completion loaded too"
else
	ok "# SKIP bash-completion is not installed: only the plain path is checked"
fi
mount_opts=$(complete_words gitopsfs mount --)
for o in $opts; do
	check "mount completes $o" grep -q -- "$o " <<<"$mount_opts"
done
echo "1..$_n"
[ "$_failed" -eq 0 ]
