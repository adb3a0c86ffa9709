#!/bin/sh
# Prints the version of this checkout, from git describe, in a form that is
# both websockify's --version and a valid Debian version:
#   tag v1.2.0                    -> 1.2.0
#   3 commits after it            -> 1.2.0+3.gabc1234def0
#   no v* tag yet                 -> 0.0.0+N.gHASH (N = commits in history)
#   uncommitted changes           -> ... +dirty / .dirty appended
# Without git (a source tarball), 0.0.0+unknown.
set -eu
cd "$(dirname "$0")/.."
if ! d=$(git describe --tags --match 'v[0-9]*' --dirty --abbrev=12 2>/dev/null); then
	if ! h=$(git describe --always --dirty --abbrev=12 2>/dev/null); then
		echo 0.0.0+unknown
		exit 0
	fi
	d="v0.0.0-$(git rev-list --count HEAD)-g$h"
fi
d=${d#v}
case $d in
*-*-g*) # 1.2.0-3-gabc[-dirty]
	base=${d%%-*}
	rest=${d#*-}
	echo "$base+$(echo "$rest" | tr - .)" ;;
*-dirty) echo "${d%-dirty}+dirty" ;;
*) echo "$d" ;;
esac
