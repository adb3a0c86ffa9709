package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The admin listener (--admin-listen): Prometheus metrics checked with
// Debian's promtool and against the traffic the test made, /healthz and
// /readyz (wrapped program, token backend, ?deep=1), a unix socket of mode
// 0600, the bearer token of private endpoints, and 404 elsewhere.

var adminRE = reMust(`Admin listener on (\S+) `)

// adminClient is an HTTP client for a running websockify's admin listener.
type adminClient struct {
	t    testing.TB
	base string // http://host:port or http://admin for a unix socket
	hc   *http.Client
}

// adminOf waits for the admin listener's banner line of p.
func adminOf(t testing.TB, p *proxy) *adminClient {
	t.Helper()
	where := p.stderr.waitFor(t, adminRE, 10*time.Second)[1]
	if path, ok := strings.CutPrefix(where, "unix:"); ok {
		return &adminClient{t: t, base: "http://admin", hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			}}}}
	}
	return &adminClient{t: t, base: "http://" + where, hc: &http.Client{Timeout: 10 * time.Second}}
}

// get fetches path with an optional Authorization header value and returns
// the status and body.
func (a *adminClient) get(path, auth string) (int, string) {
	a.t.Helper()
	return a.do("GET", path, auth)
}

func (a *adminClient) do(method, path, auth string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape fetches /metrics, checks it with promtool and parses it.
func (a *adminClient) scrape() map[string]*dto.MetricFamily {
	a.t.Helper()
	code, body := a.get("/metrics", "")
	if code != 200 {
		a.t.Fatalf("/metrics: %d %s", code, body)
	}
	promtoolCheck(a.t, body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		a.t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mf
}

// promtoolCheck runs Debian's promtool check metrics on a scrape: it fails
// on malformed exposition and on any lint problem (names, units, help).
func promtoolCheck(t testing.TB, scrape string) {
	t.Helper()
	cmd := exec.Command(requireProgram(t, "promtool"), "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// value returns the value of the sample of family name whose labels
// include want (name=value pairs); -1 when there is none.
func value(mf map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := mf[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// sum adds the values (for a histogram, the counts) of every sample of
// family name.
func sum(mf map[string]*dto.MetricFamily, name string) float64 {
	var s float64
	for _, m := range mf[name].GetMetric() {
		switch {
		case m.Counter != nil:
			s += m.Counter.GetValue()
		case m.Gauge != nil:
			s += m.Gauge.GetValue()
		case m.Histogram != nil:
			s += float64(m.Histogram.GetSampleCount())
		}
	}
	return s
}

// TestAdminMetricsCountTraffic: a scrape taken while sessions run passes
// promtool and counts what the test did: sessions open and started, bytes
// each way, handshakes refused by reason, dial and handshake latencies;
// once they end, closed sessions by cause and code. The public port serves
// none of it.
func TestAdminMetricsCountTraffic(t *testing.T) {
	target := socatEcho(t)
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "127.0.0.1:0", target)
	a := adminOf(t, p)
	ctx := testContext(t, time.Minute)

	// Three sessions, each echoing its own amount of bytes, left open.
	sizes := []int{1000, 70000, 5}
	var conns []*websocket.Conn
	var total int
	for _, n := range sizes {
		c, _, err := websocket.Dial(ctx, p.url("/"), &websocket.DialOptions{Subprotocols: []string{"binary"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
		msg := bytes.Repeat([]byte{'m'}, n)
		if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < n; {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got += len(b)
		}
		conns = append(conns, c)
		total += n
	}
	// Refused handshakes: an unknown subprotocol, and no key.
	if _, resp := rawHandshake(t, p.addr, "/", "Sec-WebSocket-Protocol: chat"); resp.StatusCode != 400 {
		t.Fatalf("unknown subprotocol: %d", resp.StatusCode)
	}
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
	http.ReadResponse(bufio.NewReader(c), nil)
	c.Close()

	// A refusal is counted right after its answer is written.
	mf := a.scrape()
	for deadline := time.Now().Add(10 * time.Second); value(mf, "websockify_handshakes_refused_total", "reason", "bad_request") < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		mf = a.scrape()
	}
	for _, check := range []struct {
		what      string
		got, want float64
	}{
		{"sessions open", sum(mf, "websockify_sessions_open"), 3},
		{"sessions started", value(mf, "websockify_sessions_started_total"), 3},
		{"bytes from the client", value(mf, "websockify_bytes_total", "direction", "from_client"), float64(total)},
		{"bytes to the client", value(mf, "websockify_bytes_total", "direction", "to_client"), float64(total)},
		{"refused bad_request", value(mf, "websockify_handshakes_refused_total", "reason", "bad_request"), 2},
		{"dials ok", value(mf, "websockify_target_dial_duration_seconds", "result", "ok"), 3},
		{"handshakes timed", value(mf, "websockify_handshake_duration_seconds"), 3},
		{"build info", value(mf, "websockify_build_info"), 1},
	} {
		if check.got != check.want {
			t.Errorf("%s: %v; want %v", check.what, check.got, check.want)
		}
	}
	if mf["go_goroutines"] == nil || mf["process_open_fds"] == nil {
		t.Error("no Go runtime or process metrics")
	}

	// Two normal closes and a protocol error (a text frame: 1003).
	conns[0].Close(websocket.StatusNormalClosure, "")
	conns[1].Close(websocket.StatusNormalClosure, "")
	conns[2].Write(ctx, websocket.MessageText, []byte("text"))
	conns[2].Read(ctx)
	deadline := time.Now().Add(15 * time.Second)
	for {
		mf = a.scrape()
		if sum(mf, "websockify_sessions_open") == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, check := range []struct {
		what      string
		got, want float64
	}{
		{"sessions open", sum(mf, "websockify_sessions_open"), 0},
		{"closed by the client", value(mf, "websockify_sessions_closed_total", "cause", "client_close", "code", "1000"), 2},
		{"closed for a protocol error", value(mf, "websockify_sessions_closed_total", "cause", "protocol_error", "code", "1003"), 1},
		{"bytes from the client", value(mf, "websockify_bytes_total", "direction", "from_client"), float64(total)},
		{"bytes to the client", value(mf, "websockify_bytes_total", "direction", "to_client"), float64(total)},
		{"sessions timed", sum(mf, "websockify_session_duration_seconds"), 3},
	} {
		if check.got != check.want {
			t.Errorf("after the ends: %s: %v; want %v", check.what, check.got, check.want)
		}
	}

	// One end-of-session line per session, with bytes, code and cause.
	p.stderr.waitFor(t, reMust(`session ended target=\S+ driver=\w+ duration=\S+ bytes_from_client=70000 bytes_to_client=70000 code=1000 cause=client_close`), 5*time.Second)
	p.stderr.waitFor(t, reMust(`session ended .*bytes_from_client=5 .*code=1003 cause=protocol_error`), 5*time.Second)

	// Labels carry no address.
	_, body := a.get("/metrics", "")
	host, _, _ := net.SplitHostPort(target)
	if strings.Contains(body, target) || strings.Contains(body, `"`+host) {
		t.Errorf("a metric label holds the target's address")
	}
	// Nothing of it on the public port.
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/debug/pprof/"} {
		resp, err := http.Get("http://" + p.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("public port %s: %d", path, resp.StatusCode)
		}
	}
}

// TestAdminJSONSessionEnd: with --log-format json the end-of-session line
// is one object with the same fields.
func TestAdminJSONSessionEnd(t *testing.T) {
	p := startProxy(t, "--log-format", "json", "127.0.0.1:0", socatEcho(t))
	rc := dialRaw(t, p.addr)
	rc.echoOnce([]byte("hello"))
	rc.closeHandshake()
	m := p.stderr.waitFor(t, reMust(`\{[^\n]*"msg":"session ended"[^\n]*\}`), 10*time.Second)
	for _, want := range []string{`"client":"127.0.0.1:`, `"target":"127.0.0.1:`, `"driver":"`, `"duration":"`,
		`"bytes_from_client":5`, `"bytes_to_client":5`, `"code":1000`, `"cause":"client_close"`} {
		if !strings.Contains(m[0], want) {
			t.Errorf("end line %s lacks %s", m[0], want)
		}
	}
}

// TestAdminReadyzWrapped: on a unix admin socket (mode 0600), /readyz is
// 503 naming the wrapped program until it listens, then 200, and ?deep=1
// dials it; /healthz is 200 throughout; the wrapped program's state is a
// metric. Private endpoints need no token on the socket.
func TestAdminReadyzWrapped(t *testing.T) {
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	bin := listenerBin(t, false)
	p := startProxy(t, "--admin-listen", "unix:"+sock, fmt.Sprintf("127.0.0.1:%d", port), "--",
		"sh", "-c", fmt.Sprintf("sleep 2; exec %s v4 %d", bin, port))
	a := adminOf(t, p)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin socket mode %v; want a socket with 0600", fi.Mode())
	}
	if code, body := a.get("/readyz", ""); code != 503 || !strings.Contains(body, "wrapped_program: the wrapped program is not listening yet") {
		t.Errorf("/readyz before the program listens: %d %q", code, body)
	}
	if code, _ := a.get("/healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if v := value(a.scrape(), "websockify_wrapped_program_state", "state", "starting"); v != 1 {
		t.Errorf("wrapped program state starting: %v", v)
	}
	p.stderr.waitFor(t, reMust(`listening on 127\.0\.0\.1:`), 15*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	code, body := a.get("/readyz", "")
	for code != 200 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		code, body = a.get("/readyz", "")
	}
	if code != 200 || body != "ready\n" {
		t.Fatalf("/readyz once the program listens: %d %q", code, body)
	}
	if code, body := a.get("/readyz?deep=1", ""); code != 200 {
		t.Errorf("/readyz?deep=1: %d %q", code, body)
	}
	mf := a.scrape()
	if v := value(mf, "websockify_wrapped_program_state", "state", "listening"); v != 1 {
		t.Errorf("wrapped program state listening: %v", v)
	}
	if v := value(mf, "websockify_wrapped_program_last_exit_status"); v != -1 {
		t.Errorf("last exit status before any exit: %v", v)
	}
	if code, _ := a.get("/debug/pprof/cmdline", ""); code != 200 {
		t.Errorf("private endpoint on the unix socket: %d; want 200", code)
	}
	p.signal(15)
	p.wait(20 * time.Second)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("admin socket left after exit: %v", err)
	}
}

// TestAdminReadyzDeepTarget: ?deep=1 dials the fixed target: 503 with the
// dial's error while nothing listens there, though the shallow check is 200.
func TestAdminReadyzDeepTarget(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "127.0.0.1:0", dead)
	a := adminOf(t, p)
	if code, _ := a.get("/readyz", ""); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	if code, body := a.get("/readyz?deep=1", ""); code != 503 || !strings.Contains(body, "deep check: target "+dead) || !strings.Contains(body, "refused") {
		t.Errorf("/readyz?deep=1 with the target down: %d %q", code, body)
	}
	// A session to it ends as target_unreachable, its dial counted failed.
	rc := dialRaw(t, p.addr)
	payload, _ := rc.closeFrame(10 * time.Second)
	if len(payload) < 2 || int(payload[0])<<8|int(payload[1]) != 1011 {
		t.Errorf("close frame %q; want 1011", payload)
	}
	deadline := time.Now().Add(10 * time.Second)
	var mf map[string]*dto.MetricFamily
	for {
		mf = a.scrape()
		if value(mf, "websockify_sessions_closed_total", "cause", "target_unreachable") == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := value(mf, "websockify_sessions_closed_total", "cause", "target_unreachable", "code", "1011", "driver", "none"); v != 1 {
		t.Errorf("target_unreachable sessions: %v", v)
	}
	if v := value(mf, "websockify_target_dial_duration_seconds", "result", "error"); v != 1 {
		t.Errorf("failed dials: %v", v)
	}
}

// TestAdminTokenBackendReadiness: with TokenRedis, /readyz turns 503 when
// Redis goes away and back to 200 when it returns; lookups are counted per
// plugin and result, and refusals by reason.
func TestAdminTokenBackendReadiness(t *testing.T) {
	rs := startRedisServer(t, "")
	backend := socatEcho(t)
	rs.do(t, 0, "SET", "vnc:alpha", backend)
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "--token-plugin", "TokenRedis",
		"--token-source", rs.addr+":0::vnc", "127.0.0.1:0")
	a := adminOf(t, p)
	if code, body := a.get("/readyz?deep=1", ""); code != 200 {
		t.Fatalf("/readyz?deep=1 with Redis up: %d %q", code, body)
	}
	rc, resp := rawHandshake(t, p.addr, "/?token=alpha")
	if resp.StatusCode != 101 {
		t.Fatalf("token alpha: %d", resp.StatusCode)
	}
	rc.echoOnce([]byte("hi"))
	rc.closeHandshake()
	// The end-of-session line names the token only redacted.
	p.stderr.waitFor(t, reMust(`session ended target=`+regexp.QuoteMeta(backend)+` token=#[0-9a-f]{8}/5 driver=\w+ .* cause=client_close`), 10*time.Second)
	if strings.Contains(p.stderr.String(), "alpha") {
		t.Error("the token reached the log")
	}
	if _, resp := rawHandshake(t, p.addr, "/?token=nobody"); resp.StatusCode != 404 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
	mf := a.scrape()
	if v := value(mf, "websockify_token_lookups_total", "plugin", "TokenRedis", "result", "ok"); v != 1 {
		t.Errorf("ok lookups: %v", v)
	}
	if v := value(mf, "websockify_token_lookups_total", "plugin", "TokenRedis", "result", "unknown"); v != 1 {
		t.Errorf("unknown lookups: %v", v)
	}
	if v := value(mf, "websockify_token_lookup_duration_seconds", "plugin", "TokenRedis"); v != 2 {
		t.Errorf("timed lookups: %v", v)
	}
	if v := value(mf, "websockify_handshakes_refused_total", "reason", "token_unknown"); v != 1 {
		t.Errorf("token_unknown refusals: %v", v)
	}
	rs.stop()
	if _, resp := rawHandshake(t, p.addr, "/?token=alpha"); resp.StatusCode != 503 {
		t.Fatalf("token lookup with Redis down: %d; want 503", resp.StatusCode)
	}
	code, body := a.get("/readyz", "")
	if code != 503 || !strings.Contains(body, "token_backend: TokenRedis: ") {
		t.Errorf("/readyz with Redis down: %d %q", code, body)
	}
	if v := value(a.scrape(), "websockify_handshakes_refused_total", "reason", "token_backend"); v != 1 {
		t.Errorf("token_backend refusals: %v", v)
	}
}

// TestAdminPrivateEndpoints: on TCP, a private endpoint (the profiler)
// needs the bearer token of --admin-token-file (401 without it or with
// another), and is refused (403) without a token file; unknown paths and
// other methods are refused; the public endpoints need no token.
func TestAdminPrivateEndpoints(t *testing.T) {
	tok := "s3cret-admin-token-0123456789"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "--admin-token-file", file, "127.0.0.1:0", socatEcho(t))
	a := adminOf(t, p)
	for _, tc := range []struct {
		method, path, auth string
		code               int
	}{
		{"GET", "/debug/pprof/cmdline", "", 401},
		{"GET", "/debug/pprof/cmdline", "Bearer wrong-token-wrong-token", 401},
		{"GET", "/debug/pprof/cmdline", "Bearer " + tok, 200},
		{"GET", "/metrics", "", 200},
		{"GET", "/healthz", "", 200},
		{"HEAD", "/readyz", "", 200},
		{"GET", "/", "", 404},
		{"GET", "/sessions", "Bearer " + tok, 200}, // the session API (issue #17): private
		{"GET", "/sessions", "", 401},
		{"GET", "/nothing", "Bearer " + tok, 404},
		{"GET", "/metrics/../../etc/passwd", "", 404},
		{"POST", "/metrics", "", 405},
	} {
		if code, body := a.do(tc.method, tc.path, tc.auth); code != tc.code {
			t.Errorf("%s %s (%q): %d %q; want %d", tc.method, tc.path, tc.auth, code, body, tc.code)
		}
	}
	if strings.Contains(p.stderr.String(), tok) {
		t.Error("the admin token reached the log")
	}

	p2 := startProxy(t, "--admin-listen", "127.0.0.1:0", "127.0.0.1:0", socatEcho(t))
	if code, body := adminOf(t, p2).get("/debug/pprof/cmdline", "Bearer "+tok); code != 403 || !strings.Contains(body, "--admin-token-file") {
		t.Errorf("private endpoint without a token file: %d %q; want 403", code, body)
	}
}

// TestAdminListenErrors: a bad admin address or token file is a clear
// error at start (exit 2 for the command line, 1 for what only shows when
// opening it).
func TestAdminListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	for _, tc := range []struct {
		args   []string
		status int
		msg    string
	}{
		{[]string{"--admin-listen", "9090", "6080", "h:1"}, 2, "want host:port"},
		{[]string{"--admin-listen", "127.0.0.1:6080", "6080", "h:1"}, 2, "is the public port"},
		{[]string{"--admin-token-file", short, "6080", "h:1"}, 2, "needs --admin-listen"},
		{[]string{"--admin-listen", busy.Addr().String(), "127.0.0.1:0", "h:1"}, 1, "address already in use"},
		{[]string{"--admin-listen", "127.0.0.1:0", "--admin-token-file", short, "127.0.0.1:0", "h:1"}, 1, "at least 16"},
	} {
		st, _, stderr := runCLI(t, wsBinary, tc.args...)
		if st != tc.status || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, st, stderr, tc.status, tc.msg)
		}
	}
}

// TestAdminRefusalReasonsAndTLS: a bad Origin counts as "origin", a
// failed TLS handshake as a TLS failure, a plain connection to an
// --ssl-only port as "tls_required".
func TestAdminRefusalReasonsAndTLS(t *testing.T) {
	pk := newPKI(t)
	cert := pk.path("self.pem")
	pk.selfPEM(cert, "localhost")
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "--cert", cert, "--ssl-only",
		"--auth-plugin", "ExpectOrigin", "--auth-source", "https://good.example", "127.0.0.1:0", socatEcho(t))
	a := adminOf(t, p)
	insecure := &tls.Config{InsecureSkipVerify: true}
	for _, origin := range []string{"https://evil.example", "null"} {
		if code, err := tryWSSOrigin(t, p.addr, insecure, origin); err != nil || code != 403 {
			t.Fatalf("Origin %s: %d %v; want 403", origin, code, err)
		}
	}
	// A client that refuses the server's certificate fails the handshake.
	if _, err := dialTLS(t, p.addr, &tls.Config{ServerName: "localhost"}); err == nil {
		t.Fatal("TLS handshake with an untrusted certificate succeeded")
	}
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	io.Copy(io.Discard, c)
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	var mf map[string]*dto.MetricFamily
	for {
		mf = a.scrape()
		if value(mf, "websockify_tls_handshake_failures_total") == 1 && value(mf, "websockify_handshakes_refused_total", "reason", "tls_required") == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := value(mf, "websockify_handshakes_refused_total", "reason", "origin"); v != 2 {
		t.Errorf("origin refusals: %v; want 2", v)
	}
	if v := value(mf, "websockify_tls_handshake_failures_total"); v != 1 {
		t.Errorf("TLS handshake failures: %v; want 1", v)
	}
	if v := value(mf, "websockify_handshakes_refused_total", "reason", "tls_required"); v != 1 {
		t.Errorf("tls_required refusals: %v; want 1", v)
	}
}

// tryWSSOrigin sends a WebSocket handshake with Origin over TLS and
// returns the status.
func tryWSSOrigin(t testing.TB, addr string, cfg *tls.Config, origin string) (int, error) {
	t.Helper()
	tc, err := dialTLS(t, addr, cfg)
	if err != nil {
		return 0, err
	}
	_, resp := rawHandshakeOn(t, tc, "Origin: "+origin)
	return resp.StatusCode, nil
}

// TestAdminWrappedRestarts: a respawned program's exits are counted with
// its last status, and /readyz says it is restarting.
func TestAdminWrappedRestarts(t *testing.T) {
	port := freePort(t)
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "--wrap-mode=respawn", "--wrap-start-limit", "0",
		fmt.Sprintf("127.0.0.1:%d", port), "--", "sh", "-c", "exit 3")
	a := adminOf(t, p)
	deadline := time.Now().Add(15 * time.Second)
	var mf map[string]*dto.MetricFamily
	for {
		mf = a.scrape()
		if value(mf, "websockify_wrapped_program_restarts_total") >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := value(mf, "websockify_wrapped_program_restarts_total"); v < 1 {
		t.Fatalf("restarts: %v; want at least 1", v)
	}
	if v := value(mf, "websockify_wrapped_program_last_exit_status"); v != 3 {
		t.Errorf("last exit status: %v; want 3", v)
	}
	if v := value(mf, "websockify_wrapped_program_exits_total"); v < 1 {
		t.Errorf("exits: %v", v)
	}
	if code, body := a.get("/readyz", ""); code != 503 || !strings.Contains(body, "wrapped_program: the wrapped program exited (exit status 3); restarting") {
		t.Errorf("/readyz while restarting: %d %q", code, body)
	}
}

// TestAdminDaemon: with -D, the daemon serves the admin listener (a unix
// socket given by a relative path, taken from the start directory), and an
// admin listener that cannot open fails -D with the reason.
func TestAdminDaemon(t *testing.T) {
	dir := t.TempDir()
	be := startBackend(t, nil).addr()
	st, stderr, _ := runParent(t, dir, "-D", "--pid-file", "ws.pid", "--admin-listen", "unix:admin.sock", "127.0.0.1:0", be)
	if st != 0 {
		t.Fatalf("-D exit status %d; stderr:\n%s", st, stderr)
	}
	pid := daemonPID(t, filepath.Join(dir, "ws.pid"))
	sock := filepath.Join(dir, "admin.sock")
	if !strings.Contains(stderr, "Admin listener on unix:"+sock+" ") {
		t.Errorf("-D stderr lacks the admin listener line:\n%s", stderr)
	}
	p := &proxy{t: t, stderr: newSyncBuffer()}
	p.stderr.Write([]byte(stderr))
	a := adminOf(t, p)
	if code, body := a.get("/healthz", ""); code != 200 {
		t.Errorf("/healthz of the daemon: %d %q", code, body)
	}
	if code, _ := a.get("/readyz", ""); code != 200 {
		t.Errorf("/readyz of the daemon: %d", code)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	waitGone(t, pid, 15*time.Second)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("admin socket left after the daemon's exit: %v", err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	st, stderr, _ = runParent(t, dir, "-D", "--admin-listen", busy.Addr().String(), listen, be)
	if st == 0 || !strings.Contains(stderr, "admin listener") || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("-D with a busy admin port: exit %d; stderr:\n%s", st, stderr)
	}
	if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
		c.Close()
		t.Fatalf("a daemon listens on %s after the failure", listen)
	}
}

// TestAdminScrapersDoNotStopTheRelay: stalled admin clients (a request
// never finished, a scrape never read) and a stream of scrapes leave a
// session's relay and the admin listener's other clients working.
func TestAdminScrapersDoNotStopTheRelay(t *testing.T) {
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "127.0.0.1:0", socatEcho(t))
	a := adminOf(t, p)
	adminAddr := strings.TrimPrefix(a.base, "http://")
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", adminAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 0 {
			io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n") // never finished
		} else {
			for j := 0; j < 50; j++ { // pipelined scrapes, never read
				io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scrapes := make(chan int, 1)
	go func() {
		n := 0
		defer func() { scrapes <- n }()
		for ctx.Err() == nil {
			resp, err := a.hc.Get(a.base + "/metrics")
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			n++
		}
	}()
	rc := dialRaw(t, p.addr)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for i := 0; i < 100; i++ {
		rc.echoOnce(msg)
	}
	rc.closeHandshake()
	if code, _ := a.get("/healthz", ""); code != 200 {
		t.Errorf("/healthz among stalled clients: %d", code)
	}
	cancel()
	if n := <-scrapes; n == 0 {
		t.Error("no scrape succeeded meanwhile")
	}
	if v := value(a.scrape(), "websockify_bytes_total", "direction", "to_client"); v != float64(100*len(msg)) {
		t.Errorf("bytes to the client: %v; want %d", v, 100*len(msg))
	}
}
