package tests

// Behind a load balancer: HAProxy (PROXY protocol v2, round robin over
// three instances sharing a redis-server's tokens), nginx as a reverse
// proxy (idle timeout against the heartbeat, X-Forwarded-For only from a
// trusted proxy), nginx stream as a target that reads our PROXY header,
// and bad input. HAProxy's and nginx's configurations are the README's
// snippets (docs/load-balancer/), with the addresses, port and timeouts of
// the test put in. Clients bind distinct 127.0.0.x source addresses, so
// that the logs can tell them apart.

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lbSnippet reads a configuration snippet of the README.
func lbSnippet(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "load-balancer", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fill replaces each old string of pairs (old, new, ...) in s, failing
// the test when one is missing: the snippet changed under the test.
func fill(t testing.TB, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("snippet lacks %q:\n%s", pairs[i], s)
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

// TestLoadBalancerREADMESnippets: the README shows the snippets the tests
// run, verbatim.
func TestLoadBalancerREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"haproxy.cfg", "nginx-proxy.conf", "nginx-stream-target.conf"} {
		if s := lbSnippet(t, name); !strings.Contains(string(readme), s) {
			t.Errorf("README.md does not show docs/load-balancer/%s verbatim", name)
		}
	}
}

// runDaemon runs a partner program in the foreground until the test ends,
// and waits until it listens on addrs. Its output is shown if the test
// fails.
func runDaemon(t testing.TB, name string, args []string, addrs ...string) {
	t.Helper()
	// In a group of its own: nginx's workers get the SIGTERM too.
	out, done := startProcessGroup(t, exec.Command(requireProgram(t, name), args...))
	for _, a := range addrs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				t.Fatalf("%s exited:\n%s", name, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not listen on %s:\n%s", name, a, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// startNginx runs nginx with the http (or, with stream, the main-level)
// configuration conf, in dir.
func startNginx(t testing.TB, conf string, stream bool, addrs ...string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	if stream {
		b.WriteString("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n")
	}
	fmt.Fprintf(&b, "worker_processes 1;\npid %s/nginx.pid;\nerror_log stderr info;\nevents { worker_connections 128; }\n", dir)
	if stream {
		b.WriteString(conf)
	} else {
		fmt.Fprintf(&b, "http {\n    access_log off;\n    client_body_temp_path %[1]s/body;\n    proxy_temp_path %[1]s/proxy;\n"+
			"    fastcgi_temp_path %[1]s/fastcgi;\n    uwsgi_temp_path %[1]s/uwsgi;\n    scgi_temp_path %[1]s/scgi;\n%[2]s\n}\n", dir, conf)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runDaemon(t, "nginx", []string{"-p", dir, "-c", path, "-e", "stderr", "-g", "daemon off;"}, addrs...)
}

// freeAddr is a free 127.0.0.1 port as host:port.
func freeAddr(t testing.TB) string {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

// fleet is HAProxy, with the README's configuration, in front of three
// websockify instances that take their tokens from one redis-server; tok
// leads to a target named "vnc".
type fleet struct {
	front string // HAProxy's address
	inst  [3]*proxy
	tok   string
	cert  string // the instances' certificate (self-signed)
}

// startFleet starts a fleet whose instances run with args added.
func startFleet(t *testing.T, args ...string) *fleet {
	t.Helper()
	redis := startRedisServer(t, "")
	vnc := tcpTarget(t, "vnc")
	f := &fleet{tok: distinctToken("FLEET")}
	redis.do(t, 0, "SET", f.tok, fmt.Sprintf(`{"host": "%s"}`, vnc.addr()))

	pk := newPKI(t)
	f.cert = pk.path("self.pem")
	pk.selfPEM(f.cert, "ws.example")
	for i := range f.inst {
		f.inst[i] = startProxy(t, append([]string{"--trusted-proxies", "127.0.0.1", "--proxy-protocol", "--cert", f.cert,
			"--token-plugin", "TokenRedis", "--token-source", redis.addr, "127.0.0.1:0"}, args...)...)
	}
	f.front = startHAProxy(t, f.inst)
	return f
}

// startHAProxy runs HAProxy with the README's configuration in front of
// the three instances and returns its address.
func startHAProxy(t *testing.T, inst [3]*proxy) string {
	t.Helper()
	front := freeAddr(t)
	cfg := fill(t, lbSnippet(t, "haproxy.cfg"),
		"bind :6080", "bind "+front,
		"10.0.0.11:6080", inst[0].addr, "10.0.0.12:6080", inst[1].addr, "10.0.0.13:6080", inst[2].addr)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	runDaemon(t, "haproxy", []string{"-db", "-f", path}, front)
	return front
}

// TestLoadBalancerHAProxyFleet: HAProxy (send-proxy-v2, round robin) in
// front of three instances that share a redis-server's tokens: sessions
// spread over the instances, and each logs its clients' own addresses,
// not HAProxy's.
func TestLoadBalancerHAProxyFleet(t *testing.T) {
	f := startFleet(t)
	front, inst, tok, cert := f.front, f.inst, f.tok, f.cert

	// Six ws:// clients, then three wss:// ones: TLS is sniffed after the
	// PROXY header.
	const clients = 9
	for i := range clients {
		src := fmt.Sprintf("127.0.0.%d", 20+i)
		var c net.Conn = dialFrom(t, src, front)
		if i >= 6 {
			c = tls.Client(c, pinned(t, cert))
		}
		rc, resp, body := wsOn(t, c, tq(tok), "ws.example")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("client %s: status %d %s", src, resp.StatusCode, errMessage(body))
		}
		throughTarget(t, rc, "vnc")
	}
	// Each client is logged by exactly one instance, under its own address
	// and via HAProxy; round robin spreads them.
	for i := range clients {
		kind := `Plain non-SSL \(ws://\)`
		if i >= 6 {
			kind = `SSL/TLS \(wss://\)`
		}
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^127\.0\.0\.%d:\d+: %s WebSocket connection via=127\.0\.0\.1:\d+`, 20+i, kind))
		found := 0
		for _, p := range inst {
			if re.MatchString(p.stderr.String()) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("client 127.0.0.%d logged by %d instances; want 1", 20+i, found)
		}
	}
	// HAProxy's own connections (the test's probe of its port) take turns
	// too: every instance serves, none all.
	total := 0
	for i, p := range inst {
		n := strings.Count(p.stderr.String(), "WebSocket connection via=")
		total += n
		if n == 0 || n > clients/len(inst)+1 {
			t.Errorf("instance %d served %d sessions; want about %d (round robin)", i+1, n, clients/len(inst))
		}
		if strings.Contains(p.stderr.String(), "dropped:") {
			t.Errorf("instance %d dropped a connection:\n%s", i+1, p.stderr.String())
		}
	}
	if total != clients {
		t.Errorf("%d sessions served; want %d", total, clients)
	}
	noTokensLogged(t, inst[0], tok)
}

// idleThrough keeps a session idle for d, answering pings as browsers do,
// and reports whether it is still up: then an echo goes through.
func idleThrough(t *testing.T, rc *rawConn, d time.Duration) (alive bool, pings int) {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(d))
	for {
		f, err := rc.readFrame()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			break
		}
		if err != nil {
			return false, pings
		}
		switch f.op {
		case opPing:
			pings++
			rc.send(frame(true, 0, opPong, f.payload, true))
		case opClose:
			return false, pings
		}
	}
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	rc.sendFrame(opBinary, []byte("still here"))
	for {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("after the idle time: %v", err)
		}
		switch f.op {
		case opPing:
			rc.send(frame(true, 0, opPong, f.payload, true))
		case opBinary:
			if string(f.payload) != "still here" {
				t.Fatalf("echo %q", f.payload)
			}
			return true, pings
		default:
			t.Fatalf("frame %#x after the idle time", f.op)
		}
	}
}

// TestLoadBalancerNginxIdleTimeout: behind nginx's proxy_read_timeout, an
// idle session survives three timeouts with the heartbeat, and is cut with
// --heartbeat 0 (the README's 60 s and 30 s, scaled down to 2 s and 1 s).
// The client's address arrives through X-Forwarded-For only when nginx is
// trusted, and a forwarded-for header the client forged is not believed.
func TestLoadBalancerNginxIdleTimeout(t *testing.T) {
	be := startBackend(t, nil)
	run := func(t *testing.T, src string, args ...string) (*proxy, *rawConn) {
		p := startProxy(t, append(args, "127.0.0.1:0", be.addr())...)
		front := freeAddr(t)
		startNginx(t, fill(t, lbSnippet(t, "nginx-proxy.conf"),
			"listen 80;", "listen "+front+";", "10.0.0.11:6080", p.addr, "proxy_read_timeout 60s;", "proxy_read_timeout 2s;"), false, front)
		rc, resp, body := wsOn(t, dialFrom(t, src, front), "/websockify", "vnc.example", "X-Forwarded-For: 203.0.113.66")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d %s", resp.StatusCode, errMessage(body))
		}
		rc.echoOnce([]byte("hello"))
		return p, rc
	}
	t.Run("heartbeat keeps it", func(t *testing.T) {
		t.Parallel()
		p, rc := run(t, "127.0.0.31", "--trusted-proxies", "127.0.0.1", "--heartbeat", "1")
		alive, pings := idleThrough(t, rc, 6*time.Second)
		if !alive || pings < 3 {
			t.Fatalf("after 3 of nginx's timeouts: alive %v after %d pings; want alive", alive, pings)
		}
		// nginx is trusted: the client's own address, not the forged one.
		p.stderr.waitFor(t, reMust(`(?m)^127\.0\.0\.31: Plain non-SSL \(ws://\) WebSocket connection via=127\.0\.0\.1:\d+`), 5*time.Second)
		if strings.Contains(p.stderr.String(), "203.0.113.66") {
			t.Errorf("the forged X-Forwarded-For was believed:\n%s", p.stderr.String())
		}
	})
	t.Run("heartbeat 0 loses it", func(t *testing.T) {
		t.Parallel()
		p, rc := run(t, "127.0.0.32", "--heartbeat", "0")
		start := time.Now()
		if alive, _ := idleThrough(t, rc, 6*time.Second); alive {
			t.Fatal("an idle session without heartbeat survived nginx's proxy_read_timeout")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cut after %v; want about 2s", d)
		}
		// nginx is not trusted: its X-Forwarded-For is ignored.
		p.stderr.waitFor(t, reMust(`(?m)^127\.0\.0\.1:\d+: Plain non-SSL \(ws://\) WebSocket connection path=/websockify\n`), 5*time.Second)
		if strings.Contains(p.stderr.String(), "127.0.0.32") || strings.Contains(p.stderr.String(), "via=") {
			t.Errorf("X-Forwarded-For from an untrusted proxy was used:\n%s", p.stderr.String())
		}
	})
}

// TestLoadBalancerNginxStreamTarget: nginx stream in front of the target
// reads our PROXY header (v1 from --target-proxy-protocol, v2 from a
// token's proxy_protocol=v2) and logs the browser's address, on both
// relay drivers.
func TestLoadBalancerNginxStreamTarget(t *testing.T) {
	vnc := tcpTarget(t, "vnc")
	dir := t.TempDir()
	logPath := filepath.Join(dir, "vnc.log")
	listen := freeAddr(t)
	startNginx(t, fill(t, lbSnippet(t, "nginx-stream-target.conf"),
		"listen 5900 proxy_protocol;", "listen "+listen+" proxy_protocol;",
		"proxy_pass 127.0.0.1:5901;", "proxy_pass "+vnc.addr()+";",
		"/var/log/nginx/vnc.log", logPath), true, listen)

	tokens := filepath.Join(dir, "tokens")
	writeFile(t, tokens, "v2: "+listen+" proxy_protocol=v2\nplain: "+vnc.addr()+"\n")
	for i, tc := range []struct {
		name string
		args []string
		path string
		want string // the target reached
	}{
		{"v1 epoll", []string{"--relay", "epoll", "--target-proxy-protocol", "v1", "127.0.0.1:0", listen}, "/", "vnc"},
		{"v1 goroutines", []string{"--relay", "goroutines", "--target-proxy-protocol", "v1", "127.0.0.1:0", listen}, "/", "vnc"},
		{"v2 token epoll", []string{"--relay", "epoll", "--token-plugin", "TokenFile", "--token-source", tokens, "127.0.0.1:0"}, tq("v2"), "vnc"},
		{"v2 token goroutines", []string{"--relay", "goroutines", "--token-plugin", "TokenFile", "--token-source", tokens, "127.0.0.1:0"}, tq("v2"), "vnc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, tc.args...)
			src := fmt.Sprintf("127.0.0.%d", 40+i)
			c := dialFrom(t, src, p.addr)
			rc, resp, body := wsOn(t, c, tc.path, "vnc.example")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d %s", resp.StatusCode, errMessage(body))
			}
			throughTarget(t, rc, tc.want)
			// nginx logs the stream when it ends.
			want := regexp.MustCompile(fmt.Sprintf(`(?m)^%s:%d via 127\.0\.0\.1$`, regexp.QuoteMeta(src), c.LocalAddr().(*net.TCPAddr).Port))
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(logPath)
				if want.Match(b) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("nginx's log lacks %s:\n%s", want, b)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	// A token without the option gets no header (the target is not behind
	// nginx here and would see one as data).
	p := startProxy(t, "--token-plugin", "TokenFile", "--token-source", tokens, "127.0.0.1:0")
	expectRoute(t, p.addr, tq("plain"), "vnc")
}

// proxyV2 is a PROXY protocol v2 header (PROXY, TCP over IPv4) naming
// src:sport, with raw TLVs appended; written here, not with a library, so
// that the test does not share the server's parser.
func proxyV2(src string, sport int, tlvs []byte) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11")
	b = binary.BigEndian.AppendUint16(b, uint16(12+len(tlvs)))
	b = append(b, net.ParseIP(src).To4()...)
	b = append(b, 127, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(sport))
	b = binary.BigEndian.AppendUint16(b, 6080)
	return append(b, tlvs...)
}

// tlv is one PROXY v2 TLV.
func tlv(typ byte, value []byte) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{typ}, uint16(len(value))), value...)
}

// TestLoadBalancerBadInput: forged PROXY headers and forwarded-for headers
// from untrusted addresses, truncated and oversized headers from a trusted
// one: dropped or ignored, with a log line, and nothing reaches the
// target; a v2 header with unknown TLVs is accepted.
func TestLoadBalancerBadInput(t *testing.T) {
	vnc := tcpTarget(t, "vnc")
	// 127.0.0.1 is the trusted proxy; clients elsewhere in 127/8 are not.
	p := startProxy(t, "--trusted-proxies", "127.0.0.1/32", "--proxy-protocol", "127.0.0.1:0", vnc.addr())
	handshake := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	dropped := func(t *testing.T, src string, send []byte, halfClose bool, log string) {
		t.Helper()
		c := dialFrom(t, src, p.addr)
		defer c.Close()
		c.SetDeadline(time.Now().Add(15 * time.Second))
		c.Write(send)
		if halfClose {
			c.(*net.TCPConn).CloseWrite()
		}
		var b [512]byte
		if n, err := c.Read(b[:]); n > 0 {
			t.Fatalf("answered %q (%v); want the connection dropped", b[:n], err)
		}
		p.stderr.waitFor(t, reMust(`(?m)^WARN: `+regexp.QuoteMeta(src)+`:\d+: dropped: `+log), 5*time.Second)
	}
	t.Run("forged v1 from untrusted", func(t *testing.T) {
		dropped(t, "127.0.0.50", []byte("PROXY TCP4 203.0.113.9 127.0.0.1 4711 6080\r\n"+handshake), false, "PROXY protocol header from an address not in --trusted-proxies")
	})
	t.Run("forged v2 from untrusted", func(t *testing.T) {
		dropped(t, "127.0.0.51", append(proxyV2("203.0.113.9", 4711, nil), handshake...), false, "PROXY protocol header from an address not in --trusted-proxies")
	})
	t.Run("truncated v1", func(t *testing.T) {
		dropped(t, "127.0.0.1", []byte("PROXY TCP4 203.0.113.9 127.0"), true, "malformed PROXY protocol header")
	})
	t.Run("truncated v2", func(t *testing.T) {
		dropped(t, "127.0.0.1", proxyV2("203.0.113.9", 4711, nil)[:22], true, "malformed PROXY protocol header")
	})
	t.Run("oversized v2", func(t *testing.T) {
		dropped(t, "127.0.0.1", append(proxyV2("203.0.113.9", 4711, tlv(0xE0, make([]byte, 5000))), handshake...), false, "malformed PROXY protocol header")
	})
	t.Run("oversized v1", func(t *testing.T) {
		dropped(t, "127.0.0.1", []byte("PROXY TCP4 "+strings.Repeat("203.0.113.9 ", 20)+"\r\n"+handshake), false, "malformed PROXY protocol header")
	})
	t.Run("trusted without header", func(t *testing.T) {
		dropped(t, "127.0.0.1", []byte(handshake), false, "no PROXY protocol header from a trusted proxy")
	})
	if n := vnc.accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the target", n)
	}

	t.Run("v2 with unknown TLVs", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", p.addr)
		c.Write(proxyV2("198.51.100.7", 5555, append(tlv(0xE5, []byte("custom")), tlv(0xF1, []byte{1, 2})...)))
		rc, resp, body := wsOn(t, c, "/", "x")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d %s", resp.StatusCode, errMessage(body))
		}
		throughTarget(t, rc, "vnc")
		p.stderr.waitFor(t, reMust(`(?m)^198\.51\.100\.7:5555: Plain non-SSL \(ws://\) WebSocket connection via=127\.0\.0\.1:\d+`), 5*time.Second)
	})
	t.Run("forwarded-for from untrusted ignored", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.52", p.addr)
		rc, resp, _ := wsOn(t, c, "/", "x", "X-Forwarded-For: 203.0.113.77", "Forwarded: for=203.0.113.78", "X-Real-IP: 203.0.113.79")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", resp.StatusCode)
		}
		throughTarget(t, rc, "vnc")
		p.stderr.waitFor(t, reMust(`(?m)^127\.0\.0\.52:\d+: Plain non-SSL \(ws://\) WebSocket connection\n`), 5*time.Second)
		if strings.Contains(p.stderr.String(), "203.0.113.7") {
			t.Fatalf("a forwarded-for header from an untrusted client was used:\n%s", p.stderr.String())
		}
	})
	if n := vnc.accepted.Load(); n != 2 {
		t.Fatalf("%d connections reached the target; want the 2 accepted sessions", n)
	}
}
