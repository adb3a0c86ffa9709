package gateway

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"

	"github.com/pires/go-proxyproto"
	"github.com/websockify-go/websockify/clientaddr"
)

// peerAddr is the IP address and port of c's peer; invalid for Unix
// sockets.
func peerAddr(c net.Conn) netip.AddrPort {
	a := c.RemoteAddr()
	if a == nil {
		return netip.AddrPort{}
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// connClient is who a connection is from, before any request: its peer,
// or the client a trusted proxy named in a PROXY protocol header.
type connClient struct {
	addr   netip.AddrPort // invalid for a Unix-socket peer
	remote string         // the address as logged and passed on
	via    string         // the proxy's address, when addr came from one
	header *proxyproto.Header
}

// readProxyHeader reads the PROXY protocol header (v1 or v2) a trusted
// proxy sends first, with --proxy-protocol: a trusted peer must send one;
// an untrusted peer that sends one, or a trusted one whose header is
// malformed, is dropped with a log line (false). The header's bytes leave
// br, and nothing else does: what follows is the client's (a TLS
// handshake, a request), for sniff.
func (s *Server) readProxyHeader(raw net.Conn, br *bufio.Reader, log *slog.Logger) (connClient, bool) {
	peer := peerAddr(raw)
	cc := connClient{addr: peer, remote: peerName(raw)}
	if !s.ProxyProtocol {
		return cc, true
	}
	trusted := s.TrustedProxies.Contains(peer.Addr())
	h, err := proxyproto.Read(br)
	if errors.Is(err, proxyproto.ErrNoProxyProtocol) && br.Buffered() == 0 {
		// Closed (or timed out) before its first byte: a proxy's TCP health
		// check, or a port scan.
		log.Debug("connection closed before a request")
		return cc, false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The handshake deadline passed before the first bytes told
		// anything (a slow client, a stalled proxy): no header to judge.
		log.Debug("handshake timed out before a request", "err", err)
		return cc, false
	}
	switch {
	case !trusted && errors.Is(err, proxyproto.ErrNoProxyProtocol):
		return cc, true // a direct client
	case !trusted:
		log.Warn("dropped: PROXY protocol header from an address not in --trusted-proxies")
		return cc, false
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		log.Warn("dropped: no PROXY protocol header from a trusted proxy (--proxy-protocol requires one)")
		return cc, false
	case err != nil:
		log.Warn("dropped: malformed PROXY protocol header", "err", err)
		return cc, false
	}
	cc.header = h
	if h.Command.IsLocal() {
		return cc, true // the proxy's own connection (a health check): its address stands
	}
	src, _, ok := h.TCPAddrs()
	if !ok {
		// UDP or Unix-socket addresses: nothing an IP-based consumer
		// could use. The proxy is then the client, as without a header.
		log.Debug("PROXY protocol header without TCP addresses; the proxy's address stands", "protocol", h.TransportProtocol)
		return cc, true
	}
	ap := src.AddrPort()
	cc.via = cc.remote
	cc.addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	cc.remote = clientaddr.Format(cc.addr)
	return cc, true
}

// learnClient sets info's client for a request: the connection's, or the
// one the trusted proxy names in Server.ForwardedHeader (the proxy is then
// the connection's client, its PROXY header's or its own address). Each
// request of a keep-alive connection is read afresh.
func (s *Server) learnClient(info *ConnInfo, req *http.Request) {
	cc := info.conn
	info.Client, info.RemoteAddr, info.Via = cc.addr, cc.remote, cc.via
	if s.ForwardedHeader == "" || !cc.addr.IsValid() {
		return
	}
	if ap, ok := clientaddr.FromHeader(req.Header, s.ForwardedHeader, cc.addr.Addr(), s.TrustedProxies); ok {
		info.Client, info.RemoteAddr, info.Via = ap, clientaddr.Format(ap), cc.remote
	}
}

// connLog is the logger of a connection from info's client.
func (s *Server) connLog(info *ConnInfo) *slog.Logger {
	if info.Via != "" {
		return s.logger().With("client", info.RemoteAddr, "via", info.Via)
	}
	return s.logger().With("client", info.RemoteAddr)
}
