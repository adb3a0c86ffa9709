package tests

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goodKey is a valid Sec-WebSocket-Key (base64 of 16 bytes).
const goodKey = "dGhlIHNhbXBsZSBub25jZQ=="

// rawRequest sends req as is to addr and returns the response (its body
// read) and the connection.
func rawRequest(t *testing.T, addr, req string) (*http.Response, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("request %q: reading the response: %v", req, err)
	}
	return resp, c
}

func upgradeHead(requestLine string, fields ...string) string {
	var b strings.Builder
	b.WriteString(requestLine + "\r\n")
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

var stdUpgrade = []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"}

// TestHardeningStrictRequestHead (D-12): what RFC 9112 §5 and RFC 6455
// §4.2.1 do not allow is refused with 400 before anything is dialled,
// upgrade or not; the well-formed control case upgrades.
func TestHardeningStrictRequestHead(t *testing.T) {
	dialled := make(chan struct{}, 100)
	be := startBackend(t, func(c net.Conn) { dialled <- struct{}{}; io.Copy(c, c) })
	p := startProxy(t, "127.0.0.1:0", be.addr())
	host := "Host: " + p.addr
	key := "Sec-WebSocket-Key: " + goodKey
	with := func(extra ...string) []string { return append(append([]string{}, stdUpgrade...), extra...) }
	for _, tc := range []struct {
		name string
		req  string
	}{
		{"space before colon", upgradeHead("GET / HTTP/1.1", with("Host : "+p.addr, key)...)},
		{"space before colon of the key", upgradeHead("GET / HTTP/1.1", with(host, "Sec-WebSocket-Key : "+goodKey)...)},
		{"obs-fold", upgradeHead("GET / HTTP/1.1", with(host, key, "X-Folded: a", " b")...)},
		{"obs-fold with tab", upgradeHead("GET / HTTP/1.1", with(host, key, "X-Folded: a", "\tb")...)},
		{"white space after the request line", upgradeHead("GET / HTTP/1.1", append([]string{" " + host}, with(key)...)...)},
		{"HTTP/2.0", upgradeHead("GET / HTTP/2.0", with(host, key)...)},
		{"HTTP/0.9", upgradeHead("GET / HTTP/0.9", with(host, key)...)},
		{"HTTP/1.10", upgradeHead("GET / HTTP/1.10", with(host, key)...)},
		{"double space in the request line", upgradeHead("GET  / HTTP/1.1", with(host, key)...)},
		{"repeated key, different values", upgradeHead("GET / HTTP/1.1", with(host, key, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==")...)},
		{"repeated key, same value", upgradeHead("GET / HTTP/1.1", with(host, key, key)...)},
		{"24-character key that is not base64", upgradeHead("GET / HTTP/1.1", with(host, "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!")...)},
		{"24-character base64 of 17 bytes", upgradeHead("GET / HTTP/1.1", with(host, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=")...)},
		{"repeated version", upgradeHead("GET / HTTP/1.1", with(host, key, "Sec-WebSocket-Version: 13")...)},
		{"bare CR in a value", upgradeHead("GET / HTTP/1.1", with(host, key, "X-A: a\rb")...)},
		{"control character in a value", upgradeHead("GET / HTTP/1.1", with(host, key, "X-A: a\x01b")...)},
		{"two Host headers", upgradeHead("GET / HTTP/1.1", with(host, host, key)...)},
		{"plain GET with obs-fold", upgradeHead("GET / HTTP/1.1", host, "X-Folded: a", " b")},
		{"plain GET with HTTP/2.0", upgradeHead("GET / HTTP/2.0", host)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, c := rawRequest(t, p.addr, tc.req)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d; want 400", resp.StatusCode)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("connection not closed after the 400: %v", err)
			}
		})
	}
	select {
	case <-dialled:
		t.Fatal("a refused request reached the target")
	default:
	}
	t.Run("control: well-formed upgrade", func(t *testing.T) {
		resp, _ := rawRequest(t, p.addr, upgradeHead("GET / HTTP/1.1", with(host, key)...))
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d; want 101", resp.StatusCode)
		}
	})
	t.Run("control: HTTP/1.0 and bare LF line ends", func(t *testing.T) {
		req := strings.ReplaceAll(upgradeHead("GET / HTTP/1.1", with(host, key)...), "\r\n", "\n")
		resp, _ := rawRequest(t, p.addr, req)
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d; want 101", resp.StatusCode)
		}
	})
}

// TestHardeningUpgradeList (S2-7): an Upgrade header listing several
// protocols (RFC 9110 §7.8) is a WebSocket upgrade when "websocket" is
// among them, also with a web root that would otherwise serve the page.
func TestHardeningUpgradeList(t *testing.T) {
	be := startBackend(t, nil)
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("the page"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, "--web", web, "127.0.0.1:0", be.addr())
	for _, up := range []string{"websocket, h2c", "h2c, WebSocket", "foo/1,websocket", "websocket,"} {
		t.Run(up, func(t *testing.T) {
			req := upgradeHead("GET / HTTP/1.1", "Host: "+p.addr, "Upgrade: "+up, "Connection: keep-alive, Upgrade",
				"Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: "+goodKey)
			r, _ := rawRequest(t, p.addr, req)
			if r.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("Upgrade: %s: status %d; want 101", up, r.StatusCode)
			}
		})
	}
	r, _ := rawRequest(t, p.addr, upgradeHead("GET / HTTP/1.1", "Host: "+p.addr, "Upgrade: h2c", "Connection: Upgrade",
		"Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: "+goodKey))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("Upgrade: h2c: status %d; want the page (200)", r.StatusCode)
	}
}

// TestHardeningHostToken (D-6): --host-token reads the Host header, never
// an absolute-form request target, and refuses a malformed Host with 400.
func TestHardeningHostToken(t *testing.T) {
	good, secret := tcpTarget(t, "good"), tcpTarget(t, "secret")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, "good: "+good.addr()+"\nsecret: "+secret.addr()+"\n")
	p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", file, "--host-token", "127.0.0.1:0")

	for _, target := range []string{"http://secret/", "http://secret:6080/websockify", "ws://secret/"} {
		t.Run("absolute-form "+target, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			rc, resp, body := wsOn(t, c, target, "good")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d (%s); want 101 to good", resp.StatusCode, errMessage(body))
			}
			throughTarget(t, rc, "good")
		})
	}
	for _, h := range []string{"secret:80:90", "good:abc", "[good]", "good:99999", "good/x", "good secret", "[::1"} {
		t.Run("malformed Host "+h, func(t *testing.T) {
			expectRefusalHost(t, p.addr, "/", h, 400, "")
		})
	}
	t.Run("control", func(t *testing.T) {
		expectRouteHost(t, p.addr, "/", "good:6080", "good")
		expectRouteHost(t, p.addr, "/", "secret", "secret")
	})
}
