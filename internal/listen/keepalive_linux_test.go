package listen

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// Linux copies the listening socket's options into accepted sockets; the
// per-connection system calls this saves must not cost the options.
func TestAcceptedSocketsInheritOptions(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := TCP(context.Background(), host, 0, false)
		if err != nil {
			t.Skipf("%s: %v", host, err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Accepted by hand: Go's Accept would set TCP_NODELAY itself.
		var fd int
		var aerr error
		rc, err := ln.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		rc.Control(func(lfd uintptr) {
			unix.Poll([]unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}, 5000)
			fd, _, aerr = unix.Accept4(int(lfd), unix.SOCK_CLOEXEC)
		})
		if aerr != nil {
			t.Fatal(aerr)
		}
		defer unix.Close(fd)
		want := map[string]struct{ level, opt, value int }{
			"SO_KEEPALIVE":  {unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
			"TCP_KEEPIDLE":  {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
			"TCP_KEEPINTVL": {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
			"TCP_KEEPCNT":   {unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9},
			"TCP_NODELAY":   {unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		}
		for name, o := range want {
			v, err := unix.GetsockoptInt(fd, o.level, o.opt)
			if err != nil || v != o.value {
				t.Errorf("%s: accepted socket has %s = %d (%v), want %d", host, name, v, err, o.value)
			}
		}
	}
}
