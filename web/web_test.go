package web

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawWriter is as small as the gateway's response writer: headers, a
// status and a body, nothing of net/http's server.
type rawWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *rawWriter) Header() http.Header { return w.header }

func (w *rawWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *rawWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

const secret = "outside the root"

// tree builds a web root and returns its path. Next to it lies secret.txt,
// which must never be served.
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "www")
	files := map[string]string{
		"hello.txt":             "hello\n",
		"app.js":                "alert(1)",
		"mod.mjs":               "export {}",
		"x.wasm":                "\x00asm",
		"pic.svg":               "<svg/>",
		"noext":                 "data",
		"style.CSS":             "p{}",
		".env":                  "SECRET=1",
		".git/config":           "[core]",
		"dir/a.txt":             "a",
		"dir/sp ace&<b>.txt":    "b",
		"dir/sub2/z.txt":        "z",
		"dir/.hidden":           "h",
		"withindex/index.html":  "<p>index</p>",
		"withindex/other.txt":   "o",
		"withhtm/index.htm":     "<p>htm</p>",
		"evil.com/x.txt":        "x",
		"back\\slash/x.txt":     "x",
		"indexdir/index.html/x": "index.html is a directory here",
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"link-in":     "hello.txt",
		"link-dir":    "dir",
		"link-out":    "../secret.txt",
		"link-abs":    filepath.Join(base, "secret.txt"),
		"link-root":   "/",
		"dir/link-up": "../../secret.txt",
		"dangling":    "nowhere",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func newHandler(t *testing.T, root string, o Options) *Handler {
	t.Helper()
	h, err := New(root, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// do sends a raw request line and headers through http.ReadRequest, as the
// gateway parses them.
func do(t *testing.T, h http.Handler, method, target string, headers ...string) *rawWriter {
	t.Helper()
	raw := method + " " + target + " HTTP/1.1\r\nHost: example.test\r\n"
	for _, hd := range headers {
		raw += hd + "\r\n"
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	w := &rawWriter{header: make(http.Header)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, req)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s %s: handler blocked", method, target)
	}
	if cl := w.header.Get("Content-Length"); w.code != http.StatusNotModified &&
		(cl == "" || method != http.MethodHead && cl != strconv.Itoa(w.body.Len())) {
		t.Fatalf("%s %s: Content-Length %q for a %d-byte body", method, target, cl, w.body.Len())
	}
	if strings.Contains(w.body.String(), secret) {
		t.Fatalf("%s %s: served the secret", method, target)
	}
	return w
}

func TestTraversal(t *testing.T) {
	h := newHandler(t, tree(t), Options{})
	tests := []struct {
		target   string
		code     int
		location string
		body     string
	}{
		{"/../secret.txt", 404, "", ""},
		{"/%2e%2e/secret.txt", 404, "", ""},
		{"/%2E%2E/secret.txt", 404, "", ""},
		{"/..%2fsecret.txt", 404, "", ""},
		{"/%2e%2e%2fsecret.txt", 404, "", ""},
		{"/dir/..%2f..%2fsecret.txt", 404, "", ""},
		{"/dir/../hello.txt", 404, "", ""},
		{"/./hello.txt", 404, "", ""},
		{"/hello.txt%00.html", 404, "", ""},
		{"/%00", 404, "", ""},
		{"/.env", 404, "", ""},
		{"/.git/config", 404, "", ""},
		{"/.git/", 404, "", ""},
		{"/dir/.hidden", 404, "", ""},
		{"/link-out", 404, "", ""},
		{"/link-abs", 404, "", ""},
		{"/link-root/etc/passwd", 404, "", ""},
		{"/dir/link-up", 404, "", ""},
		{"/dangling", 404, "", ""},
		{"/fifo", 404, "", ""},
		{"/hello.txt/", 404, "", ""},
		{"/missing", 404, "", ""},
		{"//evil.com/%2F..", 404, "", ""},
		{"//evil.com/%2f%2e%2e", 404, "", ""},
		{"//evil.com", 301, "/evil.com/", ""},
		{"///evil.com", 301, "/evil.com/", ""},
		{"//evil.com?q=//x", 301, "/evil.com/?q=//x", ""},
		{"/back%5Cslash", 301, "/back%5Cslash/", ""},
		{"/dir", 301, "/dir/", ""},
		{"/dir?a=1&b=%2F", 301, "/dir/?a=1&b=%2F", ""},
		{"//dir//sub2", 301, "/dir/sub2/", ""},
		{"http://other.host/dir", 301, "/dir/", ""},
		{"/link-in", 200, "", "hello\n"},
		{"/link-dir/a.txt", 200, "", "a"},
		{"//hello.txt", 200, "", "hello\n"},
		{"/dir//a.txt", 200, "", "a"},
		{"/dir/sp%20ace%26%3Cb%3E.txt", 200, "", "b"},
		{"/withindex/", 200, "", "<p>index</p>"},
		{"/withhtm/", 200, "", "<p>htm</p>"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			w := do(t, h, "GET", tc.target)
			if w.code != tc.code {
				t.Fatalf("status %d; want %d (body %q)", w.code, tc.code, w.body.String())
			}
			loc := w.header.Get("Location")
			if loc != tc.location {
				t.Fatalf("Location %q; want %q", loc, tc.location)
			}
			if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Fatalf("open redirect: %q", loc)
			}
			if tc.body != "" && w.body.String() != tc.body {
				t.Fatalf("body %q; want %q", w.body.String(), tc.body)
			}
		})
	}
}

func TestIndexThatIsADirectory(t *testing.T) {
	h := newHandler(t, tree(t), Options{FileOnly: true})
	if w := do(t, h, "GET", "/indexdir/"); w.code != 404 {
		t.Fatalf("status %d; want 404", w.code)
	}
}

func TestMethods(t *testing.T) {
	h := newHandler(t, tree(t), Options{})
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		w := do(t, h, m, "/hello.txt", "Content-Length: 0")
		if w.code != 405 || w.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow=%q", m, w.code, w.header.Get("Allow"))
		}
	}
	for _, m := range []string{"TRACE", "PROPFIND", "FOO"} {
		w := do(t, h, m, "/hello.txt")
		if w.code != 501 || !strings.Contains(w.body.String(), "Unsupported method (&#39;"+m+"&#39;)") {
			t.Errorf("%s: %d %q", m, w.code, w.body.String())
		}
	}
}

func TestLinkToDotfileRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".secret"), []byte("s"), 0o600)
	os.Mkdir(filepath.Join(dir, "list"), 0o755)
	os.Symlink("../.secret", filepath.Join(dir, "list", "ref"))
	h, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/list/ref", nil))
	if rec.Code != 404 {
		t.Fatalf("status %d; want 404", rec.Code)
	}
}
