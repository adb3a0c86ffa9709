package gateway

import (
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestDialSocketConnects(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		ln, err := net.Listen(network, map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network])
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		defer ln.Close()
		fd, ok, err := dialSocket(ln.Addr().String(), time.Second)
		if !ok || err != nil {
			t.Fatalf("%s: dialSocket = %v, %v", network, ok, err)
		}
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(fd, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2)
		a.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := a.Read(buf); err != nil || string(buf) != "hi" {
			t.Fatalf("%s: read %q, %v", network, buf, err)
		}
		for _, o := range targetSockopts {
			if v, err := unix.GetsockoptInt(fd, o.level, o.opt); err != nil || v != o.value {
				t.Errorf("%s: option %d/%d = %d (%v), want %d", network, o.level, o.opt, v, err, o.value)
			}
		}
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
			t.Errorf("%s: socket is blocking", network)
		}
		unix.Close(fd)
		a.Close()
	}
}

// Names are left to Go's dialer, which resolves them.
func TestDialSocketLeavesNamesToGo(t *testing.T) {
	for _, addr := range []string{"localhost:80", "example.invalid:1", "[fe80::1%lo]:80", "127.0.0.1"} {
		if fd, ok, err := dialSocket(addr, time.Second); ok || err != nil || fd != -1 {
			t.Errorf("dialSocket(%q) = %d, %v, %v; want -1, false, nil", addr, fd, ok, err)
		}
	}
}

// A refused connection reads as Go's dialer reports it.
func TestDialSocketRefused(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, ok, err := dialSocket(addr, time.Second)
	if !ok || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialSocket = %v, %v; want ECONNREFUSED", ok, err)
	}
	if want := "dial tcp " + addr + ": connect: connection refused"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// fullBacklog returns the address of a listener whose accept queue is full:
// Linux then drops further SYNs, and a connection stays pending.
func fullBacklog(t *testing.T) (addr string, accept func()) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	for range 2 { // backlog 0 still queues one; fill it and then some
		c, err := net.DialTimeout("tcp4", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr, func() {
		nfd, _, err := unix.Accept(fd)
		if err == nil {
			t.Cleanup(func() { unix.Close(nfd) })
		}
	}
}

// A connection that does not complete at once is waited for, up to the
// timeout, which reads as Go's dialer reports it.
func TestDialSocketTimeout(t *testing.T) {
	addr, _ := fullBacklog(t)
	t0 := time.Now()
	_, ok, err := dialSocket(addr, 300*time.Millisecond)
	if !ok || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("dialSocket = %v, %v; want a timeout", ok, err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("timed out after %v", d)
	}
	if want := "dial tcp " + addr + ": i/o timeout"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// A connection that completes later (here when the listener makes room and
// the SYN is sent again) is returned.
func TestDialSocketWaits(t *testing.T) {
	addr, accept := fullBacklog(t)
	time.AfterFunc(100*time.Millisecond, accept)
	fd, ok, err := dialSocket(addr, 10*time.Second)
	if !ok || err != nil {
		t.Fatalf("dialSocket = %v, %v", ok, err)
	}
	unix.Close(fd)
}
