package tests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a NOTIFY_SOCKET that the test reads, as systemd would.
type notifySocket struct {
	t    testing.TB
	path string
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t testing.TB) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{t: t, path: path, conn: conn, msgs: make(chan string, 1000)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

// expect waits for a message holding every one of lines (as whole
// lines), skipping others, and returns it.
func (n *notifySocket) expect(timeout time.Duration, lines ...string) string {
	n.t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				n.t.Fatalf("notify socket closed; seen %q", seen)
			}
			seen = append(seen, m)
			have := strings.Split(m, "\n")
			all := true
			for _, l := range lines {
				found := false
				for _, h := range have {
					if h == l || strings.HasSuffix(l, "=") && strings.HasPrefix(h, l) {
						found = true
					}
				}
				all = all && found
			}
			if all {
				return m
			}
		case <-deadline:
			n.t.Fatalf("no notification with %q within %v; seen %q", lines, timeout, seen)
		}
	}
}

// TestSdNotify: READY=1 (with MAINPID and the status) once listening,
// WATCHDOG=1 at half of WATCHDOG_USEC with the open session count,
// RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 when the
// drain starts.
func TestSdNotify(t *testing.T) {
	pk := newPKI(t)
	cert := pk.path("self.pem")
	pk.selfPEM(cert, "localhost")
	backend := startBackend(t, nil)
	ns := newNotifySocket(t)
	p := startProxyCmd(t, func(c *exec.Cmd) {
		c.Env = append(os.Environ(), "NOTIFY_SOCKET="+ns.path, "WATCHDOG_USEC=1000000")
	}, "--drain-timeout", "60", "--cert", cert, "127.0.0.1:0", backend.addr())
	pid := strconv.Itoa(p.cmd.Process.Pid)
	ns.expect(10*time.Second, "READY=1", "MAINPID="+pid, "STATUS=serving; 0 sessions open")
	p.addr = p.stderr.waitFor(t, listenRE, time.Second)[1]
	ns.expect(5*time.Second, "WATCHDOG=1", "STATUS=serving; 0 sessions open")

	rc := dialRaw(t, p.addr)
	rc.c.SetDeadline(time.Time{})
	rc.echoOnce([]byte("x"))
	ns.expect(5*time.Second, "WATCHDOG=1", "STATUS=serving; 1 sessions open")

	p.signal(syscall.SIGHUP)
	ns.expect(5*time.Second, "RELOADING=1", "MONOTONIC_USEC=")
	ns.expect(5*time.Second, "READY=1", "MAINPID="+pid)

	p.signal(syscall.SIGTERM)
	ns.expect(5*time.Second, "STOPPING=1", "STATUS=draining; 1 sessions open")
	rc.echoOnce([]byte("draining"))
	rc.closeHandshake()
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d", st)
	}
}

// TestSdNotifyWrapped: with a wrapped program, READY=1 comes once the
// program listens, and the program does not get NOTIFY_SOCKET.
func TestSdNotifyWrapped(t *testing.T) {
	requireProgram(t, "sh")
	ns := newNotifySocket(t)
	port := freePort(t)
	envFile := filepath.Join(t.TempDir(), "env")
	// The program lists its environment, waits, then listens.
	script := fmt.Sprintf("env > %s; sleep 1; exec socat TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork EXEC:cat", envFile, port)
	start := time.Now()
	p := startProxyCmd(t, func(c *exec.Cmd) {
		c.Env = append(os.Environ(), "NOTIFY_SOCKET="+ns.path, "WATCHDOG_USEC=60000000")
	}, fmt.Sprintf("127.0.0.1:%d", port), "--", "sh", "-c", script)
	ns.expect(10*time.Second, "READY=1")
	// The program sleeps 1 s before it listens.
	if d := time.Since(start); d < time.Second {
		t.Fatalf("READY=1 after %v, before the wrapped program listened:\n%s", d, p.stderr.String())
	}
	p.stderr.waitFor(t, reMust(`wrapped program is listening`), 5*time.Second)
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"NOTIFY_SOCKET=", "WATCHDOG_USEC="} {
		if strings.Contains(string(env), v) {
			t.Errorf("the wrapped program got %s", v)
		}
	}
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
}

// TestSocketActivation: started by systemd-socket-activate (systemd's
// LISTEN_FDS protocol), websockify serves the passed socket instead of
// binding; an upgrade hands the socket over; two sockets are refused.
func TestSocketActivation(t *testing.T) {
	activate := requireProgram(t, "systemd-socket-activate")
	backend := startBackend(t, nil)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pidFile := filepath.Join(t.TempDir(), "ws.pid")
	ns := newNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", ns.path)
	// The listen port on the command line (1) is not bound: the passed
	// socket is served.
	cmd, out, done := startLogged(t, activate, pidFile, "-l", addr, "-E", "NOTIFY_SOCKET", "--",
		wsBinary, "--pid-file", pidFile, "1", backend.addr())
	// systemd-socket-activate starts websockify on the first connection,
	// which websockify then serves.
	out.waitFor(t, reMust(`Listening on `+addr), 10*time.Second)
	for i := 0; i < 3; i++ {
		if err := quickSession(addr, []byte("activated")); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	out.waitFor(t, reMust(`Listen on `+addr+` \(systemd socket activation\)`), 10*time.Second)
	ns.expect(5*time.Second, "READY=1", "MAINPID="+strconv.Itoa(cmd.Process.Pid))
	// The upgraded process serves the same socket, and tells systemd it is
	// the main process now.
	cmd.Process.Signal(syscall.SIGUSR2)
	newPID := waitNewPID(t, pidFile, cmd.Process.Pid)
	ns.expect(10*time.Second, "READY=1", "MAINPID="+strconv.Itoa(newPID))
	<-done
	if err := quickSession(addr, []byte("after the upgrade")); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
	syscall.Kill(newPID, syscall.SIGTERM)
	waitGone(t, newPID, 10*time.Second)

	t.Run("two sockets", func(t *testing.T) {
		a1, a2 := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
		c, out, done := startLogged(t, activate, "", "-l", a1, "-l", a2, "--", wsBinary, "1", backend.addr())
		out.waitFor(t, reMust(`Listening on `+a2), 10*time.Second)
		if conn, err := net.Dial("tcp", a1); err == nil { // starts websockify
			defer conn.Close()
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("websockify did not exit:\n%s", out.String())
		}
		if c.ProcessState.ExitCode() != 1 || !strings.Contains(out.String(), "systemd passed 2 sockets (LISTEN_FDS); websockify serves one") {
			t.Fatalf("status %d, output:\n%s", c.ProcessState.ExitCode(), out.String())
		}
	})
}

// TestSystemdUnits: systemd-analyze verify passes on instances of the
// shipped units, without a word, and systemd-analyze security rates the
// service's hardening at most 2.0 ("OK"; 10 is unprotected).
func TestSystemdUnits(t *testing.T) {
	analyze := requireProgram(t, "systemd-analyze")
	dir := t.TempDir()
	for _, u := range []string{"websockify@.service", "websockify@.socket"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkUnits(t, analyze, dir)
}

// checkUnits verifies the units in dir (their instance "demo") and rates
// the service's hardening.
func checkUnits(t *testing.T, analyze, dir string) {
	t.Helper()
	svc, sock := filepath.Join(dir, "websockify@demo.service"), filepath.Join(dir, "websockify@demo.socket")
	out, err := exec.Command(analyze, "verify", svc, sock).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", svc).CombinedOutput()
	m := reMust(`Overall exposure level for websockify@demo.service: (\d+\.\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %s; want at most 2.0:\n%s", m[1], out)
	}
	t.Logf("systemd-analyze security: exposure level %s", m[1])
}
