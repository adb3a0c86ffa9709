//go:build unix

package gateway

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// waitReadable waits until c has bytes to read (or an end, an error or a
// passed deadline, which the next Read reports), so that the caller needs
// no buffer while it waits. It returns at once when c cannot be waited on
// so (rc nil: TLS).
func waitReadable(rc syscall.RawConn) {
	if rc == nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		var b byte
		_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b)), 1,
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		return errno != unix.EAGAIN
	})
}
