package logging

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// packets reads datagrams from c into a channel until c is closed.
func packets(t *testing.T, c net.PacketConn) <-chan string {
	t.Helper()
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close() })
	return ch
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p, ok := <-ch:
		if !ok {
			t.Fatal("syslog server closed")
		}
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no syslog message")
	}
	return ""
}

func newSyslog(t *testing.T, o SyslogOptions, json bool) *slog.Logger {
	t.Helper()
	if o.Hostname == "" {
		o.Hostname = "testhost"
	}
	if o.PID == 0 {
		o.PID = 4242
	}
	s, err := NewSyslog(o, slog.LevelDebug, json)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return slog.New(s)
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := packets(t, pc)
	log := newSyslog(t, SyslogOptions{Address: pc.LocalAddr().String()}, false)

	log.Info("WebSocket server settings:")
	got := next(t, ch)
	re := regexp.MustCompile(`^<14>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ testhost websockify 4242 - - WebSocket server settings:$`)
	if !re.MatchString(got) {
		t.Fatalf("got %q", got)
	}

	log.With("client", "10.0.0.1").Warn("line one\nline two", "token", "ab\ncd")
	if got := next(t, ch); !strings.HasSuffix(got, ` - - WARN: 10.0.0.1: line one\nline two token="ab\ncd"`) || !strings.HasPrefix(got, "<12>1 ") {
		t.Fatalf("got %q", got)
	}
	log.Error("boom")
	if got := next(t, ch); !strings.HasPrefix(got, "<11>1 ") {
		t.Fatalf("error severity: %q", got)
	}
	log.Debug("détail")
	if got := next(t, ch); !strings.HasPrefix(got, "<15>1 ") || !strings.HasSuffix(got, " - - \ufeffdétail") {
		t.Fatalf("debug/UTF-8: %q", got)
	}
}

func TestSyslogLegacyDaemon(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := packets(t, pc)
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	log := newSyslog(t, SyslogOptions{Address: ":" + port, Legacy: true, Facility: FacilityDaemon}, false)
	log.Info("  - Listen on 127.0.0.1:16097")
	if got, want := next(t, ch), "<30>websockify[4242]:   - Listen on 127.0.0.1:16097"; got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}

func TestSyslogUnixgram(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "log")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	ch := packets(t, pc)
	log := newSyslog(t, SyslogOptions{Address: path}, true)
	log.Info("hello", "client", "127.0.0.1")
	got := next(t, ch)
	prefix := "<14>1 "
	i := strings.Index(got, " - - ")
	if !strings.HasPrefix(got, prefix) || i < 0 {
		t.Fatalf("got %q", got)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got[i+5:]), &m); err != nil {
		t.Fatalf("JSON body %q: %v", got[i+5:], err)
	}
	if m["msg"] != "hello" || m["client"] != "127.0.0.1" || m["level"] != "INFO" {
		t.Fatalf("JSON body %v", m)
	}

	// The syslog daemon restarts: the next message reconnects.
	pc.Close()
	os.Remove(path)
	pc2, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	ch2 := packets(t, pc2)
	log.Info("after restart")
	if got := next(t, ch2); !strings.Contains(got, `"msg":"after restart"`) {
		t.Fatalf("after restart: %q", got)
	}
}

func TestSyslogUnixStream(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "log")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string, 8)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	log := newSyslog(t, SyslogOptions{Address: path, Legacy: true}, false)
	log.Info("one")
	log.Info("two")
	for _, want := range []string{"<14>websockify[4242]: one", "<14>websockify[4242]: two"} {
		if got := next(t, lines); got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
}

func TestSyslogErrors(t *testing.T) {
	if _, err := NewSyslog(SyslogOptions{Address: filepath.Join(t.TempDir(), "nope")}, slog.LevelInfo, false); err == nil {
		t.Fatal("missing socket accepted")
	}
	s, err := NewSyslog(SyslogOptions{Address: "127.0.0.1:9"}, slog.LevelInfo, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := slog.New(s).Handler().Handle(t.Context(), slog.NewRecord(time.Now(), slog.LevelInfo, "x", 0)); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

func TestSyslogLongMessage(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := packets(t, pc)
	log := newSyslog(t, SyslogOptions{Address: pc.LocalAddr().String(), Legacy: true}, false)
	log.Info(strings.Repeat("é", maxSyslogMessage))
	got := next(t, ch)
	msg := strings.TrimPrefix(got, "<14>websockify[4242]: ")
	if len(msg) > maxSyslogMessage || len(msg) < maxSyslogMessage-1 || !strings.HasSuffix(msg, "é") {
		t.Fatalf("message of %d bytes", len(msg))
	}
}

func TestParseSyslogAddress(t *testing.T) {
	tests := []struct{ in, network, addr string }{
		{"/dev/log", "unix", "/dev/log"},
		{"localhost:514", "udp", "localhost:514"},
		{"[::1]:514", "udp", "[::1]:514"},
		{"::1:514", "udp", "[::1]:514"},
		{":514", "udp", "localhost:514"},
		{"host:", "", ""},
		{"host:x", "", ""},
		{"host:70000", "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		n, a, err := ParseSyslogAddress(tc.in)
		if tc.network == "" {
			if err == nil {
				t.Errorf("%q accepted", tc.in)
			}
			continue
		}
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("%q: got %s %s %v; want %s %s", tc.in, n, a, err, tc.network, tc.addr)
		}
	}
}

func TestNewWithSyslogAndJSON(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := packets(t, pc)
	var stderr strings.Builder
	logFile := filepath.Join(t.TempDir(), "ws.log")
	log, closer, err := New(Options{Stderr: &stderr, File: logFile, Format: FormatJSON,
		Syslog: &SyslogOptions{Address: pc.LocalAddr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("started", "port", 6080)
	log.Debug("hidden from stderr and syslog")
	if got := next(t, ch); !strings.Contains(got, `"msg":"started","port":6080`) {
		t.Fatalf("syslog: %q", got)
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stderr.String()), &m); err != nil || m["msg"] != "started" {
		t.Fatalf("stderr %q: %v", stderr.String(), err)
	}
	b, _ := os.ReadFile(logFile)
	if n := strings.Count(string(b), "\n"); n != 2 || !strings.Contains(string(b), `"level":"DEBUG"`) {
		t.Fatalf("log file:\n%s", b)
	}
	select {
	case p := <-ch:
		t.Fatalf("debug record sent to syslog: %q", p)
	case <-time.After(50 * time.Millisecond):
	}
}

// shortTempDir is a temporary directory with a path short enough for a
// Unix socket (t.TempDir can exceed the 108-byte limit).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
