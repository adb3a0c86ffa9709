package tests

// Auth plugins end to end (reference-behaviour.md §4.5, threats-and-tests.md
// A7–A9, A11): BasicHTTPAuth, ExpectOrigin and ClientCertCNAuth on the
// WebSocket handshake, --web-auth on static files, and tokens with auth
// together. Every refusal is an HTTP answer before the upgrade and no
// target is dialled.

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const basicChallenge = `Basic realm="Websockify"`

func basicHeader(creds string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(creds))
}

// expectChallenge checks a 401 carrying the reference's Basic challenge.
func expectChallenge(t testing.TB, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Values("Www-Authenticate"); len(got) != 1 || got[0] != basicChallenge {
		t.Fatalf("401 with WWW-Authenticate %q; want %q", got, basicChallenge)
	}
}

// expectNoChallenge checks a refusal that does not ask for credentials.
func expectNoChallenge(t testing.TB, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Values("Www-Authenticate"); len(got) != 0 {
		t.Fatalf("%d with WWW-Authenticate %q; want none", resp.StatusCode, got)
	}
}

// TestAuthBasic: BasicHTTPAuth with the reference's test vector, then with
// credentials from WEBSOCKIFY_BASIC_AUTH_FILE and WEBSOCKIFY_BASIC_AUTH.
func TestAuthBasic(t *testing.T) {
	a := tcpTarget(t, "alpha")
	p := startProxy(t, "-v", "--auth-plugin", "BasicHTTPAuth", "--auth-source", "Aladdin:open sesame", "127.0.0.1:0", a.addr())

	expectChallenge(t, expectRefusal(t, p.addr, "/", 401, ""))
	expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader("Aladdin:open sesamE")))
	expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader("aladdin:open sesame")))
	expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader("Aladdin:open sesame ")))
	expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader(":")))
	for name, h := range map[string]string{
		"malformed base64":  "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=!",
		"cut base64":        "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=",
		"no colon":          basicHeader("Aladdin"),
		"other scheme":      "Authorization: Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
		"scheme only":       "Authorization: Basic",
		"credentials alone": "Authorization: QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
	} {
		t.Run(name, func(t *testing.T) {
			expectNoChallenge(t, expectRefusal(t, p.addr, "/", 403, "", h))
		})
	}
	noDial(t, a)

	rc, resp, _ := wsTry(t, p.addr, "/websockify", "", "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("the reference vector: status %d; want 101", resp.StatusCode)
	}
	throughTarget(t, rc, "alpha")
	expectRoute(t, p.addr, "/", "alpha", basicHeader("Aladdin:open sesame"))
	p.stderr.waitFor(t, reMust(`request refused status=401`), 5*time.Second)
	p.stderr.waitFor(t, reMust(`request refused status=403`), 5*time.Second)
	noTokensLogged(t, p, "open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ")

	t.Run("credentials-file", func(t *testing.T) {
		b := tcpTarget(t, "bravo")
		const creds = "operator:pa:ss wörd" // the password may hold ':' and spaces
		file := filepath.Join(t.TempDir(), "basic")
		writeFile(t, file, creds+"\n")
		p := startProxyIn(t, t.TempDir(), []string{"WEBSOCKIFY_BASIC_AUTH_FILE=" + file},
			"--auth-plugin", "BasicHTTPAuth", "127.0.0.1:0", b.addr())
		expectChallenge(t, expectRefusal(t, p.addr, "/", 401, ""))
		expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader("operator:pa")))
		expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader(creds+"\n")))
		noDial(t, b)
		expectRoute(t, p.addr, "/", "bravo", basicHeader(creds))
		noTokensLogged(t, p, "pa:ss")
	})
	t.Run("credentials-env", func(t *testing.T) {
		b := tcpTarget(t, "bravo")
		p := startProxyIn(t, t.TempDir(), []string{"WEBSOCKIFY_BASIC_AUTH=envuser:envpass-123"},
			"--auth-plugin", "BasicHTTPAuth", "127.0.0.1:0", b.addr())
		expectChallenge(t, expectRefusal(t, p.addr, "/", 401, "", basicHeader("Aladdin:open sesame")))
		expectRoute(t, p.addr, "/", "bravo", basicHeader("envuser:envpass-123"))
		noTokensLogged(t, p, "envpass-123")
	})
	t.Run("credentials-twice", func(t *testing.T) {
		st, out := runCLIEnv(t, []string{"WEBSOCKIFY_BASIC_AUTH=x:y"},
			"--auth-plugin", "BasicHTTPAuth", "--auth-source", "a:b", "127.0.0.1:0", "127.0.0.1:1")
		if st == 0 || strings.Contains(out, "Listen on") || !strings.Contains(out, "more than once") {
			t.Fatalf("credentials in --auth-source and the environment: status %d:\n%s", st, out)
		}
	})
}

// TestAuthExpectOrigin: exactly one Origin header, equal to a listed one.
func TestAuthExpectOrigin(t *testing.T) {
	a := tcpTarget(t, "alpha")
	p := startProxy(t, "--auth-plugin", "ExpectOrigin", "--auth-source", "https://good.example  http://localhost:6080", "127.0.0.1:0", a.addr())
	for name, hdrs := range map[string][]string{
		"missing":         nil,
		"other":           {"Origin: https://evil.example"},
		"suffix":          {"Origin: https://good.example.evil.example"},
		"letter case":     {"Origin: HTTPS://GOOD.EXAMPLE"},
		"other port":      {"Origin: http://localhost:6081"},
		"null":            {"Origin: null"},
		"empty":           {"Origin: "},
		"two listed":      {"Origin: https://good.example", "Origin: http://localhost:6080"},
		"listed twice":    {"Origin: https://good.example", "Origin: https://good.example"},
		"listed then bad": {"Origin: https://good.example", "Origin: https://evil.example"},
		"both in one":     {"Origin: https://good.example http://localhost:6080"},
	} {
		t.Run(name, func(t *testing.T) {
			expectRefusal(t, p.addr, "/", 403, "Invalid Origin", hdrs...)
		})
	}
	noDial(t, a)
	p.stderr.waitFor(t, reMust(`Invalid Origin Header: Expected one of \['https://good.example', 'http://localhost:6080'\], got 'https://evil.example'`), 5*time.Second)
	expectRoute(t, p.addr, "/", "alpha", "Origin: https://good.example")
	expectRoute(t, p.addr, "/websockify", "alpha", "Origin: http://localhost:6080")
}

// TestAuthClientCertCN: ClientCertCNAuth with --verify-client: a client
// certificate whose CN is listed passes; another CN, no certificate, and
// SSL_CLIENT_S_DN_CN headers in any spelling (over wss or plain ws) are
// refused (A8).
func TestAuthClientCertCN(t *testing.T) {
	k := newPKI(t)
	srvCA, srvCAKey := k.ca("server-ca")
	cliCA, cliCAKey := k.ca("client-ca")
	crt, key := k.leaf("server", "server", "ec", 1, srvCA, srvCAKey)
	aliceCrt, aliceKey := k.leaf("alice", "alice", "ec", 2, cliCA, cliCAKey)
	malloryCrt, malloryKey := k.leaf("mallory", "mallory", "rsa", 3, cliCA, cliCAKey)
	base := trustCA(t, srvCA)
	alice := withClientCert(t, base, aliceCrt, aliceKey)
	mallory := withClientCert(t, base, malloryCrt, malloryKey)
	forged := [][]string{
		{"SSL_CLIENT_S_DN_CN: alice"},
		{"ssl_client_s_dn_cn: alice"},
		{"Ssl-Client-S-Dn-Cn: alice"},
		{"SSL_CLIENT_S_DN_CN: alice", "ssl_client_s_dn_cn: alice", "SSL_CLIENT_VERIFY: SUCCESS"},
	}
	wss := func(t *testing.T, addr string, cfg *tls.Config, extra ...string) (*rawConn, *http.Response) {
		t.Helper()
		c, err := dialTLS(t, addr, cfg)
		if err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		rc, resp, _ := wsOn(t, c, "/websockify", "localhost", extra...)
		return rc, resp
	}

	for _, sslOnly := range []bool{true, false} {
		name := "ssl-only"
		if !sslOnly {
			name = "verify-client-alone"
		}
		t.Run(name, func(t *testing.T) {
			a := tcpTarget(t, "alpha")
			args := []string{"--cert", crt, "--key", key, "--verify-client", "--cafile", cliCA,
				"--auth-plugin", "ClientCertCNAuth", "--auth-source", "bob alice"}
			if sslOnly {
				args = append(args, "--ssl-only")
			}
			p := startProxy(t, append(args, "127.0.0.1:0", a.addr())...)

			for _, hdrs := range forged {
				rc, resp := wss(t, p.addr, mallory, hdrs...)
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("CN mallory with %q: status %d; want 403", hdrs, resp.StatusCode)
				}
				rc.expectTCPClose(10 * time.Second)
			}
			if st, err := tryWSS(t, p.addr, base); err == nil {
				t.Fatalf("no client certificate: status %d; want the TLS handshake to fail", st)
			}
			for _, hdrs := range forged {
				c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				// Plain connections get no answer at all: --verify-client
				// implies --ssl-only, given or not.
				c.SetDeadline(time.Now().Add(10 * time.Second))
				req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
					strings.Join(hdrs, "\r\n") + "\r\n\r\n"
				c.Write([]byte(req))
				got, _ := readUntilClosed(t, c, 10*time.Second)
				c.Close()
				if len(got) != 0 {
					t.Fatalf("plain ws with %q got %q; want the connection closed without a response", hdrs, trunc(got))
				}
			}
			noDial(t, a)

			rc, resp := wss(t, p.addr, alice)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("CN alice: status %d; want 101", resp.StatusCode)
			}
			throughTarget(t, rc, "alpha")
			// A listed CN stays itself whatever the headers claim.
			rc, resp = wss(t, p.addr, alice, "SSL_CLIENT_S_DN_CN: mallory")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("CN alice with a forged header: status %d; want 101", resp.StatusCode)
			}
			throughTarget(t, rc, "alpha")
		})
	}
}

// TestAuthWeb: with --web-auth the static files need the credentials too;
// without it only WebSocket requests do.
func TestAuthWeb(t *testing.T) {
	a := tcpTarget(t, "alpha")
	root := t.TempDir()
	const page = "<!DOCTYPE html><title>console</title>\n"
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	right, wrong := basicHeader("web:secret-pw"), basicHeader("web:nope")

	t.Run("web-auth", func(t *testing.T) {
		p := startProxy(t, "--web", root, "--web-auth", "--auth-plugin", "BasicHTTPAuth", "--auth-source", "web:secret-pw", "127.0.0.1:0", a.addr())
		for _, target := range []string{"/", "/index.html", "/missing.html"} {
			for _, method := range []string{"GET", "HEAD"} {
				resp, body := get(t, p.addr, method, target)
				if resp.StatusCode != 401 || strings.Contains(string(body), "console") {
					t.Fatalf("%s %s without credentials: %d %q; want 401", method, target, resp.StatusCode, trunc(body))
				}
				expectChallenge(t, resp)
				resp, _ = get(t, p.addr, method, target, wrong)
				if resp.StatusCode != 401 {
					t.Fatalf("%s %s with wrong credentials: %d; want 401", method, target, resp.StatusCode)
				}
				expectChallenge(t, resp)
			}
		}
		resp, body := get(t, p.addr, "GET", "/index.html", right)
		if resp.StatusCode != 200 || string(body) != page {
			t.Fatalf("GET with credentials: %d %q", resp.StatusCode, trunc(body))
		}
		if resp, _ := get(t, p.addr, "HEAD", "/", right); resp.StatusCode != 200 {
			t.Fatalf("HEAD / with credentials: %d", resp.StatusCode)
		}
		if resp, _ := get(t, p.addr, "GET", "/missing.html", right); resp.StatusCode != 404 {
			t.Fatalf("GET a missing file with credentials: %d", resp.StatusCode)
		}
		// Credentials of an earlier request on the same connection count
		// for nothing: the upgrade that follows must bring its own.
		h := dialHTTP(t, p.addr)
		if resp, body := h.do("GET", "/index.html", right); resp.StatusCode != 200 || string(body) != page || resp.Close {
			t.Fatalf("keep-alive GET with credentials: %d close=%v %q", resp.StatusCode, resp.Close, trunc(body))
		}
		rc, resp, _ := wsOn(t, h.c, "/", "localhost")
		if resp.StatusCode != 401 {
			t.Fatalf("upgrade without credentials after an authenticated GET: %d; want 401", resp.StatusCode)
		}
		expectChallenge(t, resp)
		rc.expectTCPClose(10 * time.Second)
		expectChallenge(t, expectRefusal(t, p.addr, "/", 401, ""))
		noDial(t, a)
		expectRoute(t, p.addr, "/", "alpha", right)
	})

	t.Run("web-without-web-auth", func(t *testing.T) {
		b := tcpTarget(t, "bravo")
		p := startProxy(t, "--web", root, "--auth-plugin", "BasicHTTPAuth", "--auth-source", "web:secret-pw", "127.0.0.1:0", b.addr())
		resp, body := get(t, p.addr, "GET", "/index.html")
		if resp.StatusCode != 200 || string(body) != page {
			t.Fatalf("GET without --web-auth: %d %q; want the file", resp.StatusCode, trunc(body))
		}
		expectChallenge(t, expectRefusal(t, p.addr, "/", 401, ""))
		noDial(t, b)
		expectRoute(t, p.addr, "/", "bravo", right)
	})
}

// TestAuthWithTokens: the auth plugin decides first (unlike the
// reference, so that tokens cannot be enumerated without credentials),
// then the token is resolved (400/404 for authenticated clients).
func TestAuthWithTokens(t *testing.T) {
	a := tcpTarget(t, "alpha")
	tok := distinctToken("AUTHTOK")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tok+": "+a.addr()+"\n")

	t.Run("basic", func(t *testing.T) {
		p := startProxy(t, "-v", "--token-plugin", "TokenFile", "--token-source", file,
			"--auth-plugin", "BasicHTTPAuth", "--auth-source", "Aladdin:open sesame", "127.0.0.1:0")
		right := "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
		before := a.accepted.Load()
		expectChallenge(t, expectRefusal(t, p.addr, tq(tok), 401, ""))
		expectChallenge(t, expectRefusal(t, p.addr, tq(tok), 401, "", basicHeader("Aladdin:wrong")))
		expectRefusal(t, p.addr, tq(tok), 403, "", "Authorization: Basic !!!")
		expectRefusal(t, p.addr, tq(distinctToken("AUTHUNKNOWN")), 404, "Token not found", right)
		expectChallenge(t, expectRefusal(t, p.addr, tq(distinctToken("AUTHUNKNOWN")), 401, "")) // authentication first
		expectRefusal(t, p.addr, "/websockify", 400, "Token not present", right)
		if n := a.accepted.Load(); n != before {
			t.Fatalf("refused requests dialled the target %d times", n-before)
		}
		expectRoute(t, p.addr, tq(tok), "alpha", right)
		noTokensLogged(t, p, tok, "open sesame")
	})
	t.Run("origin", func(t *testing.T) {
		p := startProxy(t, "--target-config", file, "--auth-plugin", "ExpectOrigin", "--auth-source", "https://console.example", "127.0.0.1:0")
		expectRefusal(t, p.addr, tq(tok), 403, "Invalid Origin", "Origin: https://evil.example")
		expectRefusal(t, p.addr, tq(tok), 403, "Invalid Origin")
		expectRefusal(t, p.addr, tq(distinctToken("AUTHUNKNOWN")), 404, "Token not found", "Origin: https://console.example")
		expectRefusal(t, p.addr, tq(distinctToken("AUTHUNKNOWN")), 403, "Invalid Origin", "Origin: https://evil.example")
		expectRoute(t, p.addr, tq(tok), "alpha", "Origin: https://console.example")
	})
}
