package rebind

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildListener compiles tests/testdata/listener.c, with extra cc flags
// (such as -static), into a temporary directory; the test is skipped when
// there is no C compiler, or when it cannot build with those flags.
func buildListener(t *testing.T, flags ...string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) in PATH")
	}
	bin := filepath.Join(t.TempDir(), "listener")
	args := append([]string{"-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-o", bin}, flags...)
	args = append(args, filepath.Join("..", "tests", "testdata", "listener.c"))
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		if len(flags) > 0 {
			t.Skipf("cc %v failed (toolchain lacks support?): %v\n%s", flags, err, out)
		}
		t.Fatalf("cc listener.c: %v\n%s", err, out)
	}
	return bin
}

// shimPath materialises the embedded shim for the test.
func shimPath(t *testing.T) string {
	t.Helper()
	lib, cleanup, err := Library("")
	if err != nil {
		t.Fatalf("Library: %v", err)
	}
	t.Cleanup(cleanup)
	return lib
}

// freePort returns a TCP port that is free on 127.0.0.1 (and on ::1 when
// IPv6 works) at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	v6 := hasIPv6()
	for range 20 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if v6 {
			ln6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
			if err != nil {
				continue
			}
			ln6.Close()
		}
		return port
	}
	t.Fatal("no free port found")
	return 0
}

func hasIPv6() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func needIPv6(t *testing.T) {
	t.Helper()
	if !hasIPv6() {
		t.Skip("no IPv6 loopback")
	}
}

// listener is a running listener.c process.
type listener struct {
	cmd    *exec.Cmd
	lines  []string // stdout lines up to "ready"
	stderr *os.File // a file, so writes are complete before the ready line
	done   chan struct{}
	err    error // Wait result, valid once done is closed
}

// startListener runs bin with args and env and waits until it printed its
// ready line or exited. The process is killed when the test ends.
func startListener(t *testing.T, bin string, env []string, args ...string) *listener {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // cleanup kills the group
	cmd.WaitDelay = 5 * time.Second
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderr.Close() })
	l := &listener{cmd: cmd, stderr: stderr, done: make(chan struct{})}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-l.done
	})
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				l.err = cmd.Wait()
				close(l.done)
				return l
			}
			l.lines = append(l.lines, line)
			if strings.HasPrefix(line, "ready ") {
				go func() {
					for range lines {
					}
					l.err = cmd.Wait()
					close(l.done)
				}()
				return l
			}
		case <-timeout:
			t.Fatalf("%s %v: no ready line after 10s; stdout %q, stderr %q", bin, args, l.lines, l.stderrText())
		}
	}
}

// stderrText returns what the listener wrote to stderr so far.
func (l *listener) stderrText() string {
	data, _ := os.ReadFile(l.stderr.Name())
	return string(data)
}

// listening returns the addresses from the "listening ..." lines.
func (l *listener) listening() []string {
	var out []string
	for _, line := range l.lines {
		if rest, ok := strings.CutPrefix(line, "listening "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// procListeners returns the local addresses in LISTEN state on port, read
// from /proc/net/tcp and /proc/net/tcp6.
func procListeners(t *testing.T, port int) []netip.AddrPort {
	t.Helper()
	var out []netip.AddrPort
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		portHex := fmt.Sprintf(":%04X ", port) // cheap filter: the file can be huge
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if !strings.Contains(line, portHex) {
				continue
			}
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" {
				continue
			}
			hexAddr, hexPort, _ := strings.Cut(f[1], ":")
			p, _ := strconv.ParseUint(hexPort, 16, 16)
			raw, err := hex.DecodeString(hexAddr)
			if int(p) != port || err != nil {
				continue
			}
			for i := 0; i+4 <= len(raw); i += 4 { // host-order 32-bit words
				binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
			}
			addr, _ := netip.AddrFromSlice(raw)
			out = append(out, netip.AddrPortFrom(addr.Unmap(), uint16(p)))
		}
	}
	return out
}

// readToken connects to addr and returns the first line the listener sends,
// after checking that it echoes.
func readToken(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	tok, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read token from %s: %v", addr, err)
	}
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatalf("write to %s: %v", addr, err)
	}
	if echo, err := r.ReadString('\n'); err != nil || echo != "ping\n" {
		t.Fatalf("echo from %s: got %q, %v; want \"ping\\n\"", addr, echo, err)
	}
	return strings.TrimSuffix(tok, "\n")
}

// baseEnv is a minimal environment without any preload.
func baseEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, extra...)
}
