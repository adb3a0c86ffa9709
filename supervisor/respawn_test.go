//go:build linux

package supervisor

import (
	"fmt"
	"github.com/websockify-go/websockify/rebind"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// restartDelays returns the restart_in values logged so far.
func restartDelays(logs string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`restart_in=(\S+)`).FindAllStringSubmatch(logs, -1) {
		out = append(out, m[1])
	}
	return out
}

// exitTimes records when each run of the program ended, through OnExit.
type exitTimes struct {
	mu    sync.Mutex
	exits []time.Time
}

func (e *exitTimes) onExit(*ExitError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.exits = append(e.exits, time.Now())
}

func (e *exitTimes) get() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.exits...)
}

// runRespawn runs p, a ModeRespawn process, until the program has exited
// n times, then stops it; Run must return nil. It returns the log and the
// times of the exits.
func runRespawn(t *testing.T, p *Process, n int) (string, []time.Time) {
	t.Helper()
	log, buf := testLogger(t)
	p.Logger = log
	var et exitTimes
	p.OnExit = et.onExit
	cancel, wait := runAsync(t, p)
	eventually(t, fmt.Sprintf("%d exits", n), func() bool { return len(et.get()) >= n })
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	return buf.String(), et.get()
}

// TestRespawnBackoff: a program that exits at once is restarted after 1x,
// 2x, 4x the base delay, capped, with every restart logged.
func TestRespawnBackoff(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "exit", "1")
	p.Mode = ModeRespawn
	p.restartDelay, p.maxRestartDelay = 100*time.Millisecond, 400*time.Millisecond
	logs, exits := runRespawn(t, p, 6)
	want := []string{"100ms", "200ms", "400ms", "400ms", "400ms"}
	if got := restartDelays(logs); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("logged delays %v; want %v first", got, want)
	}
	// The gaps between exits include the delay (and the start-up time).
	for i, d := range []time.Duration{100, 200, 400, 400, 400} {
		gap := exits[i+1].Sub(exits[i])
		if d *= time.Millisecond; gap < d {
			t.Errorf("gap %d: %v; want at least the %v delay", i, gap, d)
		}
	}
	if n := strings.Count(logs, "; restarting"); n < 5 {
		t.Errorf("%d restart lines; want at least 5:\n%s", n, logs)
	}
	assertNoOrphans(t, marker)
}

// TestRespawnResetsAfterStableRun: runs that last longer than stableAfter
// are always restarted after the base delay.
func TestRespawnResetsAfterStableRun(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "run", "300ms", "1")
	p.Mode = ModeRespawn
	p.restartDelay, p.stableAfter = 50*time.Millisecond, 200*time.Millisecond
	logs, _ := runRespawn(t, p, 4)
	for _, d := range restartDelays(logs) {
		if d != "50ms" {
			t.Errorf("restart delay %s; want 50ms every time:\n%s", d, logs)
		}
	}
	assertNoOrphans(t, marker)
}

// TestRespawnNeverReadyIsLoud: a static program under LD_PRELOAD binds the
// old port itself, which we hold, and dies. Run says why before the first
// start and again at every restart, backing off.
func TestRespawnNeverReadyIsLoud(t *testing.T) {
	lib := shimPath(t)
	bin := buildListener(t, "-static")
	held, err := net.Listen("tcp4", "127.0.0.1:0") // the port "websockify" holds
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	oldPort := held.Addr().(*net.TCPAddr).Port
	marker := newMarker(t)
	p := &Process{
		Argv: []string{bin, "v4", itoa(oldPort)},
		Environ: func(port int) []string {
			return append(os.Environ(), marker, "LD_PRELOAD="+lib,
				"REBIND_OLD_PORT="+itoa(oldPort), "REBIND_NEW_PORT="+itoa(port))
		},
		Check: rebind.CheckPreload,
		Mode:  ModeRespawn,
		Grace: time.Second,
	}
	p.restartDelay = 50 * time.Millisecond
	logs, _ := runRespawn(t, p, 3)
	if n := strings.Count(logs, "cannot be moved to"); n != 1 || !strings.Contains(logs, "is statically linked") {
		t.Errorf("want one up-front line naming the static binary, got %d:\n%s", n, logs)
	}
	if n := strings.Count(logs, "before listening on"); n < 2 {
		t.Errorf("want a never-ready line per restart, got %d:\n%s", n, logs)
	}
	if got := restartDelays(logs); len(got) < 2 || got[0] != "50ms" || got[1] != "100ms" {
		t.Errorf("restart delays %v; want backoff 50ms, 100ms, ...", got)
	}
	assertNoOrphans(t, marker)
}

// TestIgnoreModeNeverReadyWarns: a daemonizing program whose daemon never
// listens gets the ReadyTimeout warning, which says that nothing listens
// (and does not blame LD_PRELOAD).
func TestIgnoreModeNeverReadyWarns(t *testing.T) {
	lib := shimPath(t)
	bin := buildListener(t)
	marker := newMarker(t)
	log, buf := testLogger(t)
	p := &Process{
		Argv:         []string{bin, "-d", "idle"},
		Env:          append(os.Environ(), marker, "LD_PRELOAD="+lib, "REBIND_OLD_PORT=1", "REBIND_NEW_PORT=2"),
		Port:         freePort(t),
		Mode:         ModeIgnore,
		Grace:        time.Second,
		ReadyTimeout: 300 * time.Millisecond,
		Logger:       log,
	}
	cancel, wait := runAsync(t, p)
	eventually(t, "the warning", func() bool {
		return strings.Contains(buf.String(), "after 300ms: it has no listening TCP socket")
	})
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	assertNoOrphans(t, marker)
}
