//go:build linux

package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for concurrent use, for captured logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger returns a logger that writes to the returned buffer and, with
// -v, to the test log.
func testLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	t.Helper()
	buf := new(syncBuffer)
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// newMarker returns a unique environment entry that marks the processes of
// one test, so that leftovers can be found in /proc.
func newMarker(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "WSTEST_MARKER=" + hex.EncodeToString(b)
}

// helperProcess returns a Process running this test binary as the helper
// child with the given mode; its environment carries marker.
func helperProcess(t *testing.T, marker string, args ...string) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log, _ := testLogger(t)
	return &Process{
		Argv: append([]string{exe}, args...),
		// GORACE: a race-enabled helper would otherwise sleep 1s in exit.
		Env:    append(os.Environ(), "GO_WANT_HELPER_PROCESS=1", "GORACE=atexit_sleep_ms=0", marker),
		Port:   freePort(t),
		Grace:  time.Second,
		Logger: log,
	}
}

// readyLine makes p's stdout a pipe and returns a function that waits for
// the helper's "ready" line.
func readyLine(t *testing.T, p *Process) func() {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	p.Stdout = w
	return func() {
		t.Helper()
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("helper's ready line: %q, %v", line, err)
		}
	}
}

// runAsync runs p until the returned cancel is called; wait returns Run's
// error. The test fails if Run does not return within limit after cancel.
func runAsync(t *testing.T, p *Process) (cancel func(), wait func() error) {
	t.Helper()
	ctx, cancelCtx := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() {
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return within 30s")
			}
		})
		return err
	}
	t.Cleanup(func() { cancelCtx(); _ = wait() })
	return cancelCtx, wait
}

// markedProcs returns the /proc/PID/stat lines of the live processes whose
// environment holds marker.
func markedProcs(marker string) []string {
	want := []byte(marker + "\x00")
	var out []string
	names, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err == nil && bytes.Contains(append(data, 0), want) {
			stat, _ := os.ReadFile(filepath.Join(filepath.Dir(name), "stat"))
			out = append(out, strings.TrimSpace(string(stat)))
		}
	}
	return out
}

// assertNoOrphans fails if any process still carries marker in its
// environment, or if this process has any child left.
func assertNoOrphans(t *testing.T, marker string) {
	t.Helper()
	for _, stat := range markedProcs(marker) {
		t.Errorf("process left behind: %s", stat)
	}
	procs, err := readProcs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range descendants(procs, os.Getpid()) {
		t.Errorf("child left behind: pid %d state %c", p.pid, p.state)
	}
}

// freePort returns a port free on both loopbacks.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func hasIPv6() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// buildListener compiles tests/testdata/listener.c with extra cc flags.
func buildListener(t *testing.T, flags ...string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) in PATH")
	}
	bin := filepath.Join(t.TempDir(), "listener")
	args := append([]string{"-std=c99", "-O1", "-o", bin}, flags...)
	args = append(args, filepath.Join("..", "tests", "testdata", "listener.c"))
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		if len(flags) > 0 {
			t.Skipf("cc %v failed (toolchain lacks support?): %v\n%s", flags, err, out)
		}
		t.Fatalf("cc listener.c: %v\n%s", err, out)
	}
	return bin
}

// shimPath returns the absolute path of the committed rebind/rebind_GOARCH.so.
func shimPath(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "rebind", "rebind_"+runtime.GOARCH+".so"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no committed shim for %s: %v", runtime.GOARCH, err)
	}
	return path
}

// eventually polls cond every 20ms until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
