package rebind

import _ "embed" // the shim

// shim is rebind_amd64.so, compiled from ../rebind.c by `make generate`
// and committed, as cilium/ebpf's bpf2go does, so that `go build` and
// `go install` need no C compiler. `make check-generated` (part of
// `make test`) fails when it no longer matches what rebind.c builds to.
//
//go:embed rebind_amd64.so
var shim []byte
