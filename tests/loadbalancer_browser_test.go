package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBrowserNoVNCThroughHAProxy: noVNC in headless Chromium, served by
// the instances' --web, connects through HAProxy (the README's
// configuration, PROXY protocol v2) and websockify to a VNC server and
// shows its screen; the instance that relays the session logs the
// browser's address, via HAProxy.
func TestBrowserNoVNCThroughHAProxy(t *testing.T) {
	requireProgram(t, "Xtigervnc")
	requireProgram(t, "xsetroot")
	const novnc = "/usr/share/novnc"
	if _, err := os.Stat(filepath.Join(novnc, "vnc.html")); err != nil {
		t.Fatalf("%s/vnc.html missing; install novnc (make deps)", novnc)
	}
	browserDir(t)
	vnc := startXvnc(t)
	var inst [3]*proxy
	for i := range inst {
		inst[i] = startProxy(t, "--trusted-proxies", "127.0.0.1", "--proxy-protocol", "--web", novnc, "127.0.0.1:0", vnc)
	}
	front := startHAProxy(t, inst)
	host, port, _ := strings.Cut(front, ":")
	url := fmt.Sprintf("http://%s/vnc.html?autoconnect=1&host=%s&port=%s&path=websockify&resize=off&encrypt=0", front, host, port)
	runBrowser(t, "novnc.mjs", "PAGE_URL="+url, "EXPECT_RGB="+noVNCRGB, "SHOT_NAME=novnc-haproxy.png", "EXPECT_ENCRYPTED=0")

	re := regexp.MustCompile(`(?m)^127\.0\.0\.1:\d+: Plain non-SSL \(ws://\) WebSocket connection via=127\.0\.0\.1:\d+ path=/websockify`)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := 0
		for _, p := range inst {
			if re.MatchString(p.stderr.String()) {
				n++
			}
		}
		if n == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d instances logged noVNC's session via HAProxy; want 1", n)
		}
	}
}
