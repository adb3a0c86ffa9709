package tests

// Limits and denial of service (threats-and-tests.md §1 C1, C2, C8, C9;
// test plan rows 5, 6, 8, 9, 19, 20): the frame cap, declared lengths that
// are never allocated, the handshake deadline and header cap, back-pressure
// from a slow client, and a ping flood while data flows.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const mib = 1024 // in KiB, for RSS figures

func TestMaxFrameSize(t *testing.T) {
	ab := startABProxy(t, "--max-frame-size", "1000")

	t.Run("frame at the cap", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		msg := randBytes(1000)
		rc.echoOnce(msg)
		closeNormally(t, rc, bc, append(probe, msg...))
	})
	t.Run("message of many frames at the cap", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		msg := randBytes(5000)
		var out []byte
		for i := 0; i < 5; i++ {
			op := byte(opCont)
			if i == 0 {
				op = opBinary
			}
			out = append(out, frame(i == 4, 0, op, msg[i*1000:(i+1)*1000], true)...)
		}
		rc.send(out)
		if got := rc.readData(len(msg), 10*time.Second); !bytes.Equal(got, msg) {
			t.Fatal("echo differs")
		}
		closeNormally(t, rc, bc, append(probe, msg...))
	})
	t.Run("one byte over", func(t *testing.T) {
		ab.violation(t, frame(true, 0, opBinary, randBytes(1001), true), 1009, "")
	})
	t.Run("continuation one byte over", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(concat(
			frame(false, 0, opBinary, []byte("head"), true),
			frame(true, 0, opCont, randBytes(1001), true),
			frame(true, 0, opBinary, []byte("after"), true),
		))
		payload, _ := rc.closeFrame(5 * time.Second)
		if len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1009 {
			t.Fatalf("close %x; want 1009", payload)
		}
		rc.expectTCPClose(5 * time.Second)
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, append(probe, "head"...)) {
			t.Fatalf("backend received %q", trunc(got))
		}
	})
}

// TestHugeDeclaredLength: a 14-byte header declaring an enormous payload is
// refused at once, without allocating it.
func TestHugeDeclaredLength(t *testing.T) {
	ab := startABProxy(t)
	pid := ab.p.cmd.Process.Pid
	for _, n := range []uint64{1 << 34, 1<<63 - 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rc, bc, probe := ab.session(t)
			before := rssKiB(t, pid)
			start := time.Now()
			rc.send(hugeHeader(n))
			payload, _ := rc.closeFrame(5 * time.Second)
			if d := time.Since(start); d > time.Second {
				t.Errorf("close after %v; want within 1s", d)
			}
			if len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1009 {
				t.Fatalf("close %x; want 1009", payload)
			}
			rc.expectTCPClose(5 * time.Second)
			if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, probe) {
				t.Fatalf("backend received %q", trunc(got))
			}
			if after := rssKiB(t, pid); after-before > 4*mib {
				t.Fatalf("RSS grew from %d KiB to %d KiB", before, after)
			}
		})
	}
	// The most significant bit of a 64-bit length must be 0 (RFC 6455
	// §5.2): a protocol error, not "Target closed".
	t.Run("length with MSB set", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(hugeHeader(1 << 63))
		payload, _ := rc.closeFrame(5 * time.Second)
		if len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1002 {
			t.Fatalf("close %x (%q); want 1002", payload, payload)
		}
		rc.expectTCPClose(5 * time.Second)
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, probe) {
			t.Fatalf("backend received %q", trunc(got))
		}
	})
}

// readUntilClosed reads c until EOF or an error other than a timeout, and
// returns the bytes and when the read ended.
func readUntilClosed(t *testing.T, c net.Conn, timeout time.Duration) ([]byte, time.Time) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v (read %q)", timeout, trunc(got))
			}
			return got, time.Now()
		}
	}
}

// checkStatus checks that resp, if the server sent anything before closing,
// is an HTTP response with one of the statuses.
func checkStatus(t *testing.T, resp []byte, want ...int) {
	t.Helper()
	if len(resp) == 0 {
		return
	}
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil)
	if err != nil {
		t.Fatalf("unparsable response %q: %v", trunc(resp), err)
	}
	for _, w := range want {
		if r.StatusCode == w {
			return
		}
	}
	t.Fatalf("status %d; want one of %v", r.StatusCode, want)
}

func TestHandshakeDeadline(t *testing.T) {
	p := startProxy(t, "--handshake-timeout", "2", "127.0.0.1:0", startBackend(t, nil).addr())
	t.Run("slowloris", func(t *testing.T) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		stop := make(chan struct{})
		wrote := make(chan int, 1)
		go func() {
			req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Slow: " +
				strings.Repeat("z", 200)
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			n := 0
			defer func() { wrote <- n }()
			for i := 0; i < len(req); i++ {
				if _, err := c.Write([]byte{req[i]}); err != nil {
					return
				}
				n++
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}()
		resp, end := readUntilClosed(t, c, 10*time.Second)
		close(stop)
		d := end.Sub(start)
		if d < time.Second || d > 3*time.Second {
			t.Fatalf("dropped after %v; want 2s ± 1s", d)
		}
		if n := <-wrote; n < 5 {
			t.Fatalf("only %d bytes dribbled", n)
		}
		checkStatus(t, resp, http.StatusRequestTimeout)
	})
	t.Run("silent client", func(t *testing.T) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		resp, end := readUntilClosed(t, c, 10*time.Second)
		if d := end.Sub(start); d < time.Second || d > 3*time.Second {
			t.Fatalf("dropped after %v; want 2s ± 1s", d)
		}
		checkStatus(t, resp, http.StatusRequestTimeout)
	})
	t.Run("still serving", func(t *testing.T) {
		dialRaw(t, p.addr).echoOnce([]byte("after the slow clients"))
	})
}

// TestHeaderCap: an endless header line or thousands of headers are
// refused once the cap (16 KiB by default) is reached, not at the deadline,
// and without buffering what the client keeps sending.
func TestHeaderCap(t *testing.T) {
	p := startProxy(t, "--handshake-timeout", "60", "127.0.0.1:0", startBackend(t, nil).addr())
	pid := p.cmd.Process.Pid

	var many strings.Builder
	for i := 0; many.Len() < 64<<10; i++ {
		fmt.Fprintf(&many, "X-Header-%d: v\r\n", i)
	}
	for _, tc := range []struct {
		name string
		data string
	}{
		{"endless header line", "X-Long: " + strings.Repeat("a", 64<<10-8)},
		{"thousands of headers", many.String()},
		{"endless request line", strings.Repeat("A", 64<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			head := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			if strings.HasPrefix(tc.data, "AAAA") {
				head = ""
			}
			// At most 64 KiB, then nothing: only the cap can end this
			// before the 60 s deadline.
			go func() { io.WriteString(c, head+tc.data) }()
			start := time.Now()
			resp, _ := readUntilClosed(t, c, 10*time.Second)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("answered after %v", d)
			}
			checkStatus(t, resp, http.StatusRequestHeaderFieldsTooLarge)
		})
	}

	t.Run("16 MiB header flood", func(t *testing.T) {
		before := rssKiB(t, pid)
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		done := make(chan int64, 1)
		go func() {
			n, _ := io.WriteString(c, "GET / HTTP/1.1\r\nX-Flood: ")
			chunk := bytes.Repeat([]byte("f"), 64<<10)
			total := int64(n)
			for total < 16<<20 {
				m, err := c.Write(chunk)
				total += int64(m)
				if err != nil {
					break
				}
			}
			done <- total
		}()
		resp, _ := readUntilClosed(t, c, 10*time.Second)
		checkStatus(t, resp, http.StatusRequestHeaderFieldsTooLarge)
		c.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("writer still blocked")
		}
		if after := rssKiB(t, pid); after-before > 4*mib {
			t.Fatalf("RSS grew from %d KiB to %d KiB", before, after)
		}
	})
}

// pattern is the deterministic byte stream the flooding backends send:
// byte i of the stream is pattern[i % len(pattern)].
var pattern = func() []byte {
	b := make([]byte, 65521) // prime, so frame and pattern boundaries drift
	for i := range b {
		b[i] = byte(i*131 + i>>8)
	}
	return b
}()

// writePattern writes n bytes of the pattern stream to w.
func writePattern(w io.Writer, n int64) error {
	var off int64
	for off < n {
		start := int(off % int64(len(pattern)))
		chunk := pattern[start:]
		if rem := n - off; int64(len(chunk)) > rem {
			chunk = chunk[:rem]
		}
		m, err := w.Write(chunk)
		off += int64(m)
		if err != nil {
			return err
		}
	}
	return nil
}

// patternChecker verifies a received stream against the pattern.
type patternChecker struct{ off int64 }

func (pc *patternChecker) check(b []byte) bool {
	for len(b) > 0 {
		want := pattern[pc.off%int64(len(pattern)):]
		n := min(len(want), len(b))
		if !bytes.Equal(b[:n], want[:n]) {
			return false
		}
		b = b[n:]
		pc.off += int64(n)
	}
	return true
}

// TestSlowReader: a client that reads nothing while the backend floods is
// back-pressured, not buffered; reading later gets every byte, and a client
// that never reads is dropped by the write deadline.
func TestSlowReader(t *testing.T) {
	const size = 200 << 20
	type beConn struct {
		wrote chan error // the result of writing the flood
		ended chan struct{}
	}
	conns := make(chan *beConn, 4)
	be := startBackend(t, func(c net.Conn) {
		bc := &beConn{wrote: make(chan error, 1), ended: make(chan struct{})}
		conns <- bc
		bc.wrote <- writePattern(c, size)
		io.Copy(io.Discard, c) // until the proxy ends the target connection
		close(bc.ended)
	})
	p := startProxy(t, "127.0.0.1:0", be.addr())
	pid := p.cmd.Process.Pid

	stall := func(t *testing.T) (*rawConn, *beConn) {
		before := rssKiB(t, pid)
		rc := dialRaw(t, p.addr)
		bc := <-conns
		// Reading nothing for 3 s while the backend floods.
		peak := before
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			peak = max(peak, rssKiB(t, pid))
			select {
			case <-bc.ended:
				t.Fatal("backend connection ended while the client stalled")
			case <-time.After(100 * time.Millisecond):
			}
		}
		if peak-before > 32*mib {
			t.Fatalf("RSS grew from %d KiB to %d KiB while the client did not read", before, peak)
		}
		t.Logf("RSS %d KiB → peak %d KiB", before, peak)
		return rc, bc
	}

	t.Run("reads later", func(t *testing.T) {
		rc, bc := stall(t)
		rc.c.SetReadDeadline(time.Now().Add(60 * time.Second))
		var pc patternChecker
		for pc.off < size {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatalf("after %d bytes: %v", pc.off, err)
			}
			if f.op != opBinary {
				t.Fatalf("op %#x after %d bytes", f.op, pc.off)
			}
			if !pc.check(f.payload) {
				t.Fatalf("wrong bytes near offset %d", pc.off)
			}
		}
		if err := <-bc.wrote; err != nil {
			t.Fatalf("backend write: %v", err)
		}
		rc.send(frame(true, 0, opClose, closePayload(1000, ""), true))
		payload, _ := rc.closeFrame(10 * time.Second)
		if !bytes.Equal(payload, closePayload(1000, "")) {
			t.Fatalf("close reply %x", payload)
		}
		rc.expectTCPClose(5 * time.Second)
		select {
		case <-bc.ended:
		case <-time.After(10 * time.Second):
			t.Fatal("target connection not closed")
		}
	})

	t.Run("never reads", func(t *testing.T) {
		_, bc := stall(t)
		// The write deadline (10 s) drops the client; then the target
		// connection is closed too.
		select {
		case <-bc.ended:
		case <-time.After(40 * time.Second):
			t.Fatal("session with a client that never reads did not end")
		}
	})
}

// TestPingFloodDuringTransfer: 1000 pings while 16 MiB flow to the client;
// every frame parses (pongs never interleave with data frames), every pong
// arrives in order, and the data arrives intact.
func TestPingFloodDuringTransfer(t *testing.T) {
	const size = 16 << 20
	be := startBackend(t, func(c net.Conn) {
		if writePattern(c, size) == nil {
			io.Copy(io.Discard, c)
		}
	})
	p := startProxy(t, "127.0.0.1:0", be.addr())
	rc := dialRaw(t, p.addr)

	const pings = 1000
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < pings; i++ {
			if _, err := rc.c.Write(frame(true, 0, opPing, []byte(fmt.Sprintf("ping-%04d", i)), true)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	rc.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	var pc patternChecker
	pongs := 0
	for pc.off < size || pongs < pings {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("after %d bytes and %d pongs: %v", pc.off, pongs, err)
		}
		if !f.fin || f.rsv != 0 {
			t.Fatalf("frame fin=%v rsv=%d", f.fin, f.rsv)
		}
		switch f.op {
		case opBinary:
			if !pc.check(f.payload) {
				t.Fatalf("wrong bytes near offset %d", pc.off)
			}
		case opPong:
			if want := fmt.Sprintf("ping-%04d", pongs); string(f.payload) != want {
				t.Fatalf("pong %d payload %q; want %q", pongs, f.payload, want)
			}
			pongs++
		default:
			t.Fatalf("unexpected frame op=%#x after %d bytes, %d pongs", f.op, pc.off, pongs)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if pc.off != size {
		t.Fatalf("got %d bytes; want %d", pc.off, size)
	}
}
