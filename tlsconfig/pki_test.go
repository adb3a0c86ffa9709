package tlsconfig

import (
	"fmt"
	"go.uber.org/goleak"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pki is a set of certificates and keys made by openssl for the tests:
//
//	root ─┬─ inter ── rsa (leaf: localhost, 127.0.0.1, ::1; RSA)
//	      └─ ec (leaf, same names; P-256)
//	clientCA ── client (clientAuth)
//	otherCA ── otherClient
//
// Every key is an unencrypted PKCS#8 file "<name>.key"; certificates are
// "<name>.pem".
type pki struct{ dir string }

// testPKI is made once by TestMain; it is nil when openssl is missing.
var testPKI *pki

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "tlsconfig-pki-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if _, err := exec.LookPath("openssl"); err == nil {
			p := &pki{dir}
			if err := p.make(); err != nil {
				fmt.Fprintln(os.Stderr, "making test PKI:", err)
				return 1
			}
			testPKI = p
		}
		code := m.Run()
		if code == 0 {
			// As goleak.VerifyTestMain: no goroutine outlives the tests
			// (the certificate reloader's watchers above all).
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// needPKI skips the test when openssl is missing.
func needPKI(t *testing.T) *pki {
	t.Helper()
	if testPKI == nil {
		t.Skip("openssl not found")
	}
	return testPKI
}

const opensslConfig = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
`

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func (p *pki) openssl(args ...string) error {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (p *pki) genKey(name, alg string) error {
	if alg == "rsa" {
		return p.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name+".key")
	}
	return p.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name+".key")
}

// issue makes name.key and name.pem, signed by issuer ("" = self-signed)
// with the extensions section ext.
func (p *pki) issue(name, alg, issuer, ext string, serial int) error {
	if err := p.genKey(name, alg); err != nil {
		return err
	}
	subj := "/CN=" + name
	if issuer == "" {
		return p.openssl("req", "-new", "-x509", "-config", "openssl.cnf", "-extensions", ext,
			"-key", name+".key", "-subj", subj, "-days", "2", "-out", name+".pem")
	}
	if err := p.openssl("req", "-new", "-config", "openssl.cnf", "-key", name+".key", "-subj", subj, "-out", name+".csr"); err != nil {
		return err
	}
	return p.openssl("x509", "-req", "-in", name+".csr", "-CA", issuer+".pem", "-CAkey", issuer+".key",
		"-set_serial", fmt.Sprint(serial), "-days", "2", "-extfile", "openssl.cnf", "-extensions", ext, "-out", name+".pem")
}

func (p *pki) make() error {
	if err := os.WriteFile(p.path("openssl.cnf"), []byte(opensslConfig), 0o600); err != nil {
		return err
	}
	steps := []struct{ name, alg, issuer, ext string }{
		{"root", "ec", "", "ca"},
		{"inter", "ec", "root", "ca"},
		{"rsa", "rsa", "inter", "server"},
		{"ec", "ec", "root", "server"},
		{"clientCA", "ec", "", "ca"},
		{"client", "ec", "clientCA", "client"},
		{"otherCA", "ec", "", "ca"},
		{"otherClient", "ec", "otherCA", "client"},
	}
	for i, s := range steps {
		if err := p.issue(s.name, s.alg, s.issuer, s.ext, i+1); err != nil {
			return err
		}
	}
	return nil
}

// read returns the contents of the named files, concatenated.
func (p *pki) read(t *testing.T, names ...string) []byte {
	t.Helper()
	var b []byte
	for _, n := range names {
		d, err := os.ReadFile(p.path(n))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, d...)
	}
	return b
}

// write concatenates the named PKI files into a new file in dir.
func (p *pki) write(t *testing.T, dir, name string, parts ...string) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, p.read(t, parts...), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// encrypt writes an encrypted copy of key (a PKCS#8 file) into dir, made by
// "openssl <args> -in key -out <file> -passout pass:<password>".
func (p *pki) encrypt(t *testing.T, dir, key, password string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, strings.Join(append([]string{key}, args...), "_")+".key")
	args = append(args, "-in", p.path(key+".key"), "-out", out, "-passout", "pass:"+password)
	if err := p.openssl(args...); err != nil {
		t.Fatal(err)
	}
	return out
}
