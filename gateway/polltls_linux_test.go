package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func tlsServer(t testing.TB, r Relay, target string) (*Server, string) {
	s := &Server{Relay: r, Target: Endpoint{Address: target},
		TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}}
	return s, startServer(t, s)
}

// dialWSS upgrades a wss:// connection; the reader holds whatever came with
// the 101.
func dialWSS(t testing.TB, addr string) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(tc, handshake+"\r\n")
	br := bufio.NewReaderSize(tc, 256<<10)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("wss handshake: %v %v", resp, err)
	}
	return tc, br
}

// TestLoopTLSIdleSessionsHoldNoGoroutine: wss:// sessions go to the event
// loops too, and once relayed they cost no goroutine.
func TestLoopTLSIdleSessionsHoldNoGoroutine(t *testing.T) {
	s, addr := tlsServer(t, RelayEpoll, startEcho(t))
	warm, br := dialWSS(t, addr)
	warm.Write(clientFrame(true, ws.OpBinary, []byte("w")))
	readFrame(t, br)
	before := runtime.NumGoroutine()
	const n = 30
	for range n {
		c, br := dialWSS(t, addr)
		c.Write(clientFrame(true, ws.OpBinary, []byte("hi")))
		if f := readFrame(t, br); string(f.Payload) != "hi" {
			t.Fatalf("echo %q", f.Payload)
		}
	}
	if s.ActiveSessions() != n+1 {
		t.Fatalf("%d sessions; want %d", s.ActiveSessions(), n+1)
	}
	deadline := time.Now().Add(5 * time.Second)
	for extra := runtime.NumGoroutine() - before; extra > n+5; extra = runtime.NumGoroutine() - before {
		if time.Now().After(deadline) {
			t.Fatalf("%d more goroutines for %d idle wss sessions; want about %d (the echo target's)", extra, n, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLoopTLSBulkBothWays: 24 MiB each way through a wss:// session at
// once, in odd chunk sizes: both streams arrive intact, in frames of at
// most 64 KiB, and the session closes cleanly.
func TestLoopTLSBulkBothWays(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		data := make([]byte, 24<<20)
		for i := range data {
			data[i] = byte(i*7 + i>>11)
		}
		ln := newLocalListener(t)
		type received struct {
			sum [32]byte
			n   int64
			err error
		}
		sums := make(chan received, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			wrote, read := make(chan struct{}), make(chan struct{})
			defer func() { <-wrote }() // before the Close
			go func() {
				defer close(wrote)
				for p := data; len(p) > 0; {
					n := min(len(p), 1+len(p)%200000)
					c.Write(p[:n])
					p = p[n:]
				}
				// The target ends its stream once it has everything: its
				// end starts the session's close, which gives the client's
				// stream only CloseTimeout to finish (too little under
				// -race on a busy machine, which once cut it short).
				<-read
				c.(*net.TCPConn).CloseWrite()
			}()
			h := sha256.New()
			n, err := io.CopyN(h, c, int64(len(data)))
			close(read)
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			sums <- received{sum, n, err}
		}()
		t.Cleanup(func() { ln.Close() })
		_, addr := tlsServer(t, r, ln.Addr().String())
		c, br := dialWSS(t, addr)
		go func() {
			for p := data; len(p) > 0; {
				n := min(len(p), 1+len(p)%100000)
				if _, err := c.Write(clientFrame(true, ws.OpBinary, p[:n])); err != nil {
					return
				}
				p = p[n:]
			}
		}()
		got := readBulk(t, br, len(data))
		if !bytes.Equal(got, data) {
			t.Fatalf("target→client: got %d bytes, want %d identical", len(got), len(data))
		}
		select {
		case g := <-sums:
			if g.n != int64(len(data)) || g.err != nil {
				t.Fatalf("client→target: the target got %d of %d bytes (%v)", g.n, len(data), g.err)
			}
			if g.sum != sha256.Sum256(data) {
				t.Fatal("client→target: the target got other bytes")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("client→target: the target did not get everything")
		}
		c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Fatalf("after the close: %v; want EOF (close_notify or TCP close)", err)
		}
	})
}

// TestLoopTLSHeartbeatAndPong: over wss:// on a loop, the heartbeat's pings
// come through TLS, and a client ping is answered with its payload.
func TestLoopTLSHeartbeatAndPong(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		s := &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, Heartbeat: 100 * time.Millisecond,
			TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}}
		addr := startServer(t, s)
		c, br := dialWSS(t, addr)
		c.Write(clientFrame(true, ws.OpPing, []byte("are you there")))
		var pong, ping bool
		for !pong || !ping {
			f := readFrame(t, br)
			switch f.Header.OpCode {
			case ws.OpPong:
				if string(f.Payload) != "are you there" {
					t.Fatalf("pong %q", f.Payload)
				}
				pong = true
			case ws.OpPing:
				ping = true
				c.Write(clientFrame(true, ws.OpPong, f.Payload))
			}
		}
	})
}

// TestLoopTLSGarbageEndsSession: bytes that are not TLS records, sent
// under the TLS session, end it promptly: crypto/tls's error is not a
// would-block, and the loop drops the client.
func TestLoopTLSGarbageEndsSession(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		s := &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, CloseTimeout: 300 * time.Millisecond,
			TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}}
		addr := startServer(t, s)
		c, br := dialWSS(t, addr)
		c.Write(clientFrame(true, ws.OpBinary, []byte("ok")))
		if f := readFrame(t, br); string(f.Payload) != "ok" {
			t.Fatalf("echo %q", f.Payload)
		}
		c.NetConn().Write([]byte("\x17\x03\x03\x00\x10not a real record"))
		deadline := time.Now().Add(3 * time.Second) // CloseTimeout for the client's FIN, then gone
		for s.ActiveSessions() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the session is still open after garbage from the client")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestLoopTLSRecorderSeesPlaintext: a wss:// session on a loop records the
// frames' payloads both ways, not TLS records, and ends the recording.
func TestLoopTLSRecorderSeesPlaintext(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		rec := &memRecorder{}
		addr := startServer(t, &Server{Relay: r,
			Target:   Endpoint{Address: startEcho(t)},
			Recorder: func(*ConnInfo) (Recorder, error) { return rec, nil },
			TLS:      &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}},
		})
		c, br := dialWSS(t, addr)
		c.Write(clientFrame(true, ws.OpBinary, []byte("keys")))
		readFrame(t, br)
		c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "")))
		readFrame(t, br)
		c.Close()
		rec.expect(t, "keys", "keys")
	})
}
