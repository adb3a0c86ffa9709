package listen

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// Linux copies the listening socket's options into accepted sockets; the
// per-connection system calls this saves must not cost the options.
func TestAcceptedSocketsInheritKeepAlive(t *testing.T) {
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
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		rc, err := a.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct{ level, opt, value int }{
			"SO_KEEPALIVE":  {unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
			"TCP_KEEPIDLE":  {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
			"TCP_KEEPINTVL": {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
			"TCP_KEEPCNT":   {unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9},
			"TCP_NODELAY":   {unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		}
		rc.Control(func(fd uintptr) {
			for name, o := range want {
				v, err := unix.GetsockoptInt(int(fd), o.level, o.opt)
				if err != nil || v != o.value {
					t.Errorf("%s: accepted socket has %s = %d (%v), want %d", host, name, v, err, o.value)
				}
			}
		})
	}
}
