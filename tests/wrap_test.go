package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The wrap tests run `websockify PORT -- PROGRAM` with real programs: C test
// listeners (a Go child would bypass LD_PRELOAD), socat, telnetd under
// inetd, and a TigerVNC server.

var (
	listenerOnce sync.Once
	listenerDir  string
	listenerErr  error
)

// listenerBin builds tests/testdata/listener.c (dynamic and static) once.
func listenerBin(t testing.TB, static bool) string {
	t.Helper()
	listenerOnce.Do(func() {
		listenerDir, listenerErr = os.MkdirTemp("", "wrap-listener")
		if listenerErr != nil {
			return
		}
		for _, b := range []struct{ out, flag string }{{"listener", ""}, {"listener-static", "-static"}} {
			args := []string{"-O2", "-Wall", "-o", filepath.Join(listenerDir, b.out), "testdata/listener.c"}
			if b.flag != "" {
				args = append([]string{b.flag}, args...)
			}
			if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
				listenerErr = fmt.Errorf("cc %s: %v\n%s", b.flag, err, out)
				return
			}
		}
	})
	if listenerErr != nil {
		t.Fatal(listenerErr)
	}
	if static {
		return filepath.Join(listenerDir, "listener-static")
	}
	return filepath.Join(listenerDir, "listener")
}

// startWrapped runs websockify on a free port wrapping argv (which may use
// {PORT} for the port) and waits until the program listens.
func startWrapped(t testing.TB, opts []string, argv ...string) (*proxy, int) {
	t.Helper()
	port := freePort(t)
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "{PORT}", strconv.Itoa(port))
	}
	args := append(append([]string{fmt.Sprintf("127.0.0.1:%d", port)}, opts...), "--")
	p := startProxy(t, append(args, argv...)...)
	p.stderr.waitFor(t, reMust(`wrapped program is listening on`), 30*time.Second)
	return p, port
}

// wsRead connects a raw WebSocket client and returns what arrives within
// the first frames until want matches.
func wsExpect(t testing.TB, addr string, want *regexp.Regexp) *rawConn {
	t.Helper()
	rc := dialRaw(t, addr)
	rc.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var got []byte
	for !want.Match(got) {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("waiting for %q: %v (got %q)", want, err, got)
		}
		if f.op == 8 {
			t.Fatalf("closed while waiting for %q: %q (got %q)", want, f.payload, got)
		}
		got = append(got, f.payload...)
	}
	return rc
}

func TestWrapSocat(t *testing.T) {
	requireProgram(t, "socat")
	p, _ := startWrapped(t, nil, "socat", "TCP-LISTEN:{PORT},fork,reuseaddr", "EXEC:cat")
	rc := dialRaw(t, p.addr)
	rc.sendFrame(2, []byte("through socat"))
	if got := rc.readData(len("through socat"), 10*time.Second); string(got) != "through socat" {
		t.Fatalf("got %q", got)
	}
	p.signal(syscall.SIGTERM)
	if st := p.wait(15 * time.Second); st != 0 {
		t.Fatalf("exit status %d", st)
	}
	assertNoProcess(t, "TCP-LISTEN:"+strings.Split(p.addr, ":")[1])
}

// TestWrapListenerForms: IPv4, IPv6-only and dual-stack programs are moved
// to loopback and reached through the gateway.
func TestWrapListenerForms(t *testing.T) {
	bin := listenerBin(t, false)
	for _, mode := range []string{"v4", "v6", "dual"} {
		t.Run(mode, func(t *testing.T) {
			p, _ := startWrapped(t, nil, bin, mode, "{PORT}")
			rc := wsExpect(t, p.addr, reMust(`listener\n`))
			rc.sendFrame(2, []byte("ping"))
			if got := rc.readData(4, 10*time.Second); string(got) != "ping" {
				t.Fatalf("echo %q", got)
			}
		})
	}
}

// TestWrapExitStatus: in exit mode websockify ends with the program's
// status, 128+N for a signal, and clients get 1001.
func TestWrapExitStatus(t *testing.T) {
	bin := listenerBin(t, false)
	t.Run("status 3", func(t *testing.T) {
		port := freePort(t)
		p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", "sh", "-c", "sleep 1; exit 3")
		if st := p.wait(20 * time.Second); st != 3 {
			t.Fatalf("exit status %d; want 3", st)
		}
	})
	t.Run("killed", func(t *testing.T) {
		p, _ := startWrapped(t, nil, bin, "v4", "{PORT}")
		rc := wsExpect(t, p.addr, reMust(`listener\n`))
		pid := wrappedPid(t, p)
		syscall.Kill(pid, syscall.SIGKILL)
		// The program's sockets close with it (1000 "Target closed"), or
		// the exit-mode shutdown gets there first (1001).
		if code, _, _ := rc.expectClose(15 * time.Second); code != 1000 && code != 1001 {
			t.Fatalf("close %d; want 1000 or 1001", code)
		}
		if st := p.wait(20 * time.Second); st != 128+9 {
			t.Fatalf("exit status %d; want 137", st)
		}
	})
}

var pidRE = regexp.MustCompile(`started wrapped program .*pid=(\d+)`)

func wrappedPid(t testing.TB, p *proxy) int {
	t.Helper()
	m := pidRE.FindAllStringSubmatch(p.stderr.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no pid in log:\n%s", p.stderr.String())
	}
	pid, _ := strconv.Atoi(m[len(m)-1][1])
	return pid
}

// TestWrapNoOrphans: a program that daemonizes and one that ignores
// SIGTERM are both gone after websockify stops.
func TestWrapNoOrphans(t *testing.T) {
	bin := listenerBin(t, false)
	for _, tc := range []struct {
		name string
		opts []string
		argv []string
	}{
		{"daemon", []string{"--wrap-mode=ignore"}, []string{bin, "-d", "v4", "{PORT}"}},
		{"ignores SIGTERM", []string{"--wrap-grace=1"}, []string{bin, "-t", "v4", "{PORT}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := fmt.Sprintf("WRAPTEST_%d_%d", os.Getpid(), time.Now().UnixNano())
			os.Setenv(marker, "1")
			defer os.Unsetenv(marker)
			p, _ := startWrapped(t, tc.opts, tc.argv...)
			wsExpect(t, p.addr, reMust(`listener\n`))
			if len(procsWithEnv(marker)) < 2 { // websockify and the program
				t.Fatalf("marker not found in the program's environment")
			}
			p.signal(syscall.SIGTERM)
			if st := p.wait(20 * time.Second); st != 0 {
				t.Fatalf("exit status %d", st)
			}
			if left := procsWithEnv(marker); len(left) > 0 {
				t.Fatalf("processes left behind: %v", left)
			}
		})
	}
}

// procsWithEnv lists live processes whose environment holds marker.
func procsWithEnv(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(env, []byte(marker+"=")) {
			continue
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

func assertNoProcess(t testing.TB, cmdlinePart string) {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(cmdlinePart)) {
			t.Fatalf("process %s still running: %q", e.Name(), bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}

// TestWrapStaticProgram: a static program ignores LD_PRELOAD; websockify
// says so in one clear line instead of failing silently.
func TestWrapStaticProgram(t *testing.T) {
	bin := listenerBin(t, true)
	port := freePort(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--", bin, "v4", strconv.Itoa(port))
	p.stderr.waitFor(t, reMust(`(?i)statically linked|static`), 20*time.Second)
	if st := p.wait(30 * time.Second); st == 0 {
		t.Fatalf("exit status 0 although the program could not bind")
	}
}

// TestWrapRespawn: in respawn mode a program that dies is restarted on the
// same port, with the restart logged, and serves again.
func TestWrapRespawn(t *testing.T) {
	bin := listenerBin(t, false)
	p, _ := startWrapped(t, []string{"--wrap-mode=respawn"}, bin, "v4", "{PORT}")
	wsExpect(t, p.addr, reMust(`listener\n`))
	syscall.Kill(wrappedPid(t, p), syscall.SIGKILL)
	p.stderr.waitFor(t, reMust(`(?s)killed by signal 9.*restart.*started wrapped program`), 20*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(p.stderr.String(), "wrapped program is listening") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not listening again:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	wsExpect(t, p.addr, reMust(`listener\n`))
}

// TestWrapTelnetdRespawn is the original README's example with today's
// Debian packages: inetd serving telnetd on the port, in respawn mode. The
// telnet option negotiation arrives through the WebSocket, and a shell
// command runs.
func TestWrapTelnetdRespawn(t *testing.T) {
	inetd := requireProgram(t, "inetutils-inetd")
	telnetd := "/usr/sbin/telnetd"
	if _, err := os.Stat(telnetd); err != nil {
		t.Fatalf("%s missing; install inetutils-telnetd (make deps)", telnetd)
	}
	if os.Getuid() != 0 {
		t.Fatal("telnetd needs root to allocate a terminal; run as root (as CI does)")
	}
	dir := t.TempDir()
	port := freePort(t)
	conf := filepath.Join(dir, "inetd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("%d stream tcp nowait root %s telnetd -h -E /bin/sh\n", port, telnetd)), 0o644)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), "--wrap-mode=respawn", "--",
		inetd, "-d", "--pidfile="+filepath.Join(dir, "inetd.pid"), conf)
	p.stderr.waitFor(t, reMust(`wrapped program is listening on`), 30*time.Second)

	session := func() {
		rc := dialRaw(t, p.addr)
		rc.c.SetReadDeadline(time.Now().Add(20 * time.Second))
		var screen []byte
		sentCmd, first := false, true
		for !bytes.Contains(screen, []byte("wrap42")) {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatalf("telnet session: %v; screen %q", err, screen)
			}
			data := f.payload
			if first && (len(data) == 0 || data[0] != 0xff) {
				t.Fatalf("first bytes %q are not telnet negotiation", data)
			}
			first = false
			var reply []byte
			for i := 0; i < len(data); i++ {
				if data[i] == 0xff && i+2 < len(data) && data[i+1] >= 251 && data[i+1] <= 254 {
					opt := data[i+2]
					switch data[i+1] {
					case 253: // DO → WONT
						reply = append(reply, 0xff, 252, opt)
					case 251: // WILL → DO for echo/SGA, DONT otherwise
						if opt == 1 || opt == 3 {
							reply = append(reply, 0xff, 253, opt)
						} else {
							reply = append(reply, 0xff, 254, opt)
						}
					}
					i += 2
					continue
				}
				if data[i] == 0xff && i+1 < len(data) && data[i+1] == 250 { // subnegotiation
					for i < len(data) && !(data[i] == 0xff && i+1 < len(data) && data[i+1] == 240) {
						i++
					}
					i++
					continue
				}
				screen = append(screen, data[i])
			}
			if len(reply) > 0 {
				rc.sendFrame(2, reply)
			}
			if !sentCmd {
				rc.sendFrame(2, []byte("echo wrap$((6*7))\r\n"))
				sentCmd = true
			}
		}
		rc.sendFrame(8, closePayload(1000, ""))
	}
	session()

	syscall.Kill(wrappedPid(t, p), syscall.SIGKILL)
	p.stderr.waitFor(t, reMust(`(?s)killed by signal 9.*restart.*wrapped program is listening`), 30*time.Second)
	session()
}

// TestWrapVNCServer is the noVNC use: `websockify 5901 --wrap-mode=ignore
// -- vncserver :N`. vncserver starts Xvnc and exits; websockify keeps
// serving, and the RFB banner arrives through the WebSocket.
func TestWrapVNCServer(t *testing.T) {
	requireProgram(t, "vncserver")
	requireProgram(t, "Xtigervnc")
	dir := t.TempDir()
	xstartup := filepath.Join(dir, "xstartup")
	os.WriteFile(xstartup, []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755)
	display := freeDisplay(t)
	port := freePort(t)
	p := startProxyCmd(t, func(c *exec.Cmd) {
		c.Env = append(os.Environ(), "HOME="+dir)
	}, fmt.Sprintf("127.0.0.1:%d", port), "--wrap-mode=ignore", "--",
		"vncserver", fmt.Sprintf(":%d", display), "-rfbport", strconv.Itoa(port),
		"-SecurityTypes", "None", "-localhost", "yes", "-xstartup", xstartup)
	p.addr = fmt.Sprintf("127.0.0.1:%d", port)
	p.stderr.waitFor(t, reMust(`wrapped program is listening on`), 60*time.Second)
	p.stderr.waitFor(t, reMust(`wrapped program exited \(or daemonized\)`), 60*time.Second)
	rc := wsExpect(t, p.addr, reMust(`RFB 003\.00\d\n`))
	rc.sendFrame(8, closePayload(1000, ""))
	p.signal(syscall.SIGTERM)
	if st := p.wait(30 * time.Second); st != 0 {
		t.Fatalf("exit status %d", st)
	}
	assertNoProcess(t, fmt.Sprintf("Xtigervnc :%d", display))
}

func freeDisplay(t testing.TB) int {
	t.Helper()
	for d := 50 + os.Getpid()%40; d < 200; d++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", d)); err != nil {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", d)); err != nil {
				return d
			}
		}
	}
	t.Fatal("no free X display")
	return 0
}

// TestWrapCopiedBinaryAlone: bin/websockify copied alone into an empty
// directory still wraps programs (the shim is embedded).
func TestWrapCopiedBinaryAlone(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(wsBinary)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(dir, "websockify")
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapsListener(t, alone, dir)
}

// wrapsListener runs the websockify binary bin (in dir, without
// $WEBSOCKIFY_REBIND_SO, so with its embedded shim) wrapping the test
// listener, and checks that a WebSocket client reaches it.
func wrapsListener(t *testing.T, bin, dir string) {
	t.Helper()
	listener := listenerBin(t, false)
	port := freePort(t)
	cmd := exec.Command(bin, fmt.Sprintf("127.0.0.1:%d", port), "--", listener, "v4", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEBSOCKIFY_REBIND_SO=")
	out := newSyncBuffer()
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	out.waitFor(t, reMust(`wrapped program is listening on`), 20*time.Second)
	wsExpect(t, fmt.Sprintf("127.0.0.1:%d", port), reMust(`listener\n`))
}
