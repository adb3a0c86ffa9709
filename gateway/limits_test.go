package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimiterCaps(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(Limits{MaxConnections: 3, PerClient: 2, PerToken: 1})
	a, r := l.reserve("10.0.0.1", "t1", 0, now)
	if r != nil {
		t.Fatal(r.reason)
	}
	if _, r := l.reserve("10.0.0.2", "t1", 0, now); r == nil || r.reason != RefusedPerToken {
		t.Fatalf("second session of t1: %+v", r)
	}
	b, _ := l.reserve("10.0.0.1", "t2", 0, now)
	if _, r := l.reserve("10.0.0.1", "t3", 0, now); r == nil || r.reason != RefusedPerClient {
		t.Fatalf("third session of 10.0.0.1: %+v", r)
	}
	c, _ := l.reserve("10.0.0.2", "", 0, now)
	if _, r := l.reserve("10.0.0.3", "", 0, now); r == nil || r.reason != RefusedMaxConnections {
		t.Fatalf("fourth session: %+v", r)
	}
	if code, h := (&refusal{reason: RefusedMaxConnections, retryAfter: capRetryAfter}).status(); code != 503 || h.Get("Retry-After") != "5" {
		t.Fatalf("cap answer %d %v", code, h)
	}
	a.release()
	a.release() // harmless
	if _, r := l.reserve("10.0.0.2", "t4", 0, now); r != nil {
		t.Fatalf("after a release: %+v", r)
	}
	if _, r := l.reserve("10.0.0.9", "t5", 1, now); r == nil {
		t.Fatal("a token held elsewhere was not counted")
	}
	b.release()
	c.release()
	if got := l.refused[reasonIndex(RefusedPerToken)].Load(); got != 1 {
		t.Fatalf("per-token refusals %d", got)
	}
}

func TestLimiterRate(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(Limits{HandshakeRate: 2, HandshakeBurst: 3})
	for i := range 3 {
		s, r := l.reserve("10.0.0.1", "", 0, now)
		if r != nil {
			t.Fatalf("handshake %d of the burst refused", i)
		}
		s.release()
	}
	_, r := l.reserve("10.0.0.1", "", 0, now)
	if r == nil || r.reason != RefusedHandshakeRate {
		t.Fatalf("fourth at once: %+v", r)
	}
	if code, h := r.status(); code != 429 || h.Get("Retry-After") != "1" {
		t.Fatalf("rate answer %d %v", code, h)
	}
	if _, r := l.reserve("10.0.0.2", "", 0, now); r != nil {
		t.Fatal("another client was refused")
	}
	if _, r := l.reserve("10.0.0.1", "", 0, now.Add(time.Second)); r != nil {
		t.Fatal("refused after the bucket refilled")
	}
	if _, r := l.reserve("", "", 0, now); r != nil {
		t.Fatal("a Unix-socket client has no address to limit")
	}
}

func TestLimitsBeforeRouteAndDial(t *testing.T) {
	eachRelay(t, func(t *testing.T, rl Relay) {
		var routed atomic.Int32
		obs := newRecObserver()
		addr := startServer(t, &Server{Relay: rl, Observer: obs,
			Limits: Limits{PerToken: 1},
			SessionToken: func(r *http.Request) (string, bool) {
				tok := r.URL.Query().Get("token")
				return tok, tok != ""
			},
			Route: func(r *http.Request) (Endpoint, error) {
				routed.Add(1)
				return Endpoint{Address: startEcho(t)}, nil
			},
		})
		c, _, resp := dialPath(t, addr, "/?token=a", "")
		defer c.Close()
		if resp.StatusCode != 101 {
			t.Fatalf("first: %d", resp.StatusCode)
		}
		c2, _, resp := dialPath(t, addr, "/?token=a", "")
		c2.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("second: %d %v", resp.StatusCode, resp.Header)
		}
		obs.mu.Lock()
		refused := obs.refused
		obs.mu.Unlock()
		if routed.Load() != 1 || len(refused) != 1 || refused[0] != RefusedPerToken {
			t.Fatalf("routed %d, refused %v", routed.Load(), refused)
		}
		// A bad version is refused before the limits and the route.
		c3, _, resp := dialRawHead(t, addr, strings.Replace(handshake, "Version: 13", "Version: 8", 1))
		c3.Close()
		if resp.StatusCode != 426 || resp.Header.Get("Sec-WebSocket-Version") != "13" || routed.Load() != 1 {
			t.Fatalf("version 8: %d %v, routed %d", resp.StatusCode, resp.Header, routed.Load())
		}
		c4, _, resp := dialRawHead(t, addr, strings.Replace(handshake, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1))
		c4.Close()
		if resp.StatusCode != 400 || routed.Load() != 1 {
			t.Fatalf("no key: %d, routed %d", resp.StatusCode, routed.Load())
		}
	})
}

// dialPath upgrades a connection to addr at path.
func dialPath(t testing.TB, addr, path, extra string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	return dialRawHead(t, addr, strings.Replace(handshake, "GET /x ", "GET "+path+" ", 1)+extra)
}

// dialRawHead sends head (without its final empty line) and reads the answer.
func dialRawHead(t testing.TB, addr, head string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, head+"\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp
}
