package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadKeyPair(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	tests := []struct {
		name      string
		cert, key []string // PKI files concatenated; no key = key in cert
		leaf      string
		chain     int
		wantErr   string
	}{
		{name: "combined rsa", cert: []string{"rsa.pem", "inter.pem", "rsa.key"}, leaf: "rsa", chain: 2},
		{name: "key first", cert: []string{"rsa.key", "rsa.pem", "inter.pem"}, leaf: "rsa", chain: 2},
		{name: "separate rsa", cert: []string{"rsa.pem", "inter.pem"}, key: []string{"rsa.key"}, leaf: "rsa", chain: 2},
		{name: "combined ec", cert: []string{"ec.pem", "ec.key"}, leaf: "ec", chain: 1},
		{name: "separate ec", cert: []string{"ec.pem"}, key: []string{"ec.key"}, leaf: "ec", chain: 1},
		{name: "chain out of order", cert: []string{"inter.pem", "rsa.pem", "rsa.key"}, leaf: "rsa", chain: 2},
		{name: "key in separate file wins", cert: []string{"rsa.pem", "ec.key"}, key: []string{"rsa.key"}, leaf: "rsa", chain: 1},
		{name: "key matches nothing", cert: []string{"rsa.pem", "inter.pem"}, key: []string{"ec.key"}, wantErr: "matches no certificate"},
		{name: "no key", cert: []string{"rsa.pem"}, wantErr: "no PEM private key"},
		{name: "no certificate", cert: []string{"rsa.key"}, wantErr: "no PEM certificate"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certFile := p.write(t, dir, "c"+string(rune('a'+i))+".pem", tc.cert...)
			keyFile := ""
			if tc.key != nil {
				keyFile = p.write(t, dir, "k"+string(rune('a'+i))+".pem", tc.key...)
			}
			c, err := LoadKeyPair(certFile, keyFile, "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Leaf.Subject.CommonName; got != tc.leaf {
				t.Fatalf("leaf %q; want %q", got, tc.leaf)
			}
			if len(c.Certificate) != tc.chain {
				t.Fatalf("chain of %d; want %d", len(c.Certificate), tc.chain)
			}
		})
	}
}

func TestLoadKeyPairMissingFile(t *testing.T) {
	_, err := LoadKeyPair(filepath.Join(t.TempDir(), "self.pem"), "", "")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v; want fs.ErrNotExist", err)
	}
}

func TestEncryptedKeys(t *testing.T) {
	p := needPKI(t)
	dir := t.TempDir()
	const pw = "s3cr3t pass"
	tests := []struct {
		name    string
		key     string   // PKI key to encrypt
		args    []string // openssl command making the encrypted file
		wantErr string
	}{
		{"legacy rsa aes256", "rsa", []string{"rsa", "-aes256", "-traditional"}, ""},
		{"legacy rsa des3", "rsa", []string{"rsa", "-des3", "-traditional"}, ""},
		{"legacy ec aes128", "ec", []string{"ec", "-aes128"}, ""},
		{"pkcs8 aes256 sha256", "rsa", []string{"pkcs8", "-topk8", "-v2", "aes-256-cbc"}, ""},
		{"pkcs8 aes128 sha1", "ec", []string{"pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"}, ""},
		{"pkcs8 aes192 sha512", "ec", []string{"pkcs8", "-topk8", "-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"}, ""},
		{"pkcs8 des3 sha384", "ec", []string{"pkcs8", "-topk8", "-v2", "des3", "-v2prf", "hmacWithSHA384"}, ""},
		{"pkcs8 scrypt", "ec", []string{"pkcs8", "-topk8", "-scrypt"}, "scrypt"},
		{"pkcs8 v1", "ec", []string{"pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES"}, "only PBES2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keyFile := p.encrypt(t, dir, tc.key, pw, tc.args...)
			certFile := p.path(tc.key + ".pem")
			c, err := LoadKeyPair(certFile, keyFile, pw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch c.PrivateKey.(type) {
			case *rsa.PrivateKey, *ecdsa.PrivateKey:
			default:
				t.Fatalf("key type %T", c.PrivateKey)
			}
			for _, bad := range []string{"", "wrong", pw + "x"} {
				if _, err := LoadKeyPair(certFile, keyFile, bad); !errors.Is(err, ErrKeyPassword) {
					t.Fatalf("password %q: got %v; want ErrKeyPassword", bad, err)
				}
			}
		})
	}
}

func TestPlainKeyIgnoresPassword(t *testing.T) {
	p := needPKI(t)
	if _, err := LoadKeyPair(p.path("ec.pem"), p.path("ec.key"), "unused"); err != nil {
		t.Fatal(err)
	}
}

func TestDecryptPKCS8Malformed(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x01}, []byte("garbage")} {
		if _, err := decryptPKCS8(der, []byte("pw")); err == nil {
			t.Fatalf("%x: no error", der)
		}
	}
}
