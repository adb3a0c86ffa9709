#!/bin/sh
# copyright.sh: prints debian/copyright (machine-readable format 1.0) for the
# websockify binary: this project, the xterm.js files embedded in it, the Go
# modules linked into it (found with go list, licences read from the module
# cache) and the Go standard library.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}

# para FILES COPYRIGHT LICENSE_NAME LICENSE_FILE: one Files paragraph with
# the licence text, indented as the format wants.
# Licences Debian ships in /usr/share/common-licenses are referred to.
para() {
	printf '\nFiles: %s\nCopyright: %s\nLicense: %s\n' "$1" "$2" "$3"
	if [ -f "/usr/share/common-licenses/$3" ]; then
		printf ' On Debian systems, the complete text of the %s licence is in\n /usr/share/common-licenses/%s.\n' "$3" "$3"
		return
	fi
	sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /' "$4"
}

# licence_name FILE: the SPDX name of a licence text.
licence_name() {
	if grep -q 'Apache License' "$1"; then echo Apache-2.0
	elif grep -q 'Permission is hereby granted, free of charge' "$1"; then echo Expat
	elif grep -q 'Neither the name' "$1"; then echo BSD-3-clause
	elif grep -q 'Redistribution and use' "$1"; then echo BSD-2-clause
	else echo "UNKNOWN: $1" >&2; exit 1
	fi
}

# holders FILE: the copyright lines of a licence text, one line.
holders() {
	h=$(grep -i '^[[:space:]]*copyright' "$1" | grep -v -i 'copyright notice\|copyright holder\|copyright owner\|copyright license\|copyright statement' |
		sed -e 's/^[[:space:]]*[Cc]opyright[[:space:]]*\((c)\|©\)\?[[:space:]]*//' | head -5 | paste -sd ';' -)
	echo "${h:-the authors of $2}"
}

cat <<'HDR'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: websockify-go
Source: https://github.com/websockify-go/websockify
Comment: /usr/bin/websockify is a static Go program: besides this project's
 code it contains the Go modules and the Go standard library listed below,
 and the xterm.js files of its built-in pages.

Files: *
Copyright: the websockify-go authors
License: no-licence-chosen
 The websockify-go project has not published a licence yet; this paragraph
 will name it once chosen.
HDR

x=webui/static/vendor/xterm/LICENSE.txt
para 'webui/static/vendor/xterm/*' "$(holders $x xterm.js)" "$(licence_name $x)" $x

$GO list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Dir}}{{end}}{{end}}' ./cmd/websockify | sort -u |
while read -r path dir; do
	lic=$(ls "$dir" | grep -E -i -m1 '^(licen[cs]e|copying)(\.(md|txt))?$') || { echo "no licence file in $dir" >&2; exit 1; }
	para "go-modules/$path/*" "$(holders "$dir/$lic" "$path")" "$(licence_name "$dir/$lic")" "$dir/$lic"
done

x=$($GO env GOROOT)/LICENSE
para 'go-stdlib/*' "$(holders "$x" Go)" "$(licence_name "$x")" "$x"
