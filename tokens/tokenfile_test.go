package tokens

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func parseForTest(data ...string) (map[string]Target, string) {
	log, buf := testLogger()
	p := newTokenFileParser("SRC", log)
	for _, d := range data {
		p.parse([]byte(d))
	}
	return p.targets, buf.String()
}

func TestTokenFileParser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   string
		want   map[string]Target
		errors []int // lines with a logged syntax or target error
	}{
		{"reference simple", "testhost: remote_host:5900", map[string]Target{"testhost": tcp("remote_host:5900")}, nil},
		{"reference tab", "testhost:\tremote_host:5900\n", map[string]Target{"testhost": tcp("remote_host:5900")}, nil},
		{"no whitespace is an error", "tok:host:5900\n", map[string]Target{}, []int{1}},
		{"comment column 0 only", "#c: h:1\n #c: h:2\n", map[string]Target{" #c": tcp("h:2")}, nil},
		{"blank line is an error", "a: h:1\n\nb: h:2\n", map[string]Target{"a": tcp("h:1"), "b": tcp("h:2")}, []int{2}},
		{"token verbatim", "  Tok : h:1\n", map[string]Target{"  Tok ": tcp("h:1")}, nil},
		{"target trimmed", "a:    h:1   \n", map[string]Target{"a": tcp("h:1")}, nil},
		{"ipv6 unbracketed", "v6: ::1:5900\n", map[string]Target{"v6": tcp("[::1]:5900")}, nil},
		{"ipv6 bracketed", "v6: [::1]:5900\n", map[string]Target{"v6": tcp("[::1]:5900")}, nil},
		{"unix socket", "u: unix_socket:/run/x.sock\n", map[string]Target{"u": {Network: "unix", Address: "/run/x.sock"}}, nil},
		{"later wins", "a: h:1\na: h:2\n", map[string]Target{"a": tcp("h:2")}, nil},
		{"broken later entry drops it", "a: h:1\na: nope\n", map[string]Target{}, []int{2}},
		{"two separators", "a: b: h:1\n", map[string]Target{}, []int{1}},
		{"colon newline", "a: h:\n", map[string]Target{}, []int{1}},
		{"no inline comments", "a: h:1 # x\n", map[string]Target{}, []int{1}},
		{"crlf", "a: h:1\r\nb: h:2\r\n", map[string]Target{"a": tcp("h:1"), "b": tcp("h:2")}, nil},
		{"lone cr", "a: h:1\rb: h:2", map[string]Target{"a": tcp("h:1"), "b": tcp("h:2")}, nil},
		{"unicode space separator", "a:\u00a0h:1\n", map[string]Target{"a": tcp("h:1")}, nil},
		{"vertical tab and fs", "a:\vh:1\nb:\x1ch:2\n", map[string]Target{"a": tcp("h:1"), "b": tcp("h:2")}, nil},
		{"empty token", ": h:1\n", map[string]Target{"": tcp("h:1")}, nil},
		{"proxy_protocol option", "a: h:1 proxy_protocol=v2\nb: ::1:5900\tproxy_protocol=v1\nc: h:3 proxy_protocol=none\n",
			map[string]Target{"a": {Network: "tcp", Address: "h:1", ProxyProtocol: ProxyV2},
				"b": {Network: "tcp", Address: "[::1]:5900", ProxyProtocol: ProxyV1}, "c": {Network: "tcp", Address: "h:3", ProxyProtocol: ProxyNone}}, nil},
		{"bad proxy_protocol", "a: h:1 proxy_protocol=v3\nb: h:1 proxy_protocol=v1 proxy_protocol=v2\nc: h:1 other=1\n", map[string]Target{}, []int{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, log := parseForTest(tc.data)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("targets = %v; want %v", got, tc.want)
			}
			for _, n := range tc.errors {
				if !strings.Contains(log, fmt.Sprintf("in SRC on line %d", n)) {
					t.Errorf("no error logged for line %d; log:\n%s", n, log)
				}
			}
			if len(tc.errors) == 0 && strings.Contains(log, "level=ERROR") {
				t.Errorf("unexpected errors:\n%s", log)
			}
		})
	}
}

func TestTokenFileParserLineNumbersAcrossFiles(t *testing.T) {
	_, log := parseForTest("a: h:1\n# c\n", "b: h:2\nbad\n")
	if !strings.Contains(log, `msg="Syntax error in SRC on line 4"`) {
		t.Errorf("log:\n%s", log)
	}
}

func TestTokenFileDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "1.conf"), "testhost1: remote_host1:5901\n")
	writeFile(t, filepath.Join(dir, "2.conf"), "testhost2: remote_host2:5902\nbroken\n")
	writeFile(t, filepath.Join(dir, "sub", "3.conf"), "sub: h:1\n") // not recursive
	if err := os.Symlink("1.conf", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	log, buf := testLogger()
	for _, name := range []string{"TokenFile", "ReadOnlyTokenFile"} {
		p := mustNew(t, name, dir, Options{Logger: log})
		lookupOK(t, p, "testhost1", tcp("remote_host1:5901"))
		lookupOK(t, p, "testhost2", tcp("remote_host2:5902"))
		lookupErr(t, p, "sub", ErrNotFound)
		lookupErr(t, p, "nope", ErrNotFound)
	}
	// Errors name the file and the line in it.
	if want := fmt.Sprintf("Syntax error in %s on line 2", filepath.Join(dir, "2.conf")); !strings.Contains(buf.String(), want) {
		t.Errorf("want %q in log:\n%s", want, buf)
	}
}

// TestTokenFileDirectoryConfined: links in a token directory count only
// when they resolve inside it; one to a file elsewhere (/etc/passwd, a
// sibling directory) is ignored and logged by name.
func TestTokenFileDirectoryConfined(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "tokens")
	writeFile(t, filepath.Join(dir, "ok.conf"), "inside: h:1\n")
	writeFile(t, filepath.Join(base, "outside.conf"), "outside: h:2\n")
	for name, target := range map[string]string{
		"passwd":   "/etc/passwd",
		"sibling":  filepath.Join(base, "outside.conf"),
		"relative": "../outside.conf",
		"inner":    "ok.conf",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	log, buf := testLogger()
	p := mustNew(t, "TokenFile", dir, Options{Logger: log})
	lookupOK(t, p, "inside", tcp("h:1"))
	lookupErr(t, p, "outside", ErrNotFound)
	lookupErr(t, p, "root", ErrNotFound)
	out := buf.String()
	for _, name := range []string{"passwd", "sibling", "relative"} {
		if !strings.Contains(out, filepath.Join(dir, name)) {
			t.Errorf("the link %s is not named in the log:\n%s", name, out)
		}
	}
	if strings.Contains(out, "Syntax error") {
		t.Errorf("a file outside the directory was parsed:\n%s", out)
	}
}

func TestTokenFileReloads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	writeFile(t, file, "a: h:1\n")
	p := mustNew(t, "TokenFile", file, Options{})
	ro := mustNew(t, "ReadOnlyTokenFile", file, Options{})
	lookupOK(t, p, "a", tcp("h:1"))

	// Same size, rewritten at once: the racy window must catch it.
	writeFile(t, file, "a: h:2\n")
	lookupOK(t, p, "a", tcp("h:2"))
	lookupOK(t, ro, "a", tcp("h:1"))

	// An old mtime after the rewrite: size, inode or ctime must catch it.
	writeFile(t, file, "a: h:33\nb: h:4\n")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	lookupOK(t, p, "a", tcp("h:33"))
	lookupOK(t, p, "b", tcp("h:4"))
	lookupErr(t, ro, "b", ErrNotFound)

	// Replaced by rename.
	writeFile(t, file+".new", "c: h:5\n")
	if err := os.Rename(file+".new", file); err != nil {
		t.Fatal(err)
	}
	lookupOK(t, p, "c", tcp("h:5"))
	lookupErr(t, p, "a", ErrNotFound)

	// Removed: a backend failure, not "not found".
	os.Remove(file)
	lookupErr(t, p, "c", nil)
	lookupOK(t, ro, "a", tcp("h:1"))
}

func TestTokenFileDirectoryReloads(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a"), "a: h:1\n")
	p := mustNew(t, "TokenFile", dir, Options{})
	lookupErr(t, p, "b", ErrNotFound)
	writeFile(t, filepath.Join(dir, "b"), "b: h:2\n")
	lookupOK(t, p, "b", tcp("h:2"))
	os.Remove(filepath.Join(dir, "a"))
	lookupErr(t, p, "a", ErrNotFound)
}

// TestTokenFileCaches checks that a settled file is not re-read.
func TestTokenFileCaches(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	writeFile(t, file, "a: h:1\n")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, "TokenFile", file, Options{})
	tf := p.(*tokenFile)
	before := tf.loadedAt
	for range 5 {
		lookupOK(t, p, "a", tcp("h:1"))
	}
	if !tf.loadedAt.Equal(before) {
		t.Error("settled file was re-read")
	}
}

func TestTokenFileConcurrent(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	writeFile(t, file, "a: h:1\n")
	p := mustNew(t, "TokenFile", file, Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if i == 0 && j%10 == 0 {
					// Writers must replace token files atomically; a
					// reader may see a half-written file otherwise.
					tmp := fmt.Sprintf("%s.%d", file, j)
					writeFile(t, tmp, fmt.Sprintf("a: h:%d\n", j+1))
					if err := os.Rename(tmp, file); err != nil {
						t.Error(err)
					}
				}
				if _, err := p.Lookup(context.Background(), "a"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTokenFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "big")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxTokenFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	log, _ := testLogger()
	if _, err := New("TokenFile", file, Options{Logger: log}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("New: %v", err)
	}
}
