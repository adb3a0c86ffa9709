package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recConn is one backend connection that records every byte it receives.
type recConn struct {
	mu   sync.Mutex
	data []byte
	done chan struct{} // closed once the proxy ended the connection (EOF or error)
}

func (r *recConn) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.data...)
}

// waitEnd waits for the proxy to end the target connection and returns what
// the backend received.
func (r *recConn) waitEnd(t testing.TB, timeout time.Duration) []byte {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("the proxy did not close the target connection within %v (got %d bytes)", timeout, len(r.bytes()))
	}
	return r.bytes()
}

// recordingBackend starts a TCP backend that records what each connection
// receives and, with echo, sends it back. Connections are delivered on the
// returned channel in accept order.
func recordingBackend(t testing.TB, echo bool) (*echoServer, <-chan *recConn) {
	t.Helper()
	conns := make(chan *recConn, 100)
	be := startBackend(t, func(c net.Conn) { serveRecorder(c, echo, conns) })
	return be, conns
}

func serveRecorder(c net.Conn, echo bool, conns chan<- *recConn) {
	rc := &recConn{done: make(chan struct{})}
	conns <- rc
	defer close(rc.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			rc.mu.Lock()
			rc.data = append(rc.data, buf[:n]...)
			rc.mu.Unlock()
			if echo {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// nextConn returns the backend's next connection.
func nextConn(t testing.TB, conns <-chan *recConn) *recConn {
	t.Helper()
	select {
	case c := <-conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy never connected to the backend")
		return nil
	}
}

// heartbeatPing answers f, when it is the heartbeat's empty ping (every
// 30 s by default; a slow test may see one), as a browser does.
func (rc *rawConn) heartbeatPing(f rawFrame) bool {
	if f.op != 9 || len(f.payload) != 0 {
		return false
	}
	rc.send(frame(true, 0, 0xA, nil, true))
	return true
}

// readData reads data frames until n payload bytes arrived; control frames
// are not expected in between, but for the heartbeat's pings.
func (rc *rawConn) readData(n int, timeout time.Duration) []byte {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	var got []byte
	for len(got) < n {
		f, err := rc.readFrame()
		if err != nil {
			rc.t.Fatalf("reading data after %d of %d bytes: %v", len(got), n, err)
		}
		if rc.heartbeatPing(f) {
			continue
		}
		if f.op != 2 || !f.fin || f.rsv != 0 {
			rc.t.Fatalf("got frame op=%#x fin=%v rsv=%d (%q) while reading data", f.op, f.fin, f.rsv, trunc(f.payload))
		}
		got = append(got, f.payload...)
	}
	return got
}

// closeFrame reads frames until a close frame and returns its raw payload;
// data frames before it are returned concatenated; any other frame fails
// the test.
func (rc *rawConn) closeFrame(timeout time.Duration) (payload, data []byte) {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	for {
		f, err := rc.readFrame()
		if err != nil {
			rc.t.Fatalf("waiting for a close frame: %v", err)
		}
		switch f.op {
		case 8:
			return f.payload, data
		case 2:
			data = append(data, f.payload...)
		default:
			rc.t.Fatalf("unexpected frame op=%#x %q before the close frame", f.op, trunc(f.payload))
		}
	}
}

// framesUntilEOF reads frames until the server ends TCP and returns them.
func (rc *rawConn) framesUntilEOF(timeout time.Duration) []rawFrame {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	var fs []rawFrame
	for {
		f, err := rc.readFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				rc.t.Fatalf("server did not close the TCP connection within %v", timeout)
			}
			return fs
		}
		fs = append(fs, f)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// concat joins frames (or any byte slices) into one write.
func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// rssKiB reads VmRSS of a process from /proc.
func rssKiB(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read /proc status: %v", err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// exited reports whether the process has ended, without waiting.
func (p *proxy) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// runCLI runs websockify to completion and returns its exit status, stdout
// and stderr.
func runCLI(t testing.TB, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	st := runToExit(t, cmd, 20*time.Second, &errb)
	return st, out.String(), errb.String()
}

// runToExit starts cmd and returns its exit status. If it has not exited
// within timeout (Wait also waits for whatever holds its stdout and
// stderr, such as a daemon it started), it is killed and the test fails
// with output, what cmd wrote so far.
func runToExit(t testing.TB, cmd *exec.Cmd, timeout time.Duration, output fmt.Stringer) int {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%q did not exit within %v (or something it started kept its stdout or stderr); output:\n%s", cmd.Args, timeout, output)
	}
	return cmd.ProcessState.ExitCode()
}

// echoOnce sends payload as one binary frame and checks it comes back.
func (rc *rawConn) echoOnce(payload []byte) {
	rc.t.Helper()
	rc.sendFrame(2, payload)
	if got := rc.readData(len(payload), 10*time.Second); !bytes.Equal(got, payload) {
		rc.t.Fatalf("echo %q; want %q", trunc(got), trunc(payload))
	}
}

// hugeHeader is a masked binary frame header declaring n payload bytes,
// with no payload.
func hugeHeader(n uint64) []byte {
	h := []byte{0x82, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, n)
	return append(h, 1, 2, 3, 4)
}

// closeHandshake closes the session from the client side with 1000, checks
// the echo and the server's TCP close, then closes our end.
func (rc *rawConn) closeHandshake() {
	rc.t.Helper()
	rc.send(frame(true, 0, 0x8, closePayload(1000, ""), true))
	if code, _, _ := rc.expectClose(5 * time.Second); code != 1000 {
		rc.t.Fatalf("close echo %d; want 1000", code)
	}
	rc.expectTCPClose(5 * time.Second)
	rc.c.Close()
}
