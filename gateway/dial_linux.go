package gateway

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// dialSocket connects to a TCP target given as ip:port and returns the
// connected, non-blocking socket, for an event loop. On loopback and fast
// networks the connection is complete as connect returns, and then Go's
// poller is never involved: no registration, no goroutine parked and woken,
// no descriptor duplicated and closed, and only the socket options the
// relay needs. Otherwise the wait goes through Go's poller, bounded by
// timeout. ok is false when addr is not an IP address and port; Go's
// dialer, which resolves names, must then be used.
func dialSocket(addr string, timeout time.Duration) (fd int, ok bool, err error) {
	ap, perr := netip.ParseAddrPort(addr)
	if perr != nil || !ap.Addr().IsValid() || ap.Addr().Zone() != "" {
		return -1, false, nil
	}
	deadline := time.Now().Add(timeout)
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	family := unix.AF_INET
	if !ap.Addr().Is4() {
		family = unix.AF_INET6
	}
	fail := func(op string, e error) (int, bool, error) {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, true, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError(op, e)}
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socket", err)
	}
	for _, o := range targetSockopts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.value); err != nil {
			return fail("setsockopt", err)
		}
	}
	switch err := epoll.Connect(fd, ap); err {
	case nil:
		return fd, true, nil
	case unix.EINPROGRESS, unix.EINTR:
	default:
		return fail("connect", err)
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if n, err := unix.Poll(pfd, 0); err == nil && n == 1 {
		if err := soError(fd); err != nil {
			return fail("connect", err)
		}
		return fd, true, nil
	}
	fd, err = waitConnected(fd, deadline)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			return fail(se.Syscall, se.Err)
		}
		return -1, true, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err}
	}
	return fd, true, nil
}

// targetSockopts are the options a target socket gets: no delay, as Go's
// connections have, and a keep-alive probe after 15 s of silence.
var targetSockopts = [...]struct{ level, opt, value int }{
	{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
	{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
}

func soError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

// waitConnected waits in Go's poller until the connection on fd is made or
// fails, or deadline passes. It returns a duplicate of fd: closing the file
// that joined the poller takes fd out of it, and closes fd. fd is closed on
// error.
func waitConnected(fd int, deadline time.Time) (int, error) {
	f := os.NewFile(uintptr(fd), "target")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	if err := f.SetWriteDeadline(deadline); err != nil {
		return -1, err
	}
	var cerr error
	werr := rc.Write(func(s uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(s), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
			return false
		}
		cerr = soError(int(s))
		return true
	})
	if werr != nil {
		return -1, werr
	}
	if cerr != nil {
		return -1, os.NewSyscallError("connect", cerr)
	}
	return dupRaw(rc)
}
