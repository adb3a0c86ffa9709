package tests

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pki makes keys and certificates with the openssl command line, in a
// temporary directory, the way an administrator would.
type pki struct {
	t   testing.TB
	dir string
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	requireProgram(t, "openssl")
	return &pki{t: t, dir: t.TempDir()}
}

// path names a file in the PKI directory.
func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// openssl runs openssl in the PKI directory and fails the test on error.
func (p *pki) openssl(args ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// genKey writes an unencrypted PKCS#8 key of kind "rsa" or "ec".
func (p *pki) genKey(name, kind string) string {
	p.t.Helper()
	switch kind {
	case "rsa":
		p.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name)
	case "ec":
		p.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)
	default:
		p.t.Fatalf("unknown key kind %q", kind)
	}
	return p.path(name)
}

// ca makes a self-signed CA certificate name.crt with key name.key.
func (p *pki) ca(name string) (crt, key string) {
	p.t.Helper()
	key = p.genKey(name+".key", "ec")
	p.openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN="+name, "-days", "30",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
		"-out", name+".crt")
	return p.path(name + ".crt"), key
}

// leaf makes name.crt (subject CN=cn, the given serial, valid for
// 127.0.0.1 and localhost, server and client use) signed by the CA, with
// an unencrypted key name.key of kind "rsa" or "ec".
func (p *pki) leaf(name, cn, kind string, serial int, caCrt, caKey string) (crt, key string) {
	p.t.Helper()
	key = p.genKey(name+".key", kind)
	ext := p.path(name + ".ext")
	if err := os.WriteFile(ext, []byte("basicConstraints=CA:FALSE\n"+
		"subjectAltName=IP:127.0.0.1,DNS:localhost\n"+
		"extendedKeyUsage=serverAuth,clientAuth\n"), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.openssl("req", "-new", "-key", key, "-subj", "/CN="+cn, "-out", name+".csr")
	p.openssl("x509", "-req", "-in", name+".csr", "-CA", caCrt, "-CAkey", caKey,
		"-set_serial", fmt.Sprint(serial), "-days", "30", "-extfile", ext, "-out", name+".crt")
	return p.path(name + ".crt"), key
}

// selfPEM makes a combined certificate and key file with the README's
// command (plus -subj, to run without a terminal).
func (p *pki) selfPEM(path, cn string) {
	p.t.Helper()
	p.openssl("req", "-new", "-x509", "-days", "365", "-nodes", "-out", path, "-keyout", path, "-subj", "/CN="+cn)
}

// combine writes the concatenation of files to name and returns its path.
func (p *pki) combine(name string, files ...string) string {
	p.t.Helper()
	var b []byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			p.t.Fatal(err)
		}
		b = append(b, d...)
	}
	if err := os.WriteFile(p.path(name), b, 0o600); err != nil {
		p.t.Fatal(err)
	}
	return p.path(name)
}

// firstCert parses the first certificate of a PEM file.
func firstCert(t testing.TB, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			t.Fatalf("no certificate in %s", file)
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
}

// trustCA is a client configuration that verifies the server against the
// CA certificates in caFile.
func trustCA(t testing.TB, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool}
}

// pinned is a client configuration that accepts exactly the certificate in
// certFile (the README's self.pem has no subjectAltName, which Go needs
// for name checks).
func pinned(t testing.TB, certFile string) *tls.Config {
	t.Helper()
	want := firstCert(t, certFile).Raw
	return &tls.Config{
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
				return errors.New("not the pinned certificate")
			}
			return nil
		},
	}
}

// withClientCert adds a client certificate to cfg.
func withClientCert(t testing.TB, cfg *tls.Config, crt, key string) *tls.Config {
	t.Helper()
	c, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.Clone()
	cfg.Certificates = []tls.Certificate{c}
	return cfg
}

// startProxyIn starts websockify in dir with extra environment variables
// and waits for its listen line.
func startProxyIn(t testing.TB, dir string, env []string, args ...string) *proxy {
	t.Helper()
	p := startProxyCmd(t, func(c *exec.Cmd) {
		c.Dir = dir
		if env != nil {
			c.Env = append(os.Environ(), env...)
		}
	}, args...)
	p.addr = p.stderr.waitFor(t, listenRE, 20*time.Second)[1]
	return p
}

// dialTLS makes a TLS connection to the proxy and completes the handshake.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// dialWSS opens a WebSocket session over TLS with the raw client.
func dialWSS(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	c, err := dialTLS(t, addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	rc, resp := rawHandshakeOn(t, c)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("wss handshake status %d; want 101", resp.StatusCode)
	}
	return rc
}

// tryWSS attempts a TLS handshake and a WebSocket handshake and returns the
// HTTP status, or the error that stopped it. With TLS 1.3 a refused client
// certificate shows only when reading, so the error may come from either.
func tryWSS(t testing.TB, addr string, cfg *tls.Config) (int, error) {
	t.Helper()
	c, err := dialTLS(t, addr, cfg)
	if err != nil {
		return 0, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(newReader(c), nil)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// peerCert returns the certificate a new TLS connection to addr gets.
func peerCert(t testing.TB, addr string, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	c, err := dialTLS(t, addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// httpsClient is an HTTP client using cfg, one connection per request.
func httpsClient(cfg *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true},
		Timeout:   20 * time.Second,
	}
}

// checkSamePort checks that https, wss (coder/websocket and the raw
// client) and plain ws are all served on the proxy's one port.
func checkSamePort(t *testing.T, p *proxy, cfg *tls.Config) {
	t.Helper()
	resp, err := httpsClient(cfg).Get("https://" + p.addr + "/")
	if err != nil {
		t.Fatalf("https GET: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.TLS == nil {
		t.Fatalf("https GET without --web: status %d, TLS %v; want 405 over TLS", resp.StatusCode, resp.TLS != nil)
	}

	ctx := testContext(t, time.Minute)
	c, _, err := websocket.Dial(ctx, "wss://"+p.addr+"/", &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}},
		Subprotocols: []string{"binary"},
	})
	if err != nil {
		t.Fatalf("wss dial (coder/websocket): %v", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	msg := randBytes(100000)
	if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(got) < len(msg) {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("wss read after %d bytes: %v", len(got), err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("wss echo differs")
	}
	c.Close(websocket.StatusNormalClosure, "")

	rc := dialWSS(t, p.addr, cfg)
	rc.echoOnce([]byte("over raw TLS"))
	rc.closeHandshake()

	plain := dialRaw(t, p.addr)
	plain.echoOnce([]byte("plain ws"))
	plain.closeHandshake()

	p.stderr.waitFor(t, reMust(`SSL/TLS \(wss://\) WebSocket connection`), 5*time.Second)
	p.stderr.waitFor(t, reMust(`Plain non-SSL \(ws://\) WebSocket connection`), 5*time.Second)
}

// TestTLSSamePort serves https, wss and ws on one port, with an RSA
// combined file, a separate EC certificate and key, and a CA-signed RSA
// certificate with its key in the certificate file before the chain.
func TestTLSSamePort(t *testing.T) {
	k := newPKI(t)
	caCrt, caKey := k.ca("ca")
	be := startBackend(t, nil)

	t.Run("rsa-self.pem", func(t *testing.T) {
		self := k.path("rsa-self.pem")
		k.selfPEM(self, "localhost")
		p := startProxy(t, "--cert", self, "127.0.0.1:0", be.addr())
		p.stderr.waitFor(t, reMust(`(?m)^  - SSL/TLS support$`), 5*time.Second)
		checkSamePort(t, p, pinned(t, self))
	})
	t.Run("ec-separate-key", func(t *testing.T) {
		crt, key := k.leaf("ec", "ec server", "ec", 2, caCrt, caKey)
		p := startProxy(t, "--cert", crt, "--key", key, "127.0.0.1:0", be.addr())
		checkSamePort(t, p, trustCA(t, caCrt))
	})
	t.Run("rsa-key-first-with-ca", func(t *testing.T) {
		crt, key := k.leaf("rsa", "rsa server", "rsa", 3, caCrt, caKey)
		combined := k.combine("rsa-combined.pem", key, crt, caCrt)
		p := startProxy(t, "--cert", combined, "127.0.0.1:0", be.addr())
		cfg := trustCA(t, caCrt)
		checkSamePort(t, p, cfg)
		c, err := dialTLS(t, p.addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(c.ConnectionState().PeerCertificates); n != 2 {
			t.Fatalf("server sent %d certificates; want the leaf and the CA", n)
		}
	})
}

// TestTLSDefaultSelfPem: self.pem in the working directory is used without
// --cert; without it the server runs plain only and refuses TLS.
func TestTLSDefaultSelfPem(t *testing.T) {
	k := newPKI(t)
	be := startBackend(t, nil)
	dir := t.TempDir()
	self := filepath.Join(dir, "self.pem")
	k.selfPEM(self, "default")

	p := startProxyIn(t, dir, nil, "127.0.0.1:0", be.addr())
	p.stderr.waitFor(t, reMust(`(?m)^  - SSL/TLS support$`), 5*time.Second)
	cfg := pinned(t, self)
	rc := dialWSS(t, p.addr, cfg)
	rc.echoOnce([]byte("default self.pem"))
	rc.closeHandshake()
	if cn := peerCert(t, p.addr, cfg).Subject.CommonName; cn != "default" {
		t.Fatalf("certificate CN %q; want default", cn)
	}

	empty := t.TempDir()
	q := startProxyIn(t, empty, nil, "127.0.0.1:0", be.addr())
	q.stderr.waitFor(t, reMust(`No SSL/TLS support \(no cert file\)`), 5*time.Second)
	if _, err := tryWSS(t, q.addr, cfg); err == nil {
		t.Fatal("TLS session succeeded without a certificate")
	}
	plain := dialRaw(t, q.addr)
	plain.echoOnce([]byte("plain still works"))
}

// TestTLSEncryptedKey loads encrypted keys (traditional OpenSSL PEM and
// PKCS#8, RSA and EC) with the password from the flag, a file and the
// environment; a wrong or missing password stops startup with a message.
func TestTLSEncryptedKey(t *testing.T) {
	k := newPKI(t)
	caCrt, caKey := k.ca("ca")
	be := startBackend(t, nil)
	const pw = "s3cret pass"
	pwFile := k.path("pw.txt")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := map[string][2]string{} // name → cert, encrypted key
	for _, kind := range []string{"rsa", "ec"} {
		crt, key := k.leaf(kind, kind+" enc", kind, 10, caCrt, caKey)
		trad := kind + "-trad.key"
		if kind == "rsa" {
			k.openssl("rsa", "-in", key, "-aes256", "-traditional", "-passout", "pass:"+pw, "-out", trad)
		} else {
			k.openssl("ec", "-in", key, "-aes256", "-passout", "pass:"+pw, "-out", trad)
		}
		p8 := kind + "-pkcs8.key"
		k.openssl("pkcs8", "-topk8", "-in", key, "-v2", "aes-256-cbc", "-passout", "pass:"+pw, "-out", p8)
		keys[kind+"-traditional"] = [2]string{crt, k.path(trad)}
		keys[kind+"-pkcs8"] = [2]string{crt, k.path(p8)}
	}
	for _, want := range []struct{ name, header string }{
		{"rsa-traditional", "Proc-Type: 4,ENCRYPTED"}, {"ec-traditional", "Proc-Type: 4,ENCRYPTED"},
		{"rsa-pkcs8", "BEGIN ENCRYPTED PRIVATE KEY"}, {"ec-pkcs8", "BEGIN ENCRYPTED PRIVATE KEY"},
	} {
		b, _ := os.ReadFile(keys[want.name][1])
		if !strings.Contains(string(b), want.header) {
			t.Fatalf("%s: openssl wrote no %q", want.name, want.header)
		}
	}
	cfg := trustCA(t, caCrt)
	for name, ck := range keys {
		for _, src := range []string{"flag", "file", "env"} {
			t.Run(name+"/"+src, func(t *testing.T) {
				args := []string{"--cert", ck[0], "--key", ck[1]}
				var env []string
				switch src {
				case "flag":
					args = append(args, "--key-password", pw)
				case "file":
					args = append(args, "--key-password-file", pwFile)
				case "env":
					env = []string{"WEBSOCKIFY_KEY_PASSWORD=" + pw}
				}
				p := startProxyIn(t, t.TempDir(), env, append(args, "127.0.0.1:0", be.addr())...)
				rc := dialWSS(t, p.addr, cfg)
				rc.echoOnce([]byte(name + " " + src))
				rc.closeHandshake()
			})
		}
	}
	t.Run("wrong-password", func(t *testing.T) {
		ck := keys["rsa-pkcs8"]
		for _, extra := range [][]string{{"--key-password", "nope"}, nil} {
			args := append([]string{"--cert", ck[0], "--key", ck[1]}, extra...)
			st, _, stderr := runCLI(t, wsBinary, append(args, "127.0.0.1:0", be.addr())...)
			if st == 0 {
				t.Fatalf("%q: exit status 0 with a wrong password", extra)
			}
			if !strings.Contains(stderr, "password") || strings.Contains(stderr, "Listen on") {
				t.Fatalf("%q: stderr does not explain the password failure before listening:\n%s", extra, stderr)
			}
			if strings.Contains(stderr, pw) {
				t.Fatalf("stderr shows the password:\n%s", stderr)
			}
		}
	})
}

// TestTLSSSLOnly: plain connections are closed without a response while
// wss works; a missing certificate is a usage error.
func TestTLSSSLOnly(t *testing.T) {
	k := newPKI(t)
	self := k.path("self.pem")
	k.selfPEM(self, "localhost")
	be := startBackend(t, nil)
	p := startProxy(t, "--ssl-only", "--cert", self, "127.0.0.1:0", be.addr())
	p.stderr.waitFor(t, reMust(`Deny non-SSL/TLS connections`), 5*time.Second)

	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(req))
		got, _ := readUntilClosed(t, c, 10*time.Second)
		c.Close()
		if len(got) != 0 {
			t.Fatalf("plain request got %q; want the connection closed without a response", got)
		}
	}
	p.stderr.waitFor(t, reMust(`non-SSL connection received but disallowed`), 5*time.Second)

	rc := dialWSS(t, p.addr, pinned(t, self))
	rc.echoOnce([]byte("wss allowed"))
	rc.closeHandshake()

	st, _, stderr := runCLI(t, wsBinary, "--ssl-only", "--cert", k.path("missing.pem"), "127.0.0.1:0", be.addr())
	if st != 2 || !strings.Contains(stderr, "SSL only and "+k.path("missing.pem")+" not found") {
		t.Fatalf("--ssl-only with a missing cert: status %d, stderr:\n%s", st, stderr)
	}
}

// TestTLSVerifyClient: with --verify-client and --cafile a client needs a
// certificate signed by that CA.
func TestTLSVerifyClient(t *testing.T) {
	k := newPKI(t)
	srvCA, srvCAKey := k.ca("server-ca")
	cliCA, cliCAKey := k.ca("client-ca")
	otherCA, otherCAKey := k.ca("other-ca")
	crt, key := k.leaf("server", "server", "ec", 1, srvCA, srvCAKey)
	goodCrt, goodKey := k.leaf("client", "alice", "ec", 2, cliCA, cliCAKey)
	badCrt, badKey := k.leaf("stranger", "mallory", "rsa", 3, otherCA, otherCAKey)
	be := startBackend(t, nil)
	p := startProxy(t, "--cert", crt, "--key", key, "--verify-client", "--cafile", cliCA, "127.0.0.1:0", be.addr())
	base := trustCA(t, srvCA)

	for _, tc := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"no-certificate", base},
		{"other-ca", withClientCert(t, base, badCrt, badKey)},
		{"no-certificate-tls1.2", func() *tls.Config { c := base.Clone(); c.MaxVersion = tls.VersionTLS12; return c }()},
	} {
		st, err := tryWSS(t, p.addr, tc.cfg)
		if err == nil {
			t.Errorf("%s: handshake status %d; want the TLS handshake to fail", tc.name, st)
		}
	}
	p.stderr.waitFor(t, reMust(`TLS handshake failed`), 5*time.Second)

	rc := dialWSS(t, p.addr, withClientCert(t, base, goodCrt, goodKey))
	rc.echoOnce([]byte("verified client"))
	rc.closeHandshake()
}

// TestTLSVersion: --ssl-version tlsv1_3 refuses a TLS 1.2-only client;
// the default refuses TLS 1.1.
func TestTLSVersion(t *testing.T) {
	k := newPKI(t)
	caCrt, caKey := k.ca("ca")
	crt, key := k.leaf("srv", "srv", "ec", 1, caCrt, caKey)
	be := startBackend(t, nil)
	cfg := trustCA(t, caCrt)
	only := func(v uint16) *tls.Config { c := cfg.Clone(); c.MinVersion, c.MaxVersion = v, v; return c }

	p := startProxy(t, "--cert", crt, "--key", key, "--ssl-version", "tlsv1_3", "127.0.0.1:0", be.addr())
	if _, err := dialTLS(t, p.addr, only(tls.VersionTLS12)); err == nil {
		t.Fatal("--ssl-version tlsv1_3 accepted a TLS 1.2 client")
	}
	c, err := dialTLS(t, p.addr, only(tls.VersionTLS13))
	if err != nil {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
	c.Close()

	q := startProxy(t, "--cert", crt, "--key", key, "127.0.0.1:0", be.addr())
	if _, err := dialTLS(t, q.addr, only(tls.VersionTLS11)); err == nil {
		t.Fatal("default accepted a TLS 1.1 client")
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, err := dialTLS(t, q.addr, only(v))
		if err != nil {
			t.Fatalf("default refused %s: %v", tls.VersionName(v), err)
		}
		c.Close()
	}
}

// TestTLSCiphers: --ssl-ciphers restricts TLS 1.2 suites; an unknown name
// stops startup with a message naming it.
func TestTLSCiphers(t *testing.T) {
	k := newPKI(t)
	caCrt, caKey := k.ca("ca")
	crt, key := k.leaf("srv", "srv", "rsa", 1, caCrt, caKey)
	be := startBackend(t, nil)

	st, _, stderr := runCLI(t, wsBinary, "--cert", crt, "--key", key, "--ssl-ciphers", "ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER", "127.0.0.1:0", be.addr())
	if st == 0 || !strings.Contains(stderr, "NO-SUCH-CIPHER") {
		t.Fatalf("unknown cipher: status %d, stderr:\n%s", st, stderr)
	}
	if strings.Contains(stderr, "Listen on") {
		t.Fatalf("listened despite the bad cipher list:\n%s", stderr)
	}

	p := startProxy(t, "--cert", crt, "--key", key, "--ssl-ciphers", "ECDHE-RSA-AES128-GCM-SHA256", "127.0.0.1:0", be.addr())
	tls12 := func(suite uint16) *tls.Config {
		c := trustCA(t, caCrt)
		c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{suite}
		return c
	}
	if _, err := dialTLS(t, p.addr, tls12(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)); err == nil {
		t.Fatal("a suite outside --ssl-ciphers was negotiated")
	}
	c, err := dialTLS(t, p.addr, tls12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256))
	if err != nil {
		t.Fatalf("listed suite: %v", err)
	}
	if cs := c.ConnectionState().CipherSuite; cs != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 {
		t.Fatalf("negotiated %s", tls.CipherSuiteName(cs))
	}
}

// replaceFile atomically replaces dst with the contents of src.
func replaceFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestTLSReload replaces the certificate while a wss session relays: the
// session goes on, and new connections get the new certificate, after
// SIGHUP and after a file change alone.
func TestTLSReload(t *testing.T) {
	k := newPKI(t)
	caCrt, caKey := k.ca("ca")
	oldCrt, oldKey := k.leaf("old", "first", "ec", 101, caCrt, caKey)
	newCrt, newKey := k.leaf("new", "second", "rsa", 202, caCrt, caKey)
	cfg := trustCA(t, caCrt)
	be := startBackend(t, nil)

	check := func(t *testing.T, p *proxy, cn string, serial int64) {
		t.Helper()
		c := peerCert(t, p.addr, cfg)
		if c.Subject.CommonName != cn || c.SerialNumber.Int64() != serial {
			t.Fatalf("certificate %q serial %v; want %q serial %d", c.Subject.CommonName, c.SerialNumber, cn, serial)
		}
	}

	t.Run("sighup", func(t *testing.T) {
		dir := t.TempDir()
		crt, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		replaceFile(t, oldCrt, crt)
		replaceFile(t, oldKey, key)
		p := startProxy(t, "--cert", crt, "--key", key, "127.0.0.1:0", be.addr())
		rc := dialWSS(t, p.addr, cfg)
		rc.echoOnce([]byte("before"))
		check(t, p, "first", 101)

		replaceFile(t, newKey, key)
		replaceFile(t, newCrt, crt)
		// No handshake happens between the change and the signal, so the
		// reload can only come from SIGHUP.
		p.signal(syscall.SIGHUP)
		p.stderr.waitFor(t, reMust(`reloaded TLS certificate.*CN=second`), 10*time.Second)
		rc.echoOnce([]byte("during"))
		check(t, p, "second", 202)
		rc.echoOnce([]byte("after"))
		rc.closeHandshake()
		if p.exited() {
			t.Fatal("SIGHUP ended the process")
		}
	})

	t.Run("file-change", func(t *testing.T) {
		dir := t.TempDir()
		pemFile := filepath.Join(dir, "server.pem")
		replaceFile(t, k.combine("old-combined.pem", oldCrt, oldKey), pemFile)
		p := startProxy(t, "--cert", pemFile, "127.0.0.1:0", be.addr())
		rc := dialWSS(t, p.addr, cfg)
		rc.echoOnce([]byte("before"))
		check(t, p, "first", 101)

		replaceFile(t, k.combine("new-combined.pem", newCrt, newKey), pemFile)
		deadline := time.Now().Add(20 * time.Second)
		for peerCert(t, p.addr, cfg).Subject.CommonName != "second" {
			if time.Now().After(deadline) {
				t.Fatal("new connections still get the old certificate 20s after the file changed")
			}
			rc.echoOnce([]byte("waiting"))
			time.Sleep(100 * time.Millisecond)
		}
		check(t, p, "second", 202)
		p.stderr.waitFor(t, reMust(`reloaded TLS certificate.*CN=second`), 5*time.Second)
		rc.echoOnce([]byte("after"))
		rc.closeHandshake()
	})

	t.Run("broken-file-kept-old", func(t *testing.T) {
		dir := t.TempDir()
		pemFile := filepath.Join(dir, "server.pem")
		replaceFile(t, k.combine("old-combined2.pem", oldCrt, oldKey), pemFile)
		p := startProxy(t, "--cert", pemFile, "127.0.0.1:0", be.addr())
		if err := os.WriteFile(pemFile+".tmp", []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(pemFile+".tmp", pemFile); err != nil {
			t.Fatal(err)
		}
		p.signal(syscall.SIGHUP)
		p.stderr.waitFor(t, reMust(`reload failed`), 10*time.Second)
		check(t, p, "first", 101)
		rc := dialWSS(t, p.addr, cfg)
		rc.echoOnce([]byte("still served"))
	})
}

// tlsEchoBackend is a TLS echo target with crt and key; it reports the SNI
// name of each handshake on the returned channel.
func tlsEchoBackend(t testing.TB, crt, key string) (*echoServer, <-chan string) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	sni := make(chan string, 10)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	be := startBackend(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		tc.SetDeadline(time.Now().Add(time.Minute))
		if err := tc.Handshake(); err != nil {
			return
		}
		select {
		case sni <- tc.ConnectionState().ServerName:
		default:
		}
		io.Copy(tc, tc)
	})
	return be, sni
}

// TestTLSTarget: --ssl-target speaks TLS to the target, verifies it with
// --ssl-target-cafile, refuses an unknown CA with 1011, and accepts it with
// --ssl-target-insecure.
func TestTLSTarget(t *testing.T) {
	k := newPKI(t)
	caCrt, caKey := k.ca("target-ca")
	crt, key := k.leaf("target", "target", "ec", 7, caCrt, caKey)
	be, sni := tlsEchoBackend(t, crt, key)
	_, port, _ := net.SplitHostPort(be.addr())

	t.Run("cafile", func(t *testing.T) {
		p := startProxy(t, "--ssl-target", "--ssl-target-cafile", caCrt, "127.0.0.1:0", be.addr())
		p.stderr.waitFor(t, reMust(`proxying from \S+ to \S+ \(using SSL\)`), 5*time.Second)
		rc := dialRaw(t, p.addr)
		rc.echoOnce(randBytes(70000))
		rc.closeHandshake()
	})
	t.Run("sni", func(t *testing.T) {
		for len(sni) > 0 {
			<-sni
		}
		p := startProxy(t, "--ssl-target", "--ssl-target-cafile", caCrt, "127.0.0.1:0", "localhost:"+port)
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("by name"))
		select {
		case name := <-sni:
			if name != "localhost" {
				t.Fatalf("target saw SNI %q; want localhost", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no handshake seen by the target")
		}
		rc.closeHandshake()
	})
	t.Run("unverified", func(t *testing.T) {
		p := startProxyCmd(t, func(c *exec.Cmd) {
			c.Env = append(os.Environ(), "SSL_CERT_FILE="+filepath.Join(t.TempDir(), "none.pem"), "SSL_CERT_DIR="+t.TempDir())
		}, "--ssl-target", "127.0.0.1:0", be.addr())
		p.addr = p.stderr.waitFor(t, listenRE, 20*time.Second)[1]
		rc := dialRaw(t, p.addr)
		code, reason, data := rc.expectClose(20 * time.Second)
		if code != 1011 || len(data) != 0 {
			t.Fatalf("close %d %q after %d bytes; want 1011 and no data", code, reason, len(data))
		}
		p.stderr.waitFor(t, reMust(`(?i)certificate`), 5*time.Second)
	})
	t.Run("insecure", func(t *testing.T) {
		p := startProxy(t, "--ssl-target", "--ssl-target-insecure", "127.0.0.1:0", be.addr())
		p.stderr.waitFor(t, reMust(`not verified`), 5*time.Second)
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("insecure but encrypted"))
		rc.closeHandshake()
	})
	t.Run("plain-target", func(t *testing.T) {
		plain := startBackend(t, nil)
		p := startProxy(t, "--ssl-target", "--ssl-target-insecure", "127.0.0.1:0", plain.addr())
		rc := dialRaw(t, p.addr)
		code, _, _ := rc.expectClose(30 * time.Second)
		if code != 1011 {
			t.Fatalf("TLS to a plain target: close %d; want 1011", code)
		}
	})
}

// flashPolicy is the reference's policy string; we add Flash's NUL.
const flashPolicy = `<cross-domain-policy><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>` + "\n\x00"

// TestFlashPolicy: a Flash policy request gets exactly the policy and a
// NUL, then the connection closes; on a TLS port too.
func TestFlashPolicy(t *testing.T) {
	k := newPKI(t)
	self := k.path("self.pem")
	k.selfPEM(self, "localhost")
	be := startBackend(t, nil)
	for _, args := range [][]string{{}, {"--cert", self}} {
		p := startProxy(t, append(args, "127.0.0.1:0", be.addr())...)
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("<policy-file-request/>\x00"))
		got, _ := readUntilClosed(t, c, 10*time.Second)
		c.Close()
		if string(got) != flashPolicy {
			t.Fatalf("policy response %q; want %q", got, flashPolicy)
		}
		p.stderr.waitFor(t, reMust(`Sending flash policy response`), 5*time.Second)
		// The sniffing did not disturb ordinary sessions.
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("<not a policy request"))
	}
}

// TestTLSHandshakeStall: a client that starts TLS and then stalls, or
// stops in the middle of its ClientHello, is dropped at the handshake
// deadline, and others are served meanwhile.
func TestTLSHandshakeStall(t *testing.T) {
	k := newPKI(t)
	self := k.path("self.pem")
	k.selfPEM(self, "localhost")
	p := startProxy(t, "--cert", self, "--handshake-timeout", "2", "127.0.0.1:0", startBackend(t, nil).addr())

	// The start of a real ClientHello, cut short.
	var hello bytes.Buffer
	rec := &recordingConn{w: &hello}
	tls.Client(rec, &tls.Config{InsecureSkipVerify: true}).Handshake()
	if hello.Len() < 50 || hello.Bytes()[0] != 0x16 {
		t.Fatalf("no ClientHello captured (%d bytes)", hello.Len())
	}
	for name, prefix := range map[string][]byte{"one-byte": {0x16}, "half-hello": hello.Bytes()[:hello.Len()/2]} {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(prefix)
		start := time.Now()
		dialWSS(t, p.addr, pinned(t, self)).echoOnce([]byte("not blocked by " + name))
		got, end := readUntilClosed(t, c, 15*time.Second)
		c.Close()
		if d := end.Sub(start); d < time.Second || d > 10*time.Second {
			t.Errorf("%s: closed after %v; want about the 2s handshake timeout", name, d)
		}
		if len(got) > 0 && got[0] != 0x15 { // nothing, or a TLS alert
			t.Errorf("%s: got %q before the close", name, trunc(got))
		}
	}
}

// recordingConn captures what a TLS client writes and fails its reads, to
// obtain a ClientHello without a server.
type recordingConn struct {
	net.Conn
	w io.Writer
}

func (r *recordingConn) Write(p []byte) (int, error)      { return r.w.Write(p) }
func (r *recordingConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (r *recordingConn) Close() error                     { return nil }
func (r *recordingConn) SetDeadline(time.Time) error      { return nil }
func (r *recordingConn) SetWriteDeadline(time.Time) error { return nil }
func (r *recordingConn) SetReadDeadline(time.Time) error  { return nil }
func (r *recordingConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (r *recordingConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
