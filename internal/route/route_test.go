package route

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/tokens"
)

// tokenFile writes a TokenFile source with one token.
func tokenFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("good: 127.0.0.1:5900\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func httpErr(t *testing.T, err error) *gateway.HTTPError {
	t.Helper()
	var he *gateway.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("error %v is not an *HTTPError", err)
	}
	return he
}

// TestRouteStatuses: the answer for each kind of token lookup.
func TestRouteStatuses(t *testing.T) {
	r, err := New(Config{TokenPlugin: "TokenFile", TokenSource: tokenFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		url    string
		status int
		msg    string
	}{
		{"/?token=good", 0, ""},
		{"/", http.StatusBadRequest, tokens.MsgNotPresent},
		{"/?token=other", http.StatusNotFound, tokens.MsgNotFound},
	} {
		ep, err := r.Route(httptest.NewRequest("GET", tc.url, nil))
		if tc.status == 0 {
			if err != nil || ep.Address != "127.0.0.1:5900" {
				t.Errorf("%s: %+v, %v", tc.url, ep, err)
			}
			continue
		}
		if he := httpErr(t, err); he.Status != tc.status || he.Message != tc.msg {
			t.Errorf("%s: %d %q; want %d %q", tc.url, he.Status, he.Message, tc.status, tc.msg)
		}
	}
}

// TestRouteBackendFailing: a token API that cannot be reached is 503, and
// the token does not appear in the error.
func TestRouteBackendFailing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	r, err := New(Config{TokenPlugin: "BaseTokenAPI", TokenSource: "http://" + addr + "/%s"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Route(httptest.NewRequest("GET", "/?token=s3cr3t-token-value", nil))
	he := httpErr(t, err)
	if he.Status != http.StatusServiceUnavailable || he.Message != tokens.MsgFailed {
		t.Fatalf("%d %q; want 503", he.Status, he.Message)
	}
	if s := err.Error(); strings.Contains(s, "s3cr3t-token-value") {
		t.Fatalf("the token leaks into the error: %s", s)
	}
}

// TestAuthorizeStatuses: an auth plugin's refusal keeps its status and
// challenge.
func TestAuthorizeStatuses(t *testing.T) {
	r, err := New(Config{AuthPlugin: "BasicHTTPAuth", AuthSource: "user:pass"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := &gateway.ConnInfo{Target: gateway.Endpoint{Address: "127.0.0.1:5900"}}
	req := httptest.NewRequest("GET", "/", nil)
	he := httpErr(t, r.Authorize(req, info))
	if he.Status != http.StatusUnauthorized || he.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d %v; want 401 with a challenge", he.Status, he.Header)
	}
	req.SetBasicAuth("user", "wrong")
	if he := httpErr(t, r.Authorize(req, info)); he.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d; want 401", he.Status)
	}
	req.SetBasicAuth("user", "pass")
	if err := r.Authorize(req, info); err != nil {
		t.Fatalf("right password: %v", err)
	}
}

// TestNewRefusesWhatCannotWork: combinations that would do nothing are
// startup errors.
func TestNewRefusesWhatCannotWork(t *testing.T) {
	for name, rc := range map[string]Config{
		"token option without a plugin": {HostToken: true},
		"host token with cookie":        {TokenPlugin: "TokenFile", TokenSource: tokenFile(t), HostToken: true, TokenCookie: true},
		"auth source without a plugin":  {AuthSource: "user:pass"},
		"client cert auth unverified":   {AuthPlugin: "ClientCertCNAuth", AuthSource: "jane"},
		"unknown token plugin":          {TokenPlugin: "NoSuchPlugin"},
	} {
		if r, err := New(rc); err == nil {
			r.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
