package tlsconfig

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrKeyPassword means the private key is encrypted and the password is
// missing or wrong.
var ErrKeyPassword = errors.New("tlsconfig: private key is encrypted: missing or wrong password")

// LoadKeyPair reads a certificate chain and its private key.
//
// certFile holds the server certificate followed by its intermediates, in
// PEM; the private key may sit in the same file (before or after the
// certificates) or in keyFile. If the certificates are out of order, the
// one matching the key is moved to the front. password decrypts an
// encrypted key; it is ignored for a plain key.
func LoadKeyPair(certFile, keyFile, password string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, keyFrom := certPEM, certFile
	if keyFile != "" {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return tls.Certificate{}, fmt.Errorf("read key: %w", err)
		}
		keyFrom = keyFile
	}
	return parseKeyPair(certPEM, keyPEM, password, certFile, keyFrom)
}

func parseKeyPair(certPEM, keyPEM []byte, password, certFrom, keyFrom string) (tls.Certificate, error) {
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return tls.Certificate{}, fmt.Errorf("no PEM certificate in %s", certFrom)
	}
	key, err := findKey(keyPEM, password)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key in %s: %w", keyFrom, err)
	}
	certs := make([]*x509.Certificate, len(chain))
	leaf := -1
	for i, der := range chain {
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return tls.Certificate{}, fmt.Errorf("certificate %d in %s: %w", i+1, certFrom, err)
		}
		if leaf < 0 && samePublicKey(certs[i].PublicKey, key.Public()) {
			leaf = i
		}
	}
	if leaf < 0 {
		return tls.Certificate{}, fmt.Errorf("private key in %s matches no certificate in %s", keyFrom, certFrom)
	}
	if leaf > 0 {
		chain = append(append([][]byte{chain[leaf]}, chain[:leaf]...), chain[leaf+1:]...)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: certs[leaf]}, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// findKey returns the first private key in data, decrypting it if needed.
func findKey(data []byte, password string) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM private key found")
		}
		if b.Type != "PRIVATE KEY" && b.Type != "ENCRYPTED PRIVATE KEY" && !strings.HasSuffix(b.Type, " PRIVATE KEY") {
			continue
		}
		return parseKeyBlock(b, password)
	}
}

func parseKeyBlock(b *pem.Block, password string) (crypto.Signer, error) {
	der := b.Bytes
	var err error
	switch {
	case b.Type == "ENCRYPTED PRIVATE KEY":
		if password == "" {
			return nil, ErrKeyPassword
		}
		if der, err = decryptPKCS8(der, []byte(password)); err != nil {
			return nil, err
		}
	//lint:ignore SA1019 the only stdlib reader of OpenSSL's traditional encrypted keys, which the reference accepts
	case x509.IsEncryptedPEMBlock(b): //nolint:staticcheck
		if password == "" {
			return nil, ErrKeyPassword
		}
		//lint:ignore SA1019 see above
		der, err = x509.DecryptPEMBlock(b, []byte(password)) //nolint:staticcheck
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, ErrKeyPassword
		}
		if err != nil {
			return nil, fmt.Errorf("decrypt key: %w", err)
		}
	}
	key, err := parseKeyDER(b.Type, der)
	if err != nil && der != nil && !bytes.Equal(der, b.Bytes) {
		// Legacy CBC decryption with a wrong password can pass the
		// padding check and leave garbage.
		return nil, ErrKeyPassword
	}
	return key, err
}

func parseKeyDER(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	default:
		k, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", strings.ToLower(typ), err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return s, nil
}
