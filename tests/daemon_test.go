package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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

// runParent runs a websockify that is to daemonize, in dir, and returns
// its exit status, stderr and how long it took. The daemon's stdio must
// not hold the test's pipes: Wait returns only once it let them go.
func runParent(t testing.TB, dir string, args ...string) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(wsBinary, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	st := runToExit(t, cmd, 30*time.Second, &stderr)
	return st, stderr.String(), time.Since(start)
}

// procState is the state letter of a process in /proc, or 0 if it is gone.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// procGone reports whether pid has ended (a zombie counts: the daemon's
// reaper is init, not us).
func procGone(pid int) bool {
	s := procState(pid)
	return s == 0 || s == 'Z' || s == 'X'
}

func waitGone(t testing.TB, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !procGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %v", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// daemonPID reads the pid file and makes sure the daemon is killed when the
// test ends.
func daemonPID(t testing.TB, pidFile string) int {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("pid file %q does not end with a newline", b)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file holds %q", b)
	}
	t.Cleanup(func() {
		if !procGone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(t, pid, 10*time.Second)
		}
	})
	return pid
}

// TestDaemon: -D --pid-file returns 0 at once; the daemon named by the pid
// file runs in its own session in /, on /dev/null, serves and records, and
// on SIGTERM closes its sessions with 1001, removes the pid file and ends.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "websockify.pid")
	base := filepath.Join(dir, "rec")
	be := startBackend(t, nil)
	st, stderr, took := runParent(t, dir, "-D", "--pid-file", "websockify.pid", "--record", "rec", "127.0.0.1:0", be.addr())
	if st != 0 {
		t.Fatalf("-D exit status %d; stderr:\n%s", st, stderr)
	}
	if took > 15*time.Second {
		t.Fatalf("-D took %v to return", took)
	}
	pid := daemonPID(t, pidFile) // relative paths were taken from the start directory
	m := listenRE.FindStringSubmatch(stderr)
	if m == nil || !strings.Contains(stderr, "  - Backgrounding (daemon)") {
		t.Fatalf("banner lacks the listen address or the daemon line:\n%s", stderr)
	}
	addr := m[1]
	if procGone(pid) {
		t.Fatalf("daemon %d is not running", pid)
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != "/" {
		t.Errorf("daemon cwd %q (%v); want /", cwd, err)
	}
	for fd := 0; fd <= 2; fd++ {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); err != nil || l != "/dev/null" {
			t.Errorf("daemon fd %d is %q (%v); want /dev/null", fd, l, err)
		}
	}
	if sid, err := unixGetsid(pid); err != nil || sid != pid {
		t.Errorf("daemon session %d (%v); want its own, %d", sid, err, pid)
	}

	rc := dialRaw(t, addr)
	rc.echoOnce([]byte("from the daemon"))
	rc.closeHandshake()
	waitRecording(t, base+".1")
	checkMode0600(t, base+".1")

	open := dialRaw(t, addr)
	open.echoOnce([]byte("still open"))
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := open.expectClose(10 * time.Second); code != 1001 {
		t.Fatalf("open session closed with %d on SIGTERM; want 1001", code)
	}
	open.send(frame(true, 0, 8, closePayload(1001, ""), true))
	open.expectTCPClose(5 * time.Second)
	open.c.Close()
	waitGone(t, pid, 15*time.Second)
	if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pid file left behind: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("something still listens on the daemon's port")
	}
}

// killStrays kills, by pid, any websockify under test whose arguments
// include arg: a daemon that should not have started, and has no pid file.
func killStrays(t testing.TB, arg string) {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(string(b), "\x00")
		if argv[0] != wsBinary || procGone(pid) {
			continue
		}
		for _, a := range argv[1:] {
			if a == arg {
				t.Errorf("stray daemon %d (%q) killed", pid, argv)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}

// unixGetsid is getsid(2).
func unixGetsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

// TestDaemonStartErrors: errors met before or after the re-exec reach the
// terminal and the exit status, and leave no daemon behind.
func TestDaemonStartErrors(t *testing.T) {
	be := startBackend(t, nil).addr()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "ws.pid")

	check := func(t *testing.T, wantErr string, args ...string) {
		t.Helper()
		port := freePort(t)
		listen := fmt.Sprintf("127.0.0.1:%d", port)
		t.Cleanup(func() { killStrays(t, listen) })
		st, stderr, took := runParent(t, dir, append(args, listen, be)...)
		if st == 0 || !strings.Contains(stderr, wantErr) {
			t.Fatalf("exit status %d; want non-zero and %q on stderr:\n%s", st, wantErr, stderr)
		}
		if took > 15*time.Second {
			t.Fatalf("took %v to fail", took)
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			t.Fatalf("a daemon listens on port %d after the failure", port)
		}
	}

	t.Run("bad-cert", func(t *testing.T) {
		check(t, filepath.Join(dir, "missing.pem"), "-D", "--pid-file", pidFile, "--cert", filepath.Join(dir, "missing.pem"))
		if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("pid file written: %v", err)
		}
	})
	t.Run("pid-file-dir-missing", func(t *testing.T) {
		check(t, "pid file", "-D", "--pid-file", filepath.Join(dir, "no", "such", "dir", "ws.pid"))
	})
	t.Run("pid-file-of-a-running-websockify", func(t *testing.T) {
		first := startProxy(t, "--pid-file", pidFile, "127.0.0.1:0", be)
		mine := fmt.Sprintf("%d\n", first.cmd.Process.Pid)
		waitPIDFile(t, pidFile, mine)
		check(t, fmt.Sprintf("already running as process %d", first.cmd.Process.Pid), "-D", "--pid-file", pidFile)
		if b, _ := os.ReadFile(pidFile); string(b) != mine {
			t.Fatalf("pid file of a running websockify replaced with %q", b)
		}
		first.signal(syscall.SIGTERM)
		first.wait(10 * time.Second)
	})
}

// waitPIDFile waits until the pid file holds want.
func waitPIDFile(t testing.TB, pidFile, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile(pidFile); string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(pidFile)
			t.Fatalf("pid file holds %q; want %q", b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHardeningPIDFileReusedPID (D-3): a stale pid file naming a live
// process that is not a websockify holding the file (PID 1, a shell, the
// test itself: PIDs reused after a crash) does not block the start, in the
// foreground or with -D.
func TestHardeningPIDFileReusedPID(t *testing.T) {
	be := startBackend(t, nil).addr()
	sleeper := exec.Command("sh", "-c", "sleep 60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	for name, pid := range map[string]int{"init": 1, "shell": sleeper.Process.Pid, "test": os.Getpid(), "parent": os.Getppid()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "ws.pid")
			if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", pid)), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startProxy(t, "--pid-file", pidFile, "127.0.0.1:0", be)
			waitPIDFile(t, pidFile, fmt.Sprintf("%d\n", p.cmd.Process.Pid))
			p.signal(syscall.SIGTERM)
			if st := p.wait(10 * time.Second); st != 0 {
				t.Fatalf("exit status %d", st)
			}
			if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("pid file left behind: %v", err)
			}
		})
	}
	t.Run("daemon", func(t *testing.T) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "ws.pid")
		if err := os.WriteFile(pidFile, []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		port := freePort(t)
		listen := fmt.Sprintf("127.0.0.1:%d", port)
		t.Cleanup(func() { killStrays(t, listen) })
		st, stderr, _ := runParent(t, dir, "-D", "--pid-file", pidFile, listen, be)
		if st != 0 {
			t.Fatalf("-D with a stale pid file naming PID 1: exit %d\n%s", st, stderr)
		}
		pid := daemonPID(t, pidFile)
		syscall.Kill(pid, syscall.SIGTERM)
		waitGone(t, pid, 10*time.Second)
	})
}

// TestPIDFileForeground: --pid-file without -D names the process itself
// and is removed on exit; a stale file is replaced.
func TestPIDFileForeground(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "ws.pid")
	if err := os.WriteFile(pidFile, []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, "--pid-file", pidFile, "127.0.0.1:0", startBackend(t, nil).addr())
	deadline := time.Now().Add(10 * time.Second)
	want := fmt.Sprintf("%d\n", p.cmd.Process.Pid)
	for {
		if b, _ := os.ReadFile(pidFile); string(b) == want {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(pidFile)
			t.Fatalf("pid file holds %q; want %q", b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.signal(syscall.SIGTERM)
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d", st)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pid file left behind: %v", err)
	}
}
