package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The second VNC server's colour in TestBrowserNoVNCReconnect.
const secondColor, secondRGB = "#8f1a6b", "143,26,107"

// TestBrowserNoVNCReconnect: noVNC in headless Chromium (reconnect=1)
// behind a first websockify moves to a second one when the first drains:
// SIGTERM closes the first's listener at once, a second websockify starts
// on the same port, and when the first one's --drain-timeout passes,
// noVNC gets 1001, reconnects, and lands on the second (another VNC
// server, another colour). The same through a SIGUSR2 upgrade.
func TestBrowserNoVNCReconnect(t *testing.T) {
	requireProgram(t, "Xtigervnc")
	requireProgram(t, "xsetroot")
	const novnc = "/usr/share/novnc"
	if _, err := os.Stat(novnc + "/vnc.html"); err != nil {
		t.Fatalf("%s/vnc.html missing; install novnc (make deps)", novnc)
	}
	dir := browserDir(t)
	vncA := startXvncColor(t, noVNCColor)
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	url := fmt.Sprintf("http://%s/vnc.html?autoconnect=1&reconnect=1&reconnect_delay=500&host=127.0.0.1&port=%d&path=websockify&resize=off", listen, port)

	t.Run("second instance", func(t *testing.T) {
		vncB := startXvncColor(t, secondColor)
		a := startProxy(t, "--drain-timeout", "3", "--web", novnc, listen, vncA)
		node, nodeDone := startReconnectScript(t, dir, "instances", url, noVNCRGB, secondRGB)
		node.waitFor(t, reMust(`FIRST_CONNECTED`), 60*time.Second)
		a.signal(syscall.SIGTERM)
		a.stderr.waitFor(t, reMust(`Draining \(SIGTERM\)`), 10*time.Second)
		b := startProxy(t, "--web", novnc, listen, vncB)
		stopOnCleanup(t, b)

		if err := <-nodeDone; err != nil {
			t.Fatalf("node novnc-reconnect.mjs: %v", err)
		}
		if st := a.wait(10 * time.Second); st != 0 {
			t.Fatalf("first instance: exit status %d", st)
		}
		a.stderr.waitFor(t, reMust(`Drain timeout \(3s\): closing the 1 sessions left with 1001`), time.Second)
		b.stderr.waitFor(t, reMust(`connecting to: `+vncB), 5*time.Second)
	})

	// The second instance is the new process of a SIGUSR2 upgrade, on the
	// same VNC server: noVNC reconnects to it when the old one's drain
	// ends.
	t.Run("upgrade", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "ws.pid")
		cmd, out, _, done := startUpgradable(t, wsBinary, pidFile, "--drain-timeout", "3", "--web", novnc, "--pid-file", pidFile, listen, vncA)
		node, nodeDone := startReconnectScript(t, dir, "upgrade", url, noVNCRGB, noVNCRGB)
		node.waitFor(t, reMust(`FIRST_CONNECTED`), 60*time.Second)
		cmd.Process.Signal(syscall.SIGUSR2)
		newPID := waitNewPID(t, pidFile, cmd.Process.Pid)
		if err := <-nodeDone; err != nil {
			t.Fatalf("node novnc-reconnect.mjs: %v", err)
		}
		<-done
		out.waitFor(t, reMust(`Drain timeout \(3s\): closing the 1 sessions left with 1001`), time.Second)
		// The new process relays the reconnected session. The two
		// processes share the output, so the new one's "serving" line may
		// come before or after the old one's "Draining"; the reconnection
		// comes after both (the old process stopped accepting when it
		// began to drain).
		out.waitFor(t, reMust(`upgrade: new process \d+ serving`), 5*time.Second)
		out.waitFor(t, reMust(`(?s)Draining \(upgraded\).*connecting to: `+vncA), 5*time.Second)
		syscall.Kill(newPID, syscall.SIGTERM)
		waitGone(t, newPID, 10*time.Second)
	})
}

// startReconnectScript runs novnc-reconnect.mjs on url, expecting the
// first and then the second colour (screenshots named after tag), and
// returns its output and result.
func startReconnectScript(t *testing.T, dir, tag, url, first, second string) (*syncBuffer, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserScriptTimeout)
	t.Cleanup(cancel)
	node := exec.CommandContext(ctx, "node", "novnc-reconnect.mjs")
	node.Dir = dir
	shots := os.Getenv("WEBSOCKIFY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	node.Env = append(os.Environ(), "SCREENSHOT_DIR="+shots, "CHROMIUM="+chromiumPath(), "PAGE_URL="+url,
		"FIRST_RGB="+first, "SECOND_RGB="+second, "SHOT_TAG="+tag)
	out := newSyncBuffer()
	node.Stdout, node.Stderr = out, out
	node.WaitDelay = 5 * time.Second
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Wait() }()
	t.Cleanup(func() {
		cancel()
		t.Logf("node novnc-reconnect.mjs:\n%s", out.String())
	})
	return out, done
}
