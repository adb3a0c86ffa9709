package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
// server, another colour).
func TestBrowserNoVNCReconnect(t *testing.T) {
	requireProgram(t, "Xtigervnc")
	requireProgram(t, "xsetroot")
	const novnc = "/usr/share/novnc"
	if _, err := os.Stat(novnc + "/vnc.html"); err != nil {
		t.Fatalf("%s/vnc.html missing; install novnc (make deps)", novnc)
	}
	dir := browserDir(t)
	vncA := startXvncColor(t, noVNCColor)
	vncB := startXvncColor(t, secondColor)
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	a := startProxy(t, "--drain-timeout", "3", "--web", novnc, listen, vncA)

	url := fmt.Sprintf("http://%s/vnc.html?autoconnect=1&reconnect=1&reconnect_delay=500&host=127.0.0.1&port=%d&path=websockify&resize=off", listen, port)
	ctx, cancel := context.WithTimeout(context.Background(), browserScriptTimeout)
	defer cancel()
	node := exec.CommandContext(ctx, "node", "novnc-reconnect.mjs")
	node.Dir = dir
	shots := os.Getenv("WEBSOCKIFY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	node.Env = append(os.Environ(), "SCREENSHOT_DIR="+shots, "CHROMIUM="+chromiumPath(), "PAGE_URL="+url,
		"FIRST_RGB="+noVNCRGB, "SECOND_RGB="+secondRGB)
	out := newSyncBuffer()
	node.Stdout, node.Stderr = out, out
	node.WaitDelay = 5 * time.Second
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- node.Wait() }()
	defer func() { t.Logf("node novnc-reconnect.mjs:\n%s", out.String()) }()

	out.waitFor(t, reMust(`FIRST_CONNECTED`), 60*time.Second)
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
}
