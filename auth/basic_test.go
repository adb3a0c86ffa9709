package auth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

// TestBasicHTTPAuthReference follows tests/test_auth_plugins.py.
func TestBasicHTTPAuthReference(t *testing.T) {
	p := mustNew(t, "BasicHTTPAuth", "Aladdin:open sesame")
	e := refused(t, p.Authenticate(&Request{Header: header()}), 401)
	if got := e.Header.Get("WWW-Authenticate"); got != `Basic realm="Websockify"` {
		t.Errorf("challenge %q", got)
	}
	e = refused(t, p.Authenticate(&Request{Header: header("Authorization", "Basic QWxhZGRpbjpzZXNhbWUgc3RyZWV0")}), 401)
	if e.Header.Get("WWW-Authenticate") == "" {
		t.Error("no challenge on wrong credentials")
	}
	if err := p.Authenticate(&Request{Header: header("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")}); err != nil {
		t.Errorf("valid credentials: %v", err)
	}
	refused(t, p.Authenticate(&Request{Header: header("Authorization", "Basic "+strings.Repeat("x", 100))}), 403)
}

func TestBasicHTTPAuth(t *testing.T) {
	p := mustNew(t, "BasicHTTPAuth", "jürgen:pa:ss wörd")
	for _, h := range []string{
		basic("jürgen:pa:ss wörd"),       // UTF-8, as browsers send
		basic("j\xfcrgen:pa:ss w\xf6rd"), // ISO-8859-1, as the reference decodes
		"basic " + base64.StdEncoding.EncodeToString([]byte("jürgen:pa:ss wörd")), // scheme in any case
	} {
		if err := p.Authenticate(&Request{Header: header("Authorization", h)}); err != nil {
			t.Errorf("%q: %v", h, err)
		}
	}
	for h, status := range map[string]int{
		basic("jürgen:pa:ss"):              401,
		basic("jürgen:pa:ss wörd "):        401,
		basic(":"):                         401,
		basic("jürgen"):                    403, // no colon
		"Basic !!!!":                       403, // not base64
		"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ": 403, // bad padding (the reference crashes)
		"Basic":                            403,
		"Bearer abc":                       403,
		"Digest username=x":                403,
	} {
		refused(t, p.Authenticate(&Request{Header: header("Authorization", h)}), status)
	}
	// Only the first Authorization header counts.
	h := header("Authorization", basic("x:y"), "Authorization", basic("jürgen:pa:ss wörd"))
	refused(t, p.Authenticate(&Request{Header: h}), 401)
}

func TestBasicHTTPAuthSecretSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(file, []byte("u:p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) Options {
		return Options{Getenv: func(k string) string { return m[k] }}
	}
	for name, o := range map[string]Options{
		"env":  env(map[string]string{EnvBasicAuth: "u:p"}),
		"file": env(map[string]string{EnvBasicAuthFile: file}),
	} {
		p, err := New("BasicHTTPAuth", "", o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := p.Authenticate(&Request{Header: header("Authorization", basic("u:p"))}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, tc := range map[string]struct {
		src string
		o   Options
	}{
		"nothing":           {"", env(nil)},
		"source and env":    {"u:p", env(map[string]string{EnvBasicAuth: "u:p"})},
		"env and file":      {"", env(map[string]string{EnvBasicAuth: "u:p", EnvBasicAuthFile: file})},
		"missing file":      {"", env(map[string]string{EnvBasicAuthFile: file + ".x"})},
		"env without colon": {"", env(map[string]string{EnvBasicAuth: "up"})},
	} {
		if _, err := New("BasicHTTPAuth", tc.src, tc.o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
