package tokens

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func newJWT(t *testing.T, keyFile string, o Options) Plugin {
	t.Helper()
	if o.Logger == nil {
		o.Logger, _ = testLogger()
	}
	return mustNew(t, "JWTTokenApi", keyFile, o)
}

// TestJWTReferenceVectors follows tests/test_token_plugins.py.
func TestJWTReferenceVectors(t *testing.T) {
	dir, k := keyDir(t)
	want := tcp("remote_host:5900")
	rs := signJWS(t, jose.RS256, k.rsa, claims(), nil)

	t.Run("RS256 public.pem", func(t *testing.T) {
		lookupOK(t, newJWT(t, filepath.Join(dir, "public.pem"), Options{}), rs, want)
	})
	t.Run("RS256 private.pem", func(t *testing.T) {
		lookupOK(t, newJWT(t, filepath.Join(dir, "private.pem"), Options{}), rs, want)
	})
	t.Run("wrong key path", func(t *testing.T) {
		if _, err := New("JWTTokenApi", filepath.Join(dir, "wrong.pub"), Options{}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("nbf exp window", func(t *testing.T) {
		tok := signJWS(t, jose.RS256, k.rsa, claims("nbf", 100, "exp", 200), nil)
		for _, tc := range []struct {
			now int64
			ok  bool
		}{{150, true}, {50, false}, {250, false}} {
			p := newJWT(t, filepath.Join(dir, "public.pem"), Options{Now: fixedNow(tc.now)})
			if tc.ok {
				lookupOK(t, p, tok, want)
				if got, _ := p.Lookup(context.Background(), tok); !got.Expires.Equal(time.Unix(200, 0)) {
					t.Fatalf("Expires %v; want the exp claim", got.Expires)
				}
			} else {
				lookupErr(t, p, tok, ErrInvalidToken)
			}
		}
	})
	t.Run("HS256 symmetric.key", func(t *testing.T) {
		key, err := base64.RawURLEncoding.DecodeString("secret_sauce")
		if err != nil || hex.EncodeToString(key) != "b1e72b7adfec6ae71e" || string(key) != string(secretSauce) {
			t.Fatalf("fixture key %x, %v", key, err)
		}
		log, buf := testLogger()
		p := newJWT(t, filepath.Join(dir, "symmetric.key"), Options{Logger: log})
		lookupOK(t, p, rawJWS(t, map[string]any{"alg": "HS256"}, claims(), secretSauce), want)
		if !strings.Contains(buf.String(), "shorter than the 256 bits") {
			t.Errorf("no short-key warning:\n%s", buf)
		}
		// The literal file content is not the key.
		lookupErr(t, p, rawJWS(t, map[string]any{"alg": "HS256"}, claims(), []byte("secret_sauce")), ErrInvalidToken)
	})
	t.Run("HS256 wrong secret", func(t *testing.T) {
		p := newJWT(t, filepath.Join(dir, "symmetric.key"), Options{})
		lookupErr(t, p, rawJWS(t, map[string]any{"alg": "HS256"}, claims(), []byte("wrong_sauce")), ErrInvalidToken)
	})
	t.Run("nested JWE", func(t *testing.T) {
		jwe := encryptJWE(t, jose.RSA_OAEP, jose.A256CBC_HS512, &k.rsa.PublicKey, rs)
		lookupOK(t, newJWT(t, filepath.Join(dir, "private.pem"), Options{}), jwe, want)
		lookupOK(t, newJWT(t, filepath.Join(dir, "private8.pem"), Options{}), jwe, want)
		// A public key cannot decrypt.
		lookupErr(t, newJWT(t, filepath.Join(dir, "public.pem"), Options{}), jwe, ErrInvalidToken)
	})
}

// TestJWTNegative is threat-model row 28: every token here is refused as
// invalid (never a backend failure, never a target).
func TestJWTNegative(t *testing.T) {
	dir, k := keyDir(t)
	now := time.Now().Unix()
	pubPEM, err := os.ReadFile(filepath.Join(dir, "public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rs := signJWS(t, jose.RS256, k.rsa, claims(), nil)
	ec := signJWS(t, jose.ES256, k.ec, claims(), nil)
	cases := map[string]string{
		"alg none":                 rawJWS(t, map[string]any{"alg": "none"}, claims(), nil),
		"alg None":                 rawJWS(t, map[string]any{"alg": "None"}, claims(), nil),
		"HS256 keyed with the PEM": rawJWS(t, map[string]any{"alg": "HS256"}, claims(), pubPEM),
		"other RSA key":            signJWS(t, jose.RS256, k.other, claims(), nil),
		"embedded attacker jwk":    signJWS(t, jose.RS256, k.other, claims(), (&jose.SignerOptions{EmbedJWK: true})),
		"ES256 on an RSA key":      ec,
		"expired":                  signJWS(t, jose.RS256, k.rsa, claims("exp", now-3600), nil),
		"past the leeway":          signJWS(t, jose.RS256, k.rsa, claims("exp", now-40), nil),
		"not yet valid":            signJWS(t, jose.RS256, k.rsa, claims("nbf", now+3600), nil),
		"exp not a number":         signJWS(t, jose.RS256, k.rsa, claims("exp", "soon"), nil),
		"no host":                  signJWS(t, jose.RS256, k.rsa, map[string]any{"port": 1}, nil),
		"no port":                  signJWS(t, jose.RS256, k.rsa, map[string]any{"host": "h"}, nil),
		"bad port":                 signJWS(t, jose.RS256, k.rsa, claims("port", "remote_port"), nil),
		"claims not JSON":          rawJWSPayload(t, k, "not json"),
		"tampered payload":         tamper(rs),
		"oversized":                rs + "." + strings.Repeat("A", MaxJWTLength),
		"dots":                     strings.Repeat(".", 1<<20),
		"empty":                    "",
		"garbage":                  "a.b.c",
		"JSON serialization":       `{"payload":"e30","signatures":[]}`,
		"JWE with a public key":    encryptJWE(t, jose.RSA_OAEP_256, jose.A128GCM, &k.rsa.PublicKey, rs),
	}
	p := newJWT(t, filepath.Join(dir, "public.pem"), Options{})
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			lookupErr(t, p, tok, ErrInvalidToken)
		})
	}

	priv := newJWT(t, filepath.Join(dir, "private.pem"), Options{})
	for name, tok := range map[string]string{
		"JWE holding bare claims": encryptJWE(t, jose.RSA_OAEP, jose.A256GCM, &k.rsa.PublicKey, string(marshal(t, claims()))),
		"JWE holding a JWE":       encryptJWE(t, jose.RSA_OAEP, jose.A256GCM, &k.rsa.PublicKey, encryptJWE(t, jose.RSA_OAEP, jose.A256GCM, &k.rsa.PublicKey, rs)),
		"JWE holding a foreign JWS": encryptJWE(t, jose.RSA_OAEP, jose.A256GCM, &k.rsa.PublicKey,
			signJWS(t, jose.RS256, k.other, claims(), nil)),
		"JWE with RSA1_5":     encryptJWE(t, jose.RSA1_5, jose.A128GCM, &k.rsa.PublicKey, rs),
		"JWE for another key": encryptJWE(t, jose.RSA_OAEP, jose.A128GCM, &k.other.PublicKey, rs),
	} {
		t.Run(name, func(t *testing.T) {
			lookupErr(t, priv, tok, ErrInvalidToken)
		})
	}

	sym := newJWT(t, filepath.Join(dir, "sym32.key"), Options{})
	for name, tok := range map[string]string{
		"RS256 on a symmetric key": rs,
		"PBES2 JWE": encryptJWE(t, jose.PBES2_HS256_A128KW, jose.A128GCM, string(sym32),
			signJWS(t, jose.HS256, sym32, claims(), nil)),
	} {
		t.Run(name, func(t *testing.T) {
			lookupErr(t, sym, tok, ErrInvalidToken)
		})
	}

	t.Run("exp required", func(t *testing.T) {
		p := newJWT(t, filepath.Join(dir, "public.pem"), Options{JWTRequireExp: true})
		lookupErr(t, p, rs, ErrInvalidToken)
		lookupOK(t, p, signJWS(t, jose.RS256, k.rsa, claims("exp", now+60), nil), tcp("remote_host:5900"))
	})
}

func rawJWSPayload(t *testing.T, k *testKeys, payload string) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.rsa}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := obj.CompactSerialize()
	return out
}

// tamper swaps the payload for another one, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"host":"evil","port":22}`))
	return strings.Join(parts, ".")
}

func TestJWTKeyKinds(t *testing.T) {
	dir, k := keyDir(t)
	want := tcp("remote_host:5900")
	now := time.Now().Unix()
	for _, tc := range []struct {
		name, file, token string
	}{
		{"PS256", "public.pem", signJWS(t, jose.PS256, k.rsa, claims(), nil)},
		{"RS512 PKCS#1 public", "public1.pem", signJWS(t, jose.RS512, k.rsa, claims(), nil)},
		{"RS256 certificate", "cert.pem", signJWS(t, jose.RS256, k.rsa, claims(), nil)},
		{"ES256", "ec.pem", signJWS(t, jose.ES256, k.ec, claims(), nil)},
		{"EdDSA", "ed25519.pem", signJWS(t, jose.EdDSA, k.ed, claims(), nil)},
		{"HS256 with newline in key file", "sym32.key", signJWS(t, jose.HS256, sym32, claims(), nil)},
		{"dir A256GCM", "sym32.key", encryptJWE(t, jose.DIRECT, jose.A256GCM, sym32, signJWS(t, jose.HS256, sym32, claims(), nil))},
		{"A256KW", "sym32.key", encryptJWE(t, jose.A256KW, jose.A128CBC_HS256, sym32, signJWS(t, jose.HS256, sym32, claims(), nil))},
		{"ECDH-ES", "ec.pem", encryptJWE(t, jose.ECDH_ES_A128KW, jose.A128GCM, &k.ec.PublicKey, signJWS(t, jose.ES256, k.ec, claims(), nil))},
		{"within the leeway", "public.pem", signJWS(t, jose.RS256, k.rsa, claims("exp", now-10, "nbf", now+10), nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookupOK(t, newJWT(t, filepath.Join(dir, tc.file), Options{}), tc.token, want)
		})
	}
	t.Run("numeric port and unix socket", func(t *testing.T) {
		p := newJWT(t, filepath.Join(dir, "public.pem"), Options{})
		lookupOK(t, p, signJWS(t, jose.RS256, k.rsa, map[string]any{"host": "::1", "port": 5901}, nil), tcp("[::1]:5901"))
		lookupOK(t, p, signJWS(t, jose.RS256, k.rsa, map[string]any{"host": "unix_socket", "port": "/run/v.sock"}, nil),
			Target{Network: "unix", Address: "/run/v.sock"})
	})
	t.Run("no leeway", func(t *testing.T) {
		p := newJWT(t, filepath.Join(dir, "public.pem"), Options{JWTLeeway: -1, Now: fixedNow(201)})
		lookupErr(t, p, signJWS(t, jose.RS256, k.rsa, claims("exp", 200), nil), ErrInvalidToken)
	})
}

func TestJWTKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":      "",
		"not base64": "not a key!",
		"bad pem":    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"broken pem": "-----BEGIN PUBLIC KEY-----\n",
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		writeFile(t, f, content)
		if _, err := New("JWTTokenApi", f, Options{}); err == nil || !strings.Contains(err.Error(), "key") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestJWTKeyRotation(t *testing.T) {
	dir, k := keyDir(t)
	key := filepath.Join(dir, "current.pem")
	pub, _ := os.ReadFile(filepath.Join(dir, "public.pem"))
	other, _ := os.ReadFile(filepath.Join(dir, "other-pub.pem"))
	writeFile(t, key, string(pub))
	p := newJWT(t, key, Options{})
	a := signJWS(t, jose.RS256, k.rsa, claims(), nil)
	b := signJWS(t, jose.RS256, k.other, claims(), nil)
	lookupOK(t, p, a, tcp("remote_host:5900"))
	lookupErr(t, p, b, ErrInvalidToken)
	writeFile(t, key, string(other))
	lookupOK(t, p, b, tcp("remote_host:5900"))
	lookupErr(t, p, a, ErrInvalidToken)
	os.Remove(key)
	lookupErr(t, p, b, nil)
}
