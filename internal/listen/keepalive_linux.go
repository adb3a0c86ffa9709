package listen

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// acceptedOptions are what every accepted TCP connection gets: TCP_NODELAY,
// as Go sets it, and keep-alive: a probe after 15 s of silence, then every
// 15 s, nine unanswered probes and the connection is dropped (Go's
// defaults).
var acceptedOptions = [...]struct{ level, opt, value int }{
	{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
	{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
	{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
	{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9},
}

// listenConfig sets the accepted sockets' options once on the listening
// socket: Linux copies them into every accepted socket, which saves their
// system calls per connection over Go's per-accept setting (the gateway,
// which accepts sockets itself, sets no TCP_NODELAY when the listener has
// it).
func listenConfig() net.ListenConfig {
	return net.ListenConfig{
		KeepAlive: -1,
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				for _, o := range acceptedOptions {
					if serr = unix.SetsockoptInt(int(fd), o.level, o.opt, o.value); serr != nil {
						return
					}
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
}
