package tests

// The command line end to end (reference-behaviour.md §1, §10, §11): usage
// errors and their exit status, listen and target forms (IPv6, Unix
// sockets, inetd), --timeout, --idle-timeout, --heartbeat, --traffic and -v.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// errLine is the one line a usage error prints, as optparse does.
func errLine(msg string) string { return "websockify: error: " + msg }

// checkUsageError runs websockify with args and checks that it stops with
// status 2 and the usage error msg, without starting.
func checkUsageError(t *testing.T, msg string, args ...string) {
	t.Helper()
	st, stdout, stderr := runCLI(t, wsBinary, args...)
	if st != 2 {
		t.Errorf("exit status %d; want 2", st)
	}
	if !hasLineWith(stderr, errLine(msg)) {
		t.Errorf("stderr %q lacks the line %q", stderr, errLine(msg))
	}
	if strings.Contains(stderr, "Listen on") || stdout != "" {
		t.Errorf("started anyway: stdout %q stderr %q", stdout, stderr)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no arguments", nil, "Too few arguments"},
		{"listen only", []string{"127.0.0.1:6080"}, "Too few arguments"},
		{"bad listen port", []string{"127.0.0.1:abc", "127.0.0.1:5900"}, "Error parsing listen port"},
		{"listen port out of range", []string{"70000", "127.0.0.1:5900"}, "Error parsing listen port"},
		{"target without colon", []string{"127.0.0.1:0", "localhost"}, "Error parsing target"},
		{"bad target port", []string{"127.0.0.1:0", "localhost:vnc"}, "Error parsing target port"},
		{"target port out of range", []string{"127.0.0.1:0", "localhost:65536"}, "Error parsing target port"},
		{"too many arguments", []string{"127.0.0.1:0", "localhost:5900", "extra"}, "Too many arguments"},
		{"unknown long option", []string{"--no-such-option", "127.0.0.1:0", "localhost:5900"}, "no such option: --no-such-option"},
		{"unknown short option", []string{"-Q", "127.0.0.1:0", "localhost:5900"}, "no such option: -Q"},
		{"invalid --wrap-mode", []string{"--wrap-mode=sometimes", "127.0.0.1:0", "--", "true"}, "option --wrap-mode: invalid choice"},
		{"non-octal --unix-listen-mode", []string{"--unix-listen=" + sock, "--unix-listen-mode=rw", "localhost:5900"}, "Error parsing listen unix socket mode"},
		{"--unix-listen-mode with 8", []string{"--unix-listen=" + sock, "--unix-listen-mode=0680", "localhost:5900"}, "Error parsing listen unix socket mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkUsageError(t, tc.msg, tc.args...)
		})
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("a usage error left a socket behind")
	}
}

// hasLineWith reports whether one line of s starts with prefix.
func hasLineWith(s, prefix string) bool {
	for _, l := range lines(s) {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestCLIBindFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, _, stderr := runCLI(t, wsBinary, ln.Addr().String(), "127.0.0.1:9")
	if st == 0 {
		t.Fatalf("exit status 0 on bind failure; stderr %q", stderr)
	}
	// The reason with the address named once, then a hint.
	want := "websockify: error: listen on " + ln.Addr().String() + ": address already in use"
	if ls := lines(strings.TrimSpace(stderr)); len(ls) != 2 || ls[0] != want || !strings.HasPrefix(ls[1], "hint: another program listens there") {
		t.Fatalf("stderr %q; want %q and a hint", stderr, want)
	}
}

// TestCLIErrorHints: mistakes are reported with the value at fault and a
// hint, once.
func TestCLIErrorHints(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"abc", "localhost:5900"}, `Error parsing listen port: "abc" is not a port number (in "abc"; want [HOST:]PORT)`},
		{[]string{"99999", "localhost:5900"}, `Error parsing listen port: port 99999 is out of range 1-65535`},
		{[]string{"6080", "localhost:vnc"}, `Error parsing target port: "vnc" is not a port number (in "localhost:vnc"; want HOST:PORT)`},
		{[]string{"6080", "localhost"}, `Error parsing target: "localhost" has no port`},
		{[]string{"--wbe", ".", "6080", "localhost:5900"}, `no such option: --wbe (did you mean --web?)`},
		{[]string{"--ssl-onyl", "6080", "localhost:5900"}, `no such option: --ssl-onyl (did you mean --ssl-only?)`},
	} {
		st, _, stderr := runCLI(t, wsBinary, tc.args...)
		if st != 2 || !strings.Contains(stderr, "websockify: error: "+tc.want) {
			t.Errorf("%q: status %d, stderr %q; want 2 and %q", tc.args, st, stderr, tc.want)
		}
	}

	// A wrapped program that cannot run: one line, before listening, no
	// package prefix.
	for prog, why := range map[string]string{"no-such-program-xyz": "not found in $PATH", "/etc/passwd": "not an executable file"} {
		st, _, stderr := runCLI(t, wsBinary, strconv.Itoa(freePort(t)), "--", prog)
		want := fmt.Sprintf("websockify: error: cannot run the wrapped program %q: %s", prog, why)
		if st != 1 || strings.TrimSpace(stderr) != want {
			t.Errorf("wrapping %s: status %d, stderr %q; want 1 and only %q", prog, st, stderr, want)
		}
	}

	// A privileged port without the right to bind it names the capability.
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	if os.Geteuid() != 0 {
		t.Fatal("needs root to run as nobody (CI runs as root)")
	}
	cmd := exec.Command(wsBinary, "80", "localhost:5900")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	st := runToExit(t, cmd, 10*time.Second, &errb)
	if st != 1 || !strings.Contains(errb.String(), "listen on port 80 (all interfaces): permission denied\nhint: ports below 1024 need root or CAP_NET_BIND_SERVICE") {
		t.Errorf("port 80 as nobody: status %d, stderr %q", st, errb.String())
	}
}

func TestCLIHelp(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		st, stdout, stderr := runCLI(t, wsBinary, flag)
		if st != 0 {
			t.Errorf("%s: exit status %d; stderr %q", flag, st, stderr)
		}
		for _, want := range []string{
			"[source_addr:]source_port target_addr:target_port",
			"--verbose", "--traffic", "--run-once", "--timeout", "--idle-timeout",
			"--unix-listen", "--unix-listen-mode", "--unix-target", "--inetd",
			"--wrap-mode", "--heartbeat", "--max-frame-size", "--handshake-timeout",
			"   TLS\n", "   Wrap mode", "--token-plugin NAME", "TokenRedis", "BasicHTTPAuth", "EXAMPLES:",
			"websockify probe",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: output lacks %q", flag, want)
			}
		}
		if strings.Contains(stdout, "(default: false)") {
			t.Errorf("%s: \"(default: false)\" in the help", flag)
		}
	}
}

// TestCLIOptionsAfterPositionals: optparse allows options anywhere.
func TestCLIOptionsAfterPositionals(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr(), "--run-once", "--heartbeat", "30")
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("options after positionals"))
	rc.closeHandshake()
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("--run-once after the positionals: exit status %d", st)
	}
}

// ipv6Backend starts an echo backend on [::1].
func ipv6Backend(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("IPv6 loopback unavailable: %v", err)
	}
	serveBackend(t, ln, nil)
	return ln
}

func TestCLIAddressForms(t *testing.T) {
	be6 := ipv6Backend(t)
	port6 := be6.Addr().(*net.TCPAddr).Port
	be4 := startBackend(t, nil)
	for _, tc := range []struct {
		name, listen, target, listenRE string
	}{
		{"bracketed IPv6", "[::1]:0", fmt.Sprintf("[::1]:%d", port6), `^\[::1\]:\d+$`},
		{"unbracketed IPv6", "::1:0", fmt.Sprintf("::1:%d", port6), `^\[::1\]:\d+$`},
		{"IPv4 listen, IPv6 target", "127.0.0.1:0", fmt.Sprintf("[::1]:%d", port6), `^127\.0\.0\.1:\d+$`},
		{"IPv6 listen, name target", "[::1]:0", "localhost:" + portOf(be4.addr()), `^\[::1\]:\d+$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, tc.listen, tc.target)
			if !regexp.MustCompile(tc.listenRE).MatchString(p.addr) {
				t.Fatalf("listening on %s", p.addr)
			}
			dialRaw(t, p.addr).echoOnce([]byte("via " + tc.name))
		})
	}
}

// TestCLIListenAllInterfaces: a bare port listens on every interface, IPv4
// and IPv6.
func TestCLIListenAllInterfaces(t *testing.T) {
	be := startBackend(t, nil)
	for _, listen := range []string{"0", ":0"} {
		t.Run(listen, func(t *testing.T) {
			p := startProxy(t, listen, be.addr())
			port := portOf(p.addr)
			for _, host := range []string{"127.0.0.1", "::1"} {
				dialRaw(t, net.JoinHostPort(host, port)).echoOnce([]byte("via " + host))
			}
		})
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// proxyingRE matches the banner's last line, for listeners that print no
// "Listen on HOST:PORT".
var proxyingRE = regexp.MustCompile(`proxying from (\S+) to`)

func TestCLIUnixTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	serveBackend(t, ln, nil)
	p := startProxy(t, "--unix-target="+path, "127.0.0.1:0")
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("through a unix socket target"))
	rc.echoOnce(randBytes(200000))

	t.Run("missing socket", func(t *testing.T) {
		p := startProxy(t, "--unix-target="+path+".missing", "127.0.0.1:0")
		rc := dialRaw(t, p.addr)
		code, reason, _ := rc.expectClose(10 * time.Second)
		if code != 1011 || reason != "Failed to connect to downstream server" {
			t.Fatalf("close %d %q; want 1011", code, reason)
		}
		rc.expectTCPClose(10 * time.Second)
	})
}

func TestCLIUnixListen(t *testing.T) {
	be := startBackend(t, nil)
	for _, tc := range []struct {
		name string
		args []string
		mode os.FileMode
	}{
		{"default mode", nil, 0o600},
		{"mode 0660", []string{"--unix-listen-mode=0660"}, 0o660},
		{"mode 640 without leading zero", []string{"--unix-listen-mode", "640"}, 0o640},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ws.sock")
			args := append([]string{"--unix-listen=" + path}, tc.args...)
			p := startProxyNoWait(t, append(args, be.addr())...)
			p.stderr.waitFor(t, proxyingRE, 10*time.Second)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != os.ModeSocket {
				t.Fatalf("%s is %v, not a socket", path, fi.Mode())
			}
			if got := fi.Mode().Perm(); got != tc.mode {
				t.Fatalf("socket mode %#o; want %#o", got, tc.mode)
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			rc, resp := rawHandshakeOn(t, c)
			if resp.StatusCode != 101 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			rc.echoOnce([]byte("over a unix listener"))
		})
	}
}

// TestCLIUnixListenPath: a stale socket is replaced, any other file is
// left alone and the start fails.
func TestCLIUnixListenPath(t *testing.T) {
	be := startBackend(t, nil)
	dir := t.TempDir()
	t.Run("stale socket replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		staleUnixSocket(t, path)
		p := startProxyNoWait(t, "--unix-listen="+path, be.addr())
		p.stderr.waitFor(t, proxyingRE, 10*time.Second)
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := rawHandshakeOn(t, c)
		rc.echoOnce([]byte("replaced"))
	})
	t.Run("regular file kept", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		st, _, stderr := runCLI(t, wsBinary, "--unix-listen="+path, be.addr())
		if st == 0 || !strings.Contains(stderr, path) {
			t.Errorf("exit %d, stderr %q; want a failure naming the path", st, stderr)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
			t.Fatalf("file now %q, %v", b, err)
		}
	})
}

func TestCLIInetd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	p := startProxyCmd(t, func(cmd *exec.Cmd) { cmd.Stdin = f }, "--inetd", startBackend(t, nil).addr())
	// Only the child holds the listening socket from now on.
	f.Close()
	ln.Close()
	m := p.stderr.waitFor(t, proxyingRE, 10*time.Second)
	if m[1] != "inetd" {
		t.Errorf("banner says proxying from %q; want inetd", m[1])
	}
	if !strings.Contains(p.stderr.String(), "Listen for inetd connections") {
		t.Errorf("banner lacks the inetd line:\n%s", p.stderr.String())
	}
	for i := 0; i < 3; i++ {
		dialRaw(t, addr).echoOnce([]byte(fmt.Sprint("inetd session ", i)))
	}

	t.Run("stdin not a socket", func(t *testing.T) {
		st, _, stderr := runCLI(t, wsBinary, "--inetd", "127.0.0.1:9")
		if st == 0 || !strings.Contains(stderr, "inetd") {
			t.Fatalf("exit status %d, stderr %q; want a failure naming --inetd", st, stderr)
		}
	})
}

// TestCLITimeout: --timeout stops the listener after N seconds; an open
// session goes on, and the process exits 0 once it ends.
func TestCLITimeout(t *testing.T) {
	p := startProxy(t, "--timeout", "2", "127.0.0.1:0", startBackend(t, nil).addr())
	start := time.Now()
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("before the timeout"))

	p.stderr.waitFor(t, regexp.MustCompile(`listener exit due to --timeout 2`), 10*time.Second)
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("listener stopped after %v; want about 2s", d)
	}
	// The log line comes just before the listener closes.
	for deadline := time.Now().Add(3 * time.Second); ; {
		c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after --timeout")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.echoOnce([]byte("the open session keeps working"))
	select {
	case <-p.done:
		t.Fatal("exited while a session was open")
	default:
	}
	rc.closeHandshake()
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d; want 0", st)
	}
}

func TestCLIIdleTimeout(t *testing.T) {
	be := startBackend(t, nil)
	t.Run("no session", func(t *testing.T) {
		p := startProxy(t, "--idle-timeout", "1", "127.0.0.1:0", be.addr())
		start := time.Now()
		if st := p.wait(10 * time.Second); st != 0 {
			t.Fatalf("exit status %d; want 0", st)
		}
		if d := time.Since(start); d < 500*time.Millisecond || d > 5*time.Second {
			t.Fatalf("exited after %v; want about 1s", d)
		}
		if !strings.Contains(p.stderr.String(), "idle-timeout") {
			t.Errorf("no log line about --idle-timeout:\n%s", p.stderr.String())
		}
	})
	t.Run("open session", func(t *testing.T) {
		p := startProxy(t, "--idle-timeout", "2", "127.0.0.1:0", be.addr())
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("busy"))
		select {
		case <-p.done:
			t.Fatalf("exited with a session open:\n%s", p.stderr.String())
		case <-time.After(4 * time.Second):
		}
		rc.echoOnce([]byte("still busy"))
		rc.closeHandshake()
		ended := time.Now()
		if st := p.wait(15 * time.Second); st != 0 {
			t.Fatalf("exit status %d; want 0", st)
		}
		if d := time.Since(ended); d < time.Second || d > 8*time.Second {
			t.Fatalf("exited %v after the session ended; want about 2s", d)
		}
	})
}

func TestCLIHeartbeat(t *testing.T) {
	be, conns := recordingBackend(t, true)
	p := startProxy(t, "--heartbeat", "1", "127.0.0.1:0", be.addr())

	t.Run("pings every second, kept alive by pongs", func(t *testing.T) {
		rc := dialRaw(t, p.addr)
		nextConn(t, conns)
		start := time.Now()
		var at []time.Duration
		rc.c.SetReadDeadline(time.Now().Add(15 * time.Second))
		for len(at) < 4 {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatalf("after %d pings: %v", len(at), err)
			}
			if f.op != opPing || len(f.payload) != 0 {
				t.Fatalf("got op=%#x %q; want an empty ping", f.op, f.payload)
			}
			at = append(at, time.Since(start))
			rc.send(frame(true, 0, opPong, nil, true))
		}
		for i, d := range at {
			want := time.Duration(i+1) * time.Second
			if d < want-600*time.Millisecond || d > want+1500*time.Millisecond {
				t.Errorf("ping %d after %v; want about %v (all: %v)", i+1, d, want, at)
			}
		}
		// Answering pongs kept the session up for more than two intervals.
		rc.send(frame(true, 0, opBinary, []byte("alive"), true))
		rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatal(err)
			}
			if f.op == opBinary {
				if string(f.payload) != "alive" {
					t.Fatalf("echo %q", f.payload)
				}
				break
			}
		}
	})

	t.Run("silent client dropped", func(t *testing.T) {
		rc := dialRaw(t, p.addr)
		bc := nextConn(t, conns)
		start := time.Now()
		// Never read, never answer: the proxy must give up and close the
		// target connection too.
		bc.waitEnd(t, 10*time.Second)
		if d := time.Since(start); d < time.Second || d > 6*time.Second {
			t.Fatalf("target closed %v after connect; want about 2-3s", d)
		}
		rc.expectTCPClose(10 * time.Second)
	})
}

func TestCLITraffic(t *testing.T) {
	p := startProxy(t, "--traffic", "127.0.0.1:0", startBackend(t, nil).addr())
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("traffic"))
	p.stdout.waitFor(t, regexp.MustCompile(`(?s)Traffic Legend:.*Client receive.*Target send.*Client send partial\n`), 10*time.Second)
	// Client receive, target send, target receive, client send.
	for _, c := range []string{"}", ">", "{", "<"} {
		p.stdout.waitFor(t, regexp.MustCompile(`(?s)Client send partial\n.*`+regexp.QuoteMeta(c)), 10*time.Second)
	}
	if strings.Contains(p.stderr.String(), "Traffic Legend") {
		t.Error("traffic legend went to stderr")
	}
}

func TestCLIVerbose(t *testing.T) {
	be := startBackend(t, nil)
	run := func(t *testing.T, verbose bool) string {
		args := []string{"127.0.0.1:0", be.addr()}
		if verbose {
			args = append([]string{"-v"}, args...)
		}
		p := startProxy(t, args...)
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("verbose"))
		rc.closeHandshake()
		if verbose {
			p.stderr.waitFor(t, regexp.MustCompile(`Client closed connection`), 10*time.Second)
		}
		p.signal(syscall.SIGTERM)
		p.wait(10 * time.Second)
		return p.stderr.String()
	}
	verbose, quiet := run(t, true), run(t, false)
	for _, re := range []string{
		`127\.0\.0\.1:\d+: Plain non-SSL \(ws://\) WebSocket connection`,
		`127\.0\.0\.1:\d+: connecting to: 127\.0\.0\.1:\d+`,
	} {
		if !regexp.MustCompile(re).MatchString(verbose) || !regexp.MustCompile(re).MatchString(quiet) {
			t.Errorf("%s: missing with or without -v", re)
		}
	}
	for _, re := range []string{`Client closed connection`, `Target closed connection`} {
		if !regexp.MustCompile(`127\.0\.0\.1:\d+: .*` + re).MatchString(verbose) {
			t.Errorf("-v: no per-connection line %q:\n%s", re, verbose)
		}
		if strings.Contains(quiet, re) {
			t.Errorf("without -v: debug line %q logged:\n%s", re, quiet)
		}
	}
}
