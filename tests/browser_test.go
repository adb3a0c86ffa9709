package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The browser tests drive Debian's chromium with playwright-core (npm,
// tests/browser) through the pages websockify serves: wstelnet.html and
// websock.js built in (--web-builtin), and Debian's noVNC (--web). Each
// Node script exits non-zero on failure and is bounded in time. Set
// WEBSOCKIFY_SCREENSHOTS=DIR to keep the screenshots (make screenshots).

const browserScriptTimeout = 90 * time.Second

var (
	npmOnce sync.Once
	npmErr  error
)

// browserDir checks for node and chromium and installs playwright-core
// from tests/browser/package-lock.json when it is missing or stale.
func browserDir(t testing.TB) string {
	t.Helper()
	requireProgram(t, "node")
	requireProgram(t, "npm")
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("%s is not installed; run tests/install-deps.sh as root (make deps)", chromiumPath())
	}
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	npmOnce.Do(func() {
		if playwrightInstalled(dir) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	return dir
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// playwrightInstalled reports whether node_modules holds the locked
// playwright-core version (so concurrent runs do not reinstall it).
func playwrightInstalled(dir string) bool {
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	var inst struct{ Version string }
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || json.Unmarshal(b, &lock) != nil {
		return false
	}
	b, err = os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err != nil || json.Unmarshal(b, &inst) != nil {
		return false
	}
	return inst.Version != "" && inst.Version == lock.Packages["node_modules/playwright-core"].Version
}

// runBrowser runs one script of tests/browser with env and fails the test
// when it fails; its output is logged.
func runBrowser(t testing.TB, script string, env ...string) {
	t.Helper()
	dir := browserDir(t)
	shots := os.Getenv("WEBSOCKIFY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "SCREENSHOT_DIR="+shots, "CHROMIUM="+chromiumPath()), env...)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node %s (%v):\n%s", script, time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
}

// stopOnCleanup stops websockify with SIGTERM, so that it stops the
// wrapped program too (a SIGKILL would orphan Xvnc or inetd).
func stopOnCleanup(t testing.TB, p *proxy) {
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
		}
	})
}

// TestBrowserWstelnet: wstelnet.html from websockify's own web server
// (--web-builtin) reaches a shell through telnetd under inetd, wrapped in
// respawn mode, and the command output is read from the terminal; over
// ws:// and over wss:// (page and WebSocket on one port, self-signed).
func TestBrowserWstelnet(t *testing.T) {
	inetd := requireProgram(t, "inetutils-inetd")
	const telnetd = "/usr/sbin/telnetd"
	if _, err := os.Stat(telnetd); err != nil {
		t.Fatalf("%s missing; install inetutils-telnetd (make deps)", telnetd)
	}
	if os.Getuid() != 0 {
		t.Fatal("telnetd needs root to allocate a terminal; run as root (as CI does)")
	}
	browserDir(t)
	for _, tc := range []struct {
		name, scheme, shot string
		tls                bool
	}{
		{"ws", "http", "wstelnet.png", false},
		{"wss", "https", "wstelnet-wss.png", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			conf := filepath.Join(dir, "inetd.conf")
			os.WriteFile(conf, []byte(fmt.Sprintf("%d stream tcp nowait root %s telnetd -h -E /bin/sh\n", port, telnetd)), 0o644)
			args := []string{fmt.Sprintf("127.0.0.1:%d", port), "--web-builtin"}
			if tc.tls {
				pk := newPKI(t)
				cert := pk.path("self.pem")
				pk.selfPEM(cert, "127.0.0.1")
				args = append(args, "--cert", cert, "--ssl-only")
			}
			args = append(args, "--wrap-mode=respawn", "--", inetd, "-d", "--pidfile="+filepath.Join(dir, "inetd.pid"), conf)
			p := startProxyCmd(t, func(c *exec.Cmd) { c.Dir = dir }, args...)
			stopOnCleanup(t, p)
			p.stderr.waitFor(t, reMust(`wrapped program is listening on`), 30*time.Second)
			runBrowser(t, "wstelnet.mjs", fmt.Sprintf("PAGE_URL=%s://127.0.0.1:%d/wstelnet.html?autoconnect=1", tc.scheme, port),
				"SHOT_NAME="+tc.shot, fmt.Sprintf("EXPECT_SCHEME=%s", map[bool]string{false: "ws", true: "wss"}[tc.tls]))
			if tc.tls && !strings.Contains(p.stderr.String(), "SSL/TLS (wss://) WebSocket connection") {
				t.Fatalf("no wss:// session in the log:\n%s", p.stderr.String())
			}
		})
	}
}

// TestBrowserWebsock runs the websock.js unit tests in the browser, on the
// module websockify serves, with an echo backend for real round trips.
func TestBrowserWebsock(t *testing.T) {
	browserDir(t)
	echo := startBackend(t, nil)
	p := startProxy(t, "127.0.0.1:0", "--web-builtin", echo.addr())
	runBrowser(t, "websock.mjs", "BASE_URL=http://"+p.addr+"/")
}

// noVNCColor is the root window colour of the test Xvnc: the canvas must
// show exactly this.
const noVNCColor, noVNCRGB = "#1a8f3c", "26,143,60"

// TestBrowserNoVNC: Debian's noVNC served by --web connects through
// websockify to a wrapped Xvnc (ignore mode, no VNC password) whose root
// window is noVNCColor, over ws:// and over wss:// with a self-signed
// certificate.
func TestBrowserNoVNC(t *testing.T) {
	requireProgram(t, "vncserver")
	requireProgram(t, "Xtigervnc")
	requireProgram(t, "xsetroot")
	const novnc = "/usr/share/novnc"
	if _, err := os.Stat(filepath.Join(novnc, "vnc.html")); err != nil {
		t.Fatalf("%s/vnc.html missing; install novnc (make deps)", novnc)
	}
	browserDir(t)
	for _, tc := range []struct {
		name, scheme, shot string
		tls                bool
	}{
		{"ws", "http", "novnc.png", false},
		{"wss", "https", "novnc-wss.png", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			xstartup := filepath.Join(dir, "xstartup")
			os.WriteFile(xstartup, []byte("#!/bin/sh\nxsetroot -solid '"+noVNCColor+"'\nexec sleep 3600\n"), 0o755)
			display := freeDisplay(t)
			port := freePort(t)
			args := []string{fmt.Sprintf("127.0.0.1:%d", port), "--web", novnc}
			encrypted := "0"
			if tc.tls {
				pk := newPKI(t)
				cert := pk.path("self.pem")
				pk.selfPEM(cert, "127.0.0.1")
				args = append(args, "--cert", cert, "--ssl-only")
				encrypted = "1"
			}
			args = append(args, "--wrap-mode=ignore", "--", "vncserver", fmt.Sprintf(":%d", display),
				"-rfbport", strconv.Itoa(port), "-geometry", "1024x640", "-SecurityTypes", "None",
				"-localhost", "yes", "-xstartup", xstartup)
			p := startProxyCmd(t, func(c *exec.Cmd) { c.Env = append(os.Environ(), "HOME="+dir) }, args...)
			stopOnCleanup(t, p)
			p.stderr.waitFor(t, reMust(`wrapped program is listening on`), 60*time.Second)
			url := fmt.Sprintf("%s://127.0.0.1:%d/vnc.html?autoconnect=1&host=127.0.0.1&port=%d&path=websockify&resize=off&encrypt=%s",
				tc.scheme, port, port, encrypted)
			runBrowser(t, "novnc.mjs", "PAGE_URL="+url, "EXPECT_RGB="+noVNCRGB, "SHOT_NAME="+tc.shot,
				"EXPECT_ENCRYPTED="+encrypted)
			p.signal(syscall.SIGTERM)
			if st := p.wait(30 * time.Second); st != 0 {
				t.Fatalf("exit status %d", st)
			}
			assertNoProcess(t, fmt.Sprintf("Xtigervnc :%d ", display))
		})
	}
}
