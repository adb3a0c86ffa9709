package tlsconfig

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	p := needPKI(t)
	r, err := Server(ServerOptions{CertFile: p.path("ec.pem"), KeyFile: p.path("ec.key")})
	if err != nil {
		t.Fatal(err)
	}
	sni := make(chan string, 8)
	scfg := r.Config().Clone()
	scfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni <- h.ServerName
		return nil, nil
	}
	addr, _ := serve(t, scfg)
	port := addr[strings.LastIndexByte(addr, ':'):]

	trusted, err := Client(ClientOptions{CAFile: p.path("root.pem")})
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := Client(ClientOptions{CAFile: p.path("clientCA.pem")})
	if err != nil {
		t.Fatal(err)
	}
	insecure, err := Client(ClientOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		base    *tls.Config
		target  string
		wantSNI string
		wantErr string
	}{
		{"name verified, SNI sent", trusted, "localhost" + port, "localhost", ""},
		{"IP address SAN, no SNI", trusted, "127.0.0.1" + port, "", ""},
		{"unknown CA", untrusted, "localhost" + port, "localhost", "unknown authority"},
		{"wrong name", trusted, "127.0.0.2" + port, "", "127.0.0.2"},
		{"insecure skips checks", insecure, "127.0.0.1" + port, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ForTarget(tc.base, tc.target)
			c, err := dial(addr, cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want error containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				c.Close()
			}
			if got := <-sni; got != tc.wantSNI {
				t.Fatalf("SNI %q; want %q", got, tc.wantSNI)
			}
		})
	}
}

func TestForTarget(t *testing.T) {
	base := &tls.Config{}
	for in, want := range map[string]string{
		"example.com:443":  "example.com",
		"example.com.:443": "example.com",
		"[::1]:5900":       "::1",
		"vnc.local":        "vnc.local",
	} {
		if got := ForTarget(base, in).ServerName; got != want {
			t.Errorf("%q: got %q; want %q", in, got, want)
		}
	}
	if base.ServerName != "" {
		t.Fatal("base modified")
	}
	if _, err := Client(ClientOptions{CAFile: "/nonexistent"}); err == nil {
		t.Fatal("missing CA file accepted")
	}
}
