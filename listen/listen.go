// Package listen opens websockify's listening socket: a TCP address
// resolved as the reference does, a Unix socket with a given mode, or the
// socket inetd passes on standard input.
package listen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"syscall"
)

// TCP listens on host:port. An empty host listens on every interface, IPv4
// and IPv6. A name is resolved and only its first address is used, IPv4
// first unless preferIPv6, as the reference does.
func TCP(ctx context.Context, host string, port int, preferIPv6 bool) (net.Listener, error) {
	addr := ""
	if host != "" {
		ip, err := resolve(ctx, host, preferIPv6)
		if err != nil {
			return nil, err
		}
		addr = ip.String()
	}
	lc := listenConfig()
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	return ln, nil
}

func resolve(ctx context.Context, host string, preferIPv6 bool) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no addresses", host)
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		av, bv := a.Unmap().Is4(), b.Unmap().Is4()
		switch {
		case av == bv:
			return 0
		case av != preferIPv6:
			return -1
		default:
			return 1
		}
	})
	return ips[0].Unmap(), nil
}

// Unix listens on a Unix socket at path with the given mode. A stale socket
// at path is removed first; any other kind of file there is an error.
func Unix(path string, mode fs.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listen on unix socket %s: file exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	// The umask keeps the socket from ever having wider permissions.
	old := syscall.Umask(int(0o777 &^ mode))
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on unix socket %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod unix socket: %w", err)
	}
	return ln, nil
}

// Inetd takes the listening socket passed as standard input.
func Inetd() (net.Listener, error) {
	f := os.NewFile(0, "stdin")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) || errors.Is(err, syscall.ENOTSOCK) {
			return nil, fmt.Errorf("--inetd: standard input is not a listening socket: %w", err)
		}
		return nil, fmt.Errorf("--inetd: %w", err)
	}
	return ln, nil
}
