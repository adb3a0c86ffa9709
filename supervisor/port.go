package supervisor

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// pickTries bounds the search for a port that is free on both loopbacks.
const pickTries = 20

// PickPort returns a TCP port that is free on 127.0.0.1 and, when the host
// has IPv6 loopback, on [::1] too. It is the kernel's choice for an
// ephemeral bind, so it can be taken again before the wrapped program binds
// it; Run checks that and picks another port when it happens.
func PickPort() (int, error) {
	for range pickTries {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pick a loopback port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if free6(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("pick a loopback port: no port free on both 127.0.0.1 and [::1] after %d tries", pickTries)
}

// portFree reports whether nobody listens on port on either loopback.
// Sockets in TIME_WAIT do not count (Go sets SO_REUSEADDR, as servers do).
func portFree(port int) bool {
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return free6(port)
}

// free6 reports whether port is free on [::1]; true without IPv6.
func free6(port int) bool {
	ln, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err == nil {
		ln.Close()
		return true
	}
	return !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES)
}
