package tests

// Token plugins end to end (reference-behaviour.md §4.1–4.4,
// threats-and-tests.md A1–A6, A13): the real binary with every
// --token-plugin, each token leading through a real target that names
// itself; refused tokens get their HTTP answer before the upgrade and no
// target is dialled; tokens never reach the logs in full.

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// namedTarget is an echo target that first sends its name and a newline,
// so that a client can tell which target a token led to. It counts the
// connections it accepted.
type namedTarget struct {
	name     string
	ln       net.Listener
	accepted atomic.Int64
}

// startNamed listens on network ("tcp4", "tcp6" or "unix") at address and
// serves as the target called name until the test ends.
func startNamed(t testing.TB, network, address, name string) *namedTarget {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, address, err)
	}
	nt := &namedTarget{name: name, ln: ln}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			nt.accepted.Add(1)
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if _, err := io.WriteString(c, name+"\n"); err == nil {
					io.Copy(c, c)
				}
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return nt
}

// tcpTarget is a named target on 127.0.0.1.
func tcpTarget(t testing.TB, name string) *namedTarget {
	t.Helper()
	return startNamed(t, "tcp4", "127.0.0.1:0", name)
}

func (nt *namedTarget) addr() string { return nt.ln.Addr().String() }

func (nt *namedTarget) port() int { return nt.ln.Addr().(*net.TCPAddr).Port }

// distinctToken is a long token that cannot appear in a log by accident.
func distinctToken(prefix string) string {
	return prefix + "-" + hex.EncodeToString(randBytes(16))
}

// q is a query carrying tok, escaped as a browser would.
func tq(tok string) string { return "/websockify?token=" + url.QueryEscape(tok) }

// wsOn sends a WebSocket handshake for path with the given Host header
// (none when empty) and extra header lines over c, and returns the client
// and the response; the body of a refusal is read into the returned
// slice. A 101 must carry the right Sec-WebSocket-Accept.
func wsOn(t testing.TB, c net.Conn, path, host string, extra ...string) (*rawConn, *http.Response, []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc, resp := handshakeOn(t, c, path, host, extra...)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return rc, resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read the %d body: %v", trunc([]byte(path)), resp.StatusCode, err)
	}
	return rc, resp, body
}

// wsTry dials the proxy and sends a handshake; host empty means the
// proxy's address.
func wsTry(t testing.TB, addr, path, host string, extra ...string) (*rawConn, *http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if host == "" {
		host = addr
	}
	return wsOn(t, c, path, host, extra...)
}

// throughTarget checks that an upgraded session reaches the target named
// want (its greeting comes first), echoes a payload and closes cleanly.
func throughTarget(t testing.TB, rc *rawConn, want string) {
	t.Helper()
	if got := string(rc.readData(len(want)+1, 20*time.Second)); got != want+"\n" {
		t.Fatalf("reached target %q; want %q", strings.TrimSpace(got), want)
	}
	rc.echoOnce([]byte("payload for " + want))
	rc.echoOnce(randBytes(70000))
	rc.closeHandshake()
}

// expectRoute checks that a handshake for path (extra header lines after
// it) is upgraded and leads to the target named want.
func expectRoute(t testing.TB, addr, path, want string, extra ...string) {
	t.Helper()
	expectRouteHost(t, addr, path, "", want, extra...)
}

func expectRouteHost(t testing.TB, addr, path, host, want string, extra ...string) {
	t.Helper()
	rc, resp, body := wsTry(t, addr, path, host, extra...)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("GET %s: status %d (%s); want 101 to %s", trunc([]byte(path)), resp.StatusCode, errMessage(body), want)
	}
	throughTarget(t, rc, want)
}

var messageRE = regexp.MustCompile(`<p>Message: (.*)\.</p>`)

// errMessage is the message of the gateway's HTML error page.
func errMessage(body []byte) string {
	if m := messageRE.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return string(trunc(body))
}

// expectRefusal checks that a handshake for path gets status with message
// msg (any when empty) before any upgrade, and that the server then closes
// the connection. It returns the response.
func expectRefusal(t testing.TB, addr, path string, status int, msg string, extra ...string) *http.Response {
	t.Helper()
	return expectRefusalHost(t, addr, path, "", status, msg, extra...)
}

func expectRefusalHost(t testing.TB, addr, path, host string, status int, msg string, extra ...string) *http.Response {
	t.Helper()
	rc, resp, body := wsTry(t, addr, path, host, extra...)
	if resp.StatusCode != status {
		if resp.StatusCode == http.StatusSwitchingProtocols {
			rc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
			f, _ := rc.readFrame()
			t.Fatalf("GET %s: upgraded (target said %q); want %d %s", trunc([]byte(path)), f.payload, status, msg)
		}
		t.Fatalf("GET %s: status %d (%s); want %d %s", trunc([]byte(path)), resp.StatusCode, errMessage(body), status, msg)
	}
	if msg != "" && errMessage(body) != msg {
		t.Fatalf("GET %s: status %d with message %q; want %q", trunc([]byte(path)), status, errMessage(body), msg)
	}
	// The message is the reason phrase too, as the reference sends it.
	if want := fmt.Sprintf("%d %s", status, msg); msg != "" && resp.Status != want {
		t.Fatalf("GET %s: status line %q; want %q", trunc([]byte(path)), resp.Status, want)
	}
	rc.expectTCPClose(10 * time.Second)
	return resp
}

// noTokensLogged checks that none of toks appears in the proxy's stderr.
func noTokensLogged(t testing.TB, p *proxy, toks ...string) {
	t.Helper()
	logs := p.stderr.String() + p.stdout.String()
	for _, tok := range toks {
		if strings.Contains(logs, tok) {
			t.Errorf("the token %q appears in the logs:\n%s", tok, logs)
		}
	}
}

// noDial checks that a target was never connected to.
func noDial(t testing.TB, targets ...*namedTarget) {
	t.Helper()
	for _, nt := range targets {
		if n := nt.accepted.Load(); n != 0 {
			t.Errorf("target %s was dialled %d times; want never", nt.name, n)
		}
	}
}

// writeAtomic replaces path with data by renaming a new file over it, as
// tokens/doc.go asks administrators to do.
func writeAtomic(t testing.TB, path, data string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runCLIEnv is runCLI with extra environment variables.
func runCLIEnv(t testing.TB, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(wsBinary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	st := runToExit(t, cmd, 20*time.Second, &out)
	return st, out.String()
}

// TestTokenFile: TokenFile with a file and with a directory; edits are
// seen by the next connection without a restart; syntax errors are
// logged with the line number; missing and unknown tokens are refused
// without a dial.
func TestTokenFile(t *testing.T) {
	tokA, tokB, tokNew := distinctToken("TFALPHA"), distinctToken("TFBRAVO"), distinctToken("TFNEW")

	t.Run("file", func(t *testing.T) {
		a, b, c := tcpTarget(t, "alpha"), tcpTarget(t, "bravo"), tcpTarget(t, "charlie")
		file := filepath.Join(t.TempDir(), "tokens.cfg")
		writeFile(t, file, "# comment: 127.0.0.1:1\n"+
			tokA+": "+a.addr()+"\n"+
			"broken:"+c.addr()+"\n"+ // no whitespace after the colon: line 3 is a syntax error
			tokB+":\t"+b.addr()+"\n")
		p := startProxy(t, "-v", "--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
		p.stderr.waitFor(t, reMust(`Syntax error in `+regexp.QuoteMeta(file)+` on line 3`), 10*time.Second)
		p.stderr.waitFor(t, reMust(`proxying from \S+ to targets generated by TokenFile`), 5*time.Second)

		expectRoute(t, p.addr, tq(tokA), "alpha")
		expectRoute(t, p.addr, "/any/path?x=1&token="+url.QueryEscape(tokB)+"&token=ignored", "bravo")
		expectRefusal(t, p.addr, "/websockify", 400, "Token not present")
		expectRefusal(t, p.addr, "/websockify?token=", 400, "Token not present")
		expectRefusal(t, p.addr, tq(tokNew), 404, "Token not found")
		expectRefusal(t, p.addr, tq("broken"), 404, "Token not found")
		noDial(t, c)

		// Replaced by rename: the next lookup sees the new table.
		writeAtomic(t, file, tokA+": "+b.addr()+"\n"+tokNew+": "+c.addr()+"\n")
		expectRoute(t, p.addr, tq(tokA), "bravo")
		expectRoute(t, p.addr, tq(tokNew), "charlie")
		expectRefusal(t, p.addr, tq(tokB), 404, "Token not found")

		// Rewritten in place with the same size, within the file system's
		// timestamp granularity: still seen.
		writeFile(t, file, tokA+": "+c.addr()+"\n"+tokNew+": "+a.addr()+"\n")
		expectRoute(t, p.addr, tq(tokA), "charlie")
		expectRoute(t, p.addr, tq(tokNew), "alpha")
		if p.exited() {
			t.Fatal("websockify exited")
		}
		noTokensLogged(t, p, tokA, tokB, tokNew)
	})

	t.Run("directory", func(t *testing.T) {
		a, b, c := tcpTarget(t, "alpha"), tcpTarget(t, "bravo"), tcpTarget(t, "charlie")
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.conf"), tokA+": "+a.addr()+"\n")
		writeFile(t, filepath.Join(dir, "b.conf"), "# b\n"+tokB+": "+b.addr()+"\nnot a token line\n")
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "sub", "c.conf"), tokNew+": "+c.addr()+"\n") // not recursive
		p := startProxy(t, "-v", "--token-plugin", "websockify.token_plugins.TokenFile", "--token-source", dir, "127.0.0.1:0")
		p.stderr.waitFor(t, reMust(`Syntax error in `+regexp.QuoteMeta(filepath.Join(dir, "b.conf"))+` on line 3`), 10*time.Second)

		expectRoute(t, p.addr, tq(tokA), "alpha")
		expectRoute(t, p.addr, tq(tokB), "bravo")
		expectRefusal(t, p.addr, tq(tokNew), 404, "Token not found")
		noDial(t, c)

		// A new file in the directory, and one removed.
		writeAtomic(t, filepath.Join(dir, "c.conf"), tokNew+": "+c.addr()+"\n")
		if err := os.Remove(filepath.Join(dir, "a.conf")); err != nil {
			t.Fatal(err)
		}
		expectRoute(t, p.addr, tq(tokNew), "charlie")
		expectRefusal(t, p.addr, tq(tokA), 404, "Token not found")
		expectRoute(t, p.addr, tq(tokB), "bravo")
		noTokensLogged(t, p, tokA, tokB, tokNew)
	})
}

// TestTokenReadOnlyTokenFile: the table is read once; edits are not seen.
func TestTokenReadOnlyTokenFile(t *testing.T) {
	a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
	tokA, tokNew := distinctToken("ROALPHA"), distinctToken("RONEW")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tokA+": "+a.addr()+"\n")
	p := startProxy(t, "-v", "--token-plugin", "ReadOnlyTokenFile", "--token-source", file, "127.0.0.1:0")
	expectRoute(t, p.addr, tq(tokA), "alpha")

	writeAtomic(t, file, tokA+": "+b.addr()+"\n"+tokNew+": "+b.addr()+"\n")
	expectRoute(t, p.addr, tq(tokA), "alpha")
	expectRefusal(t, p.addr, tq(tokNew), 404, "Token not found")
	writeFile(t, file, "") // in place, and even emptied
	expectRoute(t, p.addr, tq(tokA), "alpha")
	noDial(t, b)
	noTokensLogged(t, p, tokA, tokNew)
}

// TestTokenFileName: DIR/TOKEN holds the target, read on every lookup;
// tokens that are not one clean file name are refused (A3), even where
// the reference's basename rule would have found a file.
func TestTokenFileName(t *testing.T) {
	a, b, outside := tcpTarget(t, "alpha"), tcpTarget(t, "bravo"), tcpTarget(t, "outside")
	parent := t.TempDir()
	dir := filepath.Join(parent, "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tok := distinctToken("FNALPHA")
	writeFile(t, filepath.Join(dir, tok), a.addr()+"\n")
	writeFile(t, filepath.Join(parent, "x"), outside.addr())
	writeFile(t, filepath.Join(dir, "x"), "") // the basename of ../x: not reached either
	if err := os.Symlink(filepath.Join(parent, "x"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, "-v", "--token-plugin", "TokenFileName", "--token-source", dir, "127.0.0.1:0")

	expectRoute(t, p.addr, tq(tok), "alpha")
	writeAtomic(t, filepath.Join(dir, tok), b.addr())
	expectRoute(t, p.addr, tq(tok), "bravo")

	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"unknown", "nosuchtoken", 404},
		{"dot-dot-x", "../x", 403},
		{"slash", "a/b", 403},
		{"encoded dot-dot-slash", "%2e%2e%2fx", 403},
		{"double-encoded", "%252e%252e%252fx", 404},
		{"link out", "link", 403},
		{"nul", "x%00", 403},
		{"long", strings.Repeat("t", 300), 403},
		{"directory", "..", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectRefusal(t, p.addr, "/?token="+tc.query, tc.status, "")
		})
	}
	noDial(t, outside)
	noTokensLogged(t, p, tok)
}

// TestTokenUnixDomainSocketDirectory: a token names a Unix socket in the
// directory; the traversal table (A2) and a link to a socket outside are
// refused before any dial.
func TestTokenUnixDomainSocketDirectory(t *testing.T) {
	base, err := os.MkdirTemp("", "wsud") // short: socket paths have a 108-byte limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir, out := filepath.Join(base, "socks"), filepath.Join(base, "other")
	for _, d := range []string{dir, out, filepath.Join(dir, "subdir")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	const tok = "vm-0123456789abcdef" // a socket name: it is in the directory listing anyway
	startNamed(t, "unix", filepath.Join(dir, tok), "unix vm")
	outside := startNamed(t, "unix", filepath.Join(out, "x.sock"), "outside")
	if err := os.Symlink(filepath.Join(out, "x.sock"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../other/x.sock", filepath.Join(dir, "rellink")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "plainfile"), "127.0.0.1:1\n")

	p := startProxy(t, "-v", "--token-plugin", "UnixDomainSocketDirectory", "--token-source", dir, "127.0.0.1:0")
	expectRoute(t, p.addr, tq(tok), "unix vm")
	expectRoute(t, p.addr, tq(tok), "unix vm")

	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"../x", "../x", 403},
		{"escape to the other socket", "../other/x.sock", 403},
		{"a/b", "a/b", 403},
		{"%2e%2e%2f", "%2e%2e%2fother%2fx.sock", 403},
		{"%2e%2e%2f literal", "%252e%252e%252fother%252fx.sock", 404},
		{"..", "..", 403},
		{".", ".", 403},
		{"backslash", `..%5Cother%5Cx.sock`, 403},
		{"absolute", url.QueryEscape(filepath.Join(out, "x.sock")), 403},
		{"encoded NUL", tok + "%00", 403},
		{"NUL alone", "%00", 403},
		{"300 bytes", strings.Repeat("s", 300), 403},
		{"symlink to a socket outside", "link", 403},
		{"relative symlink outside", "rellink", 403},
		{"regular file", "plainfile", 404},
		{"directory", "subdir", 404},
		{"missing", "vm-missing", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectRefusal(t, p.addr, "/?token="+tc.query, tc.status, "")
		})
	}
	noDial(t, outside)
	if p.exited() {
		t.Fatal("websockify exited")
	}
}

// apiServer is a token API that records the request targets it saw.
type apiServer struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []string // RequestURI of each request
	reply func(w http.ResponseWriter, r *http.Request)
}

func startAPI(t testing.TB, reply func(w http.ResponseWriter, r *http.Request)) *apiServer {
	t.Helper()
	s := &apiServer{reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.RequestURI)
		s.mu.Unlock()
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		s.reply(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// take returns and forgets the request targets seen so far.
func (s *apiServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.seen
	s.seen = nil
	return seen
}

// TestTokenAPI: BaseTokenAPI and JSONTokenApi escape the token for its
// place in the URL (A4), ask the API exactly once per connection, take
// IPv6 targets, map API answers to 404/503, and fail with 503 when the
// API is down or slow.
func TestTokenAPI(t *testing.T) {
	a := tcpTarget(t, "alpha")
	v6 := startNamed(t, "tcp6", "[::1]:0", "six")
	// The reserved characters would rewrite the API URL if inserted raw.
	suffix := " /?#&%+=.."
	tokA, tok6, tok6b := distinctToken("APIALPHA")+suffix, distinctToken("APISIX"), distinctToken("APISIXB")
	tokMissing, tokBroken, tokSlow := distinctToken("APIMISSING"), distinctToken("APIBROKEN"), distinctToken("APISLOW")
	released := make(chan struct{})
	t.Cleanup(func() { close(released) })

	answers := func(isJSON bool) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := r.URL.Query().Get("t")
			if tok == "" {
				tok = strings.TrimPrefix(r.URL.Path, "/lookup/")
			}
			body := func(host string, port int) {
				if isJSON {
					json.NewEncoder(w).Encode(map[string]any{"host": host, "port": port})
				} else {
					fmt.Fprintf(w, "%s:%d", host, port)
				}
			}
			switch tok {
			case tokA:
				if isJSON {
					fmt.Fprintf(w, `{"host": "127.0.0.1", "port": "%d"}`, a.port()) // port as a string
				} else {
					body("127.0.0.1", a.port())
				}
			case tok6:
				body("::1", v6.port())
			case tok6b:
				body("[::1]", v6.port())
			case tokBroken:
				http.Error(w, "backend exploded", http.StatusInternalServerError)
			case tokSlow:
				select { // past the plugin's 5 s timeout
				case <-r.Context().Done():
				case <-released:
				case <-time.After(30 * time.Second):
				}
			default:
				http.NotFound(w, r)
			}
		}
	}

	for _, plugin := range []string{"BaseTokenAPI", "JSONTokenApi"} {
		t.Run(plugin, func(t *testing.T) {
			t.Parallel() // each waits out the plugin's 5 s API timeout once
			api := startAPI(t, answers(plugin == "JSONTokenApi"))
			for _, tpl := range []struct {
				name, source string
				want         func(tok string) string // the request target the API must see
			}{
				{"path", api.URL + "/lookup/%s", func(tok string) string { return "/lookup/" + url.PathEscape(tok) }},
				{"query", api.URL + "/lookup?t=%s&v=1", func(tok string) string { return "/lookup?t=" + url.QueryEscape(tok) + "&v=1" }},
			} {
				t.Run(tpl.name, func(t *testing.T) {
					p := startProxy(t, "-v", "--token-plugin", plugin, "--token-source", tpl.source, "127.0.0.1:0")
					api.take()
					expectRoute(t, p.addr, tq(tokA), "alpha")
					seen := api.take()
					if len(seen) != 1 || seen[0] != tpl.want(tokA) {
						t.Fatalf("the API saw %q; want exactly one request for %q", seen, tpl.want(tokA))
					}
					// The escaped form, spelled out once for the path case.
					if tpl.name == "path" && !strings.HasSuffix(seen[0], "%20%2F%3F%23&%25+=..") {
						t.Fatalf("the API saw %q: the token's reserved characters are not escaped for a path", seen[0])
					}
					if tpl.name == "query" && !strings.Contains(seen[0], "+%2F%3F%23%26%25%2B%3D..&v=1") {
						t.Fatalf("the API saw %q: the token's reserved characters are not escaped for a query", seen[0])
					}

					expectRoute(t, p.addr, tq(tok6), "six")
					expectRoute(t, p.addr, tq(tok6b), "six")
					api.take()
					expectRefusal(t, p.addr, tq(tokMissing), 404, "Token not found")
					expectRefusal(t, p.addr, tq(tokBroken), 503, "Token lookup failed")
					if seen := api.take(); len(seen) != 2 {
						t.Fatalf("the API saw %q; want one request per connection", seen)
					}
					expectRefusal(t, p.addr, "/websockify", 400, "Token not present")
					if seen := api.take(); len(seen) != 0 {
						t.Fatalf("the API was asked %q without a token", seen)
					}
					noTokensLogged(t, p, tokA, strings.TrimSuffix(tokA, suffix), tok6, tok6b, tokMissing, tokBroken)
				})
			}

			t.Run("slow", func(t *testing.T) {
				p := startProxy(t, "--token-plugin", plugin, "--token-source", api.URL+"/lookup/%s", "127.0.0.1:0")
				start := time.Now()
				expectRefusal(t, p.addr, tq(tokSlow), 503, "Token lookup failed")
				if d := time.Since(start); d < 3*time.Second || d > 15*time.Second {
					t.Fatalf("a hanging API was given up after %v; want the plugin's timeout (5 s)", d)
				}
				expectRoute(t, p.addr, tq(tokA), "alpha")
				noTokensLogged(t, p, tokSlow)
			})

			t.Run("api-down", func(t *testing.T) {
				down := httptest.NewServer(http.NotFoundHandler())
				source := down.URL + "/lookup/%s"
				down.Close()
				p := startProxy(t, "--token-plugin", plugin, "--token-source", source, "127.0.0.1:0")
				expectRefusal(t, p.addr, tq(tokA), 503, "Token lookup failed")
				noTokensLogged(t, p, tokA, strings.TrimSuffix(tokA, suffix))
			})
		})
	}
}

// rsaKey reads the RSA private key of a PEM file written by openssl.
func rsaKey(t testing.TB, file string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("no PEM in %s", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s holds a %T", file, k)
	}
	return rk
}

// jwtSigner makes compact JWS tokens; sign gets the signing input.
type jwtSigner struct {
	alg  string
	sign func(input []byte) []byte
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s jwtSigner) token(t testing.TB, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": s.alg, "typ": "JWT"})
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64u(h) + "." + b64u(c)
	return input + "." + b64u(s.sign([]byte(input)))
}

func rs256(t testing.TB, k *rsa.PrivateKey) jwtSigner {
	return jwtSigner{alg: "RS256", sign: func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}}
}

func hs256(key []byte) jwtSigner {
	return jwtSigner{alg: "HS256", sign: func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}}
}

// TestTokenJWT: JWTTokenApi with an RSA public key made by openssl (RS256)
// and with a base64url symmetric key file (HS256); expired, not yet valid,
// unsigned (alg none), wrongly signed and key-confused tokens are refused
// with 403 and no dial (A6).
func TestTokenJWT(t *testing.T) {
	a := tcpTarget(t, "alpha")
	never := tcpTarget(t, "never")
	k := newPKI(t)
	priv := k.genKey("jwt.key", "rsa")
	k.openssl("pkey", "-in", "jwt.key", "-pubout", "-out", "jwt.pub")
	pub := k.path("jwt.pub")
	other := k.genKey("other.key", "rsa")
	rsaSigner, wrongSigner := rs256(t, rsaKey(t, priv)), rs256(t, rsaKey(t, other))
	pubPEM, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	secret := randBytes(32)
	symFile := k.path("sym.key")
	writeFile(t, symFile, b64u(secret)+"\n")

	now := time.Now().Unix()
	good := map[string]any{"host": "127.0.0.1", "port": a.port(), "exp": now + 600, "nbf": now - 60, "jti": distinctToken("JWTID")}
	noExp := map[string]any{"host": "127.0.0.1", "port": strconv.Itoa(a.port())}
	toNever := func(extra map[string]any) map[string]any {
		m := map[string]any{"host": "127.0.0.1", "port": never.port()}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	unsigned := func(claims map[string]any) string {
		h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
		c, _ := json.Marshal(claims)
		return b64u(h) + "." + b64u(c) + "."
	}
	tampered := func(s jwtSigner) string {
		tok := s.token(t, toNever(map[string]any{"exp": now + 600}))
		parts := strings.Split(tok, ".")
		c, _ := json.Marshal(toNever(map[string]any{"exp": now + 600, "admin": true}))
		return parts[0] + "." + b64u(c) + "." + parts[2]
	}

	for _, tc := range []struct {
		name, key string
		signer    jwtSigner
		foreign   jwtSigner // signed with the wrong key
		confused  jwtSigner // the other family of algorithm
	}{
		{"RS256", pub, rsaSigner, wrongSigner, hs256(pubPEM)},
		{"HS256", symFile, hs256(secret), hs256(randBytes(32)), rsaSigner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, "-v", "--token-plugin", "JWTTokenApi", "--token-source", tc.key, "127.0.0.1:0")
			tokGood := tc.signer.token(t, good)
			expectRoute(t, p.addr, tq(tokGood), "alpha")
			expectRoute(t, p.addr, "/?token="+tc.signer.token(t, noExp), "alpha")

			refused := map[string]string{
				"expired":       tc.signer.token(t, toNever(map[string]any{"exp": now - 3600})),
				"nbf in future": tc.signer.token(t, toNever(map[string]any{"nbf": now + 3600, "exp": now + 7200})),
				"alg none":      unsigned(toNever(map[string]any{"exp": now + 600})),
				"wrong key":     tc.foreign.token(t, toNever(map[string]any{"exp": now + 600})),
				"key confusion": tc.confused.token(t, toNever(map[string]any{"exp": now + 600})),
				"tampered":      tampered(tc.signer),
				"no signature":  strings.Join(strings.Split(tc.signer.token(t, toNever(nil)), ".")[:2], ".") + ".",
				"not a JWT":     distinctToken("NOTAJWT"),
				"no host":       tc.signer.token(t, map[string]any{"port": never.port(), "exp": now + 600}),
			}
			for name, tok := range refused {
				t.Run(name, func(t *testing.T) {
					expectRefusal(t, p.addr, tq(tok), 403, "Invalid token")
				})
			}
			noDial(t, never)
			noTokensLogged(t, p, tokGood)
		})
	}

	t.Run("jwt-require-exp", func(t *testing.T) {
		p := startProxy(t, "--token-plugin", "JWTTokenApi", "--token-source", pub, "--jwt-require-exp", "127.0.0.1:0")
		expectRefusal(t, p.addr, tq(rsaSigner.token(t, toNever(nil))), 403, "Invalid token")
		expectRoute(t, p.addr, tq(rsaSigner.token(t, good)), "alpha")
		noDial(t, never)
	})
}

// redisServer is a real redis-server on a free loopback port, without
// persistence, in a temporary directory.
type redisServer struct {
	addr     string
	password string
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan struct{}
	stopOnce sync.Once
}

// startRedisServer starts redis-server (failing the test without it) and
// stops it when the test ends.
func startRedisServer(t testing.TB, password string) *redisServer {
	t.Helper()
	bin := requireProgram(t, "redis-server")
	dir := t.TempDir()
	var lastErr error
	for range 5 { // the probed port may be taken meanwhile
		port := freePort(t)
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no", "--logfile", "", "--databases", "4"}
		if password != "" {
			args = append(args, "--requirepass", password)
		}
		s := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), password: password,
			cmd: exec.Command(bin, args...), out: newSyncBuffer(), done: make(chan struct{})}
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		go func() { s.cmd.Wait(); close(s.done) }()
		if lastErr = s.waitReady(dir); lastErr == nil {
			t.Cleanup(s.stop)
			return s
		}
		s.stop()
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

// waitReady polls until the server answers as ours (its directory).
func (s *redisServer) waitReady(dir string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited:\n%s", s.out.String())
		default:
		}
		v, err := s.try(0, "CONFIG", "GET", "dir")
		if arr, ok := v.([]any); err == nil && ok && len(arr) == 2 && arr[1] == dir {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server not ready on %s:\n%s", s.addr, s.out.String())
}

func (s *redisServer) stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
}

// do runs one command over RESP on database db and fails the test on error.
func (s *redisServer) do(t testing.TB, db int, args ...string) any {
	t.Helper()
	v, err := s.try(db, args...)
	if err != nil {
		t.Fatalf("redis %q: %v", args[0], err)
	}
	return v
}

// try runs one command on a new connection, authenticating and selecting
// db first.
func (s *redisServer) try(db int, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var cmds [][]string
	if s.password != "" {
		cmds = append(cmds, []string{"AUTH", s.password})
	}
	if db != 0 {
		cmds = append(cmds, []string{"SELECT", strconv.Itoa(db)})
	}
	cmds = append(cmds, args)
	var v any
	for _, cmd := range cmds {
		var b bytes.Buffer
		fmt.Fprintf(&b, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := c.Write(b.Bytes()); err != nil {
			return nil, err
		}
		if v, err = readRESP(br); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// readRESP reads one RESP2 reply: a string, an int64, nil, []any, or an
// error for '-' replies.
func readRESP(br *bufio.Reader) (any, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty RESP line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readRESP(br); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	return nil, fmt.Errorf("bad RESP line %q", line)
}

// TestTokenRedis: TokenRedis against a real redis-server with requirepass,
// the password from WEBSOCKIFY_REDIS_PASSWORD_FILE, and a namespace: JSON
// and plain values, IPv6, keys outside the namespace, bad values, a wrong
// password and Redis going away.
func TestTokenRedis(t *testing.T) {
	const password = "redis pass: with spaces"
	r := startRedisServer(t, password)
	a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
	v6 := startNamed(t, "tcp6", "[::1]:0", "six")
	never := tcpTarget(t, "never")
	tokJSON, tokPlain, tokSpaces := distinctToken("RJSON"), distinctToken("RPLAIN"), distinctToken("RSPACES")
	tok6, tokOutside, tokBad := distinctToken("RSIX"), distinctToken("ROUTSIDE"), distinctToken("RBAD")
	r.do(t, 2, "SET", "vnc:"+tokJSON, `{"host": "`+a.addr()+`"}`)
	r.do(t, 2, "SET", "vnc:"+tokPlain, b.addr())
	r.do(t, 2, "SET", "vnc:"+tokSpaces, "  "+a.addr()+" \n")
	r.do(t, 2, "SET", "vnc:"+tok6, fmt.Sprintf(`{"host": "::1:%d"}`, v6.port()))
	r.do(t, 2, "SET", tokOutside, never.addr())        // no namespace
	r.do(t, 0, "SET", "vnc:"+tokOutside, never.addr()) // another database
	r.do(t, 2, "SET", "vnc:"+tokBad, "not a target")

	pwFile := filepath.Join(t.TempDir(), "redis.pw")
	writeFile(t, pwFile, password+"\n")
	env := []string{"WEBSOCKIFY_REDIS_PASSWORD_FILE=" + pwFile}
	source := r.addr + ":2::vnc"
	p := startProxyIn(t, t.TempDir(), env, "-v", "--token-plugin", "TokenRedis", "--token-source", source, "127.0.0.1:0")
	p.stderr.waitFor(t, reMust(`TokenRedis backend initialized \(127\.0\.0\.1:\d+\)`), 5*time.Second)

	expectRoute(t, p.addr, tq(tokJSON), "alpha")
	expectRoute(t, p.addr, tq(tokPlain), "bravo")
	expectRoute(t, p.addr, tq(tokSpaces), "alpha")
	expectRoute(t, p.addr, tq(tok6), "six")
	expectRefusal(t, p.addr, tq(tokOutside), 404, "Token not found")
	expectRefusal(t, p.addr, tq(distinctToken("RUNKNOWN")), 404, "Token not found")
	expectRefusal(t, p.addr, tq(tokBad), 503, "Token lookup failed")
	expectRefusal(t, p.addr, "/", 400, "Token not present")

	// The value changes in Redis: the next connection follows it.
	r.do(t, 2, "SET", "vnc:"+tokPlain, fmt.Sprintf(`{"host": "127.0.0.1", "port": %d}`, a.port()))
	expectRoute(t, p.addr, tq(tokPlain), "alpha")
	r.do(t, 2, "DEL", "vnc:"+tokPlain)
	expectRefusal(t, p.addr, tq(tokPlain), 404, "Token not found")

	t.Run("wrong-password", func(t *testing.T) {
		w := startProxyIn(t, t.TempDir(), []string{"WEBSOCKIFY_REDIS_PASSWORD=wrong"},
			"--token-plugin", "TokenRedis", "--token-source", source, "127.0.0.1:0")
		expectRefusal(t, w.addr, tq(tokJSON), 503, "Token lookup failed")
		noTokensLogged(t, w, tokJSON, password)
	})
	t.Run("password-twice", func(t *testing.T) {
		st, out := runCLIEnv(t, env, "--token-plugin", "TokenRedis", "--token-source", r.addr+":2:"+"pw:vnc", "127.0.0.1:0")
		if st == 0 || strings.Contains(out, "Listen on") || !strings.Contains(out, "more than once") {
			t.Fatalf("a password in the source and in a file: status %d:\n%s", st, out)
		}
	})

	r.stop()
	expectRefusal(t, p.addr, tq(tokJSON), 503, "Token lookup failed")
	noDial(t, never)
	noTokensLogged(t, p, tokJSON, tokPlain, tokSpaces, tok6, tokOutside, tokBad, password)
}

// TestTokenRedisShared: two websockify instances share one Redis; a token
// written once (with redis-cli) works through both, and once deleted both
// refuse it.
func TestTokenRedisShared(t *testing.T) {
	cli := requireProgram(t, "redis-cli")
	const password = "shared-secret-9f8e7d"
	r := startRedisServer(t, password)
	a := tcpTarget(t, "alpha")
	tok := distinctToken("RSHARED")
	redisCLI := func(args ...string) string {
		t.Helper()
		host, port, _ := net.SplitHostPort(r.addr)
		cmd := exec.Command(cli, append([]string{"-h", host, "-p", port, "-n", "1"}, args...)...)
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+password)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	writeFile(t, pwFile, password)
	source := r.addr + ":1::desk"
	p1 := startProxyIn(t, t.TempDir(), []string{"WEBSOCKIFY_REDIS_PASSWORD=" + password},
		"--token-plugin", "TokenRedis", "--token-source", source, "127.0.0.1:0")
	p2 := startProxyIn(t, t.TempDir(), []string{"WEBSOCKIFY_REDIS_PASSWORD_FILE=" + pwFile},
		"--token-plugin", "TokenRedis", "--token-source", source, "127.0.0.1:0")

	for _, p := range []*proxy{p1, p2} {
		expectRefusal(t, p.addr, tq(tok), 404, "Token not found")
	}
	if got := redisCLI("SET", "desk:"+tok, `{"host":"`+a.addr()+`"}`); got != "OK" {
		t.Fatalf("redis-cli SET: %q", got)
	}
	for range 2 {
		for _, p := range []*proxy{p1, p2} {
			expectRoute(t, p.addr, tq(tok), "alpha")
		}
	}
	if got := redisCLI("DEL", "desk:"+tok); got != "1" {
		t.Fatalf("redis-cli DEL: %q", got)
	}
	for _, p := range []*proxy{p1, p2} {
		expectRefusal(t, p.addr, tq(tok), 404, "Token not found")
		noTokensLogged(t, p, tok, password)
	}
	if n := a.accepted.Load(); n != 4 {
		t.Fatalf("target dialled %d times; want 4", n)
	}
}

// TestTokenSources: --host-token, --token-cookie, --token-path and the
// deprecated --target-config.
func TestTokenSources(t *testing.T) {
	a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, "tok1: "+a.addr()+"\ntok2: "+b.addr()+"\n::1: "+b.addr()+"\n")

	t.Run("host-token", func(t *testing.T) {
		p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "--host-token", "127.0.0.1:0")
		expectRouteHost(t, p.addr, "/", "tok1:6080", "alpha")
		expectRouteHost(t, p.addr, "/websockify", "tok2", "bravo")
		// The query does not count with --host-token.
		expectRouteHost(t, p.addr, "/?token=tok2", "tok1:6080", "alpha")
		expectRouteHost(t, p.addr, "/", "[::1]:6080", "bravo")
		expectRefusalHost(t, p.addr, "/?token=tok1", "TOK1:6080", 404, "Token not found")
		expectRefusalHost(t, p.addr, "/?token=tok1", p.addr, 404, "Token not found")
		expectRefusalHost(t, p.addr, "/?token=tok1", ":6080", 400, "Token not present")
	})
	t.Run("token-cookie", func(t *testing.T) {
		p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "--token-cookie", "127.0.0.1:0")
		expectRoute(t, p.addr, "/websockify", "alpha", "Cookie: lang=en; token=tok1")
		expectRoute(t, p.addr, "/websockify?token=tok2", "bravo", "Cookie: token=tok1") // the query first
		expectRefusal(t, p.addr, "/websockify", 404, "Token not found", "Cookie: token=nope")
		expectRefusal(t, p.addr, "/websockify/tok1", 400, "Token not present")

		plain := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
		expectRefusal(t, plain.addr, "/websockify", 400, "Token not present", "Cookie: token=tok1")
	})
	t.Run("token-path", func(t *testing.T) {
		p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "--token-path", "127.0.0.1:0")
		expectRoute(t, p.addr, "/websockify/tok2", "bravo")
		expectRoute(t, p.addr, "/tok1", "alpha")
		expectRoute(t, p.addr, "/websockify/tok1?token=tok2", "bravo") // the query first
		expectRefusal(t, p.addr, "/websockify/tok3", 404, "Token not found")
		expectRefusal(t, p.addr, "/websockify/", 400, "Token not present")
		expectRefusal(t, p.addr, "/websockify/x%2Ftok1", 404, "Token not found")

		plain := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
		expectRefusal(t, plain.addr, "/websockify/tok2", 400, "Token not present")
	})
	t.Run("cookie-and-path", func(t *testing.T) {
		p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "--token-cookie", "--token-path", "127.0.0.1:0")
		expectRoute(t, p.addr, "/websockify/tok2", "alpha", "Cookie: token=tok1") // the cookie before the path
		expectRoute(t, p.addr, "/websockify/tok2", "bravo")
	})
	t.Run("target-config", func(t *testing.T) {
		dir := filepath.Dir(file)
		p := startProxyIn(t, dir, nil, "--target-config", filepath.Base(file), "127.0.0.1:0")
		p.stderr.waitFor(t, reMust(`--target-config is deprecated`), 5*time.Second)
		expectRoute(t, p.addr, "/?token=tok1", "alpha")
		writeAtomic(t, file, "tok1: "+b.addr()+"\n")
		expectRoute(t, p.addr, "/?token=tok1", "bravo") // TokenFile: reloaded
		expectRefusal(t, p.addr, "/?token=tok2", 404, "Token not found")
	})
}

// TestTokenLogHygiene: with -v, long distinctive tokens are never written
// in full to the logs, whether found, unknown, refused or failed, while
// the refusals themselves are logged (E2).
func TestTokenLogHygiene(t *testing.T) {
	a := tcpTarget(t, "alpha")
	found, unknown := distinctToken("LOGFOUND-"+strings.Repeat("x", 40)), distinctToken("LOGUNKNOWN-"+strings.Repeat("y", 40))
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, found+": "+a.addr()+"\n")
	p := startProxy(t, "-v", "--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
	expectRoute(t, p.addr, tq(found), "alpha")
	expectRoute(t, p.addr, "/websockify/"+url.PathEscape(found)+"?token="+url.QueryEscape(found), "alpha")
	expectRefusal(t, p.addr, tq(unknown), 404, "Token not found")
	expectRefusal(t, p.addr, "/"+url.PathEscape(unknown), 400, "Token not present")
	// A plain HTTP request with a token in its query is logged too.
	resp, _ := get(t, p.addr, "GET", "/index.html?token="+unknown)
	if resp.StatusCode != 405 {
		t.Fatalf("plain GET: %d", resp.StatusCode)
	}
	p.stderr.waitFor(t, reMust(`(?s)request refused.*404`), 5*time.Second)
	p.stderr.waitFor(t, reMust(`HTTP error`), 5*time.Second)
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
	noTokensLogged(t, p, found, unknown, found[:24], unknown[:24])
}

// TestTokenStartupErrors: bad plugin names and sources stop startup with a
// message (exit status not 0, nothing listening); the reference's option
// rules are usage errors (exit status 2) with its exact texts.
func TestTokenStartupErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	writeFile(t, file, "a: 127.0.0.1:5900\n")
	known := "BaseTokenAPI, JSONTokenApi, JWTTokenApi, ReadOnlyTokenFile, TokenFile, TokenFileName, TokenRedis, UnixDomainSocketDirectory"
	const listen, target = "127.0.0.1:0", "127.0.0.1:1"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown plugin", []string{"--token-plugin", "NoSuchPlugin", "--token-source", file, listen}, known},
		{"python module path", []string{"--token-plugin", "mymodule.MyPlugin", "--token-source", file, listen}, known},
		{"unknown auth plugin", []string{"--auth-plugin", "NoSuchAuth", "--auth-source", "x", listen, target},
			"BasicHTTPAuth, ClientCertCNAuth, ExpectOrigin"},
		{"missing token file", []string{"--token-plugin", "TokenFile", "--token-source", filepath.Join(dir, "missing"), listen}, "missing"},
		{"missing --token-source", []string{"--token-plugin", "TokenFile", listen}, "token"},
		{"TokenFileName without a directory", []string{"--token-plugin", "TokenFileName", "--token-source", file, listen}, "requires a directory"},
		{"UnixDomainSocketDirectory without a directory", []string{"--token-plugin", "UnixDomainSocketDirectory", "--token-source", file, listen}, "requires a directory"},
		{"API template without %s", []string{"--token-plugin", "BaseTokenAPI", "--token-source", "http://127.0.0.1:1/lookup", listen}, "%s"},
		{"API template with %s in the host", []string{"--token-plugin", "JSONTokenApi", "--token-source", "http://%s.example/", listen}, "host"},
		{"JWT key missing", []string{"--token-plugin", "JWTTokenApi", "--token-source", filepath.Join(dir, "nokey"), listen}, "key file"},
		{"JWT key garbage", []string{"--token-plugin", "JWTTokenApi", "--token-source", file, listen}, "key"},
		{"Redis source", []string{"--token-plugin", "TokenRedis", "--token-source", "h:notaport", listen}, "expected format"},
		{"ClientCertCNAuth without --verify-client", []string{"--auth-plugin", "ClientCertCNAuth", "--auth-source", "alice", listen, target}, "--verify-client"},
		{"BasicHTTPAuth without credentials", []string{"--auth-plugin", "BasicHTTPAuth", listen, target}, "credentials"},
		{"ExpectOrigin without origins", []string{"--auth-plugin", "ExpectOrigin", listen, target}, "origins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, stdout, stderr := runCLI(t, wsBinary, tc.args...)
			if st == 0 {
				t.Errorf("exit status 0")
			}
			if strings.Contains(stderr, "Listen on") || stdout != "" {
				t.Errorf("started anyway: %q %q", stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.want)
			}
		})
	}

	web := t.TempDir()
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--token-source", file, "127.0.0.1:0", "127.0.0.1:1"}, "You must use --token-plugin to use --token-source"},
		{[]string{"--host-token", "127.0.0.1:0", "127.0.0.1:1"}, "You must use --token-plugin to use --host-token"},
		{[]string{"--auth-source", "a:b", "127.0.0.1:0", "127.0.0.1:1"}, "You must use --auth-plugin to use --auth-source"},
		{[]string{"--web", web, "--web-auth", "127.0.0.1:0", "127.0.0.1:1"}, "You must use --auth-plugin to use --web-auth"},
		{[]string{"--web-auth", "--auth-plugin", "BasicHTTPAuth", "--auth-source", "a:b", "127.0.0.1:0", "127.0.0.1:1"}, "You must use --web to use --web-auth"},
		{[]string{"--token-cookie", "127.0.0.1:0", "127.0.0.1:1"}, "You must use --token-plugin to use --token-cookie or --token-path"},
		{[]string{"--token-plugin", "TokenFile", "--token-source", file, "--host-token", "--token-path", "127.0.0.1:0"}, "--host-token cannot be combined"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			checkUsageError(t, tc.msg, tc.args...)
		})
	}
}

// TestTokenPathNotLogged: with --token-path the last path segment is a
// token, so no request's path may be logged in full, whether it upgrades
// or not: a browser or a probe may GET /websockify/TOKEN without
// upgrading, and gateway/http.go logs the path of every HTTP error.
func TestTokenPathNotLogged(t *testing.T) {
	a := tcpTarget(t, "alpha")
	tok := distinctToken("PATHTOKEN")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tok+": "+a.addr()+"\n")
	p := startProxy(t, "-v", "--token-plugin", "TokenFile", "--token-source", file, "--token-path", "127.0.0.1:0")
	expectRoute(t, p.addr, "/websockify/"+tok, "alpha")
	expectRefusal(t, p.addr, "/websockify/"+tok+"x", 404, "Token not found")
	for _, method := range []string{"GET", "HEAD", "POST"} {
		if resp, _ := get(t, p.addr, method, "/websockify/"+tok); resp.StatusCode != 405 {
			t.Fatalf("plain %s: %d; want 405", method, resp.StatusCode)
		}
	}
	p.stderr.waitFor(t, reMust(`HTTP error`), 5*time.Second)
	p.signal(syscall.SIGTERM)
	p.wait(10 * time.Second)
	noTokensLogged(t, p, tok)
}
