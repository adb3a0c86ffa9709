package gateway

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// sockConn is an accepted socket kept out of Go's poller for as long as it
// does not need it. Reads and writes are non-blocking system calls; the
// first that would block moves the socket into the poller (an *os.File of
// its descriptor, which unlike net.FileConn needs no duplicate, so that
// running short of descriptors fails no connection there), where it stays.
// A handshake whose request has arrived by the time it is read, the usual
// case, thus never registers the socket with the poller, which would also
// wake a thread for its first readiness, and an event loop takes the
// descriptor itself instead of a duplicate.
//
// Its methods are safe to call from several goroutines; a system call on
// the descriptor never runs concurrently with its close.
type sockConn struct {
	mu       sync.Mutex
	fd       int      // -1 once closed or taken; f's once in the poller
	f        *os.File // the socket in Go's poller, once a call would have blocked
	closed   bool
	taken    bool   // the descriptor went to an event loop: Close does nothing
	netw     string // "tcp" or "unix"
	rdl, wdl time.Time
	laddr    net.Addr
	raddr    net.Addr
}

// Read reads without blocking while it can; the first read that would
// block moves the socket into Go's poller and waits there.
func (c *sockConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.f == nil {
		if err := c.unusable("read", c.rdl); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		n, err := ignoringEINTR(func() (int, error) { return epoll.Read(c.fd, p) })
		if err != unix.EAGAIN {
			c.mu.Unlock()
			switch {
			case err != nil:
				return 0, c.opError("read", os.NewSyscallError("read", err))
			case n == 0 && len(p) > 0:
				return 0, io.EOF
			}
			return n, nil
		}
		if err := c.joinPoller(); err != nil {
			c.mu.Unlock()
			return 0, c.opError("read", err)
		}
	}
	f := c.f
	c.mu.Unlock()
	n, err := f.Read(p)
	return n, c.fileError("read", err)
}

// Write writes without blocking while the socket takes the bytes; the rest
// is written through Go's poller.
func (c *sockConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	done := 0
	if c.f == nil {
		if err := c.unusable("write", c.wdl); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		for done < len(p) {
			n, err := ignoringEINTR(func() (int, error) { return epoll.Write(c.fd, p[done:]) })
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				c.mu.Unlock()
				return done, c.opError("write", os.NewSyscallError("write", err))
			}
			done += n
		}
		if done == len(p) {
			c.mu.Unlock()
			return done, nil
		}
		if err := c.joinPoller(); err != nil {
			c.mu.Unlock()
			return done, c.opError("write", err)
		}
	}
	f := c.f
	c.mu.Unlock()
	n, err := f.Write(p[done:])
	return done + n, c.fileError("write", err)
}

// unusable is why a system call cannot be made for op: c is closed, or
// its deadline dl has passed. Called with c.mu held.
func (c *sockConn) unusable(op string, dl time.Time) error {
	switch {
	case c.closed:
		return c.opError(op, net.ErrClosed)
	case past(dl):
		return c.opError(op, os.ErrDeadlineExceeded)
	}
	return nil
}

// joinPoller moves the descriptor into Go's poller as c.f, with c's
// deadlines. Called with c.mu held.
func (c *sockConn) joinPoller() error {
	// The descriptor is non-blocking: os.NewFile puts it in the poller.
	f := os.NewFile(uintptr(c.fd), "socket")
	if err := f.SetReadDeadline(c.rdl); err != nil {
		// Not pollable after all (the poller refused it): no deadline
		// would hold, and a read could block a thread for ever.
		f.Close()
		c.fd, c.closed = -1, true
		return fmt.Errorf("socket into Go's poller: %w", err)
	}
	f.SetWriteDeadline(c.wdl)
	c.f = f
	return nil
}

// fileError is err from c.f as a net.Conn reports it.
func (c *sockConn) fileError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, os.ErrClosed):
		err = net.ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = os.ErrDeadlineExceeded
	default:
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = os.NewSyscallError(op, errno)
		}
	}
	return c.opError(op, err)
}

// take hands the descriptor over to the caller, who closes it; c is then
// closed. ok is false once the socket has joined Go's poller, or is closed.
func (c *sockConn) take() (fd int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil || c.closed {
		return -1, false
	}
	fd, c.fd, c.closed, c.taken = c.fd, -1, true, true
	return fd, true
}

// dup returns a duplicate of the descriptor, which shares its open file
// (non-blocking, too).
func (c *sockConn) dup() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nfd := -1
	err := c.control(func(fd int) (err error) {
		nfd, err = dupFD(fd)
		return err
	})
	return nfd, err
}

// control runs fn on the descriptor, unless c is closed. Called with c.mu
// held.
func (c *sockConn) control(fn func(fd int) error) error {
	switch {
	case c.closed:
		return net.ErrClosed
	case c.f == nil:
		return fn(c.fd)
	}
	// Not c.f.Fd(), which would make the descriptor blocking.
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (c *sockConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		c.closed = true
		return c.fileError("close", c.f.Close())
	}
	switch {
	case c.taken:
		return nil
	case c.closed:
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	err := unix.Close(c.fd)
	c.fd = -1
	if err != nil {
		return c.opError("close", os.NewSyscallError("close", err))
	}
	return nil
}

// CloseWrite half-closes the connection.
func (c *sockConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.control(func(fd int) error {
		return os.NewSyscallError("shutdown", unix.Shutdown(fd, unix.SHUT_WR))
	})
	if err != nil {
		return c.opError("close", err)
	}
	return nil
}

func (c *sockConn) SetDeadline(t time.Time) error      { return c.setDeadline(t, true, true) }
func (c *sockConn) SetReadDeadline(t time.Time) error  { return c.setDeadline(t, true, false) }
func (c *sockConn) SetWriteDeadline(t time.Time) error { return c.setDeadline(t, false, true) }

func (c *sockConn) setDeadline(t time.Time, read, write bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return c.opError("set deadline", net.ErrClosed)
	case c.f != nil && read && write:
		return c.fileError("set deadline", c.f.SetDeadline(t))
	case c.f != nil && read:
		return c.fileError("set deadline", c.f.SetReadDeadline(t))
	case c.f != nil:
		return c.fileError("set deadline", c.f.SetWriteDeadline(t))
	}
	if read {
		c.rdl = t
	}
	if write {
		c.wdl = t
	}
	return nil
}

func (c *sockConn) RemoteAddr() net.Addr { return c.raddr }

// LocalAddr asks the kernel the first time.
func (c *sockConn) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.laddr == nil {
		c.control(func(fd int) error {
			sa, err := syscall.Getsockname(fd)
			if err == nil {
				c.laddr = sockaddrAddr(c.netw, sa)
			}
			return err
		})
	}
	return c.laddr
}

func (c *sockConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.netw, Source: c.laddr, Addr: c.raddr, Err: err}
}

func past(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// sockaddrAddr is the net.Addr of a socket address, as Go's net package
// reports it. The addresses come from package syscall: x/sys/unix asks
// the kernel for the socket's protocol on every IPv4 address it decodes.
func sockaddrAddr(netw string, sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			} else {
				a.Zone = strconv.Itoa(int(sa.ZoneId))
			}
		}
		return a
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: netw}
	}
	return nil
}

// sockAccepter accepts a listener's connections as sockConns. Go's
// listeners do not let a raw read wait on their descriptor, so it waits on
// a duplicate, which shares the listening socket: close must be called when
// the listener is closed, or the socket would go on listening.
type sockAccepter struct {
	f       *os.File // the duplicate, in Go's poller
	rc      syscall.RawConn
	netw    string
	addr    net.Addr
	noDelay bool // accepted sockets copy TCP_NODELAY from the listener
}

// newAccepter returns the accepter of ln's connections: a sockAccepter for
// TCP and Unix stream listeners, ln itself for any other kind, or when the
// descriptor cannot be had.
func newAccepter(ln net.Listener) accepter {
	var netw string
	var f *os.File
	var err error
	switch ln := ln.(type) {
	case *net.TCPListener:
		netw = "tcp"
		f, err = ln.File()
	case *net.UnixListener:
		netw = "unix"
		f, err = ln.File()
	default:
		return listenerAccepter{ln}
	}
	if err != nil {
		return listenerAccepter{ln}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return listenerAccepter{ln}
	}
	a := &sockAccepter{f: f, rc: rc, netw: netw, addr: ln.Addr(), noDelay: netw != "tcp"}
	if netw == "tcp" {
		rc.Control(func(fd uintptr) {
			v, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY)
			a.noDelay = err == nil && v == 1
		})
	}
	return a
}

func (a *sockAccepter) accept() (net.Conn, error) {
	var nfd int
	var sa syscall.Sockaddr
	var aerr error
	err := a.rc.Read(func(fd uintptr) bool {
		for {
			nfd, sa, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			if aerr != syscall.EINTR && aerr != syscall.ECONNABORTED {
				return aerr != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		err = net.ErrClosed // the duplicate is closed: the listener is
	case aerr != nil:
		err = os.NewSyscallError("accept4", aerr)
	}
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: a.netw, Addr: a.addr, Err: err}
	}
	if !a.noDelay {
		unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as Go does
	}
	return &sockConn{fd: nfd, netw: a.netw, raddr: sockaddrAddr(a.netw, sa)}, nil
}

func (a *sockAccepter) close() { a.f.Close() }

// SyscallConn returns the raw connection of c's descriptor in Go's poller,
// which it joins first if it has not yet (the goroutine relay waits on it
// for input without holding a buffer).
func (c *sockConn) SyscallConn() (syscall.RawConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.unusable("raw-control", time.Time{}); err != nil {
		return nil, err
	}
	if c.taken {
		return nil, c.opError("raw-control", net.ErrClosed)
	}
	if c.f == nil {
		if err := c.joinPoller(); err != nil {
			return nil, c.opError("raw-control", err)
		}
	}
	return c.f.SyscallConn()
}
