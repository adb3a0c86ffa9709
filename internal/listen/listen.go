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
	"time"
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

// Unix listens on a Unix socket at path with the given mode. A socket file
// at path is replaced only when it is stale: connecting to it is refused
// (no process listens on it). A live socket is "address already in use",
// as for TCP; any other kind of file there is an error.
//
// The returned remove deletes the socket file when it is still the one
// this listener created (same device and inode), so that an instance that
// exits never unlinks the socket of another that replaced it. Closing the
// listener does not remove the file by itself.
func Unix(path string, mode fs.FileMode) (ln *net.UnixListener, remove func() error, err error) {
	if err := removeStale(path); err != nil {
		return nil, nil, fmt.Errorf("listen on unix socket %s: %w", path, err)
	}
	// The umask keeps the socket from ever having wider permissions.
	old := syscall.Umask(int(0o777 &^ mode))
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on unix socket %s: %w", path, err)
	}
	ln = l.(*net.UnixListener)
	ln.SetUnlinkOnClose(false)
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("listen on unix socket %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, nil, fmt.Errorf("chmod unix socket: %w", err)
	}
	return ln, func() error { return removeIfSame(path, fi) }, nil
}

// removeStale removes the socket file at path when nothing listens on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return errors.New("file exists and is not a socket")
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another process is listening on it: %w", syscall.EADDRINUSE)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// EAGAIN (a full backlog) means alive too; EACCES means we could
		// not tell: either way the socket is not ours to remove.
		if errors.Is(err, syscall.EAGAIN) {
			return fmt.Errorf("another process is listening on it: %w", syscall.EADDRINUSE)
		}
		return fmt.Errorf("cannot tell whether the socket is in use: %w", err)
	}
	// Stale: remove it only if it is still the file we probed.
	if now, err := os.Lstat(path); err != nil || !os.SameFile(fi, now) {
		return errors.New("the socket file changed while it was checked")
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// removeIfSame removes path when it is still the file described by fi.
func removeIfSame(path string, fi fs.FileInfo) error {
	now, err := os.Lstat(path)
	if err != nil || !os.SameFile(fi, now) {
		return nil // gone, or replaced by someone else's
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove unix socket: %w", err)
	}
	return nil
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

// RemoveLater returns a function that removes the Unix socket file at path
// if it is still the file there now: for a socket this process did not
// create (passed by the process it upgraded).
func RemoveLater(path string) func() error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		return func() error { return nil }
	}
	return func() error { return removeIfSame(path, fi) }
}
