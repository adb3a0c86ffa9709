package tests

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Wrapped programs: a client that arrives before the program listens waits
// for it; -D returns once the program listens; what went wrong is said
// plainly; respawn gives up on a program that never starts.

// TestWrapEarlyClientWaits: WebSocket clients that connect while the
// program is still starting (it listens 1.5 s after its start) are held
// until it listens, then relayed, for an IPv4 program and for an IPv6-only
// one (moved to [::1] by the shim).
func TestWrapEarlyClientWaits(t *testing.T) {
	requireProgram(t, "socat")
	bin := listenerBin(t, false)
	for name, prog := range map[string]string{
		"v4":        "exec " + bin + " v4 {PORT}",
		"ipv6-only": "exec socat TCP6-LISTEN:{PORT},ipv6only=1,fork EXEC:cat",
	} {
		t.Run(name, func(t *testing.T) {
			port := freePort(t)
			prog = strings.ReplaceAll(prog, "{PORT}", strconv.Itoa(port))
			p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", "sh", "-c", "sleep 1.5; "+prog)
			start := time.Now()
			rc := dialRaw(t, p.addr) // answered only once the program listens
			if took := time.Since(start); took < 1400*time.Millisecond {
				t.Fatalf("upgraded after %v, before the program listened:\n%s", took, p.stderr)
			}
			if name == "v4" {
				if got := rc.readData(len("listener\n"), 10*time.Second); string(got) != "listener\n" {
					t.Fatalf("got %q", got)
				}
			}
			rc.echoOnce([]byte("early bird"))
			if name == "ipv6-only" {
				p.stderr.waitFor(t, reMust(`listening on \[::1\]:`), 5*time.Second)
			}
		})
	}
}

// TestWrapEarlyClientGivesUp: a client waits at most the handshake timeout
// for a program that never listens, then gets 503 with the reason logged.
func TestWrapEarlyClientGivesUp(t *testing.T) {
	port := freePort(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--handshake-timeout", "1", "--", "sleep", "60")
	_, resp := rawHandshake(t, p.addr, "/")
	if resp.StatusCode != 503 {
		t.Fatalf("status %d; want 503", resp.StatusCode)
	}
	p.stderr.waitFor(t, reMust(`not listening after 500ms`), 5*time.Second)
}

// TestWrapDaemonReady: -D returns only once the wrapped program listens, so
// that the next command of a script can use it; when the program exits
// first, -D fails with its status and says why.
func TestWrapDaemonReady(t *testing.T) {
	bin := listenerBin(t, false)
	dir := t.TempDir()
	t.Run("ready", func(t *testing.T) {
		port := freePort(t)
		pidFile := filepath.Join(dir, "ready.pid")
		st, stderr, took := runParent(t, dir, "-D", "--pid-file", pidFile, fmt.Sprintf("127.0.0.1:%d", port),
			"--", "sh", "-c", fmt.Sprintf("sleep 1.5; exec %s v4 %d", bin, port))
		if st != 0 {
			t.Fatalf("-D exit status %d:\n%s", st, stderr)
		}
		daemonPID(t, pidFile)
		if took < 1500*time.Millisecond || !strings.Contains(stderr, "wrapped program is listening") {
			t.Fatalf("-D returned after %v, before the program listened:\n%s", took, stderr)
		}
		rc := wsExpect(t, fmt.Sprintf("127.0.0.1:%d", port), reMust(`listener\n`))
		rc.echoOnce([]byte("right away"))
	})
	t.Run("exits first", func(t *testing.T) {
		port := freePort(t)
		st, stderr, _ := runParent(t, dir, "-D", fmt.Sprintf("127.0.0.1:%d", port),
			"--", "sh", "-c", "echo cannot start >&2; exit 3")
		if st != 3 {
			t.Fatalf("-D exit status %d; want 3:\n%s", st, stderr)
		}
		for _, want := range []string{"wrapped program: cannot start", "daemon failed to start: wrapped program exited (exit status 3) after"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
	})
}

// TestWrapDaemonNeverReady: -D with a program that never listens fails
// after 25 s with the reason, and leaves nothing running.
func TestWrapDaemonNeverReady(t *testing.T) {
	port := freePort(t)
	marker := fmt.Sprintf("never-ready-%d", port)
	st, stderr, took := runParent(t, t.TempDir(), "-D", fmt.Sprintf("127.0.0.1:%d", port), "--", "sh", "-c", "exec sleep 300 # "+marker)
	if st == 0 || took < 24*time.Second {
		t.Fatalf("-D exit status %d after %v; want non-zero after 25 s:\n%s", st, took, stderr)
	}
	if !strings.Contains(stderr, "daemon failed to start: wrapped program 'sh -c exec sleep 300 # "+marker+"' not ready after 25s: ") ||
		!strings.Contains(stderr, "it has no listening TCP socket") {
		t.Errorf("no reason given:\n%s", stderr)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(pgrepF(marker)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := pgrepF(marker); len(left) > 0 {
		t.Errorf("left running: %v", left)
	}
}

// pgrepF lists the pids whose command line contains s.
func pgrepF(s string) []string {
	out, _ := exec.Command("pgrep", "-f", s).Output()
	return strings.Fields(string(out))
}

// TestWrapDiagnostics: a program that exits by itself is reported with its
// status and run time, one that listens on another port with that port;
// neither blames LD_PRELOAD. A static program does.
func TestWrapDiagnostics(t *testing.T) {
	bin := listenerBin(t, false)
	t.Run("exit status", func(t *testing.T) {
		port := freePort(t)
		p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", "sh", "-c", "sleep 0.05; exit 3")
		if st := p.wait(20 * time.Second); st != 3 {
			t.Fatalf("exit status %d; want 3", st)
		}
		if !regexpMatch(`wrapped program exited \(exit status 3\) after \d+ms, before listening on 127\.0\.0\.1:\d+`, p.stderr.String()) {
			t.Errorf("no status and run time:\n%s", p.stderr)
		}
		if strings.Contains(p.stderr.String(), "LD_PRELOAD") {
			t.Errorf("LD_PRELOAD blamed:\n%s", p.stderr)
		}
	})
	t.Run("other port", func(t *testing.T) {
		port, other := freePort(t), freePort(t)
		p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", bin, "v4", strconv.Itoa(other))
		p.stderr.waitFor(t, reMust(fmt.Sprintf(`not listening on .* after 10s: it listens on 0\.0\.0\.0:%d instead \(only binds of port %d are moved`, other, port)), 20*time.Second)
		if strings.Contains(p.stderr.String(), "LD_PRELOAD") {
			t.Errorf("LD_PRELOAD blamed:\n%s", p.stderr)
		}
	})
	t.Run("static", func(t *testing.T) {
		port := freePort(t)
		p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", listenerBin(t, true), "v4", strconv.Itoa(port))
		p.wait(20 * time.Second)
		if !strings.Contains(p.stderr.String(), "is statically linked") {
			t.Errorf("the static program is not named:\n%s", p.stderr)
		}
	})
}

// TestWrapRespawnStartLimit: respawn gives up after --wrap-start-limit
// failed starts in a row and exits with the program's status.
func TestWrapRespawnStartLimit(t *testing.T) {
	port := freePort(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--wrap-mode=respawn", "--wrap-start-limit", "2", "--", "sh", "-c", "exit 5")
	if st := p.wait(30 * time.Second); st != 5 {
		t.Fatalf("exit status %d; want 5:\n%s", st, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "failed 2 times in a row; giving up (start limit 2)") {
		t.Errorf("giving up not said:\n%s", p.stderr)
	}
	if n := strings.Count(p.stderr.String(), "started wrapped program"); n != 2 {
		t.Errorf("%d starts; want 2", n)
	}
}

func regexpMatch(re, s string) bool { return reMust(re).MatchString(s) }

// TestWrapLogs404Path: in wrap mode a 404 of the web server is logged with
// its path, as without a wrapped program (only token routing hides paths).
func TestWrapLogs404Path(t *testing.T) {
	bin := listenerBin(t, false)
	p, _ := startWrapped(t, []string{"--web", t.TempDir()}, bin, "v4", "{PORT}")
	if resp, _ := get(t, p.addr, "GET", "/no-such-page.html"); resp.StatusCode != 404 {
		t.Fatalf("status %d; want 404", resp.StatusCode)
	}
	p.stderr.waitFor(t, reMust(`HTTP error method=GET path=/no-such-page\.html status=404`), 5*time.Second)
}
