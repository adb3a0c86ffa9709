//go:build linux

package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestLoopIdleSessionsHoldNoGoroutine: plain sessions go to the event loops,
// and once relayed they cost no goroutine.
func TestLoopIdleSessionsHoldNoGoroutine(t *testing.T) {
	s := &Server{Target: Endpoint{Address: startEcho(t)}}
	addr := startServer(t, s)
	warm, br, _ := dial(t, addr, "")
	warm.Write(clientFrame(true, ws.OpBinary, []byte("w")))
	readFrame(t, br)
	before := runtime.NumGoroutine()
	const n = 50
	for i := 0; i < n; i++ {
		c, br, _ := dial(t, addr, "")
		c.Write(clientFrame(true, ws.OpBinary, []byte("hi")))
		if f := readFrame(t, br); string(f.Payload) != "hi" {
			t.Fatalf("echo %q", f.Payload)
		}
	}
	s.mu.Lock()
	onLoops := s.loops != nil
	s.mu.Unlock()
	if !onLoops {
		t.Fatal("no event loop was started")
	}
	// The echo target holds one goroutine per session; the proxy none.
	deadline := time.Now().Add(5 * time.Second)
	for {
		extra := runtime.NumGoroutine() - before
		if extra <= n+5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d more goroutines for %d idle sessions; want about %d (the echo target's)", extra, n, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLoopTargetDataThenFIN: data and the target's FIN arriving together
// still give the client the data, close 1000 and the TCP close.
func TestLoopTargetDataThenFIN(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		target := startTarget(t, func(c net.Conn) { c.Write([]byte("bye")) })
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: target}})
		for i := 0; i < 50; i++ {
			c, br, _ := dial(t, addr, "")
			var got []byte
			for {
				f := readFrame(t, br)
				if f.Header.OpCode == ws.OpClose {
					if code, _ := ws.ParseCloseFrameData(f.Payload); code != 1000 {
						t.Fatalf("close %d; want 1000", code)
					}
					break
				}
				got = append(got, f.Payload...)
			}
			if string(got) != "bye" {
				t.Fatalf("got %q before the close", got)
			}
			c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "")))
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after the close handshake: %v; want EOF", err)
			}
			c.Close()
		}
	})
}

// TestLoopWriteTimeout: a client that stops reading while the target
// floods is dropped after WriteTimeout, and the proxy keeps a bounded
// amount of data for it meanwhile.
func TestLoopWriteTimeout(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		chunk := make([]byte, 64<<10)
		target := startTarget(t, func(c net.Conn) {
			for {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		})
		s := &Server{Relay: r, Target: Endpoint{Address: target}, WriteTimeout: 300 * time.Millisecond, CloseTimeout: 300 * time.Millisecond}
		addr := startServer(t, s)
		c, _, _ := dial(t, addr, "")
		c.(*net.TCPConn).SetReadBuffer(64 << 10)
		// Never read until the server gives up: its writes block.
		deadline := time.Now().Add(10 * time.Second)
		for s.ActiveSessions() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		for s.ActiveSessions() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if err != nil {
			t.Fatalf("after %d bytes: %v; want the server to end the connection", n, err)
		}
		if n > 64<<20 {
			t.Fatalf("read %d bytes from a stalled session", n)
		}
	})
}

// TestLoopHeartbeatDropsSilentClient: with a heartbeat the client gets
// pings, and a client that sends nothing is dropped after two intervals.
func TestLoopHeartbeatDropsSilentClient(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, Heartbeat: 100 * time.Millisecond})
		c, br, _ := dial(t, addr, "")
		start := time.Now()
		pings := 0
		var last ws.Frame
		for {
			f, err := readServerFrame(br)
			if err != nil {
				break // the server ended the connection
			}
			if f.Header.OpCode == ws.OpPing {
				pings++
			}
			last = f
		}
		// The close says why (the client may be alive behind a proxy).
		if last.Header.OpCode != ws.OpClose || !bytes.Contains(last.Payload, []byte("Heartbeat timeout")) {
			t.Errorf("last frame %v %q; want a close with the heartbeat's reason", last.Header.OpCode, last.Payload)
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
			t.Fatalf("silent client dropped after %v; want about 200ms", d)
		}
		if pings == 0 {
			t.Fatal("no ping before the drop")
		}
		c.Close()
	})
}

// TestLoopNoAllocationPerFrame: relaying a message each way allocates
// nothing in steady state.
func TestLoopNoAllocationPerFrame(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		if testing.Short() || raceEnabled && r == RelayGoroutines {
			t.Skip("measures allocations over many round trips (not through sync.Pool under -race, which drops objects)")
		}
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}})
		c, hbr, _ := dial(t, addr, "")
		br := bufio.NewReaderSize(hbr, 64<<10) // hbr may hold bytes read with the response
		msg := clientFrame(true, ws.OpBinary, bytes.Repeat([]byte("x"), 1000))
		roundTrip := func() {
			c.Write(msg)
			if err := readPayload(br, 1000); err != nil {
				t.Fatal(err)
			}
		}
		for range 100 {
			roundTrip() // warm up the pools
		}
		if a := testing.AllocsPerRun(500, roundTrip); a >= 0.5 {
			t.Fatalf("%.2f allocations per round trip; want none", a)
		}
	})
}

// TestLoopBulkTargetIntegrity: a bulk stream from the target (the splice
// path) reaches the client intact, in frames of at most 64 KiB.
func TestLoopBulkTargetIntegrity(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		data := make([]byte, 24<<20)
		for i := range data {
			data[i] = byte(i*7 + i>>11)
		}
		ln := newLocalListener(t)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			for p := data; len(p) > 0; {
				n := min(len(p), 1+len(p)%200000)
				c.Write(p[:n])
				p = p[n:]
			}
		}()
		t.Cleanup(func() { ln.Close() })
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: ln.Addr().String()}})
		c, hbr, _ := dial(t, addr, "")
		c.SetDeadline(time.Now().Add(2 * time.Minute)) // 24 MiB under -race on a loaded machine
		// The first frame can come with the 101 response, into hbr.
		br := bufio.NewReaderSize(hbr, 256<<10)
		if got := readBulk(t, br, len(data)); !bytes.Equal(got, data) {
			t.Fatalf("got %d bytes, want %d identical", len(got), len(data))
		}
	})
}

// readBulk reads binary frames of at most targetReadSize bytes up to the
// server's close, and returns their payloads; want is what is expected, for
// the log when the close comes early.
func readBulk(t *testing.T, br *bufio.Reader, want int) []byte {
	t.Helper()
	var got []byte
	for {
		f, err := readServerFrame(br)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		if f.Header.OpCode == ws.OpClose {
			if len(got) != want {
				code, reason := ws.ParseCloseFrameData(f.Payload)
				t.Logf("close %d %q after %d bytes", code, reason, len(got))
			}
			return got
		}
		if f.Header.Length > targetReadSize || f.Header.OpCode != ws.OpBinary || !f.Header.Fin {
			t.Fatalf("frame %+v after %d bytes", f.Header, len(got))
		}
		got = append(got, f.Payload...)
	}
}
