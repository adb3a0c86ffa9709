package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recordEntry is one line of a recording between the header and 'EOF'.
type recordEntry struct {
	dir  byte // '}' from the client, '{' from the target
	ms   int64
	data []byte
}

var recordLineRE = regexp.MustCompile(`^'([{}])(\d+)([{}])(.*)',$`)

// parseRecording checks the reference's format and returns the entries.
func parseRecording(t testing.TB, content string) []recordEntry {
	t.Helper()
	if !strings.HasSuffix(content, "\n") {
		t.Fatalf("recording does not end with a newline:\n%s", content)
	}
	ls := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	if len(ls) < 2 || ls[0] != "var VNC_frame_data = [" || ls[len(ls)-1] != "'EOF'];" {
		t.Fatalf("recording lacks the header or the 'EOF'] trailer:\n%s", content)
	}
	var out []recordEntry
	for _, l := range ls[1 : len(ls)-1] {
		m := recordLineRE.FindStringSubmatch(l)
		if m == nil || m[1] != m[3] {
			t.Fatalf("bad recording line %q", l)
		}
		ms, _ := strconv.ParseInt(m[2], 10, 64)
		data, err := unescapeRecord(m[4])
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, recordEntry{m[1][0], ms, data})
	}
	return out
}

// unescapeRecord undoes Python's unicode_escape of latin-1 text plus \'
// (written here from the format, not from the record package).
func unescapeRecord(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' {
			return nil, errors.New("unescaped quote")
		}
		if c < 0x20 || c >= 0x7f {
			return nil, fmt.Errorf("raw byte %#x", c)
		}
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("trailing backslash")
		}
		i++
		switch s[i] {
		case '\\', '\'':
			b = append(b, s[i])
		case 't':
			b = append(b, '\t')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 'x':
			if i+2 >= len(s) {
				return nil, errors.New("short \\x")
			}
			h := s[i+1 : i+3]
			if strings.ToLower(h) != h {
				return nil, fmt.Errorf("upper-case hex %q", h)
			}
			v, err := strconv.ParseUint(h, 16, 8)
			if err != nil {
				return nil, err
			}
			b = append(b, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b, nil
}

// waitRecording waits until name holds a finished recording and returns it.
func waitRecording(t testing.TB, name string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(name)
		if err == nil && strings.HasSuffix(string(b), "'EOF'];\n") {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not finished after 15s (err %v):\n%s", name, err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkMode0600(t testing.TB, name string) {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v; want a regular file with 0600", name, fi.Mode())
	}
}

// TestRecord: after a plain HTTP request and one session, FILE.2 holds the
// session in the reference's format, mode 0600; FILE.1 does not exist.
func TestRecord(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "session")
	p := startProxy(t, "--record", base, "127.0.0.1:0", startBackend(t, nil).addr())
	p.stderr.waitFor(t, reMust(`(?m)^  - Recording to '`+regexp.QuoteMeta(base)+`\.\*'$`), 5*time.Second)
	p.stderr.waitFor(t, reMust(`(?i)WARN.*passwords`), 5*time.Second)

	resp, err := http.Get("http://" + p.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	start := time.Now()
	rc := dialRaw(t, p.addr)
	special := []byte("\x00'\\\x7f\x80\xff\t\n\r")
	msgs := [][]byte{[]byte("hello"), special, randBytes(300), []byte("RFB 003.008\n")}
	var sent []byte
	for _, m := range msgs {
		rc.echoOnce(m)
		sent = append(sent, m...)
	}
	rc.closeHandshake()
	elapsed := time.Since(start)

	content := waitRecording(t, base+".2")
	checkMode0600(t, base+".2")
	if _, err := os.Stat(base + ".1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s.1 exists (%v): a plain HTTP request was recorded", base, err)
	}
	p.stderr.waitFor(t, reMust(`opening record file: `+regexp.QuoteMeta(base)+`\.2`), 5*time.Second)

	entries := parseRecording(t, content)
	var fromClient, fromTarget []byte
	for _, e := range entries {
		if e.ms < 0 || e.ms > elapsed.Milliseconds()+1000 {
			t.Errorf("entry at %d ms; the session lasted %v", e.ms, elapsed)
		}
		if e.dir == '}' {
			fromClient = append(fromClient, e.data...)
		} else {
			fromTarget = append(fromTarget, e.data...)
		}
	}
	if !bytes.Equal(fromClient, sent) || !bytes.Equal(fromTarget, sent) {
		t.Fatalf("recorded %d client and %d target bytes; want the %d bytes sent, both ways:\n%s",
			len(fromClient), len(fromTarget), len(sent), content)
	}
	if !regexp.MustCompile(`(?m)^'\}\d+\}hello',$`).MatchString(content) {
		t.Errorf("no '}<ms>}hello' line:\n%s", content)
	}
	if !regexp.MustCompile(`(?m)^'\{\d+\{hello',$`).MatchString(content) {
		t.Errorf("no '{<ms>{hello' line:\n%s", content)
	}
	// The reference's own escaping example.
	if !regexp.MustCompile(`(?m)^'\}\d+\}` + regexp.QuoteMeta(`\x00\'\\\x7f\x80\xff\t\n\r`) + `',$`).MatchString(content) {
		t.Errorf("escaped line not as the reference writes it:\n%s", content)
	}

	// The next session is .3: ids count connections, not recordings.
	rc = dialRaw(t, p.addr)
	rc.echoOnce([]byte("third"))
	rc.closeHandshake()
	if got := parseRecording(t, waitRecording(t, base+".3")); len(got) < 2 {
		t.Fatalf("second recording has %d entries", len(got))
	}
}

// TestRecordNoOverwrite: an existing FILE.N, or a link in its place, is
// never written; that session is closed with 1011 before the target is
// dialled, and later sessions record as usual.
func TestRecordNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "rec")
	victim := filepath.Join(dir, "victim")
	for name, data := range map[string]string{base + ".1": "precious\n", victim: "victim\n"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(victim, base+".2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "dangling"), base+".3"); err != nil {
		t.Fatal(err)
	}
	be, conns := recordingBackend(t, true)
	p := startProxy(t, "--record", base, "127.0.0.1:0", be.addr())

	for i := 1; i <= 3; i++ {
		rc := dialRaw(t, p.addr)
		code, reason, data := rc.expectClose(10 * time.Second)
		if code != 1011 || len(data) != 0 {
			t.Fatalf("session %d over an existing file: close %d %q after %d bytes; want 1011", i, code, reason, len(data))
		}
		rc.send(frame(true, 0, 8, closePayload(1000, ""), true))
		rc.expectTCPClose(5 * time.Second)
	}
	for name, want := range map[string]string{base + ".1": "precious\n", victim: "victim\n"} {
		if b, err := os.ReadFile(name); err != nil || string(b) != want {
			t.Fatalf("%s changed: %q %v", name, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "dangling")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a dangling link was followed: %v", err)
	}
	select {
	case <-conns:
		t.Fatal("the target was dialled for a session that cannot be recorded")
	default:
	}
	p.stderr.waitFor(t, reMust(`cannot record the session`), 5*time.Second)

	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("fourth"))
	rc.closeHandshake()
	nextConn(t, conns)
	parseRecording(t, waitRecording(t, base+".4"))
	checkMode0600(t, base+".4")
}

// TestRecordUmask: recordings are 0600 whatever the umask.
func TestRecordUmask(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "rec")
	args := []string{"--record", base, "127.0.0.1:0", startBackend(t, nil).addr()}
	p := startProxyCmd(t, func(c *exec.Cmd) {
		c.Path = "/bin/sh"
		c.Args = append([]string{"sh", "-c", `umask 000 && exec "$0" "$@"`, wsBinary}, args...)
	}, args...)
	p.addr = p.stderr.waitFor(t, listenRE, 20*time.Second)[1]
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Umask:\s+0000$`).Match(status) {
		t.Fatalf("websockify does not run with umask 0:\n%s", status)
	}
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("umask 0"))
	rc.closeHandshake()
	waitRecording(t, base+".1")
	checkMode0600(t, base+".1")
}
