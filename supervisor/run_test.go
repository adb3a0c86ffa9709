//go:build linux

package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExitModePropagatesStatus(t *testing.T) {
	tests := []struct {
		args []string
		code int
		sig  syscall.Signal
	}{
		{[]string{"exit", "0"}, 0, 0},
		{[]string{"exit", "3"}, 3, 0},
		{[]string{"kill", "9"}, 137, syscall.SIGKILL},
		{[]string{"kill", "15"}, 143, syscall.SIGTERM},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			marker := newMarker(t)
			p := helperProcess(t, marker, tc.args...)
			var exits []*ExitError
			p.OnExit = func(e *ExitError) { exits = append(exits, e) }
			err := p.Run(t.Context())
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != tc.code || ee.Signal != tc.sig {
				t.Fatalf("Run = %v; want *ExitError with code %d, signal %d", err, tc.code, tc.sig)
			}
			if len(exits) != 1 || exits[0] != ee {
				t.Errorf("OnExit saw %v; want exactly the returned error", exits)
			}
			assertNoOrphans(t, marker)
		})
	}
}

func TestCancelStopsProgram(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "sleep")
	p.Grace = 5 * time.Second // a stop that needs SIGKILL would take this long
	cancel, wait := runAsync(t, p)
	eventually(t, "program start", func() bool { return p.Signal(syscall.Signal(0)) == nil })
	start := time.Now()
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run after cancel = %v; want nil", err)
	}
	if d := time.Since(start); d > p.Grace {
		t.Errorf("stop took %v; want well under the %v grace (SIGTERM should do)", d, p.Grace)
	}
	assertNoOrphans(t, marker)
	if err := p.Signal(syscall.SIGHUP); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal after Run = %v; want ErrNotRunning", err)
	}
}

func TestSigkillAfterGrace(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "ignore-term")
	p.Grace = 500 * time.Millisecond
	log, buf := testLogger(t)
	p.Logger = log
	ready := readyLine(t, p)
	cancel, wait := runAsync(t, p)
	ready() // SIGTERM is ignored from here on
	start := time.Now()
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	if d := time.Since(start); d < p.Grace || d > p.Grace+3*time.Second {
		t.Errorf("stop took %v; want about the %v grace", d, p.Grace)
	}
	if !strings.Contains(buf.String(), "sending SIGKILL") {
		t.Errorf("log lacks the SIGKILL line:\n%s", buf)
	}
	assertNoOrphans(t, marker)
}

func TestSignalForwardsToGroup(t *testing.T) {
	p := helperProcess(t, newMarker(t), "hup", "42")
	if err := p.Signal(syscall.SIGHUP); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal before Run = %v; want ErrNotRunning", err)
	}
	ready := readyLine(t, p)
	_, wait := runAsync(t, p)
	ready()
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	var ee *ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Code != 42 {
		t.Fatalf("Run = %v; want exit status 42", err)
	}
}

// TestExitStatusDespiteDescendants: in exit mode Run returns the
// program's own status whatever its descendants do, and stops those still
// running.
func TestExitStatusDespiteDescendants(t *testing.T) {
	tests := []struct {
		name   string
		script string
		code   int
	}{
		// A grandchild leaves the process group with setsid and runs on
		// after the program exits: it is stopped too.
		{"daemonized grandchild", "setsid sleep 300 & sleep 0.2; exit 5", 5},
		// Many re-parented grandchildren exit around the time the program
		// does: the single reaper still reports the program's status.
		{"orphan statuses", "i=0; while [ $i -lt 30 ]; do (sleep 0.1; exit 9) & i=$((i+1)); done; exit 7", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			marker := newMarker(t)
			p := &Process{
				Argv:  []string{"sh", "-c", tc.script},
				Env:   append(os.Environ(), marker),
				Port:  freePort(t),
				Grace: time.Second,
			}
			p.Logger, _ = testLogger(t)
			var ee *ExitError
			if err := p.Run(t.Context()); !errors.As(err, &ee) || ee.Code != tc.code {
				t.Fatalf("Run = %v; want exit status %d", err, tc.code)
			}
			assertNoOrphans(t, marker)
		})
	}
}

// TestIgnoreModeKeepsDaemon: a listener that daemonizes (fork, setsid,
// fork) is found listening after its parent exits, receives forwarded
// signals, and is stopped when the context ends.
func TestIgnoreModeKeepsDaemon(t *testing.T) {
	bin := buildListener(t)
	marker := newMarker(t)
	port := freePort(t)
	log, buf := testLogger(t)
	ready := make(chan string, 4)
	p := &Process{
		Argv:    []string{bin, "daemon", itoa(port)},
		Env:     append(os.Environ(), marker),
		Mode:    ModeIgnore,
		Port:    port,
		Grace:   time.Second,
		Logger:  log,
		OnReady: func(a netip.AddrPort) { ready <- a.String() },
	}
	cancel, wait := runAsync(t, p)
	select {
	case got := <-ready:
		if want := fmt.Sprintf("127.0.0.1:%d", port); got != want {
			t.Errorf("ready at %s; want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("daemon never seen listening; log:\n%s", buf)
	}
	eventually(t, "the exit log line", func() bool { return strings.Contains(buf.String(), "exited (or daemonized)") })
	if err := p.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("Signal to the daemon: %v", err)
	}
	if strings.Contains(buf.String(), "no process of the wrapped program is left") {
		t.Errorf("daemon reported gone while it runs:\n%s", buf)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	assertNoOrphans(t, marker)
}

// TestIgnoreModeReportsWhenAllGone: in ModeIgnore, once the program and
// everything it started have exited, Run says so (and keeps running).
func TestIgnoreModeReportsWhenAllGone(t *testing.T) {
	marker := newMarker(t)
	p := &Process{
		Argv:  []string{"sh", "-c", "setsid sleep 0.3 & exit 0"},
		Env:   append(os.Environ(), marker),
		Port:  freePort(t),
		Mode:  ModeIgnore,
		Grace: time.Second,
	}
	log, buf := testLogger(t)
	p.Logger = log
	cancel, wait := runAsync(t, p)
	eventually(t, "the all-gone line", func() bool {
		return strings.Contains(buf.String(), "no process of the wrapped program is left")
	})
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	assertNoOrphans(t, marker)
}

// TestDaemonIgnoringTermIsKilled: a daemon that ignores SIGTERM is killed
// once the grace period is over.
func TestDaemonIgnoringTermIsKilled(t *testing.T) {
	bin := buildListener(t)
	marker := newMarker(t)
	port := freePort(t)
	onReady, ch := readyChan()
	p := &Process{
		Argv:    []string{bin, "-t", "daemon", itoa(port)},
		Env:     append(os.Environ(), marker),
		Mode:    ModeIgnore,
		Port:    port,
		Grace:   500 * time.Millisecond,
		OnReady: onReady,
	}
	log, buf := testLogger(t)
	p.Logger = log
	cancel, wait := runAsync(t, p)
	waitReady(t, ch, buf)
	start := time.Now()
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < p.Grace {
		t.Errorf("stopped after %v; a daemon ignoring SIGTERM needs the %v grace", d, p.Grace)
	}
	if !strings.Contains(buf.String(), "sending SIGKILL") {
		t.Errorf("log lacks the SIGKILL line:\n%s", buf)
	}
	assertNoOrphans(t, marker)
}

// TestProgramDiesWithSupervisor: when the supervising process is killed
// outright, the program gets its parent-death signal (SIGTERM).
func TestProgramDiesWithSupervisor(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	marker := newMarker(t)
	cmd := exec.Command(exe, "supervise", "sleep", "300")
	cmd.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=1", "GORACE=atexit_sleep_ms=0", marker)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "supervising\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	eventually(t, "the program to start", func() bool { return len(markedProcs(marker)) == 2 })
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	eventually(t, "the program to die", func() bool { return len(markedProcs(marker)) == 0 })
}

func TestSIGPIPEIsDefault(t *testing.T) {
	out, err := os.Create(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p := &Process{Argv: []string{"grep", "^SigIgn:", "/proc/self/status"}, Port: freePort(t), Stdout: out}
	p.Logger, _ = testLogger(t)
	if err := p.Run(t.Context()); err == nil || err.(*ExitError).Code != 0 {
		t.Fatalf("Run = %v; want exit status 0", err)
	}
	data, _ := os.ReadFile(out.Name())
	var mask uint64
	if _, err := fmt.Sscanf(string(data), "SigIgn: %x", &mask); err != nil {
		t.Fatalf("parse %q: %v", data, err)
	}
	if mask&(1<<(syscall.SIGPIPE-1)) != 0 {
		t.Errorf("SIGPIPE is ignored in the child (SigIgn %016x)", mask)
	}
}

func TestRunTwiceAndBusy(t *testing.T) {
	p := helperProcess(t, newMarker(t), "sleep")
	cancel, wait := runAsync(t, p)
	eventually(t, "program start", func() bool { return p.Signal(syscall.Signal(0)) == nil })
	q := helperProcess(t, newMarker(t), "exit", "0")
	if err := q.Run(t.Context()); !errors.Is(err, ErrBusy) {
		t.Errorf("second concurrent Run = %v; want ErrBusy", err)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Run again = %v; want an error", err)
	}
}

func TestCanceledBeforeStart(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "sleep")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	assertNoOrphans(t, marker)
}
