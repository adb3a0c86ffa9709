package rebind

import _ "embed" // the shim

// shim is rebind_arm64.so, compiled from ../rebind.c by `make generate`
// with Debian's aarch64-linux-gnu-gcc and committed (see shim_amd64.go).
//
//go:embed rebind_arm64.so
var shim []byte
