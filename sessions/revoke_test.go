package sessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/tokens"
)

func TestRevokerRecheck(t *testing.T) {
	f := newFake() // tokens: secret-token-one (id 3, target :5900), secret-token-two (ids 7, 9, :5901)
	answers := map[string]error{"secret-token-one": nil, "secret-token-two": tokens.ErrNotFound}
	r := &Revoker{Local: f, Resolve: func(_ context.Context, tok string) (gateway.Endpoint, time.Time, error) {
		return gateway.Endpoint{Network: "tcp", Address: "127.0.0.1:5900"}, time.Time{}, answers[tok]
	}}
	r.recheck(context.Background(), nil)
	if len(f.stopped) != 2 || f.stopped[7] != "Token revoked" || f.stopped[9] != "Token revoked" {
		t.Fatalf("stopped %v", f.stopped)
	}
	// A failing backend ends nothing.
	answers["secret-token-one"] = errors.New("redis: connection refused")
	r.recheck(context.Background(), nil)
	if len(f.stopped) != 2 || !r.failing {
		t.Fatalf("stopped %v while the backend fails", f.stopped)
	}
	// Leading elsewhere ends the session; only the tokens asked are rechecked.
	answers["secret-token-one"] = nil
	r.Resolve = func(context.Context, string) (gateway.Endpoint, time.Time, error) {
		return gateway.Endpoint{Network: "tcp", Address: "127.0.0.1:6000"}, time.Time{}, nil
	}
	r.recheck(context.Background(), map[string]bool{"other": true})
	if len(f.stopped) != 2 {
		t.Fatalf("a token not asked for was rechecked: %v", f.stopped)
	}
	r.recheck(context.Background(), map[string]bool{"secret-token-one": true})
	if f.stopped[3] != "Token revoked: it leads elsewhere now" {
		t.Fatalf("stopped %v", f.stopped)
	}
}

func TestRevokerExpire(t *testing.T) {
	f := newFake()
	now := time.Now()
	f.list[0].Expires = now.Add(time.Second)
	f.list[1].Expires = now
	r := &Revoker{Local: f}
	r.expire(now)
	if len(f.stopped) != 1 || f.stopped[7] != "Token expired" {
		t.Fatalf("stopped %v", f.stopped)
	}
	r.expire(now.Add(time.Second))
	if f.stopped[3] != "Token expired" {
		t.Fatalf("stopped %v", f.stopped)
	}
}

func TestKeyspaceFlags(t *testing.T) {
	for flags, want := range map[string]bool{"": false, "KA": true, "AK": true, "Kg$x": true, "Kg$": false, "Eg$x": false, "KEA": true} {
		if got := keyspaceEnough(flags); got != want {
			t.Errorf("%q: %v", flags, got)
		}
	}
	if got := globEscape(`a*b?[c]\`); got != `a\*b\?\[c\]\\` {
		t.Errorf("globEscape: %q", got)
	}
}

// FuzzAPIQuery: whatever the query string, the API answers 200, 400 or
// 414 with JSON, and never panics.
func FuzzAPIQuery(f *testing.F) {
	for _, s := range []string{"token=a", "all=1", "token=a&all=1&reason=x", "%zz", "a=1&a=2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, method := range []string{"GET", "DELETE"} {
			api := &API{Local: newFake()}
			code, body := do(t, api, method, "/sessions?"+urlSafe(q))
			if code != 200 && code != 400 && code != 414 {
				t.Fatalf("%s ?%q: %d %s", method, q, code, body)
			}
		}
	})
}

// urlSafe keeps a fuzzed query a valid request target for httptest.
func urlSafe(q string) string {
	b := make([]byte, 0, len(q))
	for i := 0; i < len(q); i++ {
		if c := q[i]; c > ' ' && c < 0x7f && c != '#' {
			b = append(b, c)
		}
	}
	return string(b)
}
