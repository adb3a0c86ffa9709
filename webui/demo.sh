#!/bin/sh
# make demo: websockify wrapping a real telnet server (telnetd under inetd,
# respawn mode), with the built-in pages served on the same port, so that
# http://HOST:PORT/wstelnet.html is a working terminal.
#
#   make demo                      # 127.0.0.1:2023, telnetd runs /bin/login
#   make demo DEMO_PORT=8023       # another port
#   make demo DEMO_LISTEN=0.0.0.0  # reachable from other machines
#   make demo DEMO_LOGIN=/bin/sh   # no login: a root shell for anyone who
#                                  # can reach the port
#
# Needs root (telnetd allocates terminals; inetd runs it as root). As root
# it installs inetutils-inetd and inetutils-telnetd when they are missing.
set -eu

BIN=${BIN:-bin/websockify}
PORT=${DEMO_PORT:-2023}
LOGIN=${DEMO_LOGIN:-/bin/login}
# Loopback unless told otherwise: the demo offers a login.
LISTEN=${DEMO_LISTEN:-127.0.0.1}

if [ "$(id -u)" != 0 ]; then
	echo "make demo: telnetd must run as root to allocate terminals; run: sudo make demo" >&2
	exit 1
fi
missing=""
for p in inetutils-inetd inetutils-telnetd; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if ! command -v apt-get >/dev/null; then
		echo "make demo: please install:$missing (Debian package names)" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$LOGIN" != /bin/login ]; then
	echo "############################################################"
	echo "# WARNING: telnetd runs $LOGIN WITHOUT A PASSWORD, as root."
	echo "# Anyone who can reach port $PORT on $LISTEN gets a root shell."
	echo "############################################################"
fi

dir=$(mktemp -d /tmp/websockify-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
echo "$PORT stream tcp nowait root /usr/sbin/telnetd telnetd -h -E $LOGIN" >"$dir/inetd.conf"

host=$LISTEN
case $host in
0.0.0.0 | :: | "[::]") host=$(hostname -I 2>/dev/null | cut -d' ' -f1) ;;
esac
host=${host:-127.0.0.1}
echo
echo "open http://$host:$PORT/wstelnet.html?autoconnect=1   (Ctrl-C here to stop)"
echo
src=$LISTEN:$PORT
"$BIN" --web-builtin "$src" --wrap-mode=respawn -- \
	/usr/sbin/inetutils-inetd -d --pidfile="$dir/inetd.pid" "$dir/inetd.conf" || true
