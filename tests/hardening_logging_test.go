package tests

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestHardeningJSONLogEveryLine (D-5): with --log-format json, every line
// websockify writes to stderr is a JSON object, through failure paths
// that make libraries log: a Redis that is down, then one that goes away
// mid-run, malformed requests, a TLS handshake on a plain port, a target
// that refuses.
func TestHardeningJSONLogEveryLine(t *testing.T) {
	r := startRedisServer(t, "")
	a := tcpTarget(t, "alpha")
	tok, refused := distinctToken("JSON"), distinctToken("REFUSED")
	r.do(t, 0, "SET", "vnc:"+tok, a.addr())
	r.do(t, 0, "SET", "vnc:"+refused, "127.0.0.1:1")
	down := freePort(t) // nothing listens there
	p := startProxy(t, "-v", "--log-format", "json", "--token-plugin", "TokenRedis",
		"--token-source", r.addr+":0::vnc", "127.0.0.1:0")
	q := startProxy(t, "-v", "--log-format", "json", "--token-plugin", "TokenRedis",
		"--token-source", net.JoinHostPort("127.0.0.1", strconv.Itoa(down))+":0::vnc", "127.0.0.1:0")

	expectRoute(t, p.addr, tq(tok), "alpha")
	for range 12 { // enough failed dials for the pool to complain
		expectRefusal(t, q.addr, tq(tok), 503, "Token lookup failed")
	}
	rc := dialRawPath(t, p.addr, tq(refused))
	rc.expectClose(10 * time.Second)
	resp, _ := rawRequest(t, p.addr, "GET / HTTP/1.1\r\nHost : x\r\n\r\n")
	resp.Body.Close()
	if c, err := tls.Dial("tcp", p.addr, &tls.Config{InsecureSkipVerify: true}); err == nil {
		c.Close()
	}
	if c, err := net.Dial("tcp", p.addr); err == nil {
		io.WriteString(c, "\x00\x01garbage\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
		c.Close()
	}
	r.stop() // Redis goes away under open pool connections
	for range 6 {
		expectRefusal(t, p.addr, tq(tok), 503, "Token lookup failed")
	}
	time.Sleep(500 * time.Millisecond) // let background goroutines log
	for name, px := range map[string]*proxy{"up then down": p, "down": q} {
		out := px.stderr.String()
		n := 0
		for _, line := range lines(out) {
			n++
			var obj map[string]any
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				t.Errorf("%s: stderr line is not JSON: %q", name, line)
				continue
			}
			if _, ok := obj["msg"]; !ok {
				t.Errorf("%s: JSON line without msg: %q", name, line)
			}
		}
		if n < 5 {
			t.Errorf("%s: only %d lines logged:\n%s", name, n, out)
		}
	}
}

// dialRawPath performs a successful handshake for path or fails the test.
func dialRawPath(t *testing.T, addr, path string) *rawConn {
	t.Helper()
	rc, resp := rawHandshake(t, addr, path)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d; want 101", resp.StatusCode)
	}
	return rc
}
