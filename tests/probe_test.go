package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProbeCISmokeTest runs the README's "Smoke-test a daemon in CI" script
// as a shell script: wrap an echo server with -D (returns once it
// listens), probe it, stop it by its pid file.
func TestProbeCISmokeTest(t *testing.T) {
	requireProgram(t, "socat")
	dir := t.TempDir()
	bindir := filepath.Join(dir, "bin")
	os.Mkdir(bindir, 0o755)
	if err := os.Symlink(wsBinary, filepath.Join(bindir, "websockify")); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	script := fmt.Sprintf(`set -e
websockify -D --pid-file ws.pid 127.0.0.1:%[1]d -- socat TCP-LISTEN:%[1]d,fork,reuseaddr EXEC:cat
websockify probe --send hello --expect hello ws://127.0.0.1:%[1]d/
pid=$(cat ws.pid); kill "$pid"; tail --pid="$pid" -f /dev/null  # stop, and wait until it is gone
`, port)
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bindir+":"+os.Getenv("PATH"))
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	if st := runToExit(t, cmd, 60*time.Second, out); st != 0 {
		t.Fatalf("the CI script failed with status %d:\n%s", st, out)
	}
	if !strings.Contains(out.String(), `ok: ws://127.0.0.1:`) || !strings.Contains(out.String(), `received "hello"`) {
		t.Errorf("probe output:\n%s", out)
	}
	assertNoProcess(t, fmt.Sprintf("TCP-LISTEN:%d", port))
}

// TestProbeFailures: each way a probe fails exits non-zero with the reason.
func TestProbeFailures(t *testing.T) {
	echo := socatEcho(t)
	plain := startProxy(t, "127.0.0.1:0", echo)
	k := newPKI(t)
	cert := k.path("self.pem")
	k.selfPEM(cert, "127.0.0.1")
	secure := startProxy(t, "--cert", cert, "127.0.0.1:0", echo)
	caCrt, caKey := k.ca("ca")
	crt, key := k.leaf("srv", "srv", "ec", 1, caCrt, caKey)
	signed := startProxy(t, "--cert", crt, "--key", key, "127.0.0.1:0", echo)
	for _, tc := range []struct {
		name   string
		status int
		want   string
		args   []string
	}{
		{"echo", 0, `received "ping"`, []string{"--send", "ping", "--expect", "ping", "ws://" + plain.addr + "/"}},
		{"connect only", 0, "ok: ws://", []string{"ws://" + plain.addr}},
		{"wrong answer", 1, `expected "pong", received "ping": no answer within 1s`, []string{"--timeout", "1", "--send", "ping", "--expect", "pong", "ws://" + plain.addr}},
		{"refused", 1, "connection refused", []string{fmt.Sprintf("ws://127.0.0.1:%d/", freePort(t))}},
		{"not websocket", 1, "handshake with 127.0.0.1:", []string{"--timeout", "2", "ws://" + echo + "/"}},
		{"self-signed", 1, "hint: for a self-signed certificate use --insecure", []string{"wss://" + secure.addr + "/"}},
		{"insecure", 0, `received "tls"`, []string{"-k", "--send", "tls", "--expect", "tls", "wss://" + secure.addr + "/"}},
		{"cafile", 0, "ok: wss://", []string{"--cafile", caCrt, "wss://" + signed.addr + "/"}},
		{"bad scheme", 1, "must be ws:// or wss://", []string{"http://" + plain.addr}},
		{"no URL", 2, "probe needs exactly one URL (ws://HOST:PORT/PATH or wss://...)\nTry 'websockify probe --help'", nil},
		{"bad option", 2, "flag provided but not defined: -sned", []string{"--sned", "x", "ws://" + plain.addr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, stdout, stderr := runCLI(t, wsBinary, append([]string{"probe"}, tc.args...)...)
			if st != tc.status || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("status %d, output %q%q; want %d and %q", st, stdout, stderr, tc.status, tc.want)
			}
		})
	}
}
