package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// proxyTarget is an echo target that first reads a PROXY header and sends
// what it read on headers.
func proxyTarget(t *testing.T) (string, chan *proxyproto.Header) {
	headers := make(chan *proxyproto.Header, 4)
	addr := startTarget(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		h, err := proxyproto.Read(br)
		if err != nil {
			t.Errorf("target: %v", err)
			return
		}
		headers <- h
		io.Copy(c, br)
	})
	return addr, headers
}

// TestTargetProxyHeader: the target gets a PROXY header naming the client
// (as a trusted proxy named it), v1 and v2, on either driver; v2 carries
// the TLS client's SNI and TLS version.
func TestTargetProxyHeader(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		for _, version := range []int{1, 2} {
			for _, tlsOn := range []bool{false, true} {
				target, headers := proxyTarget(t)
				s := &Server{Relay: r, Target: Endpoint{Address: target, ProxyProtocol: version},
					TrustedProxies: trusted(t, "127.0.0.0/8,::1"), ProxyProtocol: true}
				if tlsOn {
					s.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
				}
				addr := startServer(t, s)
				c := dialTCP(t, addr)
				c.Write([]byte(v1Header("203.0.113.9:4711")))
				var cc net.Conn = c
				if tlsOn {
					cc = tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "vnc.example.org"})
				}
				upgradeAfter(t, cc, nil, "")
				h := <-headers
				src, dst, ok := h.TCPAddrs()
				if !ok || int(h.Version) != version || src.AddrPort() != netip.MustParseAddrPort("203.0.113.9:4711") || dst.String() != c.RemoteAddr().String() {
					t.Fatalf("v%d tls %v: header v%d %v → %v; want 203.0.113.9:4711 → %v", version, tlsOn, h.Version, src, dst, c.RemoteAddr())
				}
				if version == 2 && tlsOn {
					tlvs, _ := h.TLVs()
					var sni string
					for _, tlv := range tlvs {
						if tlv.Type == proxyproto.PP2_TYPE_AUTHORITY {
							sni = string(tlv.Value)
						}
					}
					ssl, ok := tlvparse.FindSSL(tlvs)
					v, _ := ssl.SSLVersion()
					if sni != "vnc.example.org" || !ok || !ssl.ClientSSL() || v != "TLSv1.3" {
						t.Fatalf("TLVs: sni %q ssl %v %+v version %q", sni, ok, ssl, v)
					}
				}
			}
		}
	})
}

// TestTargetProxyHeaderUnixClient: a client without an IP address is
// UNKNOWN (v1) or LOCAL (v2).
func TestTargetProxyHeaderUnixClient(t *testing.T) {
	b, err := targetProxyHeader(1, &ConnInfo{}, &net.UnixAddr{Name: "/s", Net: "unix"})
	if err != nil || string(b) != "PROXY UNKNOWN\r\n" {
		t.Fatalf("v1: %q %v", b, err)
	}
	b, err = targetProxyHeader(2, &ConnInfo{}, &net.UnixAddr{Name: "/s", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxyproto.Read(bufio.NewReader(bytes.NewReader(b)))
	if err != nil || !h.Command.IsLocal() {
		t.Fatalf("v2: %+v %v", h, err)
	}
	if _, err := targetProxyHeader(3, &ConnInfo{}, nil); err == nil {
		t.Fatal("version 3 accepted")
	}
}

// TestTargetProxyHeaderPassesProxyTLS: behind a proxy that ended TLS, the
// SNI and TLS TLVs of its header go on to the target; others do not.
func TestTargetProxyHeaderPassesProxyTLS(t *testing.T) {
	target, headers := proxyTarget(t)
	addr := startServer(t, &Server{Target: Endpoint{Address: target, ProxyProtocol: 2},
		TrustedProxies: trusted(t, "127.0.0.0/8,::1"), ProxyProtocol: true})
	ssl, _ := tlvparse.PP2SSL{Client: tlvparse.PP2_BITFIELD_CLIENT_SSL, TLV: []proxyproto.TLV{
		{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")}}}.Marshal()
	in := v2Header(t, "203.0.113.5:1000", proxyproto.TLV{Type: proxyproto.PP2_TYPE_AUTHORITY, Value: []byte("vnc.example.org")},
		ssl, proxyproto.TLV{Type: 0xE9, Value: []byte("private")})
	upgradeAfter(t, dialTCP(t, addr), in, "")
	h := <-headers
	tlvs, _ := h.TLVs()
	var types []proxyproto.PP2Type
	for _, tlv := range tlvs {
		types = append(types, tlv.Type)
	}
	if len(types) != 2 || types[0] != proxyproto.PP2_TYPE_AUTHORITY || types[1] != proxyproto.PP2_TYPE_SSL {
		t.Fatalf("TLVs passed on: %v; want authority and SSL only", types)
	}
}
