package admin

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// FuzzParseAddr: any string is an admin address or a clear error; a TCP
// address comes back as host:port that parses again to itself.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9180", "[::1]:0", ":http", "unix:/run/a.sock", "unix:", "9180", "h:", "h:99999", "[::1", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		network, addr, err := ParseAddr(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "admin address ") {
				t.Fatalf("%q: error %q does not say what it is about", s, err)
			}
			return
		}
		switch network {
		case "unix":
			if addr == "" || "unix:"+addr != s {
				t.Fatalf("%q: unix path %q", s, addr)
			}
		case "tcp":
			if _, _, err := net.SplitHostPort(addr); err != nil {
				t.Fatalf("%q: address %q: %v", s, addr, err)
			}
			if n2, a2, err := ParseAddr(addr); err != nil || n2 != "tcp" || a2 != addr {
				t.Fatalf("%q: %q parses again to %q %q %v", s, addr, n2, a2, err)
			}
		default:
			t.Fatalf("%q: network %q", s, network)
		}
	})
}

// FuzzAuthorization: only the exact token, after "Bearer " in any letter
// case, is accepted.
func FuzzAuthorization(f *testing.F) {
	const tok = "0123456789abcdef-secret"
	for _, s := range []string{"Bearer " + tok, "bearer " + tok, "Bearer  " + tok, "Basic " + tok, tok, "", "Bearer", "Bearer " + tok + "x"} {
		f.Add(s)
	}
	s := &Server{token: []byte(tok)}
	f.Fuzz(func(t *testing.T, h string) {
		r := &http.Request{Header: http.Header{"Authorization": {h}}}
		got := s.authorized(r)
		scheme, rest, _ := strings.Cut(h, " ")
		want := strings.EqualFold(scheme, "bearer") && strings.TrimSpace(rest) == tok
		if got != want {
			t.Fatalf("Authorization %q: authorized %v; want %v", h, got, want)
		}
	})
}
