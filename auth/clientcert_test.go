package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// pki is a CA with a server certificate and client certificates.
type pki struct {
	pool   *x509.CertPool
	server tls.Certificate
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{pool: x509.NewCertPool(), ca: ca, caKey: key}
	p.pool.AddCert(ca)
	p.server = p.issue(t, "localhost", x509.ExtKeyUsageServerAuth, ca, key)
	return p
}

// issue makes a leaf certificate for cn signed by parent.
func (p *pki) issue(t *testing.T, cn string, usage x509.ExtKeyUsage, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{"localhost"},
	}
	if parent == nil {
		parent, parentKey = tpl, key // self-signed
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs a real TLS handshake over a pipe and returns the server's
// view of the connection.
func (p *pki) handshake(t *testing.T, clientAuth tls.ClientAuthType, client *tls.Certificate) *tls.ConnectionState {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	// No session tickets: nobody would read them from the pipe.
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: clientAuth,
		ClientCAs: p.pool, SessionTicketsDisabled: true})
	cfg := &tls.Config{RootCAs: p.pool, ServerName: "localhost"}
	if client != nil {
		// Send it even when the server's CA list does not name its issuer.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	errc := make(chan error, 1)
	go func() {
		c := tls.Client(cc, cfg)
		errc <- c.Handshake()
		io.Copy(io.Discard, c) // read alerts until the pipe closes
	}()
	if err := srv.Handshake(); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	st := srv.ConnectionState()
	return &st
}

func TestClientCertCNAuth(t *testing.T) {
	pk := newPKI(t)
	p := mustNew(t, "ClientCertCNAuth", "jane@example.com Joe User9824510")
	if !NeedsClientCert(p) || NeedsClientCert(mustNew(t, "ExpectOrigin", "x")) {
		t.Error("NeedsClientCert wrong")
	}
	jane := pk.issue(t, "jane@example.com", x509.ExtKeyUsageClientAuth, pk.ca, pk.caKey)
	mallory := pk.issue(t, "mallory", x509.ExtKeyUsageClientAuth, pk.ca, pk.caKey)
	selfJane := pk.issue(t, "jane@example.com", x509.ExtKeyUsageClientAuth, nil, nil)
	user := pk.issue(t, "User9824510", x509.ExtKeyUsageClientAuth, pk.ca, pk.caKey)

	if err := p.Authenticate(&Request{TLS: pk.handshake(t, tls.RequireAndVerifyClientCert, &jane)}); err != nil {
		t.Errorf("verified jane: %v", err)
	}
	// As in the reference, the list is split at whitespace.
	if err := p.Authenticate(&Request{TLS: pk.handshake(t, tls.RequireAndVerifyClientCert, &user)}); err != nil {
		t.Errorf("verified User9824510: %v", err)
	}
	refused(t, p.Authenticate(&Request{TLS: pk.handshake(t, tls.RequireAndVerifyClientCert, &mallory)}), 403)
	// A self-signed "jane" the server did not verify carries no identity.
	refused(t, p.Authenticate(&Request{TLS: pk.handshake(t, tls.RequireAnyClientCert, &selfJane)}), 403)
	// Nor does an unverified certificate from the right CA.
	st := pk.handshake(t, tls.RequestClientCert, &jane)
	if len(st.PeerCertificates) == 0 || len(st.VerifiedChains) != 0 {
		t.Fatalf("unexpected state: %d peer, %d verified", len(st.PeerCertificates), len(st.VerifiedChains))
	}
	refused(t, p.Authenticate(&Request{TLS: st}), 403)
	// TLS without a client certificate.
	refused(t, p.Authenticate(&Request{TLS: pk.handshake(t, tls.VerifyClientCertIfGiven, nil)}), 403)
}

// TestClientCertCNAuthIgnoresHeaders: the reference's bypass (a plain
// ws:// request with ssl_client_s_dn_cn: jane) must not work, whatever the
// letter case, sanitized or not.
func TestClientCertCNAuthIgnoresHeaders(t *testing.T) {
	p := mustNew(t, "ClientCertCNAuth", "jane")
	for _, name := range []string{"SSL_CLIENT_S_DN_CN", "ssl_client_s_dn_cn", "Ssl_Client_S_Dn_Cn", "SSL-CLIENT-S-DN-CN"} {
		h := header()
		h[name] = []string{"jane"}
		h.Set(name, "jane")
		refused(t, p.Authenticate(&Request{Header: h}), 403)
		SanitizeHeader(h)
		refused(t, p.Authenticate(&Request{Header: h}), 403)
	}
}
