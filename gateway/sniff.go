package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
)

// FlashPolicy is the cross-domain policy sent in answer to a Flash
// <policy-file-request/>, followed by a NUL byte as Flash expects.
const FlashPolicy = `<cross-domain-policy><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>` + "\n"

const flashRequest = "<policy-file-request/>"

// sniff looks at the first byte of a new connection: a TLS handshake record
// (0x16) is served over TLS with s.TLS, a Flash policy request is answered,
// anything else is plain HTTP unless SSLOnly. It runs under the handshake
// deadline already set on c. It returns the connection to speak HTTP on and
// its TLS state, or ok=false when the connection is done.
func (s *Server) sniff(c net.Conn, log *slog.Logger) (net.Conn, *tls.ConnectionState, bool) {
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		log.Debug("connection closed before a request", "err", err)
		return nil, nil, false
	}
	pc := &prefixConn{Conn: c, prefix: first[:]}
	switch {
	case first[0] == 0x16:
		if s.TLS == nil {
			log.Info("SSL connection but no certificate is configured (--cert)")
			return nil, nil, false
		}
		tc := tls.Server(&batchConn{Conn: pc}, s.TLS)
		if err := tc.HandshakeContext(context.Background()); err != nil {
			log.Info("TLS handshake failed", "err", err)
			return nil, nil, false
		}
		st := tc.ConnectionState()
		return tc, &st, true
	case s.SSLOnly:
		log.Info("non-SSL connection received but disallowed")
		return nil, nil, false
	case first[0] == '<' && s.FlashPolicy:
		rest := make([]byte, len(flashRequest)-1)
		n, _ := io.ReadFull(c, rest)
		pc.prefix = append(pc.prefix, rest[:n]...)
		if bytes.Equal(pc.prefix, []byte(flashRequest)) {
			log.Info("Sending flash policy response")
			io.WriteString(c, FlashPolicy+"\x00")
			return nil, nil, false
		}
	}
	return pc, nil, true
}

// prefixConn replays bytes already read from a connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// CloseWrite half-closes the underlying connection when it can.
func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
