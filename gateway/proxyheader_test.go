package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/pires/go-proxyproto"
	"github.com/websockify-go/websockify/clientaddr"
)

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log holds want.
func (l *lockedBuffer) waitLog(t *testing.T, want string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(l.String(), want) {
			return
		}
	}
	t.Fatalf("log lacks %q:\n%s", want, l.String())
}

func trusted(t testing.TB, list string) *clientaddr.Trusted {
	tr, err := clientaddr.ParseTrusted(list)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// proxyServer serves a gateway that reads PROXY headers from trustedNets,
// with a counting echo target; infos receives each authorized request's
// ConnInfo.
func proxyServer(t *testing.T, r Relay, trustedNets string, tlsOn bool) (addr string, infos chan ConnInfo, dials *atomic.Int32, log *lockedBuffer) {
	dials = new(atomic.Int32)
	target := startTarget(t, func(c net.Conn) { dials.Add(1); io.Copy(c, c) })
	infos = make(chan ConnInfo, 16)
	log = &lockedBuffer{}
	s := &Server{Relay: r, Target: Endpoint{Address: target},
		TrustedProxies: trusted(t, trustedNets), ProxyProtocol: true, ForwardedHeader: clientaddr.XForwardedFor,
		Authorize: func(r *http.Request, info *ConnInfo) error {
			if r.RemoteAddr != info.RemoteAddr {
				t.Errorf("request's RemoteAddr %q, info's %q", r.RemoteAddr, info.RemoteAddr)
			}
			infos <- *info
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tlsOn {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	return startServer(t, s), infos, dials, log
}

func v1Header(src string) string {
	ap := netip.MustParseAddrPort(src)
	fam, dst := "TCP4", "127.0.0.1"
	if ap.Addr().Is6() {
		fam, dst = "TCP6", "::1"
	}
	return "PROXY " + fam + " " + ap.Addr().String() + " " + dst + " " + strconv.Itoa(int(ap.Port())) + " 6080\r\n"
}

// v2Header is a PROXY v2 header naming src, with tlvs.
func v2Header(t testing.TB, src string, tlvs ...proxyproto.TLV) []byte {
	ap := netip.MustParseAddrPort(src)
	h := proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(ap), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6080})
	if ap.Addr().Is6() {
		h = proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(ap), &net.TCPAddr{IP: net.IPv6loopback, Port: 6080})
	}
	if len(tlvs) > 0 {
		if err := h.SetTLVs(tlvs); err != nil {
			t.Fatal(err)
		}
	}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upgradeAfter sends prefix, the handshake and a frame in one write, and
// expects the 101 and the frame's echo.
func upgradeAfter(t *testing.T, c net.Conn, prefix []byte, extra string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := append(append(append([]byte(nil), prefix...), handshake+extra+"\r\n"...), clientFrame(true, ws.OpBinary, []byte("after the header"))...)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if f := readFrame(t, br); string(f.Payload) != "after the header" {
		t.Fatalf("echo %q", f.Payload)
	}
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestProxyHeaderNamesClient: a trusted proxy's v1 or v2 header (v2 with
// unknown TLVs) names the client; the bytes after it, sent in the same
// segment, reach the session on either driver.
func TestProxyHeaderNamesClient(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr, infos, _, _ := proxyServer(t, r, "127.0.0.0/8,::1", false)
		for _, tt := range []struct {
			name, client string
			header       []byte
		}{
			{"v1", "203.0.113.9:4711", []byte(v1Header("203.0.113.9:4711"))},
			{"v1 ipv6", "[2001:db8::7]:5000", []byte(v1Header("[2001:db8::7]:5000"))},
			{"v2 unknown TLVs", "198.51.100.20:61000", v2Header(t, "198.51.100.20:61000",
				proxyproto.TLV{Type: 0xE7, Value: []byte("custom")}, proxyproto.TLV{Type: 0xF9, Value: []byte{1, 2, 3}})},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c := dialTCP(t, addr)
				upgradeAfter(t, c, tt.header, "")
				info := <-infos
				if info.Client.String() != tt.client || info.RemoteAddr != tt.client || info.Via != c.LocalAddr().String() {
					t.Fatalf("client %v remote %q via %q; want %s via %s", info.Client, info.RemoteAddr, info.Via, tt.client, c.LocalAddr())
				}
			})
		}
	})
}

// TestProxyHeaderThenTLS: wss:// after a PROXY header (TLS is sniffed from
// the first byte after it).
func TestProxyHeaderThenTLS(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		addr, infos, _, _ := proxyServer(t, r, "127.0.0.0/8,::1", true)
		c := dialTCP(t, addr)
		c.Write(v2Header(t, "192.0.2.44:1234"))
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		upgradeAfter(t, tc, nil, "")
		if info := <-infos; info.Client.String() != "192.0.2.44:1234" || info.TLS == nil {
			t.Fatalf("client %v tls %v", info.Client, info.TLS != nil)
		}
	})
}

// TestProxyHeaderRefusals: a PROXY header from an untrusted address, a
// trusted connection without one, truncated, malformed and oversized
// headers: dropped with a log line, before any request, nothing dialled.
func TestProxyHeaderRefusals(t *testing.T) {
	big := v2Header(t, "192.0.2.1:1", proxyproto.TLV{Type: 0xE0, Value: bytes.Repeat([]byte("x"), 5000)})
	for _, tt := range []struct {
		name, trusted string
		send          []byte
		closeWrite    bool
		log           string
	}{
		{"v1 from untrusted", "192.0.2.0/24", []byte(v1Header("203.0.113.9:4711") + handshake + "\r\n"), false, "PROXY protocol header from an address not in --trusted-proxies"},
		{"v2 from untrusted", "192.0.2.0/24", append(v2Header(t, "203.0.113.9:4711"), handshake+"\r\n"...), false, "not in --trusted-proxies"},
		{"trusted without header", "127.0.0.0/8,::1", []byte(handshake + "\r\n"), false, "no PROXY protocol header from a trusted proxy"},
		{"truncated v1", "127.0.0.0/8,::1", []byte("PROXY TCP4 203.0.113.9 127.0.0.1 47"), true, "malformed PROXY protocol header"},
		{"truncated v2", "127.0.0.0/8,::1", v2Header(t, "203.0.113.9:4711")[:20], true, "malformed PROXY protocol header"},
		{"v1 garbage", "127.0.0.0/8,::1", []byte("PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n" + handshake + "\r\n"), false, "malformed PROXY protocol header"},
		{"v1 too long", "127.0.0.0/8,::1", []byte("PROXY TCP4 " + strings.Repeat("1", 200) + "\r\n"), false, "malformed PROXY protocol header"},
		{"v2 oversized", "127.0.0.0/8,::1", append(big, handshake+"\r\n"...), false, "malformed PROXY protocol header"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, _, dials, log := proxyServer(t, RelayAuto, tt.trusted, false)
			c := dialTCP(t, addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write(tt.send)
			if tt.closeWrite {
				c.(*net.TCPConn).CloseWrite()
			}
			got, err := io.ReadAll(c)
			if len(got) > 0 {
				t.Fatalf("answered %q (err %v); want the connection dropped", got, err)
			}
			log.waitLog(t, tt.log)
			if n := dials.Load(); n != 0 {
				t.Fatalf("%d connections reached the target", n)
			}
		})
	}
}

// TestProxyProtocolDirectClient: an untrusted client that sends no PROXY
// header is served as before, under its own address.
func TestProxyProtocolDirectClient(t *testing.T) {
	addr, infos, _, _ := proxyServer(t, RelayAuto, "192.0.2.0/24", false)
	c := dialTCP(t, addr)
	upgradeAfter(t, c, nil, "X-Forwarded-For: 203.0.113.9\r\n")
	if info := <-infos; info.RemoteAddr != c.LocalAddr().String() || info.Via != "" {
		t.Fatalf("remote %q via %q; want %s directly (forwarded-for from the untrusted ignored)", info.RemoteAddr, info.Via, c.LocalAddr())
	}
}

// TestForwardedForFromTrusted: a trusted peer's X-Forwarded-For names the
// client (rightmost untrusted wins), after its PROXY header.
func TestForwardedForFromTrusted(t *testing.T) {
	addr, infos, _, log := proxyServer(t, RelayAuto, "127.0.0.0/8,::1,10.0.0.0/8", false)
	c := dialTCP(t, addr)
	upgradeAfter(t, c, []byte(v1Header("10.1.1.1:999")), "X-Forwarded-For: 1.2.3.4, 203.0.113.9, 10.0.0.3\r\n")
	if info := <-infos; info.RemoteAddr != "203.0.113.9" || info.Client != netip.MustParseAddrPort("203.0.113.9:0") || info.Via != "10.1.1.1:999" {
		t.Fatalf("remote %q client %v via %q", info.RemoteAddr, info.Client, info.Via)
	}
	log.waitLog(t, "client=203.0.113.9 via=10.1.1.1:999")
}

// FuzzReadProxyHeader: from a trusted peer, any input is either dropped
// or accepted with a valid client address and exactly the bytes after a
// header left for the request; from an untrusted peer, input that is not
// a PROXY header is left whole.
func FuzzReadProxyHeader(f *testing.F) {
	f.Add([]byte(v1Header("203.0.113.9:4711") + "GET / HTTP/1.1\r\n"))
	f.Add(append(v2Header(f, "198.51.100.20:61000", proxyproto.TLV{Type: 0xE7, Value: []byte("x")}), "\x16\x03\x01"...))
	f.Add([]byte("PROXY UNKNOWN\r\nGET"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
	s := &Server{ProxyProtocol: true, TrustedProxies: &clientaddr.Trusted{}, Logger: quietLogger()}
	s.TrustedProxies, _ = clientaddr.ParseTrusted("127.0.0.0/8")
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, peer := range []string{"127.0.0.1:5", "192.0.2.1:5"} {
			c := tcpConn(peer) // bytes come from br
			br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
			cc, ok := s.readProxyHeader(c, br, quietLogger())
			if !ok {
				continue
			}
			if !cc.addr.IsValid() || cc.addr.Addr().Is4In6() {
				t.Fatalf("accepted with client %v", cc.addr)
			}
			rest, _ := io.ReadAll(br)
			if !bytes.HasSuffix(in, rest) {
				t.Fatalf("left %q, not a suffix of the input", rest)
			}
			if peer == "192.0.2.1:5" && (cc.via != "" || len(rest) != len(in)) {
				t.Fatalf("untrusted peer: via %q, %d of %d bytes left", cc.via, len(rest), len(in))
			}
		}
	})
}

// TestTokenSubprotocolNeverEchoed: an offered "PREFIX.<token>" is never
// the chosen subprotocol; binary and base64 are negotiated as before, and
// a token alone leaves none (raw binary frames).
func TestTokenSubprotocolNeverEchoed(t *testing.T) {
	addr := startServer(t, &Server{Target: Endpoint{Address: startEcho(t)}, TokenSubprotocol: "bearer.example"})
	for _, tt := range []struct{ offer, want string }{
		{"bearer.example.c2VjcmV0, binary", "binary"},
		{"base64, bearer.example.c2VjcmV0", "base64"},
		{"bearer.example.c2VjcmV0", ""},
	} {
		_, _, resp := dial(t, addr, "Sec-WebSocket-Protocol: "+tt.offer+"\r\n")
		if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Protocol") != tt.want {
			t.Errorf("offer %q: %d, protocol %q; want 101 and %q", tt.offer, resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"), tt.want)
		}
	}
	// Refused offers are logged without the token.
	log := &lockedBuffer{}
	addr = startServer(t, &Server{Target: Endpoint{Address: startEcho(t)}, TokenSubprotocol: "bearer.example",
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	if _, _, resp := dial(t, addr, "Sec-WebSocket-Protocol: chat, bearer.example.c2VjcmV0\r\n"); resp.StatusCode != 400 {
		t.Fatalf("status %d; want 400", resp.StatusCode)
	}
	log.waitLog(t, "no supported subprotocol")
	if strings.Contains(log.String(), "c2VjcmV0") {
		t.Fatalf("token logged:\n%s", log)
	}
}

// TestProxyHeaderTimeout: a client that sends the first bytes of a
// request (which start like a PROXY header: "P") and stalls is not taken
// for a forger; it is dropped at the handshake deadline, quietly.
func TestProxyHeaderTimeout(t *testing.T) {
	log := &lockedBuffer{}
	addr := startServer(t, &Server{Target: Endpoint{Address: startEcho(t)}, HandshakeTimeout: 200 * time.Millisecond,
		TrustedProxies: trusted(t, "192.0.2.0/24"), ProxyProtocol: true,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := dialTCP(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("PU"))
	if n, _ := io.ReadAll(c); len(n) != 0 {
		t.Fatalf("answered %q", n)
	}
	log.waitLog(t, "handshake timed out before a request")
	if strings.Contains(log.String(), "dropped") {
		t.Fatalf("a slow client was logged as dropped:\n%s", log)
	}
}

// TestClientKeyOfNamedClient: limits count a client a forwarded-for header
// named (no port) by its address, as one that connected directly.
func TestClientKeyOfNamedClient(t *testing.T) {
	named := &ConnInfo{RemoteAddr: "203.0.113.9", Client: netip.MustParseAddrPort("203.0.113.9:0"), Via: "10.0.0.2:4000"}
	direct := &ConnInfo{RemoteAddr: "203.0.113.9:5555", Client: netip.MustParseAddrPort("203.0.113.9:5555")}
	if named.ClientKey() != "203.0.113.9" || direct.ClientKey() != "203.0.113.9" {
		t.Fatalf("keys %q, %q; want the client's address for both", named.ClientKey(), direct.ClientKey())
	}
	v6 := &ConnInfo{RemoteAddr: "2001:db8::1", Client: netip.MustParseAddrPort("[2001:db8::1]:0")}
	if v6.ClientKey() != "2001:db8::/64" {
		t.Fatalf("IPv6 key %q", v6.ClientKey())
	}
}
