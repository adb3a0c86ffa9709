package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syslogSink collects the messages a syslog server receives.
type syslogSink struct {
	addr string // what --syslog takes
	msgs chan string
	got  *syncBuffer // every message, one per line, for failure reports
}

func newSink(addr string) *syslogSink {
	return &syslogSink{addr: addr, msgs: make(chan string, 10000), got: newSyncBuffer()}
}

func (s *syslogSink) add(m string) {
	fmt.Fprintf(s.got, "%q\n", m)
	select {
	case s.msgs <- m:
	default:
	}
}

// udpSyslog listens for syslog datagrams on a loopback UDP port.
func udpSyslog(t testing.TB) *syslogSink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return packetSyslog(t, pc, pc.LocalAddr().String())
}

// unixgramSyslog listens on a Unix datagram socket, as /dev/log does.
func unixgramSyslog(t testing.TB) *syslogSink {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	return packetSyslog(t, pc, path)
}

func packetSyslog(t testing.TB, pc net.PacketConn, addr string) *syslogSink {
	s := newSink(addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.add(string(buf[:n]))
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return s
}

// streamSyslog listens on a Unix stream socket; messages end with "\n".
func streamSyslog(t testing.TB) *syslogSink {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(path)
	done := make(chan struct{})
	conns := make(chan net.Conn, 100)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					s.add(sc.Text() + "\n")
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return s
}

// wait returns the first message (from now on) matching re.
func (s *syslogSink) wait(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-s.msgs:
			if sm := re.FindStringSubmatch(m); sm != nil {
				return sm
			}
		case <-deadline:
			t.Fatalf("no syslog message matching %q within %v; received:\n%s", re, timeout, s.got.String())
			return nil
		}
	}
}

// rfc5424 matches one of our RFC 5424 messages with priority pri, process
// pid (any if 0) and a message matching msg.
func rfc5424(pri, pid int, msg string) *regexp.Regexp {
	host, _ := os.Hostname()
	p := `\d+`
	if pid != 0 {
		p = fmt.Sprint(pid)
	}
	return regexp.MustCompile(fmt.Sprintf(`^<%d>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) %s websockify (%s) - - (%s)$`,
		pri, regexp.QuoteMeta(host), p, msg))
}

func legacy(pri, pid int, msg string) *regexp.Regexp {
	p := `\d+`
	if pid != 0 {
		p = fmt.Sprint(pid)
	}
	return regexp.MustCompile(fmt.Sprintf(`^<%d>websockify\[(%s)\]: (%s)$`, pri, p, msg))
}

// TestSyslogUDP: --syslog host:port sends RFC 5424 messages with facility
// user: the banner, session lines and errors with their severity.
func TestSyslogUDP(t *testing.T) {
	sink := udpSyslog(t)
	p := startProxy(t, "--syslog", sink.addr, "127.0.0.1:0", startBackend(t, nil).addr())
	pid := p.cmd.Process.Pid
	m := sink.wait(t, rfc5424(14, pid, `WebSocket server settings:`), 10*time.Second)
	ts, err := time.Parse(time.RFC3339, m[1])
	if err != nil || time.Since(ts).Abs() > 5*time.Minute {
		t.Fatalf("timestamp %q (%v) is not now in UTC", m[1], err)
	}
	sink.wait(t, rfc5424(14, pid, regexp.QuoteMeta("  - Listen on "+p.addr)), 10*time.Second)
	sink.wait(t, rfc5424(14, pid, `  - proxying from .*`), 10*time.Second)

	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("logged"))
	rc.closeHandshake()
	sink.wait(t, rfc5424(14, pid, `127\.0\.0\.1:\d+: Plain non-SSL \(ws://\) WebSocket connection`), 10*time.Second)

	// A failed target connection is logged above info (warning or error).
	q := startProxy(t, "--syslog", sink.addr, "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	rc = dialRaw(t, q.addr)
	rc.expectClose(10 * time.Second)
	m = sink.wait(t, regexp.MustCompile(`^<(1[0-3])>1 .* websockify `+fmt.Sprint(q.cmd.Process.Pid)+` - - .*Failed to connect`), 10*time.Second)
	if m[1] != "11" && m[1] != "12" {
		t.Fatalf("connect failure logged with priority %s; want 11 (err) or 12 (warning)", m[1])
	}
}

// TestSyslogLegacy: --legacy-syslog writes "<14>websockify[pid]: msg".
func TestSyslogLegacy(t *testing.T) {
	sink := udpSyslog(t)
	p := startProxy(t, "--syslog", sink.addr, "--legacy-syslog", "127.0.0.1:0", startBackend(t, nil).addr())
	pid := p.cmd.Process.Pid
	sink.wait(t, legacy(14, pid, `WebSocket server settings:`), 10*time.Second)
	sink.wait(t, legacy(14, pid, regexp.QuoteMeta("  - Listen on "+p.addr)), 10*time.Second)
}

// TestSyslogUnix: --syslog PATH speaks datagrams to a Unix datagram socket,
// and newline-terminated messages to a Unix stream socket.
func TestSyslogUnix(t *testing.T) {
	be := startBackend(t, nil).addr()
	t.Run("datagram", func(t *testing.T) {
		sink := unixgramSyslog(t)
		p := startProxy(t, "--syslog", sink.addr, "127.0.0.1:0", be)
		sink.wait(t, rfc5424(14, p.cmd.Process.Pid, `WebSocket server settings:`), 10*time.Second)
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("x"))
		sink.wait(t, rfc5424(14, p.cmd.Process.Pid, `.*Plain non-SSL \(ws://\) WebSocket connection`), 10*time.Second)
	})
	t.Run("stream", func(t *testing.T) {
		sink := streamSyslog(t)
		p := startProxy(t, "--syslog", sink.addr, "--legacy-syslog", "127.0.0.1:0", be)
		sink.wait(t, regexp.MustCompile(`^<14>websockify\[`+fmt.Sprint(p.cmd.Process.Pid)+`\]: WebSocket server settings:\n$`), 10*time.Second)
	})
	t.Run("missing-socket", func(t *testing.T) {
		st, _, stderr := runCLI(t, wsBinary, "--syslog", filepath.Join(t.TempDir(), "nothing"), "127.0.0.1:0", be)
		if st == 0 || !strings.Contains(stderr, "syslog") {
			t.Fatalf("--syslog to a missing socket: status %d, stderr:\n%s", st, stderr)
		}
	})
}

// TestSyslogDaemon: after -D the daemon still logs to syslog (and to a
// relative --log-file), with the daemon facility, under its own pid.
func TestSyslogDaemon(t *testing.T) {
	be := startBackend(t, nil).addr()
	for _, legacyFormat := range []bool{false, true} {
		t.Run(fmt.Sprint("legacy=", legacyFormat), func(t *testing.T) {
			sink := udpSyslog(t)
			dir := t.TempDir()
			args := []string{"-D", "--pid-file", "ws.pid", "--log-file", "ws.log", "--syslog", sink.addr}
			if legacyFormat {
				args = append(args, "--legacy-syslog")
			}
			st, stderr, _ := runParent(t, dir, append(args, "127.0.0.1:0", be)...)
			if st != 0 {
				t.Fatalf("-D exit status %d:\n%s", st, stderr)
			}
			pid := daemonPID(t, filepath.Join(dir, "ws.pid"))
			addr := listenRE.FindStringSubmatch(stderr)[1]
			re := rfc5424
			if legacyFormat {
				re = legacy
			}
			sink.wait(t, re(30, 0, regexp.QuoteMeta("  - Backgrounding (daemon)")), 10*time.Second)

			rc := dialRaw(t, addr)
			rc.echoOnce([]byte("daemon logs"))
			rc.closeHandshake()
			sink.wait(t, re(30, pid, `127\.0\.0\.1:\d+: Plain non-SSL \(ws://\) WebSocket connection`), 10*time.Second)

			syscall.Kill(pid, syscall.SIGTERM)
			waitGone(t, pid, 15*time.Second)
			b, err := os.ReadFile(filepath.Join(dir, "ws.log"))
			if err != nil || !strings.Contains(string(b), "Plain non-SSL (ws://) WebSocket connection") {
				t.Fatalf("the daemon's --log-file lacks the session (%v):\n%s", err, b)
			}
		})
	}
}

// TestLogFormatJSON: --log-format=json prints one JSON object per line
// with "time", "level" and "msg", on stderr and to syslog.
func TestLogFormatJSON(t *testing.T) {
	sink := udpSyslog(t)
	p := startProxy(t, "--log-format=json", "--syslog", sink.addr, "127.0.0.1:0", startBackend(t, nil).addr())
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("json"))
	rc.closeHandshake()
	p.stderr.waitFor(t, reMust(`WebSocket connection`), 10*time.Second)
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)

	msgs := map[string]map[string]any{}
	for _, l := range lines(p.stderr.String()) {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("stderr line is not a JSON object: %q (%v)", l, err)
		}
		msg, ok := obj["msg"].(string)
		if !ok || obj["level"] == nil || obj["time"] == nil {
			t.Fatalf("JSON line lacks msg, level or time: %q", l)
		}
		msgs[msg] = obj
	}
	for _, want := range []string{"WebSocket server settings:", "  - Listen on " + p.addr, "Plain non-SSL (ws://) WebSocket connection"} {
		if msgs[want] == nil {
			t.Errorf("no JSON line with msg %q in:\n%s", want, p.stderr.String())
		}
	}
	if obj := msgs["Plain non-SSL (ws://) WebSocket connection"]; obj != nil {
		if c, _ := obj["client"].(string); !strings.HasPrefix(c, "127.0.0.1:") {
			t.Errorf("session line has client %q; want the peer address as its own key", c)
		}
	}
	m := sink.wait(t, rfc5424(14, p.cmd.Process.Pid, `\{.*\}`), 10*time.Second)
	var obj map[string]any
	if err := json.Unmarshal([]byte(m[3]), &obj); err != nil || obj["msg"] == nil {
		t.Fatalf("syslog message is not a JSON object with msg: %q (%v)", m[3], err)
	}
}

var logFileLineRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} .`)

// TestLogFile: --log-file appends timestamped lines to what the file held;
// stderr keeps the reference's untimestamped lines.
func TestLogFile(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "websockify.log")
	if err := os.WriteFile(logFile, []byte("line from before\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	be := startBackend(t, nil).addr()
	for run := 1; run <= 2; run++ {
		p := startProxy(t, "--log-file", logFile, "127.0.0.1:0", be)
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("to the file"))
		rc.closeHandshake()
		p.stderr.waitFor(t, reMust(`WebSocket connection`), 10*time.Second)
		p.signal(syscall.SIGTERM)
		if st := p.wait(10 * time.Second); st != 0 {
			t.Fatalf("run %d: exit status %d", run, st)
		}
		if !strings.HasPrefix(p.stderr.String(), "WebSocket server settings:\n") {
			t.Fatalf("stderr lines are not the reference's:\n%s", p.stderr.String())
		}
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(string(b))
	if len(ls) == 0 || ls[0] != "line from before" {
		t.Fatalf("the log file was not appended to:\n%s", b)
	}
	banners, sessions := 0, 0
	for _, l := range ls[1:] {
		if !logFileLineRE.MatchString(l) {
			t.Errorf("log file line without a timestamp: %q", l)
		}
		if strings.HasSuffix(l, " WebSocket server settings:") {
			banners++
		}
		if strings.Contains(l, "Plain non-SSL (ws://) WebSocket connection") {
			sessions++
		}
	}
	if banners != 2 || sessions != 2 {
		t.Fatalf("%d banners and %d sessions in the log file; want 2 of each:\n%s", banners, sessions, b)
	}
}
