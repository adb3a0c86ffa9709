package gateway

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// FuzzHandshake feeds arbitrary request bytes to a connection and checks
// the server always answers with an HTTP status line (or nothing) and ends
// the connection, never panicking. The connection is in memory: reads
// return the input and then EOF (a client that sent everything and
// half-closed), writes are collected, deadlines are recorded but nothing
// waits on them, so that every input runs to its end at once.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte(handshake + "\r\n"))
	f.Add([]byte(handshake + "Sec-WebSocket-Protocol: base64, binary\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"))
	f.Add([]byte("\x16\x03\x01\x00"))
	s := &Server{
		Target:           Endpoint{Network: "unix", Address: "/nonexistent/fuzz.sock"},
		Logger:           quietLogger(),
		HandshakeTimeout: time.Second,
		CloseTimeout:     time.Millisecond,
		MaxHeaderBytes:   4096,
	}
	s.conns = map[net.Conn]struct{}{}
	s.sessions = map[*session]struct{}{}
	f.Fuzz(func(t *testing.T, req []byte) {
		c := &memConn{in: bytes.NewReader(req)}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		done := make(chan struct{})
		go func() { s.serveConn(c, 1); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("serveConn still running after 10 s on %q:\n%s", req, buf[:runtime.Stack(buf, true)])
		}
		resp := c.out.Bytes()
		if len(resp) > 0 && !bytes.HasPrefix(resp, []byte("HTTP/1.1 ")) {
			t.Fatalf("response does not start with a status line: %q", resp[:min(len(resp), 64)])
		}
	})
}

// memConn is an in-memory net.Conn for FuzzHandshake.
type memConn struct {
	mu  sync.Mutex
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in.Read(p)
}

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6080} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzClientFrames runs arbitrary bytes as the frame stream of an upgraded
// session and checks that the session ends without panicking and that
// whatever the server sends back is a valid frame sequence.
func FuzzClientFrames(f *testing.F) {
	f.Add(clientFrame(true, ws.OpBinary, []byte("hello")))
	f.Add(append(clientFrame(false, ws.OpBinary, []byte("a")), clientFrame(true, ws.OpPing, []byte("p"))...))
	f.Add(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "")))
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, stream []byte) {
		// A socket pair, not net.Pipe: the target sees EOF once the client
		// is done (half-close) and closes, so the session ends at once
		// instead of after CloseTimeout.
		targetSide, targetPeer := socketPair(t)
		go func() {
			io.Copy(io.Discard, targetPeer)
			targetPeer.Close()
		}()
		s := &Server{Logger: quietLogger(), MaxFrameSize: 1 << 16, CloseTimeout: 50 * time.Millisecond}
		client, server := net.Pipe()
		ss := newSession(s, server, bufioReader(server), "", Endpoint{}, s.Logger)
		done := make(chan struct{})
		go func() {
			relayGoroutines(ss, targetSide)
			server.Close()
			close(done)
		}()
		go func() { client.Write(stream); client.Close() }()
		out, _ := io.ReadAll(client)
		<-done
		targetSide.Close()
		r := bytes.NewReader(out)
		for r.Len() > 0 {
			h, err := ws.ReadHeader(r)
			if err != nil || h.Masked || !h.Fin || h.Length > int64(r.Len()) {
				t.Fatalf("invalid server frame %+v: %v", h, err)
			}
			r.Seek(h.Length, io.SeekCurrent)
		}
	})
}

// socketPair returns the two ends of a connected Unix stream socket pair.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}
