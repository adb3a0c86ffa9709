package gateway

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// targetProxyHeader is the PROXY protocol header (version 1 or 2) that
// tells the target who the client is: the client's address (Client, as
// learned from trusted proxies) to the address it connected to (local).
// A client without an IP address (a Unix socket) is sent as UNKNOWN (v1)
// or LOCAL (v2). Version 2 carries, for a wss:// client, the SNI it asked
// for (PP2_TYPE_AUTHORITY) and the TLS facts of PP2_TYPE_SSL: version,
// cipher and the client certificate's CN.
func targetProxyHeader(version int, info *ConnInfo, local net.Addr) ([]byte, error) {
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("PROXY protocol version %d: want 1 or 2", version)
	}
	h := &proxyproto.Header{Version: byte(version), Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	if info.Client.IsValid() {
		dst, ok := local.(*net.TCPAddr)
		if !ok {
			dst = &net.TCPAddr{IP: net.IPv4zero} // not known: 0.0.0.0:0
		}
		h = proxyproto.HeaderProxyFromAddrs(byte(version), net.TCPAddrFromAddrPort(info.Client), dst)
	}
	if version == 1 && h.Command.IsLocal() {
		return []byte("PROXY UNKNOWN\r\n"), nil
	}
	if version == 2 {
		var tlvs []proxyproto.TLV
		switch {
		case info.TLS != nil:
			tlvs = tlsTLVs(info.TLS)
		case info.conn.header != nil && info.Via == info.conn.via:
			// TLS ended at the proxy that named the client: pass on what
			// its header said of it.
			tlvs = passedTLVs(info.conn.header)
		}
		if err := h.SetTLVs(tlvs); err != nil {
			return nil, fmt.Errorf("PROXY protocol TLVs: %w", err)
		}
	}
	return h.Format()
}

// tlsTLVs are the PROXY v2 TLVs of a client's TLS connection.
func tlsTLVs(st *tls.ConnectionState) []proxyproto.TLV {
	var tlvs []proxyproto.TLV
	if st.ServerName != "" {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.PP2_TYPE_AUTHORITY, Value: []byte(st.ServerName)})
	}
	ssl := tlvparse.PP2SSL{Client: tlvparse.PP2_BITFIELD_CLIENT_SSL, Verify: 1}
	ssl.TLV = append(ssl.TLV,
		proxyproto.TLV{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte(tlsVersionName(st.Version))},
		proxyproto.TLV{Type: proxyproto.PP2_SUBTYPE_SSL_CIPHER, Value: []byte(tls.CipherSuiteName(st.CipherSuite))})
	if len(st.PeerCertificates) > 0 {
		ssl.Client |= tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN
		if !st.DidResume {
			ssl.Client |= tlvparse.PP2_BITFIELD_CLIENT_CERT_SESS
		}
		if len(st.VerifiedChains) > 0 {
			ssl.Verify = 0
		}
		if cn := st.PeerCertificates[0].Subject.CommonName; cn != "" {
			ssl.TLV = append(ssl.TLV, proxyproto.TLV{Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(cn)})
		}
	}
	if t, err := ssl.Marshal(); err == nil {
		tlvs = append(tlvs, t)
	}
	return tlvs
}

// tlsVersionName is a TLS version as HAProxy and OpenSSL name it
// ("TLSv1.3").
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// passedTLVs are the TLVs of an incoming PROXY v2 header that describe the
// client's connection to the proxy: its SNI (authority) and TLS facts.
func passedTLVs(h *proxyproto.Header) []proxyproto.TLV {
	in, err := h.TLVs()
	if err != nil {
		return nil
	}
	var out []proxyproto.TLV
	for _, t := range in {
		if t.Type == proxyproto.PP2_TYPE_AUTHORITY || t.Type == proxyproto.PP2_TYPE_SSL {
			out = append(out, t)
		}
	}
	return out
}
