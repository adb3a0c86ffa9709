package gateway

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSAndPlainOnOnePort(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		cert := selfSigned(t)
		var mu sync.Mutex
		var seen []*ConnInfo
		addr := startServer(t, &Server{Relay: r,
			Target: Endpoint{Address: startEcho(t)},
			TLS:    &tls.Config{Certificates: []tls.Certificate{cert}},
			Authorize: func(r *http.Request, info *ConnInfo) error {
				mu.Lock()
				seen = append(seen, info)
				mu.Unlock()
				return nil
			},
		})
		// wss://
		tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(tc, handshake+"\r\n")
		br := bufio.NewReader(tc)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatalf("wss handshake: %v %v", resp, err)
		}
		tc.Write(clientFrame(true, ws.OpBinary, []byte("secure")))
		if f := readFrame(t, br); string(f.Payload) != "secure" {
			t.Fatalf("got %q", f.Payload)
		}
		// ws:// on the same port
		c, br2, resp := dial(t, addr, "")
		if resp.StatusCode != 101 {
			t.Fatalf("ws status %d", resp.StatusCode)
		}
		c.Write(clientFrame(true, ws.OpBinary, []byte("plain")))
		if f := readFrame(t, br2); string(f.Payload) != "plain" {
			t.Fatalf("got %q", f.Payload)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 2 || seen[0].TLS == nil || seen[1].TLS != nil || seen[0].ID != 1 || seen[1].ID != 2 {
			t.Fatalf("conn infos: %+v", seen)
		}
	})
}

func TestSSLOnlyRefusesPlain(t *testing.T) {
	addr := startServer(t, &Server{
		Target:  Endpoint{Address: startEcho(t)},
		TLS:     &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}},
		SSLOnly: true,
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, handshake+"\r\n")
	if n, _ := c.Read(make([]byte, 100)); n != 0 {
		t.Fatalf("plain connection got %d bytes of answer", n)
	}
}

func TestFlashPolicy(t *testing.T) {
	addr := startServer(t, &Server{Target: Endpoint{Address: startEcho(t)}, FlashPolicy: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "<policy-file-request/>\x00")
	got, _ := io.ReadAll(c)
	if string(got) != FlashPolicy+"\x00" {
		t.Fatalf("got %q", got)
	}
}

func TestAuthorizeRefusal(t *testing.T) {
	addr := startServer(t, &Server{
		Target: Endpoint{Address: startEcho(t)},
		Authorize: func(r *http.Request, info *ConnInfo) error {
			return &HTTPError{Status: 401, Header: http.Header{"Www-Authenticate": {`Basic realm="Websockify"`}}, Err: errors.New("no credentials")}
		},
	})
	_, _, resp := dial(t, addr, "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="Websockify"` {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
	}
}

type memRecorder struct {
	mu             sync.Mutex
	client, target strings.Builder
	closed         bool
}

func (m *memRecorder) ClientData(p []byte) { m.mu.Lock(); m.client.Write(p); m.mu.Unlock() }
func (m *memRecorder) TargetData(p []byte) { m.mu.Lock(); m.target.Write(p); m.mu.Unlock() }
func (m *memRecorder) Close() error        { m.mu.Lock(); m.closed = true; m.mu.Unlock(); return nil }

func TestRecorderSeesBothWays(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		rec := &memRecorder{}
		addr := startServer(t, &Server{Relay: r,
			Target:   Endpoint{Address: startEcho(t)},
			Recorder: func(*ConnInfo) (Recorder, error) { return rec, nil },
		})
		c, br, _ := dial(t, addr, "")
		c.Write(clientFrame(true, ws.OpBinary, []byte("keys")))
		readFrame(t, br)
		c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "")))
		readFrame(t, br)
		c.Close() // as a client does once the server ends TCP
		rec.expect(t, "keys", "keys")
	})
}

func TestHTTPHandlerGetsConnInfo(t *testing.T) {
	// A channel, not a variable: the response's bytes order the handler's
	// write before the test's read, but the race detector does not see
	// system calls made outside Go's poller.
	infos := make(chan *ConnInfo, 1)
	addr := startServer(t, &Server{
		Target: Endpoint{Address: startEcho(t)},
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			infos <- ConnInfoFrom(r.Context())
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello")
		}),
	})
	resp, err := http.Get("http://" + addr + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := <-infos
	if resp.StatusCode != 200 || string(body) != "hello" || got == nil || got.ID != 1 {
		t.Fatalf("status %d body %q info %+v", resp.StatusCode, body, got)
	}
}

// TestKeepAliveThenUpgrade: delimited responses keep the connection for
// the next request, and a WebSocket upgrade may follow on it.
func TestKeepAliveThenUpgrade(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr := startServer(t, &Server{Relay: r,
			Target: Endpoint{Address: startEcho(t)},
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "2")
				io.WriteString(w, "ok")
			}),
		})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			io.WriteString(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != "ok" || resp.Close {
				t.Fatalf("request %d: %d %q close=%v", i, resp.StatusCode, body, resp.Close)
			}
		}
		io.WriteString(c, handshake+"\r\n")
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade after keep-alive: %v %v", resp, err)
		}
		c.Write(clientFrame(true, ws.OpBinary, []byte("again")))
		if f := readFrame(t, br); string(f.Payload) != "again" {
			t.Fatalf("got %q", f.Payload)
		}
	})
}

// A refusal's message is the status line's reason phrase, as the reference
// sends it ("403 Invalid Origin"); a message unfit for a status line is not.
func TestRefusalReasonPhrase(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"Invalid Origin", "HTTP/1.1 403 Invalid Origin"},
		{"", "HTTP/1.1 403 Forbidden"},
		{"bad\r\nX-Injected: 1", "HTTP/1.1 403 Forbidden"},
		{"naïve", "HTTP/1.1 403 Forbidden"},
		{strings.Repeat("x", 200), "HTTP/1.1 403 Forbidden"},
	} {
		addr := startServer(t, &Server{
			Target: Endpoint{Address: startEcho(t)},
			Authorize: func(*http.Request, *ConnInfo) error {
				return &HTTPError{Status: 403, Message: tc.msg, Err: errors.New("refused")}
			},
		})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, handshake+"\r\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != tc.want+"\r\n" {
			t.Errorf("message %q: status line %q (%v), want %q", tc.msg, line, err, tc.want)
		}
	}
}

// expect waits for the recording to end and checks what it holds.
func (rec *memRecorder) expect(t *testing.T, client, target string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec.mu.Lock()
		done := rec.closed
		rec.mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.client.String() != client || rec.target.String() != target || !rec.closed {
		t.Fatalf("recorded client %q target %q closed %v; want %q, %q, closed", rec.client.String(), rec.target.String(), rec.closed, client, target)
	}
}
