package tests

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestEchoLengths sends messages of the Autobahn 1.2/9.x lengths through a
// real socat echo and checks the byte stream comes back unchanged.
func TestEchoLengths(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", socatEcho(t))
	ctx := testContext(t, 2*time.Minute)
	c, _, err := websocket.Dial(ctx, p.url("/"), &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	if got := c.Subprotocol(); got != "binary" {
		t.Fatalf("subprotocol %q; want binary", got)
	}
	for _, n := range []int{1, 125, 126, 127, 128, 65535, 65536, 1 << 20, 16 << 20} {
		msg := make([]byte, n)
		rand.Read(msg)
		errc := make(chan error, 1)
		go func() { errc <- c.Write(ctx, websocket.MessageBinary, msg) }()
		var got []byte
		for len(got) < n {
			typ, p, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("len %d: read after %d bytes: %v", n, len(got), err)
			}
			if typ != websocket.MessageBinary {
				t.Fatalf("len %d: got message type %v", n, typ)
			}
			if len(p) > 65536 {
				t.Fatalf("len %d: frame of %d bytes, want ≤ 65536", n, len(p))
			}
			got = append(got, p...)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("len %d: echoed bytes differ", n)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// TestChoppedWrites sends one message as a frame chopped into tiny TCP
// writes, and as a fragmented message, and gets it all back.
func TestChoppedWrites(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr())
	msg := make([]byte, 70000)
	rand.Read(msg)
	for _, chop := range []int{1, 997, 65536} {
		t.Run(fmt.Sprint("chop=", chop), func(t *testing.T) {
			rc := dialRaw(t, p.addr)
			f := frame(true, 0, 2, msg, true)
			if chop == 1 {
				f = frame(true, 0, 2, msg[:3000], true)
			}
			want := len(f) - 14
			if chop == 1 {
				want = 3000
			}
			for i := 0; i < len(f); i += chop {
				rc.send(f[i:min(i+chop, len(f))])
			}
			var got []byte
			rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for len(got) < want {
				fr, err := rc.readFrame()
				if err != nil {
					t.Fatalf("after %d bytes: %v", len(got), err)
				}
				got = append(got, fr.payload...)
			}
			if !bytes.Equal(got, msg[:want]) {
				t.Fatal("bytes differ")
			}
		})
	}
	t.Run("fragmented", func(t *testing.T) {
		rc := dialRaw(t, p.addr)
		rc.send(frame(false, 0, 2, msg[:100], true))
		rc.send(frame(false, 0, 0, msg[100:200], true))
		rc.send(frame(true, 0, 0, msg[200:300], true))
		var got []byte
		rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for len(got) < 300 {
			fr, err := rc.readFrame()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fr.payload...)
		}
		if !bytes.Equal(got, msg[:300]) {
			t.Fatal("bytes differ")
		}
	})
}

func TestSubprotocolChoice(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr())
	for _, tc := range []struct {
		offer  string
		status int
		want   string
	}{
		{"", 101, ""},
		{"binary", 101, "binary"},
		{"binary, base64", 101, "binary"},
		{"base64, binary", 101, "binary"},
		{"base64", 101, "base64"},
		{"foo", 400, ""},
		{"foo, binary", 101, "binary"},
	} {
		var extra []string
		if tc.offer != "" {
			extra = append(extra, "Sec-WebSocket-Protocol: "+tc.offer)
		}
		_, resp := rawHandshake(t, p.addr, "/", extra...)
		if resp.StatusCode != tc.status {
			t.Errorf("offer %q: status %d; want %d", tc.offer, resp.StatusCode, tc.status)
			continue
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.want {
			t.Errorf("offer %q: protocol %q; want %q", tc.offer, got, tc.want)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "" {
			t.Errorf("offer %q: extensions %q; want none", tc.offer, got)
		}
	}
}

// TestBase64Mode relays text frames carrying base64 both ways.
func TestBase64Mode(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr())
	rc := dialRaw(t, p.addr, "Sec-WebSocket-Protocol: base64")
	if got := rc.resp.Header.Get("Sec-WebSocket-Protocol"); got != "base64" {
		t.Fatalf("protocol %q", got)
	}
	rc.sendFrame(1, []byte("aGVsbG8gd29ybGQ=")) // "hello world"
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got string
	for len(got) < len("aGVsbG8gd29ybGQ=") {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.op != 1 {
			t.Fatalf("opcode %d; want text", f.op)
		}
		got += string(f.payload)
	}
	if got != "aGVsbG8gd29ybGQ=" {
		t.Fatalf("got %q", got)
	}
	rc.sendFrame(1, []byte("!!!not base64"))
	if code, _, _ := rc.expectClose(5 * time.Second); code != 1003 {
		t.Fatalf("bad base64: close %d; want 1003", code)
	}
}

// TestPlainHTTP checks the reference's answers without --web.
func TestPlainHTTP(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", "127.0.0.1:9")
	for _, tc := range []struct {
		method string
		status int
	}{
		{"GET", 405}, {"HEAD", 405}, {"POST", 405}, {"PUT", 405}, {"DELETE", 405},
		{"OPTIONS", 405}, {"PATCH", 405}, {"TRACE", 501},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+p.addr+"/x", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d; want %d", tc.method, resp.StatusCode, tc.status)
		}
	}
}

// TestTargetCloseFlushes: everything the target sent before its FIN reaches
// the client, then close 1000 "Target closed".
func TestTargetCloseFlushes(t *testing.T) {
	payload := make([]byte, 3<<20)
	rand.Read(payload)
	be := startBackend(t, func(c net.Conn) { c.Write(payload) })
	p := startProxy(t, "127.0.0.1:0", be.addr())
	rc := dialRaw(t, p.addr)
	code, reason, data := rc.expectClose(20 * time.Second)
	if !bytes.Equal(data, payload) {
		t.Fatalf("got %d bytes before close; want %d identical", len(data), len(payload))
	}
	if code != 1000 || reason != "Target closed" {
		t.Fatalf("close %d %q; want 1000 \"Target closed\"", code, reason)
	}
	rc.send(frame(true, 0, 8, closePayload(1000, ""), true))
	rc.expectTCPClose(5 * time.Second)
}

// TestClientCloseFlushes: everything the client sent before its close frame
// reaches the target, then the target sees EOF; the close is echoed.
func TestClientCloseFlushes(t *testing.T) {
	got := make(chan []byte, 1)
	be := startBackend(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		got <- b
	})
	p := startProxy(t, "127.0.0.1:0", be.addr())
	rc := dialRaw(t, p.addr)
	var want []byte
	var out []byte
	for i := 0; i < 50; i++ {
		m := bytes.Repeat([]byte{byte(i)}, 10000+i)
		want = append(want, m...)
		out = append(out, frame(true, 0, 2, m, true)...)
	}
	out = append(out, frame(true, 0, 8, closePayload(4000, "bye"), true)...)
	rc.send(out) // data and close in one write
	code, reason, _ := rc.expectClose(10 * time.Second)
	if code != 4000 || reason != "bye" {
		t.Fatalf("close echo %d %q; want 4000 \"bye\"", code, reason)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Fatalf("target got %d bytes; want %d identical", len(b), len(want))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("target never saw EOF")
	}
	rc.expectTCPClose(5 * time.Second)
}

// TestPipelinedFirstFrame: a frame sent in the same write as the handshake
// is not lost (the reference loses it).
func TestPipelinedFirstFrame(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr())
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	c.Write(append([]byte(req), frame(true, 0, 2, []byte("pipelined!"), true)...))
	rc := &rawConn{t: t, c: c}
	rc.br = newReader(c)
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q; want the RFC 6455 vector", got)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := rc.readFrame()
	if err != nil || string(f.payload) != "pipelined!" {
		t.Fatalf("echo of pipelined frame: %q %v", f.payload, err)
	}
}

func TestConnectFailure(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	rc := dialRaw(t, p.addr)
	code, reason, _ := rc.expectClose(10 * time.Second)
	if code != 1011 || reason != "Failed to connect to downstream server" {
		t.Fatalf("close %d %q; want 1011", code, reason)
	}
	rc.expectTCPClose(5 * time.Second)
	p.stderr.waitFor(t, reMust(`Failed to connect to 127\.0\.0\.1:\d+`), 5*time.Second)
}

// TestSIGTERM: open sessions get 1001, the process exits 0 promptly.
func TestSIGTERM(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr())
	rc := dialRaw(t, p.addr)
	rc.sendFrame(2, []byte("x"))
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.readFrame(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code, _, _ := rc.expectClose(5 * time.Second)
	if code != 1001 {
		t.Fatalf("close %d; want 1001", code)
	}
	rc.send(frame(true, 0, 8, closePayload(1001, ""), true))
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d; want 0", st)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to exit", d)
	}
}

// TestRunOnce: the process exits after the first WebSocket session, and
// plain HTTP requests before it do not count.
func TestRunOnce(t *testing.T) {
	p := startProxy(t, "--run-once", "127.0.0.1:0", startBackend(t, nil).addr())
	resp, err := http.Get("http://" + p.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rc := dialRaw(t, p.addr)
	rc.sendFrame(2, []byte("once"))
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if f, err := rc.readFrame(); err != nil || string(f.payload) != "once" {
		t.Fatalf("echo: %q %v", f.payload, err)
	}
	rc.send(frame(true, 0, 8, closePayload(1000, ""), true))
	rc.expectClose(5 * time.Second)
	if st := p.wait(10 * time.Second); st != 0 {
		t.Fatalf("exit status %d", st)
	}
}

// TestConcurrentSessions runs 200 sessions at once through one proxy.
func TestConcurrentSessions(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0", startBackend(t, nil).addr())
	ctx := testContext(t, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, _, err := websocket.Dial(ctx, p.url("/"), nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			msg := []byte(strings.Repeat(fmt.Sprint(i), 1000))
			if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
				errs <- err
				return
			}
			var got []byte
			for len(got) < len(msg) {
				_, b, err := c.Read(ctx)
				if err != nil {
					errs <- err
					return
				}
				got = append(got, b...)
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("session %d: wrong echo", i)
			}
			c.Close(websocket.StatusNormalClosure, "")
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
