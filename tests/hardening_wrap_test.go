package tests

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHardeningWrapKill9 (D-15): after websockify is killed with SIGKILL,
// a daemon its wrapped program started (ignore mode, setsid) survives it;
// the next websockify on the same address kills it before starting the
// program again (the cgroup it left), and a clean exit leaves nothing.
func TestHardeningWrapKill9(t *testing.T) {
	bin := listenerBin(t, false)
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	start := func(marker string) *proxy {
		t.Helper()
		os.Setenv(marker, "1")
		defer os.Unsetenv(marker)
		p := startProxy(t, "-v", listen, "--wrap-mode=ignore", "--", bin, "-d", "v4", fmt.Sprint(port))
		// Runs before the proxy's own cleanup, which waits for its stderr
		// to close: a surviving daemon holds it.
		t.Cleanup(func() {
			for _, pid := range procsWithEnv(marker) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		p.stderr.waitFor(t, reMust(`wrapped program is listening on`), 30*time.Second)
		if strings.Contains(p.stderr.String(), "not confined to a cgroup") {
			t.Fatalf("no cgroup for the wrapped program (cgroup v2 must be mounted and writable; CI runs as root):\n%s", p.stderr.String())
		}
		return p
	}
	markA := fmt.Sprintf("KILL9A_%d_%d", os.Getpid(), time.Now().UnixNano())
	first := start(markA)
	wsExpect(t, first.addr, reMust(`listener\n`))
	if len(procsWithEnv(markA)) < 2 {
		t.Fatal("marker not found in the program's environment")
	}
	// The surviving daemon holds websockify's stderr: wait for the
	// process, not for its output to end.
	first.signal(syscall.SIGKILL)
	waitGone(t, first.cmd.Process.Pid, 10*time.Second)
	if len(procsWithEnv(markA)) == 0 {
		t.Fatal("the daemon did not survive SIGKILL of websockify: the test shows nothing")
	}

	markB := fmt.Sprintf("KILL9B_%d_%d", os.Getpid(), time.Now().UnixNano())
	second := start(markB)
	if got := procsWithEnv(markA); len(got) > 0 {
		t.Fatalf("processes of the killed websockify still running after the next one started: %v", got)
	}
	second.stderr.waitFor(t, reMust(`killed processes an earlier websockify on this address left behind`), 5*time.Second)
	wsExpect(t, second.addr, reMust(`listener\n`))
	second.signal(syscall.SIGTERM)
	if st := second.wait(20 * time.Second); st != 0 {
		t.Fatalf("exit status %d", st)
	}
	if got := procsWithEnv(markB); len(got) > 0 {
		t.Fatalf("processes left after a clean exit: %v", got)
	}
}
