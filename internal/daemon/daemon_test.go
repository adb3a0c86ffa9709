package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperReport is what the helper daemon tells the test about itself.
type helperReport struct {
	PID, SID int
	Stdio    [3]string
	Cwd      string
	Marker   string
}

// TestHelperDaemon is the re-executed child, not a test. HELPER_MODE says
// what it does: "ok" serves one connection with its report; "fail" reports
// an error; "die" exits without reporting; "hang" never reports.
func TestHelperDaemon(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	os.Exit(helper())
}

func helper() int {
	ln, notify, ok := Child()
	if !ok {
		fmt.Fprintln(os.Stderr, "helper: not a daemon child")
		return 9
	}
	fmt.Fprintln(os.Stderr, "helper: starting") // still on the parent's stderr
	switch os.Getenv("HELPER_MODE") {
	case "fail":
		notify(errors.New("boom: cannot start"))
		fmt.Fprintln(os.Stderr, "helper: this line must not show")
		return 3
	case "die":
		return 7
	case "hang":
		time.Sleep(time.Minute)
		return 0
	}
	remove, err := WritePIDFile(os.Getenv("HELPER_PIDFILE"))
	if err != nil {
		notify(err)
		return 1
	}
	defer remove()
	notify(nil)
	fmt.Fprintln(os.Stderr, "helper: this line must not show either")

	ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(20 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		return 1
	}
	defer c.Close()
	var r helperReport
	r.PID = os.Getpid()
	r.SID, _ = unix.Getsid(0)
	for fd := range r.Stdio {
		r.Stdio[fd], _ = os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	}
	r.Cwd, _ = os.Getwd()
	r.Marker = os.Getenv(EnvMarker)
	json.NewEncoder(c).Encode(r)
	return 0
}

// detach runs Detach on the test binary in HELPER_MODE mode.
func detach(t *testing.T, ln net.Listener, mode, pidFile string, timeout time.Duration) (string, error) {
	t.Helper()
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	err = Detach(ln, Options{
		Args:         []string{"-test.run=^TestHelperDaemon$"},
		Env:          append(os.Environ(), "GO_WANT_HELPER_PROCESS=1", "HELPER_MODE="+mode, "HELPER_PIDFILE="+pidFile),
		Stderr:       stderr,
		ReadyTimeout: timeout,
	})
	// The child's stderr is ours until it is ready; give late lines a moment.
	time.Sleep(50 * time.Millisecond)
	b, _ := os.ReadFile(stderr.Name())
	return string(b), err
}

func TestDetach(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			dir := shortTempDir(t)
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(dir, "sock")
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(dir, "websockify.pid")
			stderr, err := detach(t, ln, "ok", pidFile, 0)
			if err != nil {
				t.Fatal(err)
			}
			ln.Close() // as the parent does on exit; the child keeps serving
			if !strings.Contains(stderr, "helper: starting") || strings.Contains(stderr, "must not show") {
				t.Fatalf("child stderr: %q", stderr)
			}
			pid, ok := readPID(pidFile)
			if !ok {
				t.Fatal("no pid file once ready")
			}

			c, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var r helperReport
			if err := json.NewDecoder(c).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if r.PID != pid || r.PID == os.Getpid() {
				t.Fatalf("served by %d; pid file says %d; test is %d", r.PID, pid, os.Getpid())
			}
			if r.SID != r.PID {
				t.Fatalf("session %d; want a new session led by %d", r.SID, r.PID)
			}
			for fd, target := range r.Stdio {
				if target != os.DevNull {
					t.Errorf("fd %d is %q; want /dev/null", fd, target)
				}
			}
			if r.Cwd != "/" || r.Marker != "" {
				t.Fatalf("cwd %q, marker %q", r.Cwd, r.Marker)
			}
			waitGone(t, pidFile)
		})
	}
}

func TestDetachFailures(t *testing.T) {
	tests := []struct {
		mode    string
		status  int
		msg     string
		timeout time.Duration
	}{
		{"fail", 3, "boom: cannot start", 0},
		{"die", 7, "exited before it was ready (status 7)", 0},
		{"hang", 1, "not ready after 300ms; stopped it", 300 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			stderr, err := detach(t, ln, tc.mode, filepath.Join(t.TempDir(), "pid"), tc.timeout)
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("got %v; want a StartError", err)
			}
			if se.Msg != tc.msg || se.ExitStatus() != tc.status {
				t.Fatalf("got %q status %d; want %q status %d", se.Msg, se.Status, tc.msg, tc.status)
			}
			if !strings.HasPrefix(err.Error(), "daemon failed to start: ") {
				t.Fatalf("error text %q", err)
			}
			if strings.Contains(stderr, "must not show") {
				t.Fatalf("child stderr: %q", stderr)
			}
		})
	}
}

func TestDetachRefusals(t *testing.T) {
	t.Setenv(EnvMarker, "1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := Detach(ln, Options{}); err == nil {
		t.Fatal("Detach ran inside a child")
	}
	t.Setenv(EnvMarker, "")
	if err := Detach(fakeListener{ln}, Options{}); err == nil || !strings.Contains(err.Error(), "cannot pass") {
		t.Fatalf("got %v", err)
	}
	if _, _, ok := Child(); ok {
		t.Fatal("Child without the marker")
	}
}

type fakeListener struct{ net.Listener }

func waitGone(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not removed by the daemon", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shortTempDir fits Unix socket paths (t.TempDir may be too long).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "dmn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

var _ io.Closer = fakeListener{}
