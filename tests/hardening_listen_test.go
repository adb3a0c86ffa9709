package tests

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHardeningUnixListenOwnership (D-2): --unix-listen replaces only a
// stale socket. A live one (ours or another websockify's) is "address
// already in use" and keeps working; on exit websockify removes the path
// only while it is still its own socket.
func TestHardeningUnixListenOwnership(t *testing.T) {
	be := startBackend(t, nil)
	dir := t.TempDir()
	t.Run("live socket of another process kept", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		greetOnUnix(t, path, "still mine")
		st, _, stderr := runCLI(t, wsBinary, "--unix-listen="+path, be.addr())
		if st == 0 || !strings.Contains(stderr, "address already in use") {
			t.Fatalf("exit %d, stderr %q; want a failure saying address already in use", st, stderr)
		}
		expectUnixGreeting(t, path, "still mine")
	})
	t.Run("live socket of another websockify kept", func(t *testing.T) {
		path := filepath.Join(dir, "ws.sock")
		first := startProxyNoWait(t, "--unix-listen="+path, be.addr())
		first.stderr.waitFor(t, proxyingRE, 10*time.Second)
		st, _, stderr := runCLI(t, wsBinary, "--unix-listen="+path, be.addr())
		if st == 0 || !strings.Contains(stderr, "address already in use") {
			t.Fatalf("second instance: exit %d, stderr %q; want address already in use", st, stderr)
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("the first instance's socket is gone: %v", err)
		}
		rc, _ := rawHandshakeOn(t, c)
		rc.echoOnce([]byte("first still serves"))
		first.signal(syscall.SIGTERM)
		first.wait(10 * time.Second)
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Fatalf("socket file left after exit: %v", err)
		}
	})
	t.Run("stale socket replaced and removed on exit", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		staleUnixSocket(t, path)
		p := startProxyNoWait(t, "--unix-listen="+path, be.addr())
		p.stderr.waitFor(t, proxyingRE, 10*time.Second)
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := rawHandshakeOn(t, c)
		rc.echoOnce([]byte("replaced"))
		p.signal(syscall.SIGTERM)
		p.wait(10 * time.Second)
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Fatalf("socket file left after exit: %v", err)
		}
	})
	t.Run("replacement not removed on exit", func(t *testing.T) {
		path := filepath.Join(dir, "moved.sock")
		p := startProxyNoWait(t, "--unix-listen="+path, be.addr())
		p.stderr.waitFor(t, proxyingRE, 10*time.Second)
		// Someone else takes the path over (after removing ours).
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		greetOnUnix(t, path, "newcomer")
		p.signal(syscall.SIGTERM)
		p.wait(10 * time.Second)
		expectUnixGreeting(t, path, "newcomer")
	})
}

// expectUnixGreeting connects to the Unix socket at path and expects want
// as the first bytes.
func expectUnixGreeting(t *testing.T, path, want string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("socket at %s no longer answers: %v", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
		t.Fatalf("socket at %s answered %q, %v; want %q", path, buf, err, want)
	}
}

// staleUnixSocket leaves at path a socket file that nothing listens on, as
// a process killed while listening does.
func staleUnixSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
}

// greetOnUnix listens on path until the test ends, sending msg to every
// connection: another process's live socket.
func greetOnUnix(t *testing.T, path, msg string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(msg))
			c.Close()
		}
	}()
}
