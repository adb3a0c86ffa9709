package tests

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fileLog is a process's output written to a file: a process started by
// an upgrade inherits it, and would hold a pipe (and the test's Wait) open.
type fileLog struct{ path string }

func newFileLog(t testing.TB) (*fileLog, *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &fileLog{path}, f
}

func (l *fileLog) String() string {
	b, _ := os.ReadFile(l.path)
	return string(b)
}

func (l *fileLog) waitFor(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(l.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q in output:\n%s", re, l.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startUpgradable runs the websockify binary at bin with args, output to a
// file, and returns it once it listens. Processes it starts by upgrades
// are killed when the test ends (pids read from pidFile).
func startUpgradable(t testing.TB, bin, pidFile string, args ...string) (*exec.Cmd, *fileLog, string, chan struct{}) {
	t.Helper()
	cmd, out, done := startLogged(t, bin, pidFile, args...)
	addr := out.waitFor(t, listenRE, 10*time.Second)[1]
	return cmd, out, addr, done
}

// startLogged is startUpgradable without the wait for the listen line.
func startLogged(t testing.TB, bin, pidFile string, args ...string) (*exec.Cmd, *fileLog, chan struct{}) {
	t.Helper()
	out, f := newFileLog(t)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if pid, ok := readPIDFile(pidFile); ok && pid != cmd.Process.Pid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	})
	return cmd, out, done
}

func readPIDFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// waitNewPID waits until the pid file names a process other than old.
func waitNewPID(t testing.TB, path string, old int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if pid, ok := readPIDFile(path); ok && pid != old {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pid file %s still names %d", path, old)
	return 0
}

// quickSession opens a WebSocket session to addr, echoes one message
// through it and closes it: what a client loop does. It never calls t: it
// runs in many goroutines.
func quickSession(addr string, payload []byte) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read status: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		return fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read headers: %w", err)
		}
		if l == "\r\n" {
			break
		}
	}
	if _, err := c.Write(frame(true, 0, 2, payload, true)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var got []byte
	for len(got) < len(payload) {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return fmt.Errorf("read frame: %w", err)
		}
		n := int(h[1] & 0x7f)
		if n >= 126 {
			return fmt.Errorf("unexpected frame length %d", n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return fmt.Errorf("read payload: %w", err)
		}
		if h[0]&0x0f == 8 {
			return fmt.Errorf("closed by the server: %q", p)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("echo %q; want %q", got, payload)
	}
	c.Write(frame(true, 0, 8, closePayload(1000, ""), true))
	return nil
}

// clientLoop opens sessions on addr from workers goroutines until stop is
// closed, and counts them.
type clientLoop struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startClientLoop(addr string, workers int) *clientLoop {
	l := &clientLoop{stop: make(chan struct{})}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := quickSession(addr, []byte("session "+strconv.Itoa(n))); err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, err.Error())
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return l
}

func (l *clientLoop) halt() {
	close(l.stop)
	l.wg.Wait()
}

// TestUpgradeRefusesNoOne: a SIGUSR2 upgrade while a client loop opens
// sessions continuously: not one is refused or reset; the pid file names
// the new process; a session opened before the upgrade keeps relaying in
// the old process until it ends, and the old process then exits 0.
func TestUpgradeRefusesNoOne(t *testing.T) {
	backend := startBackend(t, nil)
	pidFile := filepath.Join(t.TempDir(), "ws.pid")
	cmd, out, addr, done := startUpgradable(t, wsBinary, pidFile, "--drain-timeout", "60", "--pid-file", pidFile, "127.0.0.1:0", backend.addr())
	oldPID := cmd.Process.Pid
	if pid, _ := readPIDFile(pidFile); pid != oldPID {
		t.Fatalf("pid file names %d; want %d", pid, oldPID)
	}
	before := dialRaw(t, addr)
	before.c.SetDeadline(time.Time{})
	before.echoOnce([]byte("opened before the upgrade"))

	loop := startClientLoop(addr, 4)
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGUSR2)
	newPID := waitNewPID(t, pidFile, oldPID)
	out.waitFor(t, reMust(`upgrade: the new process serves; this one stops accepting`), 10*time.Second)
	time.Sleep(time.Second)
	loop.halt()
	elapsed := time.Since(start) + 500*time.Millisecond
	ok, failed := loop.ok.Load(), loop.failed.Load()
	t.Logf("client loop: %d sessions, %d failed, %.0f sessions/s; new process %d", ok, failed, float64(ok+failed)/elapsed.Seconds(), newPID)
	if failed != 0 {
		t.Fatalf("%d of %d sessions failed through the upgrade: %v", failed, ok+failed, loop.errs)
	}
	if ok < 200 {
		t.Fatalf("only %d sessions opened during the test: the loop did not exercise the upgrade", ok)
	}

	// The old process drains: its session goes on, new ones go to the new process.
	for i := 0; i < 3; i++ {
		before.echoOnce([]byte("still relayed by the old process"))
	}
	select {
	case <-done:
		t.Fatal("the old process exited with a session open")
	default:
	}
	if err := quickSession(addr, []byte("after")); err != nil {
		t.Fatalf("session after the upgrade: %v", err)
	}
	before.closeHandshake()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the old process did not exit once its last session ended")
	}
	if st := cmd.ProcessState.ExitCode(); st != 0 {
		t.Fatalf("old process exit status %d; want 0", st)
	}
	out.waitFor(t, reMust(`Drained: every session has ended`), time.Second)

	// The new process serves on, and stops cleanly, removing the pid file.
	if err := quickSession(addr, []byte("new process")); err != nil {
		t.Fatalf("session to the new process: %v", err)
	}
	syscall.Kill(newPID, syscall.SIGTERM)
	waitGone(t, newPID, 10*time.Second)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file after the new process stopped: %v", err)
	}
}

// TestUpgradeRefusals: a SIGUSR2 while the previous process still drains
// is refused with a log line; wrap mode refuses upgrades. (A SIGUSR2
// during an upgrade: TestUpgradeToABrokenBinary.)
func TestUpgradeRefusals(t *testing.T) {
	backend := startBackend(t, nil)
	pidFile := filepath.Join(t.TempDir(), "ws.pid")
	cmd, out, addr, _ := startUpgradable(t, wsBinary, pidFile, "--drain-timeout", "60", "--pid-file", pidFile, "127.0.0.1:0", backend.addr())
	before := dialRaw(t, addr)
	before.c.SetDeadline(time.Time{})
	cmd.Process.Signal(syscall.SIGUSR2)
	newPID := waitNewPID(t, pidFile, cmd.Process.Pid)
	out.waitFor(t, reMust(`Draining \(upgraded\)`), 10*time.Second)
	if n := strings.Count(out.String(), "upgrade: new process"); n != 1 {
		t.Fatalf("%d new processes started; want 1:\n%s", n, out.String())
	}
	// The new process refuses to upgrade while the old one drains.
	syscall.Kill(newPID, syscall.SIGUSR2)
	out.waitFor(t, reMust(`SIGUSR2: upgrade refused: an upgrade is in progress: the previous process still drains`), 10*time.Second)
	before.echoOnce([]byte("old session"))

	t.Run("wrap mode", func(t *testing.T) {
		requireProgram(t, "socat")
		port := freePort(t)
		p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", "socat",
			fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port), "EXEC:cat")
		p.signal(syscall.SIGUSR2)
		p.stderr.waitFor(t, reMust(`SIGUSR2: upgrade refused: upgrades are refused in wrap mode`), 10*time.Second)
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("still serving"))
	})
}

// TestUpgradeToABrokenBinary: when the new binary cannot start, the old
// process serves on and logs why; a SIGUSR2 while the new one starts is
// refused; once the binary is fixed, the next SIGUSR2 runs the new binary.
func TestUpgradeToABrokenBinary(t *testing.T) {
	backend := startBackend(t, nil)
	dir := t.TempDir()
	bin := filepath.Join(dir, "websockify")
	install := func(src []byte, mode os.FileMode) {
		tmp := bin + ".new"
		if err := os.WriteFile(tmp, src, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, bin); err != nil {
			t.Fatal(err)
		}
	}
	real, err := os.ReadFile(wsBinary)
	if err != nil {
		t.Fatal(err)
	}
	install(real, 0o755)
	pidFile := filepath.Join(dir, "ws.pid")
	cmd, out, addr, done := startUpgradable(t, bin, pidFile, "--pid-file", pidFile, "127.0.0.1:0", backend.addr())

	install([]byte("#!/bin/sh\necho 'broken build' >&2\nsleep 1\nexit 3\n"), 0o755)
	cmd.Process.Signal(syscall.SIGUSR2)
	out.waitFor(t, reMust(`broken build`), 10*time.Second)
	cmd.Process.Signal(syscall.SIGUSR2) // the new process has not failed yet
	out.waitFor(t, reMust(`SIGUSR2: upgrade refused: an upgrade is in progress`), 10*time.Second)
	out.waitFor(t, reMust(`upgrade failed; this process serves on.*exit status 3`), 20*time.Second)
	if !strings.Contains(out.String(), "broken build") {
		t.Fatalf("the new binary's own message is not in the output:\n%s", out.String())
	}
	if err := quickSession(addr, []byte("still serving")); err != nil {
		t.Fatalf("after a failed upgrade: %v", err)
	}
	if pid, _ := readPIDFile(pidFile); pid != cmd.Process.Pid {
		t.Fatalf("pid file names %d after a failed upgrade; want %d", pid, cmd.Process.Pid)
	}

	install(real, 0o755)
	cmd.Process.Signal(syscall.SIGUSR2)
	waitNewPID(t, pidFile, cmd.Process.Pid)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the old process did not exit after the upgrade (no open session)")
	}
	if err := quickSession(addr, []byte("new binary")); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
}

// TestUpgradeDaemon: a -D daemon upgrades in the background: the new
// process takes over the pid file, serves, and removes the file when it
// stops.
func TestUpgradeDaemon(t *testing.T) {
	backend := startBackend(t, nil)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "ws.pid")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if st, stderr, _ := runParent(t, dir, "-D", "--pid-file", pidFile, addr, backend.addr()); st != 0 {
		t.Fatalf("-D: status %d\n%s", st, stderr)
	}
	old := daemonPID(t, pidFile)
	syscall.Kill(old, syscall.SIGUSR2)
	newPID := waitNewPID(t, pidFile, old)
	t.Cleanup(func() { syscall.Kill(newPID, syscall.SIGKILL) })
	waitGone(t, old, 10*time.Second)
	if err := quickSession(addr, []byte("daemon upgraded")); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", newPID)); err != nil || cwd != "/" {
		t.Errorf("the new daemon's directory is %q (%v); want /", cwd, err)
	}
	syscall.Kill(newPID, syscall.SIGTERM)
	waitGone(t, newPID, 10*time.Second)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file after the new daemon stopped: %v", err)
	}
}

// getStatus is the status and body of GET url ("" and the error text when
// the request fails).
func getStatus(url string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUpgradeAdminListener: the admin listener is handed over on upgrades
// (the new process could not bind it otherwise), the old process stops
// answering on it, and /readyz fails with the drain's reason once SIGTERM
// starts a drain.
func TestUpgradeAdminListener(t *testing.T) {
	backend := startBackend(t, nil)
	pidFile := filepath.Join(t.TempDir(), "ws.pid")
	admin := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	readyz := "http://" + admin + "/readyz"
	cmd, out, addr, _ := startUpgradable(t, wsBinary, pidFile, "--drain-timeout", "60", "--admin-listen", admin,
		"--pid-file", pidFile, "127.0.0.1:0", backend.addr())
	if st, body := getStatus(readyz); st != 200 {
		t.Fatalf("/readyz %d %q before the upgrade", st, body)
	}
	before := dialRaw(t, addr)
	before.c.SetDeadline(time.Time{})
	cmd.Process.Signal(syscall.SIGUSR2)
	newPID := waitNewPID(t, pidFile, cmd.Process.Pid)
	out.waitFor(t, reMust(`Draining \(upgraded\)`), 10*time.Second)
	// Only the new process answers now: never the old one's "draining".
	for i := 0; i < 50; i++ {
		if st, body := getStatus(readyz); st != 200 {
			t.Fatalf("/readyz %d %q after the upgrade", st, body)
		}
	}
	before.echoOnce([]byte("old process"))

	// The new process drains on SIGTERM: /readyz says so. It passes the
	// signal to the old one, which closes its session now (a second
	// SIGTERM).
	rc := dialRaw(t, addr)
	rc.c.SetDeadline(time.Time{})
	syscall.Kill(newPID, syscall.SIGTERM)
	if code, _, _ := before.expectClose(10 * time.Second); code != 1001 {
		t.Fatalf("the old process's session closed with %d; want 1001", code)
	}
	out.waitFor(t, reMust(`passing terminated to the previous process \d+, which still drains`), 5*time.Second)
	out.waitFor(t, reMust(`terminated while draining: closing the 1 sessions left with 1001 now`), 5*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, body := getStatus(readyz)
		if st == 503 && strings.Contains(body, "draining: SIGTERM: not accepting new sessions") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d %q while the new process drains", st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.echoOnce([]byte("new process, draining"))
	rc.closeHandshake()
	waitGone(t, newPID, 10*time.Second)
}
