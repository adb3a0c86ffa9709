// Package tests runs the real websockify binary against real backends on
// loopback, with WebSocket clients that do not share code with the server
// (coder/websocket and a raw frame client written here).
package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the websockify under test, built once by TestMain.
var wsBinary string

func TestMain(m *testing.M) {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wsBinary = os.Getenv("WEBSOCKIFY_BIN")
	if wsBinary == "" {
		cmd := exec.Command("make", "-s", "-C", root, "build")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building websockify:", err)
			os.Exit(1)
		}
		wsBinary = filepath.Join(root, "bin", "websockify")
	}
	os.Exit(m.Run())
}

// syncBuffer collects a process's output for inspection while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{} // closed and replaced on every write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{ch: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output matches re and returns the submatches.
func (b *syncBuffer) waitFor(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		m := re.FindStringSubmatch(b.buf.String())
		ch := b.ch
		b.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %q in output:\n%s", re, b.String())
			return nil
		}
	}
}

// proxy is a running websockify.
type proxy struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string // host:port it listens on (TCP)
	stderr *syncBuffer
	stdout *syncBuffer
	done   chan struct{}
	err    error
}

var listenRE = regexp.MustCompile(`Listen on (\S+:\d+)`)

// startProxy runs websockify with args and waits for its listen line. Use
// listen address "127.0.0.1:0" to get a free port.
func startProxy(t testing.TB, args ...string) *proxy {
	t.Helper()
	p := startProxyNoWait(t, args...)
	p.addr = p.stderr.waitFor(t, listenRE, 10*time.Second)[1]
	return p
}

// startProxyNoWait runs websockify with args without waiting for its
// listen line.
func startProxyNoWait(t testing.TB, args ...string) *proxy {
	t.Helper()
	return startProxyCmd(t, nil, args...)
}

// startProxyCmd runs websockify with args without waiting for its listen
// line, letting setup, when not nil, adjust the command (stdin,
// environment, working directory) before it starts. The process is killed
// when the test ends, and its stderr logged if the test failed.
func startProxyCmd(t testing.TB, setup func(*exec.Cmd), args ...string) *proxy {
	t.Helper()
	p := &proxy{t: t, stderr: newSyncBuffer(), stdout: newSyncBuffer(), done: make(chan struct{})}
	p.cmd = exec.Command(wsBinary, args...)
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stdout
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start websockify: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("websockify %s stderr:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit status.
func (p *proxy) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("websockify did not exit within %v; stderr:\n%s", timeout, p.stderr.String())
	}
	if p.cmd.ProcessState == nil {
		p.t.Fatalf("no process state: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proxy) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal: %v", err)
	}
}

// url is the ws:// URL of the proxy with path.
func (p *proxy) url(path string) string { return "ws://" + p.addr + path }

// echoServer is a TCP echo backend that records what it received.
type echoServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// startBackend starts a TCP backend on loopback running handle for each
// connection (echo when handle is nil).
func startBackend(t testing.TB, handle func(net.Conn)) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, ln, handle)
}

// serveBackend runs handle (echo when nil) for each connection accepted
// on ln, until the test ends; then it closes ln and the connections.
func serveBackend(t testing.TB, ln net.Listener, handle func(net.Conn)) *echoServer {
	if handle == nil {
		handle = func(c net.Conn) { io.Copy(c, c) }
	}
	s := &echoServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *echoServer) addr() string { return s.ln.Addr().String() }

// socatEcho starts `socat TCP-LISTEN:port,fork EXEC:cat`, a real program as
// the backend, and returns its address.
func socatEcho(t testing.TB) string {
	t.Helper()
	requireProgram(t, "socat")
	port := freePort(t)
	cmd := exec.Command("socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr", port), "EXEC:cat")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start socat: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr)
	return addr
}

// requireProgram fails (never skips) when a system program is missing:
// tests/install-deps.sh installs them, and CI runs it as root.
func requireProgram(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; run tests/install-deps.sh as root (make deps)", name)
	}
	return p
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listening on %s", addr)
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readAllLines is a helper for scanning output line by line.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
