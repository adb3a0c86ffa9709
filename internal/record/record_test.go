package record

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		// The vector of reference-behaviour §7.1.
		{"\x00\x01\x02\x03\x04\x05\x06\x07'\\\x7f\x80\xff\t\n\r", `\x00\x01\x02\x03\x04\x05\x06\x07\'\\\x7f\x80\xff\t\n\r`},
		{`"quoted" it's`, `"quoted" it\'s`},
		{"RFB 003.008\n", `RFB 003.008\n`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := string(Escape(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("Escape(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
}

// TestEscapeAllBytes compares with the output of Python:
// bytes(range(256)).decode('latin-1').encode('unicode_escape') with ' escaped.
func TestEscapeAllBytes(t *testing.T) {
	want, err := os.ReadFile("testdata/allbytes.golden")
	if err != nil {
		t.Fatal(err)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if got := Escape(nil, all); !bytes.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// steppingClock advances by step at every reading.
func steppingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := t
		t = t.Add(step)
		return now
	}
}

func TestRecordFormat(t *testing.T) {
	base := filepath.Join(t.TempDir(), "session")
	r, err := open(base, 5, steppingClock(1500*time.Microsecond), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != base+".5" {
		t.Fatalf("name %q", r.Name())
	}
	r.TargetData([]byte("RFB 003.008\n"))
	r.ClientData([]byte("RFB 003.008\n"))
	r.ClientData([]byte{0, 'a', '\'', 0xff})
	r.TargetData(nil)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	r.ClientData([]byte("after close"))

	got, err := os.ReadFile(base + ".5")
	if err != nil {
		t.Fatal(err)
	}
	want := "var VNC_frame_data = [\n" +
		`'{1{RFB 003.008\n',` + "\n" +
		`'}3}RFB 003.008\n',` + "\n" +
		`'}4}\x00a\'\xff',` + "\n" +
		`'{6{',` + "\n" +
		"'EOF'];\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	fi, err := os.Stat(base + ".5")
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("mode %o; want 600", m)
	}
}

func TestOpenNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "rec")
	if err := os.WriteFile(base+".1", []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(base, 1, Options{}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), base+".1") {
		t.Fatalf("got %v; want ErrExists naming the file", err)
	}
	if b, _ := os.ReadFile(base + ".1"); string(b) != "keep" {
		t.Fatalf("file changed: %q", b)
	}
	// A symlink planted at the name is not followed.
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("safe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, base+".2"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(base, 2, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("symlink: got %v; want ErrExists", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "safe" {
		t.Fatalf("symlink target changed: %q", b)
	}
	// A dangling symlink too.
	if err := os.Symlink(filepath.Join(dir, "nowhere"), base+".3"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(base, 3, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("dangling symlink: got %v; want ErrExists", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Fatal("file created through a dangling symlink")
	}
	if _, err := Open(filepath.Join(dir, "missing", "rec"), 1, Options{}); err == nil || errors.Is(err, ErrExists) {
		t.Fatalf("missing directory: got %v", err)
	}
}

func TestRecordConcurrent(t *testing.T) {
	base := filepath.Join(t.TempDir(), "rec")
	r, err := Open(base, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var wg sync.WaitGroup
	for _, f := range []func([]byte){r.ClientData, r.TargetData} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				f([]byte("0123456789"))
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(base + ".1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2*n+2 {
		t.Fatalf("%d lines; want %d", len(lines), 2*n+2)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.HasSuffix(l, "}0123456789',") && !strings.HasSuffix(l, "{0123456789',") {
			t.Fatalf("torn line %q", l)
		}
	}
}

// TestRecordFullDisk: on a full file system (/dev/full stands in) a
// recording that cannot write its header fails at Open, and one that
// fails midway reports the failure once, through OnError.
func TestRecordFailureReported(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "rec")
	var reports []error
	r, err := Open(base, 1, Options{OnError: func(err error) { reports = append(reports, err) }})
	if err != nil {
		t.Fatal(err)
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err) // Linux always has it
	}
	r.mu.Lock()
	r.f.Close()
	r.f = full
	r.w.Reset(full)
	r.mu.Unlock()
	big := make([]byte, 64<<10) // more than the buffer: written through
	r.ClientData(big)
	r.TargetData(big)
	if err := r.Close(); err == nil || !strings.Contains(err.Error(), base+".1") {
		t.Fatalf("Close = %v; want the write error naming the file", err)
	}
	if len(reports) != 1 || !strings.Contains(reports[0].Error(), "no space left") {
		t.Fatalf("reports %v; want one, the full disk", reports)
	}
}
