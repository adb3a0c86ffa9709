package tests

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// refusedSoon checks that connecting to addr is refused within a few
// seconds: the listener is closed.
func refusedSoon(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		if err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections (last dial: %v)", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDrainSessionsRunOn: with --drain-timeout, SIGTERM closes the
// listener at once while an open session keeps relaying; when it ends,
// websockify exits 0 without waiting for the timeout.
func TestDrainSessionsRunOn(t *testing.T) {
	backend := startBackend(t, nil)
	p := startProxy(t, "--drain-timeout", "300", "127.0.0.1:0", backend.addr())
	rc := dialRaw(t, p.addr)
	rc.c.SetDeadline(time.Time{})
	rc.echoOnce([]byte("before"))

	p.signal(syscall.SIGTERM)
	p.stderr.waitFor(t, reMust(`Draining \(SIGTERM\): not accepting; waiting up to 5m0s for 1 open sessions`), 10*time.Second)
	refusedSoon(t, p.addr)
	for i := 0; i < 3; i++ {
		rc.echoOnce([]byte("during the drain"))
	}
	rc.closeHandshake()
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d; want 0", st)
	}
	p.stderr.waitFor(t, reMust(`Drained: every session has ended`), time.Second)
}

// TestDrainTimeoutCloses1001: sessions still open when the drain timeout
// passes get 1001 "Server shutting down", and websockify exits 0.
func TestDrainTimeoutCloses1001(t *testing.T) {
	backend := startBackend(t, nil)
	p := startProxy(t, "--drain-timeout", "2", "127.0.0.1:0", backend.addr())
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("x"))
	p.signal(syscall.SIGTERM)
	p.stderr.waitFor(t, reMust(`Draining`), 10*time.Second)
	rc.echoOnce([]byte("still relayed"))
	code, reason, _ := rc.expectClose(15 * time.Second)
	if code != 1001 || reason != "Server shutting down" {
		t.Fatalf("close %d %q; want 1001 \"Server shutting down\"", code, reason)
	}
	p.stderr.waitFor(t, reMust(`Drain timeout \(2s\): closing the 1 sessions left with 1001`), time.Second)
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d; want 0", st)
	}
	p.stderr.waitFor(t, reMust(`session ended .*code=1001 cause=drain`), time.Second)
}

// TestDrainSecondSignal: a second SIGTERM, or a SIGINT, during the drain
// closes the sessions at once; a SIGINT first never drains.
func TestDrainSecondSignal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  syscall.Signal
		second syscall.Signal // 0: none
	}{
		{"SIGTERM twice", syscall.SIGTERM, syscall.SIGTERM},
		{"SIGTERM then SIGINT", syscall.SIGTERM, syscall.SIGINT},
		{"SIGINT", syscall.SIGINT, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := startBackend(t, nil)
			p := startProxy(t, "--drain-timeout", "300", "127.0.0.1:0", backend.addr())
			rc := dialRaw(t, p.addr)
			rc.c.SetDeadline(time.Time{})
			rc.echoOnce([]byte("x"))
			p.signal(tc.first)
			if tc.second != 0 {
				p.stderr.waitFor(t, reMust(`Draining`), 10*time.Second)
				rc.echoOnce([]byte("still relayed"))
				p.signal(tc.second)
				p.stderr.waitFor(t, reMust(`while draining: closing the 1 sessions left with 1001 now`), 10*time.Second)
			}
			code, reason, _ := rc.expectClose(10 * time.Second)
			if code != 1001 || reason != "Server shutting down" {
				t.Fatalf("close %d %q; want 1001 \"Server shutting down\"", code, reason)
			}
			if st := p.wait(10 * time.Second); st != 0 {
				t.Fatalf("exit status %d; want 0", st)
			}
			p.stderr.waitFor(t, reMust(`session ended .*code=1001 cause=shutdown`), time.Second)
			if tc.second == 0 && reMust(`Draining`).MatchString(p.stderr.String()) {
				t.Fatalf("SIGINT drained:\n%s", p.stderr.String())
			}
		})
	}
}

// TestNoDrainTimeoutClosesAtOnce: without --drain-timeout, SIGTERM closes
// every session with 1001 at once, as the reference does.
func TestNoDrainTimeoutClosesAtOnce(t *testing.T) {
	backend := startBackend(t, nil)
	p := startProxy(t, "127.0.0.1:0", backend.addr())
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("x"))
	p.signal(syscall.SIGTERM)
	if code, _, _ := rc.expectClose(10 * time.Second); code != 1001 {
		t.Fatalf("close %d; want 1001", code)
	}
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d; want 0", st)
	}
}
