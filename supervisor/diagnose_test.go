//go:build linux

package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestExitedEarlySaysHow: a program that exits with status 3 after a few
// milliseconds is reported with its status and how long it ran, without
// blaming LD_PRELOAD (the program could take it).
func TestExitedEarlySaysHow(t *testing.T) {
	lib := shimPath(t)
	marker := newMarker(t)
	log, buf := testLogger(t)
	p := &Process{
		Argv:   []string{"/bin/sh", "-c", "exit 3"},
		Env:    append(os.Environ(), marker, "LD_PRELOAD="+lib, "REBIND_OLD_PORT=1", "REBIND_NEW_PORT=2"),
		Port:   freePort(t),
		Grace:  time.Second,
		Logger: log,
	}
	_, wait := runAsync(t, p)
	var ee *ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("Run = %v; want exit status 3", err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "wrapped program exited (exit status 3) after ") || !strings.Contains(logs, "before listening on 127.0.0.1:") {
		t.Errorf("no status and run time in the log:\n%s", logs)
	}
	if strings.Contains(logs, "LD_PRELOAD") {
		t.Errorf("LD_PRELOAD blamed for a program that exited by itself:\n%s", logs)
	}
	if d := p.Diagnosis(); !strings.Contains(d, "exit status 3") {
		t.Errorf("Diagnosis() = %q", d)
	}
	assertNoOrphans(t, marker)
}

// TestListensElsewhereIsNamed: a program that listens on another port
// than the one it should is reported with the address it listens on.
func TestListensElsewhereIsNamed(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "listen")
	other := freePort(t)
	p.Env = append(p.Env, fmt.Sprintf("HELPER_PORT=%d", other))
	p.WrappedPort = 5999
	p.ReadyTimeout = 300 * time.Millisecond
	log, buf := testLogger(t)
	p.Logger = log
	cancel, wait := runAsync(t, p)
	want := fmt.Sprintf("it listens on 127.0.0.1:%d instead (only binds of port 5999 are moved", other)
	eventually(t, "the diagnosis", func() bool { return strings.Contains(buf.String(), want) })
	if strings.Contains(buf.String(), "LD_PRELOAD") {
		t.Errorf("LD_PRELOAD blamed:\n%s", buf)
	}
	if !strings.Contains(p.Diagnosis(), want) {
		t.Errorf("Diagnosis() = %q; want %q in it", p.Diagnosis(), want)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	assertNoOrphans(t, marker)
}

// TestRespawnStartLimit: a program that never becomes ready is given up
// after StartLimit failed starts in a row; Run returns its status.
func TestRespawnStartLimit(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "exit", "4")
	p.Mode = ModeRespawn
	p.StartLimit = 3
	p.restartDelay = 10 * time.Millisecond
	log, buf := testLogger(t)
	p.Logger = log
	var et exitTimes
	p.OnExit = et.onExit
	_, wait := runAsync(t, p)
	var ee *ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Code != 4 {
		t.Fatalf("Run = %v; want exit status 4", err)
	}
	if n := len(et.get()); n != 3 {
		t.Errorf("%d starts; want 3", n)
	}
	if !strings.Contains(buf.String(), "failed 3 times in a row; giving up (start limit 3)") {
		t.Errorf("giving up not logged:\n%s", buf)
	}
	assertNoOrphans(t, marker)
}

// TestRespawnServedExitZeroIsNoFailure: a program that listened and then
// exited with status 0 (one per session, as telnetd) is restarted without
// counting towards the start limit.
func TestRespawnServedExitZeroIsNoFailure(t *testing.T) {
	marker := newMarker(t)
	p := helperProcess(t, marker, "listen-then-exit", "200ms")
	p.Env = append(p.Env, fmt.Sprintf("HELPER_PORT=%d", p.Port))
	p.Mode = ModeRespawn
	p.StartLimit = 2
	p.restartDelay = 10 * time.Millisecond
	logs, _ := runRespawn(t, p, 4)
	if strings.Contains(logs, "giving up") {
		t.Errorf("gave up on a program that served:\n%s", logs)
	}
	assertNoOrphans(t, marker)
}
