//go:build !unix

package gateway

import "syscall"

// waitReadable cannot wait without reading here: the caller's read waits,
// holding its buffer.
func waitReadable(rc syscall.RawConn) {}
