package tokens

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// jwtKey is the key file of JWTTokenApi with the algorithms it may be used
// with. The kind of key decides the allow-list, never the token's header:
// a PEM key allows only asymmetric algorithms, a symmetric key only HMAC,
// so a token signed with HMAC over a public key is refused.
type jwtKey struct {
	kind    string // for messages: "RSA private key", "symmetric key", ...
	verify  any    // verification key for go-jose
	decrypt any    // decryption key for nested JWE; nil when JWE is impossible
	sigAlgs []jose.SignatureAlgorithm
	keyAlgs []jose.KeyAlgorithm
	encAlgs []jose.ContentEncryption
	short   bool // symmetric key below RFC 7518's 256 bits
}

var (
	rsaSigAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	rsaKeyAlgs = []jose.KeyAlgorithm{jose.RSA_OAEP, jose.RSA_OAEP_256}
	ecKeyAlgs  = []jose.KeyAlgorithm{jose.ECDH_ES, jose.ECDH_ES_A128KW, jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW}
	hmacAlgs   = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	// No PBES2: its iteration count comes from the token (a CPU cost an
	// attacker chooses).
	symKeyAlgs = []jose.KeyAlgorithm{jose.DIRECT, jose.A128KW, jose.A192KW, jose.A256KW, jose.A128GCMKW, jose.A192GCMKW, jose.A256GCMKW}
	encAlgs    = []jose.ContentEncryption{jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512, jose.A128GCM, jose.A192GCM, jose.A256GCM}
)

// parseJWTKey reads a key file as the reference does: a PEM public key,
// private key or certificate (RSA, EC or Ed25519); otherwise the whole
// content is the base64url encoding of a symmetric key ("secret_sauce" is
// the 9-byte key 0xb1e72b7adfec6ae71e). Unlike the reference, trailing
// whitespace (a final newline) is ignored.
func parseJWTKey(data []byte) (*jwtKey, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, errors.New("failed to correctly parse key data: bad PEM")
		}
		k, err := parsePEMKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("failed to correctly parse key data: %s: %w", block.Type, err)
		}
		return asymmetricKey(k)
	}
	s := strings.TrimRight(string(data), " \t\r\n")
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(key) == 0 {
		return nil, errors.New("failed to correctly parse key data: neither PEM nor a base64url symmetric key")
	}
	return &jwtKey{
		kind:    "symmetric key",
		verify:  hmacVerifier(key),
		decrypt: key,
		sigAlgs: hmacAlgs,
		keyAlgs: symKeyAlgs,
		encAlgs: encAlgs,
		short:   len(key) < 32,
	}, nil
}

// parsePEMKey tries the DER encodings a PEM block may hold.
func parsePEMKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		return c.PublicKey, nil
	}
	return nil, errors.New("not a supported public key, private key or certificate")
}

func asymmetricKey(k any) (*jwtKey, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &jwtKey{kind: "RSA private key", verify: &k.PublicKey, decrypt: k,
			sigAlgs: rsaSigAlgs, keyAlgs: rsaKeyAlgs, encAlgs: encAlgs}, nil
	case *rsa.PublicKey:
		return &jwtKey{kind: "RSA public key", verify: k, sigAlgs: rsaSigAlgs}, nil
	case *ecdsa.PrivateKey:
		alg, err := ecAlg(k.Curve)
		if err != nil {
			return nil, err
		}
		return &jwtKey{kind: "EC private key", verify: &k.PublicKey, decrypt: k,
			sigAlgs: alg, keyAlgs: ecKeyAlgs, encAlgs: encAlgs}, nil
	case *ecdsa.PublicKey:
		alg, err := ecAlg(k.Curve)
		if err != nil {
			return nil, err
		}
		return &jwtKey{kind: "EC public key", verify: k, sigAlgs: alg}, nil
	case ed25519.PrivateKey:
		return &jwtKey{kind: "Ed25519 private key", verify: k.Public().(ed25519.PublicKey),
			sigAlgs: []jose.SignatureAlgorithm{jose.EdDSA}}, nil
	case ed25519.PublicKey:
		return &jwtKey{kind: "Ed25519 public key", verify: k, sigAlgs: []jose.SignatureAlgorithm{jose.EdDSA}}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", k)
}

func ecAlg(c elliptic.Curve) ([]jose.SignatureAlgorithm, error) {
	switch c {
	case elliptic.P256():
		return []jose.SignatureAlgorithm{jose.ES256}, nil
	case elliptic.P384():
		return []jose.SignatureAlgorithm{jose.ES384}, nil
	case elliptic.P521():
		return []jose.SignatureAlgorithm{jose.ES512}, nil
	}
	return nil, fmt.Errorf("unsupported EC curve %s", c.Params().Name)
}

// hmacVerifier checks HS256/384/512 signatures. It exists because go-jose
// refuses HMAC keys shorter than the hash, while the reference accepts
// them (its own fixture is a 9-byte key); New logs a warning for those.
type hmacVerifier []byte

func (k hmacVerifier) VerifyPayload(payload, sig []byte, alg jose.SignatureAlgorithm) error {
	var h func() hash.Hash
	switch alg {
	case jose.HS256:
		h = sha256.New
	case jose.HS384:
		h = sha512.New384
	case jose.HS512:
		h = sha512.New
	default:
		return fmt.Errorf("algorithm %s not allowed with a symmetric key", alg)
	}
	m := hmac.New(h, k)
	m.Write(payload)
	if !hmac.Equal(m.Sum(nil), sig) {
		return errors.New("bad signature")
	}
	return nil
}
