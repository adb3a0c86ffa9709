package tokens

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testKeys stands in for the reference's tests/fixtures: an RSA-2048 pair
// (private.pem, public.pem) and symmetric.key holding "secret_sauce".
type testKeys struct {
	rsa, other *rsa.PrivateKey
	ec         *ecdsa.PrivateKey
	ed         ed25519.PrivateKey
}

var sharedKeys = sync.OnceValue(func() *testKeys {
	k := &testKeys{}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// keyDir writes the fixtures and returns their directory.
func keyDir(t *testing.T) (string, *testKeys) {
	t.Helper()
	k := sharedKeys()
	dir := t.TempDir()
	pub, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := x509.MarshalECPrivateKey(k.ec)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := x509.MarshalPKCS8PrivateKey(k.ed)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jwt"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.rsa.PublicKey, k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{
		"private.pem":   {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)},
		"private8.pem":  {Type: "PRIVATE KEY", Bytes: p8},
		"public.pem":    {Type: "PUBLIC KEY", Bytes: pub},
		"public1.pem":   {Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)},
		"cert.pem":      {Type: "CERTIFICATE", Bytes: cert},
		"ec.pem":        {Type: "EC PRIVATE KEY", Bytes: ec},
		"ed25519.pem":   {Type: "PRIVATE KEY", Bytes: ed},
		"other-pub.pem": {Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.other.PublicKey)},
	} {
		writeFile(t, filepath.Join(dir, name), string(pem.EncodeToMemory(b)))
	}
	writeFile(t, filepath.Join(dir, "symmetric.key"), "secret_sauce")
	writeFile(t, filepath.Join(dir, "sym32.key"), base64.RawURLEncoding.EncodeToString(sym32)+"\n")
	return dir, k
}

// sym32 is a 256-bit symmetric key for the JWE tests.
var sym32 = []byte("0123456789abcdef0123456789abcdef")

// secretSauce is base64url_decode("secret_sauce"), the reference's HMAC key.
var secretSauce = []byte{0xb1, 0xe7, 0x2b, 0x7a, 0xdf, 0xec, 0x6a, 0xe7, 0x1e}

func claims(extra ...any) map[string]any {
	c := map[string]any{"host": "remote_host", "port": "5900"}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signJWS signs claims with go-jose.
func signJWS(t *testing.T, alg jose.SignatureAlgorithm, key any, c map[string]any, opts *jose.SignerOptions) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(marshal(t, c))
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawJWS builds a compact JWS by hand (for "none" and short HMAC keys).
func rawJWS(t *testing.T, header map[string]any, c map[string]any, key []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	in := enc.EncodeToString(marshal(t, header)) + "." + enc.EncodeToString(marshal(t, c))
	if key == nil {
		return in + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

// encryptJWE wraps plaintext in a compact JWE.
func encryptJWE(t *testing.T, alg jose.KeyAlgorithm, enc jose.ContentEncryption, key any, plaintext string) string {
	t.Helper()
	e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: alg, Key: key}, (&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := e.Encrypt([]byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fixedNow(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}
