package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
	}{
		{"remote_host:5900", tcp("remote_host:5900")},
		{"  10.0.0.1:5900 \n", tcp("10.0.0.1:5900")},
		{"::1:5900", tcp("[::1]:5900")},
		{"[::1]:5900", tcp("[::1]:5900")},
		{"fe80::1%eth0:5901", tcp("[fe80::1%eth0]:5901")},
		{"host:065535", tcp("host:65535")},
		{"unix_socket:/run/vnc.sock", Target{Network: "unix", Address: "/run/vnc.sock"}},
		{"unix_socket:/run/a:b.sock", Target{Network: "unix", Address: "/run/a:b.sock"}},
	} {
		got, err := ParseTarget(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "host", "host:", ":5900", "host:0", "host:65536", "host:-1", "host:+80",
		"host:vnc", "host:59 00", "ho st:5900", "h/x:80", "[::1]x:80", "unix_socket:", "a:b:c",
	} {
		if got, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) = %+v; want an error", in, got)
		}
	}
}

func TestTargetString(t *testing.T) {
	if s := tcp("h:1").String(); s != "h:1" {
		t.Errorf("got %q", s)
	}
	if s := (Target{Network: "unix", Address: "/x"}).String(); s != "unix socket /x" {
		t.Errorf("got %q", s)
	}
}

func TestRedact(t *testing.T) {
	for _, tok := range []string{"", "a", "abc", "secret-token-1234567890", "\x00\x01\x02\x03\x04\x05\x06\x07"} {
		r := Redact(tok)
		if len(tok) >= 4 && strings.Contains(r, tok) {
			t.Errorf("Redact(%q) = %q reveals the token", tok, r)
		}
		if r != Redact(tok) {
			t.Errorf("Redact(%q) not deterministic", tok)
		}
		for _, c := range r {
			if c < 0x20 {
				t.Errorf("Redact(%q) = %q has control characters", tok, r)
			}
		}
	}
	if got := Redact("secret-token-1234567890-abc"); !strings.HasPrefix(got, "secr…#") || !strings.HasSuffix(got, "/27") {
		t.Errorf("Redact = %q", got)
	}
	// Short tokens show nothing of themselves, and the hash is keyed: not
	// the unsalted SHA-256 a guess could be checked against.
	short := "vm4821"
	got := Redact(short)
	sum := sha256.Sum256([]byte(short))
	if strings.HasPrefix(got, "vm") || strings.Contains(got, hex.EncodeToString(sum[:4])) || !strings.HasPrefix(got, "#") {
		t.Errorf("Redact(%q) = %q", short, got)
	}
	if Redact("abc") == Redact("abd") {
		t.Error("different tokens redact alike")
	}
}

func TestRedactKey(t *testing.T) {
	old := *redactKey.Load()
	defer SetRedactKey(old)
	before := Redact("vm4821")
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	used, err := LoadRedactKey(func(k string) string { return map[string]string{EnvLogKeyFile: path}[k] })
	if err != nil || !used {
		t.Fatalf("LoadRedactKey: %v, %v", used, err)
	}
	a := Redact("vm4821")
	if a == before {
		t.Fatal("the key changed nothing")
	}
	m := hmac.New(sha256.New, []byte("0123456789abcdef0123"))
	m.Write([]byte("vm4821"))
	if want := "#" + hex.EncodeToString(m.Sum(nil)[:4]) + "/6"; a != want {
		t.Fatalf("Redact = %q; want %q (HMAC under the file's key)", a, want)
	}
	if err := SetRedactKey([]byte("short")); err == nil {
		t.Fatal("a 5-byte key accepted")
	}
	if used, err := LoadRedactKey(func(string) string { return "" }); used || err != nil {
		t.Fatalf("no key file: %v, %v", used, err)
	}
}

func TestNewUnknownPlugin(t *testing.T) {
	_, err := New("NoSuchPlugin", "", Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, n := range Names() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
	if _, err := New("mymodule.MyPlugin", "", Options{}); err == nil {
		t.Error("custom dotted plugin accepted")
	}
	want := []string{"BaseTokenAPI", "JSONTokenApi", "JWTTokenApi", "ReadOnlyTokenFile", "TokenFile",
		"TokenFileName", "TokenRedis", "UnixDomainSocketDirectory"}
	if !slices.Equal(Names(), want) {
		t.Errorf("Names() = %q", Names())
	}
}

func TestNewDottedName(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/t", "a: h:1\n")
	p := mustNew(t, "websockify.token_plugins.TokenFile", dir+"/t", Options{})
	lookupOK(t, p, "a", tcp("h:1"))
}

func TestNewStartupErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, source, want string }{
		{"TokenFile", "", "required"},
		{"TokenFile", dir + "/missing", "no such file"},
		{"ReadOnlyTokenFile", dir + "/missing", "no such file"},
		{"TokenFileName", dir + "/missing", "requires a directory"},
		{"UnixDomainSocketDirectory", "", "requires a directory"},
		{"JWTTokenApi", dir + "/missing", "error loading key file"},
		{"JWTTokenApi", "", "required"},
		{"BaseTokenAPI", "http://api/", "exactly once"},
		{"JSONTokenApi", "ftp://api/%s", "http"},
		{"TokenRedis", "a:b:c:d:e:f", "expected format"},
		{"TokenRedis", "host:port", "expected format"},
	} {
		_, err := New(tc.name, tc.source, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s, %q) error %v; want it to mention %q", tc.name, tc.source, err, tc.want)
		}
	}
	if !errors.Is(ErrNotFound, ErrNotFound) || errors.Is(ErrNotFound, ErrInvalidToken) {
		t.Error("sentinels confused")
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{ErrNotFound, 404, MsgNotFound},
		{fmt.Errorf("x: %w", ErrInvalidToken), 403, MsgInvalid},
		{errors.New("redis: connection refused"), 503, MsgFailed},
	} {
		if code, msg := Status(tc.err); code != tc.code || msg != tc.msg {
			t.Errorf("Status(%v) = %d %q", tc.err, code, msg)
		}
	}
}

// TestRedisValueProxyProtocol: JSON values take "proxy_protocol", plain
// values the token file's option; values without one read as before.
func TestRedisValueProxyProtocol(t *testing.T) {
	for v, want := range map[string]Target{
		`{"host": "h:5900", "proxy_protocol": "v2"}`:         {Network: "tcp", Address: "h:5900", ProxyProtocol: ProxyV2},
		`{"host": "h", "port": 1, "proxy_protocol": "none"}`: {Network: "tcp", Address: "h:1", ProxyProtocol: ProxyNone},
		`{"host": "h:5900"}`:                                 {Network: "tcp", Address: "h:5900"},
		`h:5900 proxy_protocol=v1`:                           {Network: "tcp", Address: "h:5900", ProxyProtocol: ProxyV1},
		`unix_socket:/run/x.sock proxy_protocol=v2`:          {Network: "unix", Address: "/run/x.sock", ProxyProtocol: ProxyV2},
	} {
		got, err := parseRedisValue(v)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v; want %+v", v, got, err, want)
		}
	}
	for _, v := range []string{`{"host": "h:1", "proxy_protocol": 2}`, `{"host": "h:1", "proxy_protocol": "v9"}`, `h:1 proxy_protocol=`} {
		if _, err := parseRedisValue(v); err == nil {
			t.Errorf("%s accepted", v)
		}
	}
	if ProxyDefault.Resolve(2) != 2 || ProxyNone.Resolve(2) != 0 || ProxyV1.Resolve(2) != 1 || ProxyV2.Resolve(0) != 2 {
		t.Error("Resolve")
	}
}
