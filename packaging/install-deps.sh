#!/bin/sh
# Installs the Debian 12 packages gitopsfs needs to build, test and demo.
# clang and libclang-rt-14-dev (its libFuzzer and sanitizer runtimes) are
# for `make fuzz`; debhelper, lintian, man-db and bash-completion for
# `make deb` and its test (tests/integration/t_deb.sh). age and
# python3-cryptography check `secrets: sops` against independent
# implementations (tests/integration/t_sops.sh). nghttp2-proxy (nghttpx) is
# the HTTP/2 front put before the emulator by tests/integration/t_h2.sh and
# bench/bench_crds.sh.
# Idempotent: does nothing when everything is already installed.
set -eu
PKGS="build-essential pkg-config libfuse3-dev fuse3 libgit2-dev libcurl4-openssl-dev
libyaml-dev libjansson-dev libssl-dev libmicrohttpd-dev zlib1g-dev git python3 python3-yaml openssl curl procps psmisc bc
clang-format cppcheck clang libclang-rt-14-dev openssh-server openssh-client
debhelper dpkg-dev lintian man-db groff-base bash-completion age python3-cryptography
nghttp2-proxy"
# kubectl drives the emulator in tests; Debian ships it as kubernetes-client.
command -v kubectl >/dev/null 2>&1 || PKGS="$PKGS kubernetes-client"
# The write-back tests edit files with vi as a person would.
command -v vim >/dev/null 2>&1 || command -v vi >/dev/null 2>&1 || PKGS="$PKGS vim-tiny"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all packages present"; exit 0; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
