package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quietLogger drops log output in tests.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newLocalListener listens on 127.0.0.1, falling back to [::1].
func newLocalListener(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			t.Fatal(err)
		}
	}
	return ln
}

// startEcho runs a TCP echo target until the test ends.
func startEcho(t testing.TB) string {
	t.Helper()
	return startTarget(t, func(c net.Conn) { io.Copy(c, c) })
}

// startTarget runs a TCP target on loopback whose connections are served
// by handle, each on its own goroutine and closed after it, until the test
// ends; then open connections are closed and their handlers waited for.
func startTarget(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln := newLocalListener(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// startServer serves s on a local listener until the test ends.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	if s.Logger == nil {
		s.Logger = quietLogger()
	}
	ln := newLocalListener(t)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

const handshake = "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op ws.OpCode, p []byte) []byte {
	f := ws.NewFrame(op, fin, append([]byte(nil), p...))
	f = ws.MaskFrameInPlace(f)
	b, err := ws.CompileFrame(f)
	if err != nil {
		panic(err)
	}
	return b
}

// dial upgrades a connection to addr and returns it with its reader.
func dial(t testing.TB, addr, extra string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	return dialRawHead(t, addr, handshake+extra)
}

func readFrame(t testing.TB, br *bufio.Reader) ws.Frame {
	t.Helper()
	f, err := readServerFrame(br)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

func TestRelayEcho(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}})
		c, br, resp := dial(t, addr, "")
		if resp.StatusCode != 101 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		msg := bytes.Repeat([]byte("abc"), 30000)
		c.Write(clientFrame(true, ws.OpBinary, msg))
		var got []byte
		for len(got) < len(msg) {
			f := readFrame(t, br)
			if f.Header.OpCode != ws.OpBinary || !f.Header.Fin || f.Header.Masked {
				t.Fatalf("bad frame header %+v", f.Header)
			}
			got = append(got, f.Payload...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("echo differs")
		}
		c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "done")))
		f := readFrame(t, br)
		if code, reason := ws.ParseCloseFrameData(f.Payload); f.Header.OpCode != ws.OpClose || code != 1000 || reason != "done" {
			t.Fatalf("close reply %v %d %q", f.Header.OpCode, code, reason)
		}
	})
}

func TestPingBetweenFragments(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}})
		c, br, _ := dial(t, addr, "")
		var out []byte
		out = append(out, clientFrame(false, ws.OpBinary, []byte("he"))...)
		out = append(out, clientFrame(true, ws.OpPing, []byte("p1"))...)
		out = append(out, clientFrame(true, ws.OpContinuation, []byte("llo"))...)
		c.Write(out)
		f := readFrame(t, br)
		if f.Header.OpCode != ws.OpPong || string(f.Payload) != "p1" {
			t.Fatalf("first frame %v %q; want pong p1", f.Header.OpCode, f.Payload)
		}
		var got []byte
		for len(got) < 5 {
			got = append(got, readFrame(t, br).Payload...)
		}
		if string(got) != "hello" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestProtocolErrors(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, MaxFrameSize: 1000})
		unmasked, _ := ws.CompileFrame(ws.NewBinaryFrame([]byte("x")))
		for _, tc := range []struct {
			name string
			send []byte
			code ws.StatusCode
		}{
			{"unmasked", unmasked, ws.StatusProtocolError},
			{"text", clientFrame(true, ws.OpText, []byte("hi")), ws.StatusUnsupportedData},
			{"too large", clientFrame(true, ws.OpBinary, make([]byte, 1001)), ws.StatusMessageTooBig},
			{"lone continuation", clientFrame(true, ws.OpContinuation, []byte("x")), ws.StatusProtocolError},
			{"reserved opcode", clientFrame(true, ws.OpCode(3), nil), ws.StatusProtocolError},
			{"bad close code", clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(5000, "")), ws.StatusProtocolError},
			{"one byte close", clientFrame(true, ws.OpClose, []byte{3}), ws.StatusProtocolError},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, br, _ := dial(t, addr, "")
				c.Write(tc.send)
				f := readFrame(t, br)
				code, _ := ws.ParseCloseFrameData(f.Payload)
				if f.Header.OpCode != ws.OpClose || code != tc.code {
					t.Fatalf("got %v %d; want close %d", f.Header.OpCode, code, tc.code)
				}
				if _, err := br.ReadByte(); err == nil {
					t.Fatal("connection still open after close")
				}
			})
		}
	})
}

func TestHugeDeclaredLength(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}})
		c, br, _ := dial(t, addr, "")
		hdr := []byte{0x82, 0xff}
		hdr = binary.BigEndian.AppendUint64(hdr, 1<<62)
		c.Write(append(hdr, 1, 2, 3, 4))
		f := readFrame(t, br)
		if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusMessageTooBig {
			t.Fatalf("close %d; want 1009", code)
		}
	})
}

func TestHandshakeRejections(t *testing.T) {
	addr := startServer(t, &Server{Target: Endpoint{Address: startEcho(t)}, MaxHeaderBytes: 2048})
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"plain get", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 405},
		{"post", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 405},
		{"trace", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
		{"no key", strings.Replace(handshake, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1) + "\r\n", 400},
		{"version 8", strings.Replace(handshake, "Version: 13", "Version: 8", 1) + "\r\n", 426},
		{"unknown protocol", handshake + "Sec-WebSocket-Protocol: chat\r\n\r\n", 400},
		{"garbage", "\x00\x01\x02 nonsense\r\n\r\n", 400},
		{"header too large", handshake + "X: " + strings.Repeat("a", 4096) + "\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tc.req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

func TestHandshakeDeadline(t *testing.T) {
	addr := startServer(t, &Server{Target: Endpoint{Address: startEcho(t)}, HandshakeTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.Copy(io.Discard, c)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("connection held %v past a 200ms handshake deadline", d)
	}
}

func TestChooseProtocol(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
		ok      bool
	}{
		{nil, "", true},
		{[]string{""}, "", true},
		{[]string{"binary"}, "binary", true},
		{[]string{"base64"}, "base64", true},
		{[]string{"base64, binary"}, "binary", true},
		{[]string{"base64", "binary"}, "binary", true},
		{[]string{"chat"}, "", false},
		{[]string{"chat, base64"}, "base64", true},
	} {
		got, ok := chooseProtocol(tc.offered)
		if got != tc.want || ok != tc.ok {
			t.Errorf("chooseProtocol(%q) = %q, %v; want %q, %v", tc.offered, got, ok, tc.want, tc.ok)
		}
	}
}

func TestShutdownClosesSessions(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		s := &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, Logger: quietLogger(), CloseTimeout: time.Second}
		ln := newLocalListener(t)
		done := make(chan error, 1)
		go func() { done <- s.Serve(ln) }()
		c, br, _ := dial(t, ln.Addr().String(), "")
		c.Write(clientFrame(true, ws.OpBinary, []byte("x")))
		readFrame(t, br)
		go s.Shutdown(context.Background())
		f := readFrame(t, br)
		if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusGoingAway {
			t.Fatalf("close %d; want 1001", code)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after Shutdown")
		}
	})
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// testRelays are the drivers that every behaviour test runs on.
var testRelays = func() []Relay {
	if runtime.GOOS == "linux" {
		return []Relay{RelayEpoll, RelayGoroutines}
	}
	return []Relay{RelayGoroutines}
}()

// eachRelay runs f as a subtest on each driver.
func eachRelay(t *testing.T, f func(t *testing.T, r Relay)) {
	t.Helper()
	for _, r := range testRelays {
		t.Run(r.String(), func(t *testing.T) { f(t, r) })
	}
}

// readServerFrame reads one frame from the server under test, refusing
// payloads over 16 MiB.
func readServerFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 16<<20 {
		return ws.Frame{}, fmt.Errorf("frame of %d bytes", h.Length)
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	_, err = io.ReadFull(r, f.Payload)
	return f, err
}
