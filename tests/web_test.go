package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// httpConn sends raw HTTP/1.1 requests over one connection, so that paths
// reach the server exactly as written and keep-alive can be observed.
type httpConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialHTTP(t testing.TB, addr string) *httpConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &httpConn{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends one request with extra header lines and reads the whole
// response (no body for HEAD, 304 and the like).
func (h *httpConn) do(method, target string, extra ...string) (*http.Response, []byte) {
	h.t.Helper()
	h.c.SetDeadline(time.Now().Add(20 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n"
	for _, e := range extra {
		req += e + "\r\n"
	}
	if _, err := io.WriteString(h.c, req+"\r\n"); err != nil {
		h.t.Fatalf("%s %s: write: %v", method, target, err)
	}
	resp, err := http.ReadResponse(h.br, &http.Request{Method: method})
	if err != nil {
		h.t.Fatalf("%s %s: read response: %v", method, target, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	resp.Body.Close()
	return resp, body
}

// get makes one request on a new connection.
func get(t testing.TB, addr, method, target string, extra ...string) (*http.Response, []byte) {
	t.Helper()
	return dialHTTP(t, addr).do(method, target, extra...)
}

// webRoot builds a directory to serve, with files of several types, a
// directory with an index, one without, dotfiles, and links inside and
// out of the root.
func webRoot(t testing.TB) (string, map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	files := map[string][]byte{
		"index.html":      []byte("<!DOCTYPE html><title>home</title>\n"),
		"app.js":          []byte("console.log('hello');\n"),
		"mod.wasm":        {0, 'a', 's', 'm', 1, 0, 0, 0},
		"pic.svg":         []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`),
		"blob.unknownext": []byte("opaque"),
		"big.bin":         randBytes(3<<20 + 17),
		"sub/index.html":  []byte("sub index\n"),
		"list/a.txt":      []byte("a\n"),
		"list/b.txt":      []byte("b\n"),
		"list/.hidden":    []byte("TOPSECRET hidden\n"),
		".secret":         []byte("TOPSECRET dotfile\n"),
		".git/config":     []byte("[core] TOPSECRET\n"),
		"evil.com/x.txt":  []byte("x\n"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"passwd":   "/etc/passwd",
		"etc":      "/etc",
		"list/up":  "../../",
		"alias.js": "app.js",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root, files
}

// leaked reports whether body shows content that must never be served.
func leaked(body []byte) bool {
	return bytes.Contains(body, []byte("TOPSECRET")) || bytes.Contains(body, []byte("root:"))
}

// TestWebFiles: --web serves files with their types, index files,
// redirects, 304, HEAD and keep-alive, on the WebSocket port, over TLS too.
func TestWebFiles(t *testing.T) {
	root, files := webRoot(t)
	k := newPKI(t)
	self := k.path("self.pem")
	k.selfPEM(self, "localhost")
	p := startProxy(t, "--web", root, "--cert", self, "127.0.0.1:0", startBackend(t, nil).addr())
	p.stderr.waitFor(t, reMust(`(?m)^  - Web server\. Web root: `+regexp.QuoteMeta(root)+`$`), 5*time.Second)

	t.Run("index", func(t *testing.T) {
		for _, path := range []string{"/", "/index.html", "/?query=1"} {
			resp, body := get(t, p.addr, "GET", path)
			if resp.StatusCode != 200 || !bytes.Equal(body, files["index.html"]) {
				t.Fatalf("GET %s: %d %q", path, resp.StatusCode, trunc(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
		}
		resp, body := get(t, p.addr, "GET", "/sub/")
		if resp.StatusCode != 200 || !bytes.Equal(body, files["sub/index.html"]) {
			t.Fatalf("GET /sub/: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("types", func(t *testing.T) {
		for name, want := range map[string]string{
			"app.js":          "text/javascript; charset=utf-8",
			"mod.wasm":        "application/wasm",
			"pic.svg":         "image/svg+xml",
			"blob.unknownext": "application/octet-stream",
			"alias.js":        "text/javascript; charset=utf-8",
		} {
			resp, body := get(t, p.addr, "GET", "/"+name)
			data := files[name]
			if name == "alias.js" {
				data = files["app.js"]
			}
			if resp.StatusCode != 200 || !bytes.Equal(body, data) {
				t.Errorf("GET /%s: %d, %d bytes", name, resp.StatusCode, len(body))
				continue
			}
			if ct := resp.Header.Get("Content-Type"); ct != want {
				t.Errorf("GET /%s: Content-Type %q; want %q", name, ct, want)
			}
			if cl := resp.Header.Get("Content-Length"); cl != fmt.Sprint(len(data)) {
				t.Errorf("GET /%s: Content-Length %q; want %d", name, cl, len(data))
			}
			if resp.Header.Get("Last-Modified") == "" {
				t.Errorf("GET /%s: no Last-Modified", name)
			}
		}
		resp, body := get(t, p.addr, "GET", "/big.bin")
		if resp.StatusCode != 200 || !bytes.Equal(body, files["big.bin"]) {
			t.Fatalf("GET /big.bin: %d, %d bytes; want %d", resp.StatusCode, len(body), len(files["big.bin"]))
		}
	})

	t.Run("head-and-keep-alive", func(t *testing.T) {
		h := dialHTTP(t, p.addr)
		resp, body := h.do("HEAD", "/app.js")
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Fatalf("HEAD: %d with %d body bytes", resp.StatusCode, len(body))
		}
		if cl := resp.Header.Get("Content-Length"); cl != fmt.Sprint(len(files["app.js"])) {
			t.Fatalf("HEAD: Content-Length %q", cl)
		}
		// Had HEAD sent a body, this response would not parse.
		resp, body = h.do("GET", "/pic.svg")
		if resp.StatusCode != 200 || !bytes.Equal(body, files["pic.svg"]) {
			t.Fatalf("second request on the connection: %d %q", resp.StatusCode, body)
		}
		resp, _ = h.do("GET", "/index.html")
		if resp.StatusCode != 200 {
			t.Fatalf("third request: %d", resp.StatusCode)
		}
		// And a WebSocket session on the same connection, on a path that is
		// also a file.
		rc, resp := rawHandshakeOn(t, h.c)
		if resp.StatusCode != 101 {
			t.Fatalf("upgrade after keep-alive requests: %d", resp.StatusCode)
		}
		rc.echoOnce([]byte("after three requests"))
	})

	t.Run("not-modified", func(t *testing.T) {
		resp, _ := get(t, p.addr, "GET", "/app.js")
		lm := resp.Header.Get("Last-Modified")
		if _, err := http.ParseTime(lm); err != nil {
			t.Fatalf("Last-Modified %q: %v", lm, err)
		}
		h := dialHTTP(t, p.addr)
		resp, body := h.do("GET", "/app.js", "If-Modified-Since: "+lm)
		if resp.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("If-Modified-Since = Last-Modified: %d with %d bytes; want 304", resp.StatusCode, len(body))
		}
		resp, body = h.do("GET", "/app.js", "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT")
		if resp.StatusCode != 200 || !bytes.Equal(body, files["app.js"]) {
			t.Fatalf("old If-Modified-Since: %d", resp.StatusCode)
		}
		resp, _ = h.do("GET", "/app.js", "If-Modified-Since: "+lm, `If-None-Match: "x"`)
		if resp.StatusCode != 200 {
			t.Fatalf("If-None-Match present: %d; want 200", resp.StatusCode)
		}
	})

	t.Run("redirects", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/sub", "/sub/"},
			{"/sub?a=1&b=2", "/sub/?a=1&b=2"},
			{"/list", "/list/"},
			{"//sub", "/sub/"},
			{"//evil.com", "/evil.com/"},
			{"///evil.com", "/evil.com/"},
			{"/%2Fevil.com", "/evil.com/"},
			{"/%2F%2Fevil.com", "/evil.com/"},
			{"//evil.com?x=//y", "/evil.com/?x=//y"},
		} {
			resp, body := get(t, p.addr, "GET", tc.path)
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("GET %s: Location %q names another host", tc.path, loc)
			}
			if resp.StatusCode != 301 || loc != tc.want || len(body) != 0 {
				t.Errorf("GET %s: %d Location %q (%d bytes); want 301 %q", tc.path, resp.StatusCode, loc, len(body), tc.want)
			}
		}
		// Whatever the status, no answer points elsewhere.
		for _, path := range []string{"//evil.com/%2F..", "/\\evil.com", "//evil.com/", "/%5Cevil.com"} {
			resp, _ := get(t, p.addr, "GET", path)
			if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("GET %s: %d Location %q", path, resp.StatusCode, loc)
			}
		}
	})

	t.Run("methods", func(t *testing.T) {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			resp, _ := get(t, p.addr, m, "/app.js", "Content-Length: 0")
			if resp.StatusCode != 405 {
				t.Errorf("%s: %d; want 405", m, resp.StatusCode)
			}
			if a := resp.Header.Get("Allow"); !strings.Contains(a, "GET") {
				t.Errorf("%s: Allow %q", m, a)
			}
		}
		// A POST body is read and discarded: the next request on the
		// connection is answered.
		h := dialHTTP(t, p.addr)
		io.WriteString(h.c, "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello=world")
		resp, err := http.ReadResponse(h.br, nil)
		if err != nil || resp.StatusCode != 405 {
			t.Fatalf("POST with a body: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.Close {
			t.Log("405 closes the connection")
		} else if resp, body := h.do("GET", "/app.js"); resp.StatusCode != 200 || !bytes.Equal(body, files["app.js"]) {
			t.Fatalf("GET after POST: %d %q", resp.StatusCode, body)
		}
		if resp, _ := get(t, p.addr, "TRACE", "/"); resp.StatusCode != 501 {
			t.Errorf("TRACE: %d; want 501", resp.StatusCode)
		}
	})

	t.Run("listing", func(t *testing.T) {
		resp, body := get(t, p.addr, "GET", "/list/")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("listing: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		s := string(body)
		for _, want := range []string{"Directory listing for /list/", `href="a.txt"`, `href="b.txt"`} {
			if !strings.Contains(s, want) {
				t.Errorf("listing lacks %q:\n%s", want, s)
			}
		}
		for _, bad := range []string{".hidden", `href="up`} {
			if strings.Contains(s, bad) {
				t.Errorf("listing shows %q:\n%s", bad, s)
			}
		}
	})

	t.Run("traversal", func(t *testing.T) {
		for _, path := range []string{
			"/../etc/passwd",
			"/../../../../etc/passwd",
			"/%2e%2e/%2e%2e/etc/passwd",
			"/%2e%2e/",
			"/..%2f..%2fetc/passwd",
			"/..%2F..%2F..%2Fetc%2Fpasswd",
			"/sub/../../etc/passwd",
			"//etc/passwd",
			"/etc/passwd",
			"/passwd",
			"/etc/",
			"/list/up/etc/passwd",
			"/list/up/",
			"/.secret",
			"/%2esecret",
			"/.git/config",
			"/list/.hidden",
			"/app.js%00.html",
			"/app.js/",
			"/nonexistent",
		} {
			for _, m := range []string{"GET", "HEAD"} {
				resp, body := get(t, p.addr, m, path)
				if resp.StatusCode != 404 || leaked(body) {
					t.Errorf("%s %s: %d %q; want 404", m, path, resp.StatusCode, trunc(body))
				}
			}
		}
		p.stderr.waitFor(t, reMust(`HTTP error method=GET path=/\.secret status=404`), 5*time.Second)
	})

	t.Run("upgrade-on-file-path", func(t *testing.T) {
		for _, path := range []string{"/app.js", "/sub/", "/list"} {
			rc, resp := rawHandshake(t, p.addr, path)
			if resp.StatusCode != 101 {
				t.Fatalf("upgrade on %s: %d; want 101", path, resp.StatusCode)
			}
			rc.echoOnce([]byte("ws on " + path))
			rc.closeHandshake()
		}
	})

	t.Run("https", func(t *testing.T) {
		resp, err := httpsClient(pinned(t, self)).Get("https://" + p.addr + "/app.js")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, files["app.js"]) || resp.TLS == nil {
			t.Fatalf("https GET: %d %q", resp.StatusCode, body)
		}
	})
}

// TestWebFileOnly: --file-only replaces listings with 404 and still serves
// index files and plain files.
func TestWebFileOnly(t *testing.T) {
	root, files := webRoot(t)
	p := startProxy(t, "--web", root, "--file-only", "127.0.0.1:0", startBackend(t, nil).addr())
	p.stderr.waitFor(t, reMust(`Web server \(no directory listings\)\. Web root: `), 5*time.Second)
	for _, tc := range []struct {
		path   string
		status int
		body   []byte
	}{
		{"/list/", 404, nil},
		{"/evil.com/", 404, nil},
		{"/", 200, files["index.html"]},
		{"/sub/", 200, files["sub/index.html"]},
		{"/list/a.txt", 200, files["list/a.txt"]},
	} {
		resp, body := get(t, p.addr, "GET", tc.path)
		if resp.StatusCode != tc.status || (tc.body != nil && !bytes.Equal(body, tc.body)) {
			t.Errorf("GET %s: %d %q; want %d", tc.path, resp.StatusCode, trunc(body), tc.status)
		}
		if tc.status == 404 && strings.Contains(string(body), "a.txt") {
			t.Errorf("GET %s: 404 page lists files: %s", tc.path, body)
		}
	}
}

// TestWebRootSecrets: the certificate and key may lie in the web root
// (noVNC's launcher serves the directory that holds self.pem): they are
// never served under any spelling nor listed, with one warning at start.
// A web root that holds the recordings is refused at startup.
func TestWebRootSecrets(t *testing.T) {
	k := newPKI(t)
	be := startBackend(t, nil).addr()
	root := t.TempDir()
	self := filepath.Join(root, "self.pem")
	k.selfPEM(self, "localhost")
	caCrt, caKey := k.ca("ca")
	crt, key := k.leaf("srv", "srv", "ec", 1, caCrt, caKey)
	keyInRoot := filepath.Join(root, "sub", "server.key")
	os.MkdirAll(filepath.Dir(keyInRoot), 0o755)
	replaceFile(t, key, keyInRoot)
	os.WriteFile(filepath.Join(root, "vnc.html"), []byte("<p>vnc</p>\n"), 0o644)
	os.Symlink("self.pem", filepath.Join(root, "sub", "cert-link.pem"))
	os.Symlink(root, filepath.Join(k.dir, "rootlink"))

	for name, tc := range map[string]struct {
		args   []string
		hidden []string
	}{
		"cert":     {[]string{"--web", root, "--cert", self}, []string{"/self.pem", "/./self.pem", "/%73elf.pem", "/sub/../self.pem", "/sub/cert-link.pem", "//self.pem"}},
		"key":      {[]string{"--web", root, "--cert", crt, "--key", keyInRoot}, []string{"/sub/server.key", "/sub/%73erver.key", "/sub/./server.key"}},
		"web-dot":  {[]string{"--web", "."}, []string{"/self.pem", "/%73elf.pem"}}, // the default self.pem in the working directory
		"web-link": {[]string{"--web", filepath.Join(k.dir, "rootlink"), "--cert", self}, []string{"/self.pem", "/sub/cert-link.pem"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := startProxyCmd(t, func(c *exec.Cmd) { c.Dir = root }, append(tc.args, "127.0.0.1:0", be)...)
			p.addr = p.stderr.waitFor(t, listenRE, 10*time.Second)[1]
			if n := strings.Count(p.stderr.String(), "never served (404) nor listed"); n != 1 {
				t.Errorf("%d warnings about the secret in the web root; want 1:\n%s", n, p.stderr)
			}
			for _, path := range tc.hidden {
				resp, body := get(t, p.addr, "GET", path)
				if resp.StatusCode != 404 || bytes.Contains(body, []byte("PRIVATE KEY")) || bytes.Contains(body, []byte("CERTIFICATE")) {
					t.Errorf("GET %s: %d %q", path, resp.StatusCode, trunc(body))
				}
			}
			for _, dir := range []string{"/", "/sub/"} {
				resp, body := get(t, p.addr, "GET", dir)
				secret := [][]byte{[]byte("self.pem"), []byte("cert-link.pem")}
				if name == "key" {
					secret = [][]byte{[]byte("server.key")}
				}
				if resp.StatusCode != 200 || slices.ContainsFunc(secret, func(b []byte) bool { return bytes.Contains(body, b) }) {
					t.Errorf("listing of %s: %d\n%s", dir, resp.StatusCode, body)
				}
			}
			if resp, body := get(t, p.addr, "GET", "/vnc.html"); resp.StatusCode != 200 || string(body) != "<p>vnc</p>\n" {
				t.Errorf("GET /vnc.html: %d %q", resp.StatusCode, body)
			}
		})
	}
	t.Run("record", func(t *testing.T) {
		p := startProxyCmd(t, nil, "--web", root, "--record", filepath.Join(root, "rec", "session"), "127.0.0.1:0", be)
		if st := p.wait(20 * time.Second); st == 0 {
			t.Fatalf("exit status 0; stderr:\n%s", p.stderr.String())
		}
		stderr := p.stderr.String()
		if !strings.Contains(stderr, "refusing to serve") || strings.Contains(stderr, "Listen on") {
			t.Fatalf("stderr does not refuse the web root before listening:\n%s", stderr)
		}
	})

	// The same certificate outside the root is fine.
	p := startProxy(t, "--web", root, "--cert", crt, "--key", key, "127.0.0.1:0", be)
	resp, _ := get(t, p.addr, "GET", "/self.pem")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /self.pem (not the server's key): %d", resp.StatusCode)
	}
}
