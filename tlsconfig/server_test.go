package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve runs a TLS echo server with cfg on loopback until the test ends.
// Each accepted connection's negotiated state and SNI go to the returned
// channel once the handshake is done.
func serve(t *testing.T, cfg *tls.Config) (addr string, states <-chan tls.ConnectionState) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan tls.ConnectionState, 16)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				tc := c.(*tls.Conn)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if tc.Handshake() != nil {
					return
				}
				ch <- tc.ConnectionState()
				io.Copy(tc, tc)
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// dial makes a TLS connection with cfg and checks that it echoes.
func dial(addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// With TLS 1.3 a rejected client certificate shows up on the first read.
	if _, err := c.Write([]byte("ping")); err != nil {
		c.Close()
		return nil, err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func rootPool(t *testing.T, p *pki, names ...string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.read(t, names...)) {
		t.Fatal("no CA")
	}
	return pool
}

func clientConfig(t *testing.T, p *pki) *tls.Config {
	return &tls.Config{RootCAs: rootPool(t, p, "root.pem"), ServerName: "localhost"}
}

func TestServerHandshake(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		parts []string
		chain int
	}{
		{"rsa with intermediate", []string{"rsa.pem", "inter.pem", "rsa.key"}, 2},
		{"ec", []string{"ec.pem", "ec.key"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Server(ServerOptions{CertFile: p.write(t, dir, tc.name+".pem", tc.parts...)})
			if err != nil {
				t.Fatal(err)
			}
			addr, states := serve(t, r.Config())
			c, err := dial(addr, clientConfig(t, p))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := <-states
			if st.Version != tls.VersionTLS13 {
				t.Fatalf("version %x; want TLS 1.3", st.Version)
			}
			if n := len(c.ConnectionState().PeerCertificates); n != tc.chain {
				t.Fatalf("server sent %d certificates; want %d", n, tc.chain)
			}
		})
	}
}

func TestServerMinVersion(t *testing.T) {
	p := needPKI(t)
	tests := []struct {
		min      string
		clientV  uint16
		wantFail bool
	}{
		{"default", tls.VersionTLS11, true},
		{"default", tls.VersionTLS12, false},
		{"tlsv1_1", tls.VersionTLS11, false},
		{"tlsv1_1", tls.VersionTLS10, true},
		{"tlsv1_2", tls.VersionTLS11, true},
		{"tlsv1_3", tls.VersionTLS12, true},
		{"tlsv1_3", tls.VersionTLS13, false},
	}
	for _, tc := range tests {
		t.Run(tc.min+"/"+tls.VersionName(tc.clientV), func(t *testing.T) {
			r, err := Server(ServerOptions{CertFile: p.path("ec.pem"), KeyFile: p.path("ec.key"), MinVersion: tc.min})
			if err != nil {
				t.Fatal(err)
			}
			addr, _ := serve(t, r.Config())
			cc := clientConfig(t, p)
			cc.MinVersion, cc.MaxVersion = tc.clientV, tc.clientV
			c, err := dial(addr, cc)
			if (err != nil) != tc.wantFail {
				t.Fatalf("err = %v; want failure %v", err, tc.wantFail)
			}
			if c != nil {
				c.Close()
			}
		})
	}
	if _, err := Server(ServerOptions{CertFile: p.path("ec.pem"), MinVersion: "sslv3"}); err == nil ||
		!strings.Contains(err.Error(), "tlsv1_2") {
		t.Fatalf("bad version: got %v", err)
	}
}

func TestServerCiphers(t *testing.T) {
	p := needPKI(t)
	var logs bytes.Buffer
	r, err := Server(ServerOptions{
		CertFile: p.path("rsa.pem"), KeyFile: p.path("rsa.key"),
		Ciphers: "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:!aNULL:@STRENGTH",
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, r.Config())
	cc := clientConfig(t, p)
	cc.RootCAs = rootPool(t, p, "root.pem", "inter.pem")
	cc.MaxVersion = tls.VersionTLS12
	c, err := dial(addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().CipherSuite; got != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("suite %s", tls.CipherSuiteName(got))
	}
	c.Close()
	cc.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	if c, err := dial(addr, cc); err == nil {
		c.Close()
		t.Fatal("suite outside the list was accepted")
	}
	if logs.Len() != 0 {
		t.Fatalf("unexpected log: %s", logs.String())
	}

	for _, tc := range []struct{ list, want string }{
		{"DHE-RSA-AES128-GCM-SHA256:FOO", "DHE-RSA-AES128-GCM-SHA256, FOO"},
		{"TLS_AES_128_GCM_SHA256", "no TLS 1.2 cipher suite"},
		{"!aNULL", "no TLS 1.2 cipher suite"},
	} {
		if _, err := Server(ServerOptions{CertFile: p.path("ec.pem"), Ciphers: tc.list}); err == nil ||
			!strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%q: got %v; want %q", tc.list, err, tc.want)
		}
	}

	logs.Reset()
	if _, err := Server(ServerOptions{CertFile: p.path("rsa.pem"), KeyFile: p.path("rsa.key"), Ciphers: "AES128-SHA",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "insecure cipher suite enabled") {
		t.Fatalf("no warning for an insecure suite: %q", logs.String())
	}
}

func TestServerVerifyClient(t *testing.T) {
	p := needPKI(t)
	r, err := Server(ServerOptions{CertFile: p.path("ec.pem"), KeyFile: p.path("ec.key"),
		VerifyClient: true, CAFile: p.path("clientCA.pem")})
	if err != nil {
		t.Fatal(err)
	}
	addr, states := serve(t, r.Config())
	load := func(name string) []tls.Certificate {
		c, err := tls.LoadX509KeyPair(p.path(name+".pem"), p.path(name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no certificate", nil, false},
		{"trusted client", load("client"), true},
		{"client of another CA", load("otherClient"), false},
		{"server certificate as client", load("ec"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := clientConfig(t, p)
			cc.Certificates = tc.certs
			c, err := dial(addr, cc)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v; want ok %v", err, tc.ok)
			}
			if c != nil {
				st := <-states
				if cn := st.PeerCertificates[0].Subject.CommonName; cn != "client" {
					t.Fatalf("server saw client %q", cn)
				}
				c.Close()
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	p := needPKI(t)
	for _, tc := range []struct {
		o    ServerOptions
		want string
	}{
		{ServerOptions{}, "no certificate file"},
		{ServerOptions{CertFile: p.path("ec.pem"), KeyFile: p.path("ec.key"), VerifyClient: true, CAFile: p.path("ec.key")}, "no PEM certificate in CA file"},
		{ServerOptions{CertFile: p.path("ec.pem"), KeyFile: p.path("nope.key")}, "no such file"},
		{ServerOptions{CertFile: p.path("ec.pem"), KeyFile: p.path("ec.key"), KeyPasswordFile: p.path("nope")}, "read key password file"},
	} {
		if _, err := Server(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", tc.o, err, tc.want)
		}
	}
}

func TestKeyPasswordFile(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	key := p.encrypt(t, dir, "ec", "pa:ss", "pkcs8", "-topk8", "-v2", "aes-256-cbc")
	pwFile := dir + "/pw"
	if err := os.WriteFile(pwFile, []byte("pa:ss\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Server(ServerOptions{CertFile: p.path("ec.pem"), KeyFile: key, KeyPassword: "ignored", KeyPasswordFile: pwFile}); err != nil {
		t.Fatal(err)
	}
}
