package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// acceptPair returns a sockConn accepted from a listener on network
// ("tcp4", "tcp6" or "unix") and the client's end.
func acceptPair(t *testing.T, network string) (*sockConn, net.Conn) {
	t.Helper()
	var ln net.Listener
	var err error
	if network == "unix" {
		ln, err = net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	} else {
		ln, err = net.Listen(network, map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network])
	}
	if err != nil {
		t.Skipf("listen %s: %v", network, err)
	}
	acc := newAccepter(ln)
	t.Cleanup(func() { ln.Close(); acc.close() })
	if _, ok := acc.(*sockAccepter); !ok {
		t.Fatalf("accepter for %T is %T, want *sockAccepter", ln, acc)
	}
	cl, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	c, err := acc.accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*sockConn), cl
}

func inPoller(c *sockConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f != nil
}

func TestSockConnStaysOutOfPollerWhileNothingBlocks(t *testing.T) {
	c, cl := acceptPair(t, "tcp4")
	if _, err := cl.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	got := 0
	for got < len("request") {
		// The bytes may not have arrived at the first read: that read
		// joins the poller, which is tested elsewhere.
		n, err := c.Read(buf[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += n
		if time.Now().After(deadline) {
			t.Fatal("no request")
		}
	}
	if string(buf[:got]) != "request" {
		t.Fatalf("read %q", buf[:got])
	}
	if _, err := c.Write([]byte("response")); err != nil {
		t.Fatal(err)
	}
	cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(cl, buf[:8]); err != nil || string(buf[:8]) != "response" {
		t.Fatalf("client read %q, %v", buf[:8], err)
	}
	fd, ok := c.take()
	if !ok && !inPoller(c) {
		t.Fatal("take refused a socket outside the poller")
	}
	if ok {
		defer unix.Close(fd)
		// c is closed, but the descriptor is the caller's.
		if err := c.Close(); err != nil {
			t.Errorf("Close after take: %v", err)
		}
		if _, err := unix.Write(fd, []byte("!")); err != nil {
			t.Fatalf("taken descriptor: %v", err)
		}
		if _, err := io.ReadFull(cl, buf[:1]); err != nil || buf[0] != '!' {
			t.Fatalf("client read %q, %v", buf[:1], err)
		}
		if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after take: %v, want net.ErrClosed", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close after take: %v", err)
		}
	}
}

// lowestFreeFD is the number the next descriptor would get.
func lowestFreeFD(t *testing.T) int {
	t.Helper()
	fd, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	return fd
}

func TestSockConnJoinsPollerAndKeepsDeadline(t *testing.T) {
	c, cl := acceptPair(t, "tcp4")
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 16)
	// Joining the poller takes no descriptor: with none left, it must work.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = uint64(lowestFreeFD(t)) // every new descriptor is over the limit
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(buf)
	unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with nothing to read: %v, want a timeout", err)
	}
	if !inPoller(c) {
		t.Fatal("a read that would block did not join the poller")
	}
	if _, ok := c.take(); ok {
		t.Fatal("take gave away a socket in the poller")
	}
	c.SetReadDeadline(time.Time{})
	go cl.Write([]byte("late"))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	cl.Close()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("read to EOF: %v", err)
	}
}

func TestSockConnPastDeadline(t *testing.T) {
	c, cl := acceptPair(t, "tcp4")
	cl.Write([]byte("x"))
	c.SetDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline: %v", err)
	}
	if _, err := c.Write([]byte("y")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write past the deadline: %v", err)
	}
	if inPoller(c) {
		t.Error("a passed deadline joined the poller")
	}
}

func TestSockConnDoubleClose(t *testing.T) {
	c, _ := acceptPair(t, "tcp4")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed as from a net.Conn", err)
	}
}

func TestSockConnEOF(t *testing.T) {
	c, cl := acceptPair(t, "tcp4")
	cl.Write([]byte("bye"))
	cl.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
}

// A write larger than the socket's buffers goes on through the poller.
func TestSockConnLargeWrite(t *testing.T) {
	c, cl := acceptPair(t, "tcp4")
	data := make([]byte, 8<<20)
	rand.Read(data)
	done := make(chan error, 1)
	go func() {
		n, err := c.Write(data)
		if err == nil && n != len(data) {
			err = io.ErrShortWrite
		}
		done <- err
	}()
	got := make([]byte, len(data))
	waitJoined(t, c) // the write has filled the buffers and waits in the poller
	if _, err := io.ReadFull(cl, got); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
}

func TestSockConnCloseUnblocksRead(t *testing.T) {
	c, _ := acceptPair(t, "tcp4")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		errc <- err
	}()
	waitJoined(t, c) // the read waits in the poller
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed as from a net.Conn", err)
	}
}

func TestSockConnCloseWrite(t *testing.T) {
	for _, inPoll := range []bool{false, true} {
		c, cl := acceptPair(t, "tcp4")
		if inPoll {
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			c.Read(make([]byte, 1)) // nothing to read: joins the poller
			if !inPoller(c) {
				t.Fatal("not in the poller")
			}
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		cl.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := cl.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("in poller %v: client read %d, %v, want EOF", inPoll, n, err)
		}
		cl.Write([]byte("still"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, 5)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "still" {
			t.Fatalf("in poller %v: read %q, %v after CloseWrite", inPoll, got, err)
		}
	}
}

// The addresses are those Go's own accepted connections report.
func TestSockConnAddresses(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6", "unix"} {
		c, cl := acceptPair(t, network)
		if network == "unix" {
			// An unnamed client: Go's accept reports "@" too.
			if ra, ok := c.RemoteAddr().(*net.UnixAddr); !ok || ra.Name != "@" || ra.Net != "unix" {
				t.Errorf("unix: RemoteAddr = %#v", c.RemoteAddr())
			}
			if c.LocalAddr().String() != cl.RemoteAddr().String() {
				t.Errorf("unix: LocalAddr = %v, want %v", c.LocalAddr(), cl.RemoteAddr())
			}
			continue
		}
		if c.RemoteAddr().String() != cl.LocalAddr().String() || c.RemoteAddr().Network() != "tcp" {
			t.Errorf("%s: RemoteAddr = %v, want %v", network, c.RemoteAddr(), cl.LocalAddr())
		}
		if c.LocalAddr().String() != cl.RemoteAddr().String() {
			t.Errorf("%s: LocalAddr = %v, want %v", network, c.LocalAddr(), cl.RemoteAddr())
		}
	}
}

func TestSockConnNoDelay(t *testing.T) {
	c, _ := acceptPair(t, "tcp4") // a listener without TCP_NODELAY
	v, err := unix.GetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	if err != nil || v != 1 {
		t.Fatalf("TCP_NODELAY = %d, %v", v, err)
	}
}

// Reads, writes, deadlines and a close from several goroutines at once: the
// race detector and the descriptor checks watch.
func TestSockConnConcurrentUse(t *testing.T) {
	c, cl := acceptPair(t, "tcp4")
	go io.Copy(io.Discard, cl)
	var wg, started sync.WaitGroup
	for range 4 {
		wg.Add(3)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			for range 100 {
				if _, err := c.Write([]byte("0123456789")); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			c.Read(make([]byte, 8))
		}()
		go func() {
			defer wg.Done()
			c.LocalAddr()
			c.SetDeadline(time.Now().Add(time.Second))
		}()
	}
	started.Wait() // the writers are under way
	c.Close()
	wg.Wait()
}

// Closing the accepter ends a waiting accept with net.ErrClosed.
func TestSockAccepterClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := newAccepter(ln)
	errc := make(chan error, 1)
	go func() {
		_, err := acc.accept()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	ln.Close()
	acc.close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("accept after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not end accept")
	}
}

// The server accepts from a duplicate of the listener's descriptor: once
// it stops, the port must no longer take connections.
func TestServerStopsListening(t *testing.T) {
	s := &Server{Logger: quietLogger()}
	ln := newLocalListener(t)
	addr := ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the port still takes connections after Shutdown")
	}
}

// waitJoined waits until c has joined Go's poller: a read or write of it
// would block, and waits there.
func waitJoined(t *testing.T, c *sockConn) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		joined := c.f != nil
		c.mu.Unlock()
		if joined {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection never joined the poller")
		}
		time.Sleep(time.Millisecond)
	}
}
