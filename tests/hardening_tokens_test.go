package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var redactedRE = regexp.MustCompile(`token (\S*#[0-9a-f]{8}/\d+)`)

// TestHardeningTokenRedaction (D-8): a short token leaves nothing in the
// log that a guess could be checked against: no prefix, no unsalted hash.
// The hash is keyed per process, or by WEBSOCKIFY_LOG_KEY_FILE so that a
// fleet's logs correlate.
func TestHardeningTokenRedaction(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	writeFile(t, file, "known: 127.0.0.1:1\n")
	keyFile := filepath.Join(dir, "logkey")
	writeFile(t, keyFile, "fleet-wide-log-key-0123456789\n")

	redacted := func(env ...string) string {
		t.Helper()
		p := startProxyCmd(t, func(c *exec.Cmd) { c.Env = append(os.Environ(), env...) },
			"-v", "--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
		p.addr = p.stderr.waitFor(t, listenRE, 10*time.Second)[1]
		expectRefusal(t, p.addr, "/?token=vm4821", 404, "Token not found")
		m := p.stderr.waitFor(t, redactedRE, 10*time.Second)
		out := p.stderr.String()
		sum := sha256.Sum256([]byte("vm4821"))
		if strings.Contains(out, "vm48") || strings.Contains(out, hex.EncodeToString(sum[:4])) {
			t.Fatalf("the log reveals the token or its unsalted hash:\n%s", out)
		}
		if strings.Contains(m[1], "…") {
			t.Fatalf("short token logged with a prefix: %q", m[1])
		}
		return m[1]
	}
	a, b := redacted(), redacted()
	if a == b {
		t.Fatalf("two processes redact alike without a shared key (%s): the hash is not keyed per process", a)
	}
	env := "WEBSOCKIFY_LOG_KEY_FILE=" + keyFile
	if c, d := redacted(env), redacted(env); c != d {
		t.Fatalf("a shared key file gives %s and %s", c, d)
	}
}

// TestHardeningRedisBoundedRead (D-10): a huge value is never read whole:
// the lookup fails (503) and websockify's memory does not grow by the
// value's size.
func TestHardeningRedisBoundedRead(t *testing.T) {
	r := startRedisServer(t, "")
	a := tcpTarget(t, "alpha")
	huge, list, ok := distinctToken("HUGE"), distinctToken("LIST"), distinctToken("OK")
	r.do(t, 0, "SETRANGE", "vnc:"+huge, "100000000", "x") // 100 MB, zero-filled
	r.do(t, 0, "RPUSH", "vnc:"+list, "127.0.0.1:1")
	r.do(t, 0, "SET", "vnc:"+ok, a.addr())
	p := startProxy(t, "--token-plugin", "TokenRedis", "--token-source", r.addr+":0::vnc", "127.0.0.1:0")
	expectRoute(t, p.addr, tq(ok), "alpha")
	before := rssKiB(t, p.cmd.Process.Pid)
	for range 3 {
		expectRefusal(t, p.addr, tq(huge), 503, "Token lookup failed")
	}
	expectRefusal(t, p.addr, tq(list), 503, "Token lookup failed")
	if after := rssKiB(t, p.cmd.Process.Pid); after-before > 20<<10 {
		t.Fatalf("RSS grew from %d KiB to %d KiB looking up a 100 MB value", before, after)
	}
	expectRoute(t, p.addr, tq(ok), "alpha")
}

// TestHardeningTokenAPIRedirects (S2-5): a token API's redirects are
// followed only within its own scheme, host and port; a redirect to any
// other origin fails the lookup (503) and that origin is never asked.
func TestHardeningTokenAPIRedirects(t *testing.T) {
	a := tcpTarget(t, "alpha")
	asked := make(chan string, 10)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- r.URL.String()
		io.WriteString(w, a.addr())
	}))
	t.Cleanup(other.Close)
	otherLoopback := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) // same port, another host name
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final?"+r.URL.RawQuery, http.StatusFound)
		case "/final":
			io.WriteString(w, a.addr())
		case "/other-port":
			http.Redirect(w, r, other.URL+"/steal?"+r.URL.RawQuery, http.StatusFound)
		case "/other-host":
			http.Redirect(w, r, otherLoopback+"/steal?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		case "/other-scheme":
			http.Redirect(w, r, "https://"+r.Host+"/final?"+r.URL.RawQuery, http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop?"+r.URL.RawQuery, http.StatusFound)
		}
	}))
	t.Cleanup(api.Close)
	run := func(path string) *proxy {
		return startProxy(t, "--token-plugin", "BaseTokenAPI", "--token-source", api.URL+path+"?t=%s", "127.0.0.1:0")
	}
	expectRoute(t, run("/same").addr, tq("tok"), "alpha")
	for _, path := range []string{"/other-port", "/other-host", "/other-scheme", "/loop"} {
		t.Run(path, func(t *testing.T) {
			expectRefusal(t, run(path).addr, tq("tok"), 503, "Token lookup failed")
		})
	}
	select {
	case u := <-asked:
		t.Fatalf("a redirect led websockify to another origin: %s", u)
	default:
	}
	// --token-api-redirect-anywhere lets an operator allow them.
	p := startProxy(t, "--token-plugin", "BaseTokenAPI", "--token-source", api.URL+"/other-host?t=%s",
		"--token-api-redirect-anywhere", "127.0.0.1:0")
	expectRoute(t, p.addr, tq("tok"), "alpha")
	if u := <-asked; !strings.HasPrefix(u, "/steal?") {
		t.Fatalf("the other origin was asked %q", u)
	}
}

// TestHardeningNoTokenEnumeration (D-7): with an auth plugin and a token
// plugin, a client without valid credentials gets the same answer (status,
// reason, headers that matter, body) whatever its token: known, unknown,
// missing, malformed. Only an authenticated client learns 404 or 400.
func TestHardeningNoTokenEnumeration(t *testing.T) {
	a := tcpTarget(t, "alpha")
	tok := distinctToken("ENUM")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tok+": "+a.addr()+"\n")
	p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file,
		"--auth-plugin", "BasicHTTPAuth", "--auth-source", "user:pass", "127.0.0.1:0")
	paths := map[string]string{
		"known":    tq(tok),
		"unknown":  tq(distinctToken("NOPE")),
		"missing":  "/websockify",
		"too long": tq(strings.Repeat("x", 5000)),
		"dot-dot":  tq("../tokens"),
		"with nul": "/websockify?token=a%00b",
	}
	for _, creds := range [][]string{nil, {basicHeader("user:wrong")}, {basicHeader("nobody:pass")}} {
		var first string
		for name, path := range paths {
			_, resp, body := wsTry(t, p.addr, path, "", creds...)
			got := fmt.Sprintf("%s|%s|%s", resp.Status, resp.Header.Get("Www-Authenticate"), body)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("credentials %q, token %s: %s; want 401", creds, name, resp.Status)
			}
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("credentials %q: the answer for token %s differs:\n%s\nvs\n%s", creds, name, got, first)
			}
		}
	}
	right := basicHeader("user:pass")
	expectRefusal(t, p.addr, tq(distinctToken("NOPE")), 404, "Token not found", right)
	expectRefusal(t, p.addr, "/websockify", 400, "Token not present", right)
	expectRoute(t, p.addr, tq(tok), "alpha", right)
}

// TestHardeningTokenDirConfined (D-14): a TokenFile directory is confined
// like UnixDomainSocketDirectory: a link to a file outside it (/etc/passwd,
// a sibling) is not parsed as tokens, and is named in the log; errors in
// a file name that file and the line in it.
func TestHardeningTokenDirConfined(t *testing.T) {
	a := tcpTarget(t, "alpha")
	base := t.TempDir()
	dir := filepath.Join(base, "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a.conf"), "good: "+a.addr()+"\n")
	writeFile(t, filepath.Join(dir, "b.conf"), "# comment\nbroken line\n")
	writeFile(t, filepath.Join(base, "secret.conf"), "stolen: "+a.addr()+"\n")
	for name, target := range map[string]string{"passwd": "/etc/passwd", "sibling": "../secret.conf"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", dir, "127.0.0.1:0")
	expectRoute(t, p.addr, tq("good"), "alpha")
	expectRefusal(t, p.addr, tq("stolen"), 404, "Token not found")
	expectRefusal(t, p.addr, tq("root"), 404, "Token not found")
	out := p.stderr.String()
	for _, name := range []string{"passwd", "sibling"} {
		if !strings.Contains(out, filepath.Join(dir, name)) {
			t.Errorf("the escaping link %s is not named in the log:\n%s", name, out)
		}
	}
	if want := "Syntax error in " + filepath.Join(dir, "b.conf") + " on line 2"; !strings.Contains(out, want) {
		t.Errorf("want %q in the log:\n%s", want, out)
	}
	// (b.conf may be re-read, and re-reported, while it is new.)
	if n, m := strings.Count(out, "Syntax error"), strings.Count(out, "Syntax error in "+filepath.Join(dir, "b.conf")); n != m {
		t.Errorf("%d syntax errors logged, %d of them in b.conf: a file outside the directory was parsed:\n%s", n, m, out)
	}
}
