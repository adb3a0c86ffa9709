package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func mustNew(t *testing.T, name, source string) Plugin {
	t.Helper()
	p, err := New(name, source, Options{Getenv: noEnv})
	if err != nil {
		t.Fatalf("New(%s, %q): %v", name, source, err)
	}
	return p
}

// refused checks that err is an *Error with status.
func refused(t *testing.T, err error, status int) *Error {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T); want *Error %d", err, err, status)
	}
	if ae.Status != status {
		t.Fatalf("status %d (%v); want %d", ae.Status, ae, status)
	}
	return ae
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestNew(t *testing.T) {
	if !slices.Equal(Names(), []string{"BasicHTTPAuth", "ClientCertCNAuth", "ExpectOrigin"}) {
		t.Errorf("Names() = %q", Names())
	}
	_, err := New("Nope", "x", Options{})
	if err == nil || !strings.Contains(err.Error(), "BasicHTTPAuth, ClientCertCNAuth, ExpectOrigin") {
		t.Errorf("unknown plugin: %v", err)
	}
	if _, err := New("websockify.auth_plugins.ExpectOrigin", "http://a", Options{}); err != nil {
		t.Errorf("dotted name: %v", err)
	}
	if _, err := New("other.module.ExpectOrigin", "http://a", Options{}); err == nil {
		t.Error("foreign module accepted")
	}
	for name, src := range map[string]string{"ExpectOrigin": " \t", "ClientCertCNAuth": "", "BasicHTTPAuth": "nocolon"} {
		if _, err := New(name, src, Options{Getenv: noEnv}); err == nil {
			t.Errorf("%s with %q accepted", name, src)
		}
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Status: 403}, "403 Forbidden"},
		{Error{Status: 403, Reason: "Invalid Origin"}, "403 Invalid Origin"},
		{Error{Status: 401, Reason: "r", Log: "l"}, "401 l"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q; want %q", got, tc.want)
		}
	}
}

func TestSanitizeHeader(t *testing.T) {
	h := header("Ssl_client_s_dn_cn", "a", "Ssl-Client-Verify", "SUCCESS", "Sslx", "keep", "X-Ssl_foo", "keep", "Origin", "o")
	h["ssl_client_s_dn_cn"] = []string{"b"} // as sent, not canonicalised
	h["SSL_CLIENT_S_DN_CN"] = []string{"c"}
	removed := SanitizeHeader(h)
	if len(removed) != 4 {
		t.Errorf("removed %q", removed)
	}
	for k := range h {
		if strings.HasPrefix(strings.ToUpper(k), "SSL_") || strings.HasPrefix(strings.ToUpper(k), "SSL-") {
			t.Errorf("kept %s", k)
		}
	}
	if h.Get("Sslx") != "keep" || h.Get("X-Ssl_foo") != "keep" || h.Get("Origin") != "o" {
		t.Errorf("removed too much: %v", h)
	}
}

func TestExpectOrigin(t *testing.T) {
	p := mustNew(t, "ExpectOrigin", "http://a.example  https://b.example:8443\n")
	for _, o := range []string{"http://a.example", "https://b.example:8443"} {
		if err := p.Authenticate(&Request{Header: header("Origin", o)}); err != nil {
			t.Errorf("Origin %q: %v", o, err)
		}
	}
	e := refused(t, p.Authenticate(&Request{Header: header()}), 403)
	if e.Reason != "Invalid Origin" {
		t.Errorf("reason %q", e.Reason)
	}
	if want := "Invalid Origin Header: Expected one of ['http://a.example', 'https://b.example:8443'], got 'None'"; e.Log != want {
		t.Errorf("log %q; want %q", e.Log, want)
	}
	for _, h := range []http.Header{
		header("Origin", "http://evil.example"),
		header("Origin", "HTTP://A.EXAMPLE"),
		header("Origin", "http://a.example/"),
		header("Origin", "null"),
		header("Origin", "http://a.example", "Origin", "http://a.example"),
		header("Origin", "http://evil.example", "Origin", "http://a.example"),
		header("Origin", "http://a.example\x00"),
	} {
		e := refused(t, p.Authenticate(&Request{Header: h}), 403)
		if strings.ContainsAny(e.Log, "\x00\n") {
			t.Errorf("log not escaped: %q", e.Log)
		}
	}
}
