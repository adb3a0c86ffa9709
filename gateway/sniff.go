package gateway

import (
	"bufio"
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
// deadline already set on c. The first read goes into br, which reads c
// through cr, so that a plain request usually takes one system call; for
// TLS, the bytes read move to the TLS connection, which cr then reads, its
// cap renewed. It returns the connection to speak HTTP on and its TLS
// state, or ok=false when the connection is done.
func (s *Server) sniff(c net.Conn, cr *capReader, br *bufio.Reader, log *slog.Logger) (net.Conn, *tls.ConnectionState, bool) {
	first, err := br.Peek(1)
	if err != nil {
		log.Debug("connection closed before a request", "err", err)
		return nil, nil, false
	}
	switch {
	case first[0] == 0x16:
		if s.TLS == nil {
			log.Info("SSL connection but no certificate is configured (--cert)")
			return nil, nil, false
		}
		read, _ := br.Peek(br.Buffered())
		pc := &prefixConn{Conn: c, prefix: bytes.Clone(read)}
		br.Reset(cr)
		tc := tls.Server(&batchConn{Conn: pc}, s.TLS)
		if err := tc.HandshakeContext(context.Background()); err != nil {
			if s.Observer != nil {
				s.Observer.TLSHandshakeFailed()
			}
			log.Info("TLS handshake failed", "err", err)
			return nil, nil, false
		}
		cr.r, cr.n = tc, s.maxHeaderBytes()
		st := tc.ConnectionState()
		return tc, &st, true
	case s.SSLOnly:
		s.refused(RefusedTLSRequired)
		log.Info("non-SSL connection received but disallowed")
		return nil, nil, false
	case first[0] == '<' && s.FlashPolicy:
		if p, _ := br.Peek(len(flashRequest)); string(p) == flashRequest {
			log.Info("Sending flash policy response")
			io.WriteString(c, FlashPolicy+"\x00")
			return nil, nil, false
		}
	}
	return &prefixConn{Conn: c}, nil, true
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
