package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBrowserNoVNCProxy: noVNC's own launcher, Debian's
// /usr/share/novnc/utils/novnc_proxy, run from a noVNC directory with this
// binary first on PATH as `websockify`, without and with a self.pem in
// that directory (it then passes --web DIR --cert DIR/self.pem). noVNC's
// vnc.html in headless Chromium reaches a TigerVNC server over http, and
// with the certificate over https too; self.pem itself is never served.
func TestBrowserNoVNCProxy(t *testing.T) {
	requireProgram(t, "bash")
	requireProgram(t, "Xtigervnc")
	requireProgram(t, "xsetroot")
	const launcher = "/usr/share/novnc/utils/novnc_proxy"
	if _, err := os.Stat(launcher); err != nil {
		t.Fatalf("%s missing; install novnc (make deps)", launcher)
	}
	browserDir(t)
	vnc := startXvnc(t)

	// This binary, first on PATH under the reference's name (Debian's
	// Python websockify is installed too, later on PATH).
	bindir := t.TempDir()
	if err := os.Symlink(wsBinary, filepath.Join(bindir, "websockify")); err != nil {
		t.Fatal(err)
	}
	for _, withPEM := range []bool{false, true} {
		t.Run(fmt.Sprintf("self.pem=%v", withPEM), func(t *testing.T) {
			// A noVNC directory of one's own, as from a release tarball.
			dir := filepath.Join(t.TempDir(), "noVNC")
			if out, err := exec.Command("cp", "-rL", "/usr/share/novnc", dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			if withPEM {
				newPKI(t).selfPEM(filepath.Join(dir, "self.pem"), "127.0.0.1")
			}
			port := freePort(t)
			cmd := exec.Command(filepath.Join(dir, "utils", "novnc_proxy"), "--listen", strconv.Itoa(port), "--vnc", vnc)
			cmd.Dir = dir
			out, _ := startProcessGroup(t, cmd, "PATH="+bindir+":"+os.Getenv("PATH"))
			out.waitFor(t, reMust(`Navigate to this URL|Failed to start`), 20*time.Second)
			text := out.String()
			if !strings.Contains(text, "Using installed websockify at "+filepath.Join(bindir, "websockify")) {
				t.Fatalf("novnc_proxy did not pick this binary:\n%s", text)
			}
			if strings.Contains(text, "Failed to start") {
				t.Fatalf("novnc_proxy could not start websockify:\n%s", text)
			}
			if withPEM && strings.Count(text, "never served (404) nor listed") != 1 {
				t.Errorf("no warning about the certificate in the web root:\n%s", text)
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			schemes := []string{"http"}
			if withPEM {
				schemes = append(schemes, "https")
				resp, body := get(t, addr, "GET", "/self.pem")
				if resp.StatusCode != 404 || bytes.Contains(body, []byte("PRIVATE KEY")) {
					t.Errorf("GET /self.pem: %d %q", resp.StatusCode, trunc(body))
				}
			}
			for _, scheme := range schemes {
				encrypted := "0"
				if scheme == "https" {
					encrypted = "1"
				}
				url := fmt.Sprintf("%s://127.0.0.1:%d/vnc.html?autoconnect=1&host=127.0.0.1&port=%d&path=websockify&resize=off&encrypt=%s",
					scheme, port, port, encrypted)
				runBrowser(t, "novnc.mjs", "PAGE_URL="+url, "EXPECT_RGB="+noVNCRGB,
					"SHOT_NAME=novnc-proxy-"+scheme+".png", "EXPECT_ENCRYPTED="+encrypted)
			}
		})
	}
}

// startXvnc runs a TigerVNC server (no password, loopback only) whose root
// window is noVNCColor, until the test ends, and returns its RFB address.
func startXvnc(t *testing.T) string {
	t.Helper()
	return startXvncColor(t, noVNCColor)
}

// startXvncColor is startXvnc with another root window colour.
func startXvncColor(t *testing.T, color string) string {
	t.Helper()
	display := freeDisplay(t)
	port := freePort(t)
	cmd := exec.Command("Xtigervnc", fmt.Sprintf(":%d", display), "-rfbport", strconv.Itoa(port),
		"-SecurityTypes", "None", "-geometry", "1024x640", "-localhost", "-nolisten", "tcp")
	errb := newSyncBuffer()
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr)
	for i := 0; ; i++ {
		out, err := exec.Command("xsetroot", "-display", fmt.Sprintf(":%d", display), "-solid", color).CombinedOutput()
		if err == nil {
			break
		}
		if i == 50 {
			t.Fatalf("xsetroot: %v\n%s\nXtigervnc:\n%s", err, out, errb)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

// startProcessGroup starts cmd (novnc_proxy and the websockify it starts)
// in a process group of its own, with extra environment variables, and
// returns its output and a channel closed when cmd exits. When the test
// ends the group gets SIGTERM, then SIGKILL after 10 s, and the output is
// logged if the test failed.
func startProcessGroup(t testing.TB, cmd *exec.Cmd, env ...string) (*syncBuffer, <-chan struct{}) {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out)
		}
	})
	return out, done
}
