#!/bin/sh
# mkdeb.sh VERSION ARCH BINARY DOCS_DIR OUT.deb: builds the websockify-go
# Debian package with dpkg-deb from a release binary and the generated man
# page and completions. No network and no debhelper: a binary package laid
# out by hand, owned by root, with file times set to SOURCE_DATE_EPOCH so
# that two builds of one commit are identical.
set -eu
[ $# -eq 5 ] || { echo "usage: $0 VERSION ARCH BINARY DOCS_DIR OUT.deb" >&2; exit 2; }
version=$1 arch=$2 bin=$3 docs=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
pkg=websockify-go
: "${SOURCE_DATE_EPOCH:=$(date +%s)}"
: "${DEB_MAINTAINER:=websockify-go maintainers <websockify-go@users.noreply.github.com>}"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
umask 022
chmod 0755 "$root"
doc=$root/usr/share/doc/$pkg
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$doc" \
	"$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
	"$root/usr/share/fish/vendor_completions.d" "$root/usr/share/lintian/overrides" \
	"$root/lib/systemd/system" "$doc/examples"

install -m 0755 "$bin" "$root/usr/bin/websockify"
gzip -9n <"$docs/websockify.1" >"$root/usr/share/man/man1/websockify.1.gz"
install -m 0644 "$docs/websockify.bash" "$root/usr/share/bash-completion/completions/websockify"
install -m 0644 "$docs/_websockify" "$root/usr/share/zsh/vendor-completions/_websockify"
install -m 0644 "$docs/websockify.fish" "$root/usr/share/fish/vendor_completions.d/websockify.fish"
install -m 0644 "$here/debian/README.Debian" "$doc/README.Debian"
# systemd units: an instance per /etc/websockify/NAME.conf (not enabled).
install -m 0644 "$here/systemd/websockify@.service" "$here/systemd/websockify@.socket" "$root/lib/systemd/system/"
install -m 0644 "$here/systemd/example.conf" "$doc/examples/example.conf"
"$here/copyright.sh" >"$doc/copyright"
chmod 0644 "$doc/copyright"
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=$(git -C "$here/.." rev-parse HEAD 2>/dev/null || echo unknown)
printf '%s (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
	"$pkg" "$version" "$commit" "$DEB_MAINTAINER" "$date" | gzip -9n >"$doc/changelog.gz"
# Go links statically by design (lintian only recognises that from a source
# package's Build-Depends on golang-go, and this is a binary-only build).
cat >"$root/usr/share/lintian/overrides/$pkg" <<OVR
# A Go program: statically linked by design, with the rebind.so shim embedded.
$pkg: statically-linked-binary [usr/bin/websockify]
OVR
chmod 0644 "$root/usr/share/lintian/overrides/$pkg"

size=$(du -k -s --apparent-size "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CTL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: $DEB_MAINTAINER
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/websockify-go/websockify
Provides: websockify
Conflicts: websockify
Replaces: websockify, python3-websockify
Description: WebSocket to TCP gateway (websockify in Go)
 websockify accepts WebSocket connections and relays their bytes to a TCP or
 Unix-socket target and back, so that a web page (noVNC, a browser terminal)
 can reach a VNC server, a telnet daemon or any TCP service.
 .
 This is a drop-in reimplementation of the Python websockify: the same
 command lines, one static binary with the rebind.so shim for wrapped
 programs embedded, every connection served from one process. It replaces
 Debian's websockify package, and noVNC keeps working on top of it.
CTL
(cd "$root" && find lib usr -type f | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
