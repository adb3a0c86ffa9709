package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileHeaders(t *testing.T) {
	root := tree(t)
	mtime := time.Date(2025, 6, 7, 8, 9, 10, 500e6, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "hello.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, root, Options{})
	w := do(t, h, "GET", "/hello.txt?cache=1")
	if w.code != 200 || w.body.String() != "hello\n" {
		t.Fatalf("%d %q", w.code, w.body.String())
	}
	want := map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"Content-Length":         "6",
		"Last-Modified":          "Sat, 07 Jun 2025 08:09:10 GMT",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := w.header.Get(k); got != v {
			t.Errorf("%s: %q; want %q", k, got, v)
		}
	}

	head := do(t, h, "HEAD", "/hello.txt")
	if head.code != 200 || head.body.Len() != 0 || head.header.Get("Content-Length") != "6" {
		t.Fatalf("HEAD: %d %q %v", head.code, head.body.String(), head.header)
	}
}

func TestIfModifiedSince(t *testing.T) {
	root := tree(t)
	mtime := time.Date(2025, 6, 7, 8, 9, 10, 500e6, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "hello.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, root, Options{})
	tests := []struct {
		headers []string
		code    int
	}{
		{[]string{"If-Modified-Since: Sat, 07 Jun 2025 08:09:10 GMT"}, 304},
		{[]string{"If-Modified-Since: Sun, 08 Jun 2025 00:00:00 GMT"}, 304},
		{[]string{"If-Modified-Since: Sat, 07 Jun 2025 08:09:09 GMT"}, 200},
		{[]string{"If-Modified-Since: yesterday"}, 200},
		{[]string{"If-Modified-Since: Sun, 08 Jun 2025 00:00:00 GMT", `If-None-Match: "x"`}, 200},
	}
	for _, tc := range tests {
		for _, m := range []string{"GET", "HEAD"} {
			w := do(t, h, m, "/hello.txt", tc.headers...)
			if w.code != tc.code {
				t.Errorf("%s %v: %d; want %d", m, tc.headers, w.code, tc.code)
			}
			if w.code == 304 && w.body.Len() != 0 {
				t.Errorf("304 with a body")
			}
		}
	}
}

func TestContentTypes(t *testing.T) {
	h := newHandler(t, tree(t), Options{})
	for name, want := range map[string]string{
		"/app.js":    "text/javascript; charset=utf-8",
		"/mod.mjs":   "text/javascript; charset=utf-8",
		"/x.wasm":    "application/wasm",
		"/pic.svg":   "image/svg+xml",
		"/style.CSS": "text/css; charset=utf-8",
		"/noext":     "application/octet-stream",
		"/withhtm/":  "text/html; charset=utf-8",
	} {
		if got := do(t, h, "GET", name).header.Get("Content-Type"); got != want {
			t.Errorf("%s: %q; want %q", name, got, want)
		}
	}
	if got := contentType("a.unknownext"); got != "application/octet-stream" {
		t.Errorf("unknown: %q", got)
	}
}

func TestListing(t *testing.T) {
	root := tree(t)
	h := newHandler(t, root, Options{})
	w := do(t, h, "GET", "/dir/")
	if w.code != 200 || w.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %v", w.code, w.header)
	}
	body := w.body.String()
	for _, want := range []string{
		"<title>Directory listing for /dir/</title>",
		`<li><a href="a.txt">a.txt</a></li>`,
		`<li><a href="sp%20ace%26%3Cb%3E.txt">sp ace&amp;&lt;b&gt;.txt</a></li>`,
		`<li><a href="sub2/">sub2/</a></li>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	for _, bad := range []string{".hidden", "link-up"} {
		if strings.Contains(body, bad) {
			t.Errorf("listing shows %s:\n%s", bad, body)
		}
	}

	top := do(t, h, "GET", "/").body.String()
	for _, want := range []string{`<a href="link-in">link-in@</a>`, `<a href="link-dir/">link-dir@</a>`, `<a href="dir/">dir/</a>`} {
		if !strings.Contains(top, want) {
			t.Errorf("root listing lacks %s:\n%s", want, top)
		}
	}
	for _, bad := range []string{"link-out", "link-abs", "link-root", ".git", ".env", "dangling"} {
		if strings.Contains(top, bad) {
			t.Errorf("root listing shows %s", bad)
		}
	}
	// Sorted without regard to case.
	if strings.Index(top, "back") > strings.Index(top, "dir/") {
		t.Errorf("not sorted:\n%s", top)
	}

	if head := do(t, h, "HEAD", "/dir/"); head.code != 200 || head.body.Len() != 0 ||
		head.header.Get("Content-Length") != w.header.Get("Content-Length") {
		t.Fatalf("HEAD listing: %d %q %v", head.code, head.body.String(), head.header)
	}

	escaped := do(t, h, "GET", "/dir/sub2/?<script>").body.String()
	if strings.Contains(escaped, "<script>") {
		t.Fatal("query reflected unescaped")
	}
}

func TestFileOnly(t *testing.T) {
	h := newHandler(t, tree(t), Options{FileOnly: true})
	for target, code := range map[string]int{
		"/":           404,
		"/dir/":       404,
		"/withindex/": 200,
		"/dir/a.txt":  200,
		"/dir":        301,
	} {
		if w := do(t, h, "GET", target); w.code != code {
			t.Errorf("%s: %d; want %d", target, w.code, code)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Fatal("missing directory accepted")
	}
	h := newHandler(t, tree(t), Options{})
	h.Close()
	if w := do(t, h, "GET", "/hello.txt"); w.code != http.StatusNotFound {
		t.Fatalf("after Close: %d", w.code)
	}
}

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"a b/c":     "a%20b/c",
		"ü":         "%C3%BC",
		"a?b#c%d\"": "a%3Fb%23c%25d%22",
		"-_.~":      "-_.~",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("%q: %q; want %q", in, got, want)
		}
	}
}
