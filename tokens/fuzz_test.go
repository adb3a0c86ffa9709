package tokens

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FuzzTokenFile: the parser never panics, counts every line, and every
// entry it keeps has a usable target.
func FuzzTokenFile(f *testing.F) {
	for _, s := range []string{
		"a: h:1\n", "tok:host:5900\n", "\n\n#c\n", "v6: ::1:5900", "v6: [::1]:5900\r\n", "u: unix_socket:/x\r",
		"a:\tb: c:1", "a: h:\n", ": :", "a:\u00a0h:1\x1c", "\xff: \xfe:1",
		"a: h:1 proxy_protocol=v2\n", "a: proxy_protocol=v1", "a: h:1\u00a0proxy_protocol=none proxy_protocol=v1",
	} {
		f.Add([]byte(s))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newTokenFileParser("fuzz", log)
		p.parse(data)
		norm := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		lines := strings.Count(norm, "\n")
		if !strings.HasSuffix(norm, "\n") && norm != "" {
			lines++
		}
		if p.line != lines {
			t.Fatalf("counted %d lines; want %d", p.line, lines)
		}
		for tok, tg := range p.targets {
			if strings.Contains(tok, "\n") {
				t.Fatalf("token %q spans lines", tok)
			}
			if tg.Network != "tcp" && tg.Network != "unix" || tg.Address == "" || tg.ProxyProtocol < ProxyNone || tg.ProxyProtocol > ProxyV2 {
				t.Fatalf("token %q: bad target %+v", tok, tg)
			}
		}
	})
}

// FuzzRedisValue: never panics; what it accepts is a usable target.
func FuzzRedisValue(f *testing.F) {
	for _, s := range []string{`{"host": "h:5900", "proxy_protocol": "v2"}`, `{"host": "h", "port": "1"}`, "h:1 proxy_protocol=v1",
		`{"host": 1}`, "unix_socket:/x proxy_protocol=none", `{"proxy_protocol": "v2"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tg, err := parseRedisValue(v)
		if err != nil {
			return
		}
		if tg.Network != "tcp" && tg.Network != "unix" || tg.Address == "" || tg.ProxyProtocol < ProxyNone || tg.ProxyProtocol > ProxyV2 {
			t.Fatalf("%q: bad target %+v", v, tg)
		}
	})
}

// FuzzParseSourceArgs: never panics, always at least one field, and
// without quotes it is exactly strings.Split(src, ":").
func FuzzParseSourceArgs(f *testing.F) {
	for _, v := range parseSourceArgsVectors {
		f.Add(v.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fields := ParseSourceArgs(src)
		if len(fields) == 0 {
			t.Fatal("no fields")
		}
		if !strings.Contains(src, `"`) {
			if want := strings.Split(src, ":"); strings.Join(fields, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("fields %q; want %q", fields, want)
			}
		}
		if len(strings.Join(fields, ":")) > len(src) {
			t.Fatalf("fields %q longer than the source", fields)
		}
		parseRedisSource(src)
	})
}

// FuzzTokenName: whatever the token, a file plugin never resolves outside
// its directory, and an accepted name is one component.
func FuzzTokenName(f *testing.F) {
	for _, s := range traversalTokens {
		f.Add(s)
	}
	for _, s := range []string{"good", "in-link", "abs-link", "rel-link", "%2e%2e%2f", ".hidden"} {
		f.Add(s)
	}
	dir, _ := traversalSetup(f, func(p string) { writeFileTB(f, p, "h:1\n") })
	p, err := New("TokenFileName", dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if CheckName(token) == nil {
			j := filepath.Join(dir, token)
			if filepath.Dir(j) != dir || filepath.Base(j) != token {
				t.Fatalf("accepted %q leaves the directory: %s", token, j)
			}
		}
		tg, err := p.Lookup(context.Background(), token)
		if err == nil && token != "good" && token != "in-link" {
			t.Fatalf("token %q resolved to %+v", token, tg)
		}
	})
}

// FuzzJWT: no input panics, and anything accepted carries the claims of
// the seed token it came from.
func FuzzJWT(f *testing.F) {
	dir := f.TempDir()
	key := sym32
	writeFileTB(f, filepath.Join(dir, "k"), base64.RawURLEncoding.EncodeToString(key))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, nil)
	if err != nil {
		f.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"host":"h","port":1}`))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := obj.CompactSerialize()
	for _, seed := range []string{good, "a.b.c", "a.b.c.d.e", "", strings.Repeat(".", 100), "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(seed)
	}
	p, err := New("JWTTokenApi", filepath.Join(dir, "k"), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		tg, err := p.Lookup(context.Background(), tok)
		if err == nil && tg != tcp("h:1") {
			t.Fatalf("%q gave %+v", tok, tg)
		}
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("%q: %v is not ErrInvalidToken", tok, err)
		}
	})
}
