package tests

// Session control (issue #17): limits before the upgrade, revocation of
// live sessions, the admin API and the fleet registry in Redis.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openSession upgrades a session for path and checks that it reaches the
// target named want (its greeting).
func openSession(t testing.TB, addr, path, want string) *rawConn {
	t.Helper()
	rc, resp, body := wsTry(t, addr, path, "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("GET %s: %d %s; want 101", trunc([]byte(path)), resp.StatusCode, body)
	}
	if got := string(rc.readData(len(want)+1, 20*time.Second)); got != want+"\n" {
		t.Fatalf("reached %q; want %q", strings.TrimSpace(got), want)
	}
	return rc
}

// refused checks that a handshake for path gets status with Retry-After.
func refused(t testing.TB, addr, path string, status int) {
	t.Helper()
	rc, resp, body := wsTry(t, addr, path, "")
	if resp.StatusCode != status || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("GET %s: %d (Retry-After %q) %s; want %d with Retry-After", trunc([]byte(path)), resp.StatusCode, resp.Header.Get("Retry-After"), body, status)
	}
	rc.expectTCPClose(10 * time.Second)
}

// stillRelays checks that a session relays both ways, byte for byte.
func stillRelays(t testing.TB, rc *rawConn) {
	t.Helper()
	rc.echoOnce(randBytes(20000))
}

// endedWith checks that the server closes a session with code and reason
// within timeout.
func endedWith(t testing.TB, rc *rawConn, code int, reason string, timeout time.Duration) {
	t.Helper()
	got, why, _ := rc.expectClose(timeout)
	if got != code || (reason != "" && why != reason) {
		t.Fatalf("closed with %d %q; want %d %q", got, why, code, reason)
	}
	rc.c.Close()
}

func TestLimitsPerIPAndGlobal(t *testing.T) {
	a := tcpTarget(t, "alpha")
	p := startProxy(t, "--max-connections-per-ip", "2", "--max-connections", "3", "127.0.0.1:0", a.addr())
	s1 := openSession(t, p.addr, "/", "alpha")
	s2 := openSession(t, p.addr, "/", "alpha")
	before := a.accepted.Load()
	refused(t, p.addr, "/", http.StatusServiceUnavailable)
	p.stderr.waitFor(t, reMust(`handshake refused: over a limit.*limit=max_connections_per_ip`), 5*time.Second)
	if a.accepted.Load() != before {
		t.Fatal("the refused handshake was dialled")
	}
	// Another address (127.0.0.2 is loopback too) still gets in, up to the
	// global cap.
	s3 := openSessionFrom(t, "127.0.0.2", p.addr, "alpha")
	refusedFrom(t, "127.0.0.3", p.addr, http.StatusServiceUnavailable)
	p.stderr.waitFor(t, reMust(`limit=max_connections\b`), 5*time.Second)
	stillRelays(t, s1)
	s2.closeHandshake()
	// The slot is free again once the session has ended.
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc, resp, _ := wsTry(t, p.addr, "/", "")
		if resp.StatusCode == http.StatusSwitchingProtocols {
			rc.readData(len("alpha\n"), 10*time.Second)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after a session ended", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stillRelays(t, s3)
}

// dialFrom dials addr from the loopback address src.
func dialFrom(t testing.TB, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	return c
}

func openSessionFrom(t testing.TB, src, addr, want string) *rawConn {
	t.Helper()
	rc, resp, body := wsOn(t, dialFrom(t, src, addr), "/", addr)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("from %s: %d %s", src, resp.StatusCode, body)
	}
	if got := string(rc.readData(len(want)+1, 20*time.Second)); got != want+"\n" {
		t.Fatalf("reached %q", got)
	}
	return rc
}

func refusedFrom(t testing.TB, src, addr string, status int) {
	t.Helper()
	_, resp, body := wsOn(t, dialFrom(t, src, addr), "/", addr)
	if resp.StatusCode != status || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("from %s: %d %s; want %d with Retry-After", src, resp.StatusCode, body, status)
	}
}

func TestLimitsPerToken(t *testing.T) {
	a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
	tokA, tokB := distinctToken("LIMA"), distinctToken("LIMB")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tokA+": "+a.addr()+"\n"+tokB+": "+b.addr()+"\n")
	p := startProxy(t, "--max-connections-per-token", "1", "--admin-listen", "127.0.0.1:0",
		"--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
	s := openSession(t, p.addr, tq(tokA), "alpha")
	refused(t, p.addr, tq(tokA), http.StatusServiceUnavailable)
	p.stderr.waitFor(t, reMust(`limit=max_connections_per_token`), 5*time.Second)
	if a.accepted.Load() != 1 {
		t.Fatalf("alpha dialled %d times; want once", a.accepted.Load())
	}
	openSession(t, p.addr, tq(tokB), "bravo")
	stillRelays(t, s)
	noTokensLogged(t, p, tokA, tokB)
	// Counted, by reason, in the metrics.
	resp, err := http.Get("http://" + p.stderr.waitFor(t, reMust(`Admin listener on (\S+) `), 5*time.Second)[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !regexp.MustCompile(`handshakes_refused_total\{reason="max_connections_per_token"\} 1\b`).Match(body) {
		t.Fatalf("no refusal counted in /metrics:\n%s", body)
	}
}

// TestHandshakeRateFlood: a burst over --handshake-rate gets 429 with
// Retry-After; during a flood from one address, another address's
// handshakes stay about as fast as without the flood.
func TestHandshakeRateFlood(t *testing.T) {
	a := startBackend(t, nil)
	p := startProxy(t, "--handshake-rate", "2", "127.0.0.1:0", a.addr())
	statuses := map[int]int{}
	for range 6 {
		rc, resp, _ := wsOn(t, dialFrom(t, "127.0.0.4", p.addr), "/", p.addr)
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		rc.c.Close()
	}
	if statuses[101] < 3 || statuses[429] < 2 {
		t.Fatalf("statuses of a burst of 6 at 2/s (burst 3): %v", statuses)
	}
	p.stderr.waitFor(t, reMust(`limit=handshake_rate.*status=429`), 5*time.Second)

	// Handshake latency from 127.0.0.5, unloaded, then while 127.0.0.6
	// floods (every handshake of which is refused).
	measure := func() time.Duration {
		var ds []time.Duration
		for range 9 {
			start := time.Now()
			rc, resp, _ := wsOn(t, dialFrom(t, "127.0.0.5", p.addr), "/", p.addr)
			ds = append(ds, time.Since(start))
			rc.c.Close()
			if resp.StatusCode != 101 && resp.StatusCode != 429 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			time.Sleep(520 * time.Millisecond) // stay within 2/s
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	unloaded := measure()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var flood atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for !stop.Load() {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.6")}}
				c, err := d.Dial("tcp", p.addr)
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
				c.Read(buf)
				c.Close()
				flood.Add(1)
			}
		}()
	}
	loaded := measure()
	stop.Store(true)
	wg.Wait()
	t.Logf("median handshake: unloaded %v, during a flood of %d handshakes %v", unloaded, flood.Load(), loaded)
	if loaded > 20*unloaded+50*time.Millisecond {
		t.Fatalf("handshakes from another address slowed from %v to %v during the flood", unloaded, loaded)
	}
}

func TestLimitsBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"--max-connections", "-1"}, {"--max-connections-per-ip", "-2"}, {"--handshake-rate", "-1"},
		{"--handshake-rate", "NaN"}, {"--session-registry", "http://x"}, {"--revoke-check-interval", "0"},
	} {
		st, _, stderr := runCLI(t, wsBinary, append(args, "6080", "127.0.0.1:5900")...)
		if st != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, %s; want 2 naming the option", args, st, stderr)
		}
	}
	for _, args := range [][]string{
		{"--revoke-sessions"}, {"--max-connections-per-token", "2"}, {"--revoke-check-interval", "5"},
	} {
		st, _, stderr := runCLI(t, wsBinary, append(args, "127.0.0.1:0", "127.0.0.1:5900")...)
		if st != 2 || !strings.Contains(stderr, args[0]+" needs") {
			t.Errorf("%v without its companion: %d %s", args, st, stderr)
		}
	}
}

// TestRevokeTokenFile: removing a token from a TokenFile, or pointing it
// elsewhere, ends exactly its sessions with 1008; the others relay on.
func TestRevokeTokenFile(t *testing.T) {
	a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
	tokA, tokB, tokC := distinctToken("RVA"), distinctToken("RVB"), distinctToken("RVC")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tokA+": "+a.addr()+"\n"+tokB+": "+b.addr()+"\n"+tokC+": "+a.addr()+"\n")
	p := startProxy(t, "--revoke-sessions", "--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
	p.stderr.waitFor(t, reMust(`revocation: token file changes end their sessions`), 5*time.Second)
	sa := openSession(t, p.addr, tq(tokA), "alpha")
	sa2 := openSession(t, p.addr, tq(tokA), "alpha")
	sb := openSession(t, p.addr, tq(tokB), "bravo")
	sc := openSession(t, p.addr, tq(tokC), "alpha")
	stillRelays(t, sa)

	writeAtomic(t, file, tokB+": "+b.addr()+"\n"+tokC+": "+b.addr()+"\n")
	endedWith(t, sa, 1008, "Token revoked", 5*time.Second)
	endedWith(t, sa2, 1008, "Token revoked", 5*time.Second)
	endedWith(t, sc, 1008, "Token revoked: it leads elsewhere now", 5*time.Second)
	stillRelays(t, sb)
	p.stderr.waitFor(t, reMust(`revocation: ended the sessions of a token`), 5*time.Second)
	noTokensLogged(t, p, tokA, tokB, tokC)
	// The token that now leads to bravo works for new sessions.
	openSession(t, p.addr, tq(tokC), "bravo")
	stillRelays(t, sb)
}

// TestRevokeJWTExp: a session whose JWT expires ends at exp, not before,
// and not at some later lookup; a session with a later exp relays on.
func TestRevokeJWTExp(t *testing.T) {
	a := tcpTarget(t, "alpha")
	secret := randBytes(32)
	keyFile := filepath.Join(t.TempDir(), "sym.key")
	writeFile(t, keyFile, b64u(secret)+"\n")
	sign := hs256(secret)
	exp := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	short := sign.token(t, map[string]any{"host": "127.0.0.1", "port": a.port(), "exp": exp.Unix()})
	long := sign.token(t, map[string]any{"host": "127.0.0.1", "port": a.port(), "exp": time.Now().Add(time.Hour).Unix()})
	p := startProxy(t, "--revoke-sessions", "--token-plugin", "JWTTokenApi", "--token-source", keyFile, "127.0.0.1:0")
	ss := openSession(t, p.addr, tq(short), "alpha")
	sl := openSession(t, p.addr, tq(long), "alpha")
	stillRelays(t, ss)
	endedWith(t, ss, 1008, "Token expired", 10*time.Second)
	if now := time.Now(); now.Before(exp) || now.After(exp.Add(2*time.Second)) {
		t.Fatalf("ended at %v; exp %v", now, exp)
	}
	stillRelays(t, sl)
}

// redisArgs are a proxy's TokenRedis options for database 1, namespace
// "vnc:".
func redisArgs(r *redisServer, extra ...string) []string {
	return append([]string{"-v", "--token-plugin", "TokenRedis", "--token-source", r.addr + ":1::vnc"}, extra...)
}

// TestRevokeRedis: a key deleted or changed in Redis ends its sessions on
// every instance sharing the Redis within 2 s, with keyspace
// notifications and with the bounded recheck.
func TestRevokeRedis(t *testing.T) {
	for _, mode := range []struct{ name, flags, log string }{
		{"notifications", "KA", "Redis keyspace notifications end"},
		{"recheck", "", "no Redis keyspace notifications"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			r := startRedisServer(t, "")
			r.do(t, 0, "CONFIG", "SET", "notify-keyspace-events", mode.flags)
			a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
			tokX, tokY, tokZ := distinctToken("RX"), distinctToken("RY"), distinctToken("RZ")
			r.do(t, 1, "SET", "vnc:"+tokX, a.addr())
			r.do(t, 1, "SET", "vnc:"+tokY, a.addr())
			r.do(t, 1, "SET", "vnc:"+tokZ, a.addr())
			var ps []*proxy
			var xs, ys, zs []*rawConn
			for range 2 {
				p := startProxy(t, append(redisArgs(r, "--revoke-sessions"), "127.0.0.1:0")...)
				p.stderr.waitFor(t, reMust(mode.log), 5*time.Second)
				ps = append(ps, p)
				xs = append(xs, openSession(t, p.addr, tq(tokX), "alpha"))
				ys = append(ys, openSession(t, p.addr, tq(tokY), "alpha"))
				zs = append(zs, openSession(t, p.addr, tq(tokZ), "alpha"))
			}
			start := time.Now()
			r.do(t, 1, "DEL", "vnc:"+tokX)
			r.do(t, 1, "SET", "vnc:"+tokZ, b.addr())
			for _, rc := range xs {
				endedWith(t, rc, 1008, "Token revoked", 3*time.Second)
			}
			for _, rc := range zs {
				endedWith(t, rc, 1008, "Token revoked: it leads elsewhere now", 3*time.Second)
			}
			if d := time.Since(start); d > 2500*time.Millisecond {
				t.Fatalf("revocation took %v on the instances; want within 2 s", d)
			}
			for _, rc := range ys {
				stillRelays(t, rc)
			}
			if mode.flags != "" {
				// Notifications turned off (a Redis restarted without the
				// setting): the instances notice and recheck instead.
				r.do(t, 0, "CONFIG", "SET", "notify-keyspace-events", "")
				for _, p := range ps {
					p.stderr.waitFor(t, reMust(`change notifications stopped`), 15*time.Second)
				}
				r.do(t, 1, "DEL", "vnc:"+tokY)
				for _, rc := range ys {
					endedWith(t, rc, 1008, "Token revoked", 3*time.Second)
				}
			}
			for _, p := range ps {
				noTokensLogged(t, p, tokX, tokY, tokZ)
			}
		})
	}
}

// TestRevokeTokenAPI: with --revoke-sessions, BaseTokenAPI is re-asked
// every --revoke-check-interval; a token it no longer knows ends its
// sessions, one it fails to answer for ends nothing.
func TestRevokeTokenAPI(t *testing.T) {
	a := tcpTarget(t, "alpha")
	tokA, tokB := distinctToken("APIRVA"), distinctToken("APIRVB")
	var mu sync.Mutex
	known := map[string]bool{tokA: true, tokB: true}
	failing := false
	api := startAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tok := strings.TrimPrefix(r.URL.Path, "/lookup/")
		switch {
		case failing:
			http.Error(w, "down", http.StatusInternalServerError)
		case known[tok]:
			fmt.Fprintf(w, "127.0.0.1:%d", a.port())
		default:
			http.NotFound(w, r)
		}
	})
	p := startProxy(t, "--revoke-sessions", "--revoke-check-interval", "1", "--token-plugin", "BaseTokenAPI",
		"--token-source", api.URL+"/lookup/%s", "127.0.0.1:0")
	sa := openSession(t, p.addr, tq(tokA), "alpha")
	sb := openSession(t, p.addr, tq(tokB), "alpha")
	mu.Lock()
	failing = true
	mu.Unlock()
	p.stderr.waitFor(t, reMust(`the token backend fails; sessions are kept`), 5*time.Second)
	stillRelays(t, sa)
	mu.Lock()
	failing = false
	delete(known, tokA)
	mu.Unlock()
	endedWith(t, sa, 1008, "Token revoked", 5*time.Second)
	stillRelays(t, sb)
}

// TestHandshakeValidatedBeforeLookup: a request that is not a valid
// WebSocket handshake (version, key) and one over a limit never reach the
// token API.
func TestHandshakeValidatedBeforeLookup(t *testing.T) {
	a := tcpTarget(t, "alpha")
	api := startAPI(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "127.0.0.1:%d", a.port()) })
	p := startProxy(t, "--max-connections-per-token", "1", "--token-plugin", "BaseTokenAPI", "--token-source", api.URL+"/lookup/%s", "127.0.0.1:0")
	tok := distinctToken("ORDER")
	for _, tc := range []struct {
		name   string
		head   string
		status int
	}{
		{"version 8", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n", 426},
		{"no version", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400},
		{"no key", "Sec-WebSocket-Version: 13\r\n", 400},
		{"short key", "Sec-WebSocket-Key: dG9vc2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n", 400},
	} {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n%s\r\n", tq(tok), tc.head)
		resp, err := http.ReadResponse(newReader(c), nil)
		c.Close()
		if err != nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: %v %v; want %d", tc.name, resp, err, tc.status)
		}
		if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Fatalf("426 without Sec-WebSocket-Version: 13")
		}
	}
	if seen := api.take(); len(seen) != 0 {
		t.Fatalf("the token API was asked for invalid handshakes: %v", seen)
	}
	s := openSession(t, p.addr, tq(tok), "alpha")
	api.take()
	refused(t, p.addr, tq(tok), http.StatusServiceUnavailable)
	if seen := api.take(); len(seen) != 0 {
		t.Fatalf("the token API was asked for a handshake over the limit: %v", seen)
	}
	stillRelays(t, s)
}
