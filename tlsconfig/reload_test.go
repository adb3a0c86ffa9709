package tlsconfig

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replace writes data to name through a rename, as certificate tools do.
func replace(t *testing.T, name string, data []byte) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

func TestReloadOnChange(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "self.pem")
	replace(t, certFile, p.read(t, "ec.pem", "ec.key"))

	var logs syncBuffer
	clock := &fakeClock{t: time.Now()}
	r, err := Server(ServerOptions{CertFile: certFile, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.now = clock.now
	r.checked = clock.now()
	addr, _ := serve(t, r.Config())
	cc := clientConfig(t, p)
	cc.RootCAs = rootPool(t, p, "root.pem", "inter.pem")
	leafOf := func() (string, io.Closer) {
		t.Helper()
		c, err := dial(addr, cc)
		if err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName, c
	}

	first, old := leafOf()
	defer old.Close()
	if first != "ec" {
		t.Fatalf("leaf %q", first)
	}

	// A change is seen at the first handshake after CheckInterval.
	replace(t, certFile, p.read(t, "rsa.pem", "inter.pem", "rsa.key"))
	if got, c := leafOf(); got != "ec" {
		t.Fatalf("reloaded before the check interval: %q", got)
	} else {
		c.Close()
	}
	clock.advance(DefaultCheckInterval)
	if got, c := leafOf(); got != "rsa" {
		t.Fatalf("after change: leaf %q; want rsa", got)
	} else {
		c.Close()
	}
	if !strings.Contains(logs.String(), "reloaded TLS certificate") {
		t.Fatalf("no reload log: %q", logs.String())
	}

	// The session opened before the reload still works.
	if _, err := old.(io.ReadWriter).Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(old.(io.Reader), buf); err != nil || string(buf) != "more" {
		t.Fatalf("old session: %q %v", buf, err)
	}

	// A broken file is refused; the last good certificate stays.
	replace(t, certFile, p.read(t, "rsa.pem", "ec.key"))
	clock.advance(DefaultCheckInterval)
	if got, c := leafOf(); got != "rsa" {
		t.Fatalf("after a bad file: leaf %q; want rsa", got)
	} else {
		c.Close()
	}
	if !strings.Contains(logs.String(), "reload failed") || !strings.Contains(logs.String(), "matches no certificate") {
		t.Fatalf("no error log: %q", logs.String())
	}
}

func TestReloadExplicit(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	keyFile := filepath.Join(dir, "key.pem")
	replace(t, certFile, p.read(t, "ec.pem"))
	replace(t, keyFile, p.read(t, "ec.key"))
	r, err := Server(ServerOptions{CertFile: certFile, KeyFile: keyFile, CheckInterval: -1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	replace(t, certFile, p.read(t, "rsa.pem", "inter.pem"))
	// Half-way through a rotation the pair does not match: keep the old.
	if err := r.Reload(); err == nil {
		t.Fatal("mismatched pair accepted")
	}
	if cn := r.Certificate().Leaf.Subject.CommonName; cn != "ec" {
		t.Fatalf("leaf %q after a failed reload", cn)
	}
	replace(t, keyFile, p.read(t, "rsa.key"))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn := r.Certificate().Leaf.Subject.CommonName; cn != "rsa" {
		t.Fatalf("leaf %q after reload", cn)
	}
	// With watching off, handshakes never look at the files.
	replace(t, certFile, p.read(t, "ec.pem"))
	replace(t, keyFile, p.read(t, "ec.key"))
	c, _ := r.getCertificate(nil)
	if cn := c.Leaf.Subject.CommonName; cn != "rsa" {
		t.Fatalf("watching is off, yet leaf %q", cn)
	}
}

func TestReloadKeyPasswordRotation(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	pwFile := filepath.Join(dir, "pw")
	replace(t, keyFile, p.read(t, "ec.key"))
	replace(t, pwFile, []byte("one\n"))
	replace(t, keyFile, readFile(t, p.encrypt(t, dir, "ec", "one", "pkcs8", "-topk8", "-v2", "aes-128-cbc")))
	r, err := Server(ServerOptions{CertFile: p.path("ec.pem"), KeyFile: keyFile, KeyPasswordFile: pwFile,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	replace(t, keyFile, readFile(t, p.encrypt(t, dir, "ec", "two", "ec", "-aes256")))
	if err := r.Reload(); err == nil {
		t.Fatal("old password accepted for the new key")
	}
	replace(t, pwFile, []byte("two"))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
