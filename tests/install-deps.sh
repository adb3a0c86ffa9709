#!/bin/sh
# Installs the system programs the end-to-end tests drive, from Debian's
# packages, when running as root (as CI does). As another user it only
# reports what is missing; the tests then fail with a clear message rather
# than being skipped in CI.
set -eu

PKGS="socat websockify openssl inetutils-inetd inetutils-telnetd tigervnc-standalone-server redis-server"
# The admin listener's metrics: promtool check metrics (tests/operate_test.go).
PKGS="$PKGS prometheus"
# The browser tests: Debian's chromium (driven by playwright-core from npm),
# noVNC, and xsetroot for the VNC test pattern.
PKGS="$PKGS chromium novnc x11-xserver-utils"
# Behind a load balancer (tests/loadbalancer_test.go): HAProxy and nginx with
# its stream module, run by the tests themselves (no system service).
PKGS="$PKGS haproxy nginx libnginx-mod-stream"
# make check-generated: rebind.c compiled for arm64 as well as amd64.
PKGS="$PKGS gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
# Packaging (tests/deb_test.go, packaging_test.go, arm64_test.go): lintian for
# the .deb, man-db and the three shells for the man page and completions,
# qemu-user-static to run the arm64 build.
PKGS="$PKGS lintian man-db bash-completion fish zsh qemu-user-static"
# systemd (tests/systemd_test.go): systemd-socket-activate for socket
# activation, systemd-analyze to verify the units (no systemd as PID 1).
PKGS="$PKGS systemd"
# make bench (cmd/wsbench's nginx suite): nginx terminating TLS with its stream module.
PKGS="$PKGS nginx libnginx-mod-stream"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "tests/install-deps.sh: not root; please install:$missing" >&2
fi
