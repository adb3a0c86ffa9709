package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// Subprotocols the gateway speaks.
const (
	ProtocolBinary = "binary"
	ProtocolBase64 = "base64"
)

// capReader caps the bytes read from a connection during the handshake;
// lifting the cap (n < 0) turns it into a plain pass-through.
type capReader struct {
	r net.Conn
	n int // bytes still allowed; negative means no cap
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return c.r.Read(p)
	}
	if c.n == 0 {
		return 0, errHeaderTooLarge
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

var errHeaderTooLarge = errors.New("gateway: request header too large")

// Buffers of the handshake, reused from one connection to the next.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 512) }}
)

// serveConn runs one accepted connection: sniffing, handshake, then the
// session or the HTTP answer.
func (s *Server) serveConn(raw net.Conn, id uint64) {
	var ss *session
	var info *ConnInfo
	defer func() {
		if ss == nil { // no session: the connection ends here
			if info != nil {
				info.slot.release()
			}
			raw.Close()
			s.untrack(raw)
		}
	}()
	defer s.pendingDone(raw)
	accepted := time.Now()

	log := s.logger().With("client", peerName(raw))

	// One deadline covers everything before the upgrade: the first byte,
	// the TLS handshake, the request and our response.
	raw.SetDeadline(time.Now().Add(s.handshakeTimeout()))
	cr := &capReader{r: raw, n: s.maxHeaderBytes()}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(cr)
	// Whatever happens, the reader is free once serveConn returns: a
	// session relayed here has ended, one handed to an event loop has taken
	// the bytes left in it.
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	cc, ok := s.readProxyHeader(raw, br, log)
	if !ok {
		return
	}
	cr.n = s.maxHeaderBytes() // the request's own cap, after a PROXY header
	info = &ConnInfo{ID: id, RemoteAddr: cc.remote, Client: cc.addr, Via: cc.via, conn: cc}
	if cc.via != "" {
		log = s.connLog(info)
	}
	c, tlsState, ok := s.sniff(raw, cr, br, log)
	if !ok {
		return
	}
	info.TLS = tlsState
	req, log, ok := s.readUpgradeRequest(raw, c, cr, br, info, log)
	if !ok {
		return
	}
	proto, ok := s.upgrade(c, br, req, info, log)
	if !ok {
		return
	}
	if s.Observer != nil {
		s.Observer.Upgraded(time.Since(accepted))
	}
	// Past the upgrade: lift the header cap and the handshake deadline,
	// and no longer count as pending.
	s.pendingDone(raw)
	cr.n = -1
	raw.SetDeadline(time.Time{})

	ss = s.startSession(raw, c, br, proto, req, info, log)
}

// readUpgradeRequest reads requests until a WebSocket upgrade, answering
// the others (keep-alive: each gets a fresh deadline and header cap). false
// means the connection is done.
func (s *Server) readUpgradeRequest(raw, c net.Conn, cr *capReader, br *bufio.Reader, info *ConnInfo, connLog *slog.Logger) (*http.Request, *slog.Logger, bool) {
	for {
		req, err := readRequest(br)
		if err != nil {
			if cr.n == 0 {
				// The cap cut the request; the parser may report that as a
				// malformed line rather than as our error.
				err = errHeaderTooLarge
			}
			s.rejectBadRequest(c, connLog, err)
			return nil, nil, false
		}
		log := connLog
		s.learnClient(info, req)
		if info.Via != info.conn.via {
			log = s.connLog(info) // a forwarded-for header named the client
		}
		req.RemoteAddr = info.RemoteAddr
		req.TLS = info.TLS
		req = req.WithContext(context.WithValue(req.Context(), connInfoKey{}, info))
		if isUpgrade(req) {
			return req, log, true
		}
		if !s.serveHTTP(c, req, log) || s.RunOnce {
			return nil, nil, false
		}
		// A WebSocket upgrade may follow on the same connection.
		cr.n = s.maxHeaderBytes()
		raw.SetDeadline(time.Now().Add(s.handshakeTimeout()))
	}
}

// upgrade checks a WebSocket request, holds it to the limits, admits it
// (authorize, route) and answers 101 with the chosen subprotocol, or
// refuses it with its HTTP status (false). The order matters: nothing
// costly (a token lookup, a dial) happens for a request that is not a
// valid handshake or that a limit refuses.
func (s *Server) upgrade(c net.Conn, br *bufio.Reader, req *http.Request, info *ConnInfo, log *slog.Logger) (proto string, ok bool) {
	if he := checkHandshake(req); he != nil {
		s.refused(RefusedBadRequest)
		log.Info("handshake refused", "status", he.Status, "err", he.Err)
		writeHTTPError(c, req.Method, he.Status, "", he.Header)
		return "", false
	}
	offered := offeredProtocols(req.Header.Values("Sec-WebSocket-Protocol"), s.TokenSubprotocol)
	proto, ok = chooseProtocol(offered)
	if !ok {
		s.refused(RefusedBadRequest)
		log.Warn("handshake refused: no supported subprotocol", "offered", offered)
		writeHTTPError(c, req.Method, http.StatusBadRequest,
			"Client must support 'binary' or 'base64' protocol", nil)
		return "", false
	}
	if !s.reserve(c, req, info, log) {
		return "", false
	}
	if !s.admit(c, req, info, log) {
		return "", false
	}
	up := ws.HTTPUpgrader{
		Protocol: func(p string) bool { return p == proto },
		Timeout:  s.writeTimeout(),
	}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c)
	hj := &hijacker{conn: c, rw: bufio.NewReadWriter(br, bw)}
	_, _, _, err := up.Upgrade(req, hj)
	bw.Reset(nil) // the upgrader has flushed it
	writerPool.Put(bw)
	if err != nil {
		s.refused(RefusedBadRequest)
		log.Warn("handshake refused", "err", err)
		return "", false
	}
	return proto, true
}

// startSession runs an upgraded connection's session, or hands it to an
// event loop. It returns nil when no session started (--run-once's second
// client), and the connection is then the caller's to end.
func (s *Server) startSession(raw, c net.Conn, br *bufio.Reader, proto string, req *http.Request, info *ConnInfo, log *slog.Logger) *session {
	ss := newSession(s, c, br, proto, info.Target, log)
	ss.raw, ss.id, ss.clientAddr = raw, info.ID, info.ClientAddr()
	ss.slot, ss.info, ss.proto = info.slot, info, proto
	if v := info.Target.ProxyProtocol; v != 0 {
		hdr, err := targetProxyHeader(v, info, raw.LocalAddr())
		if err != nil {
			log.Error("cannot build the target's PROXY protocol header", "err", err)
			hdr = nil // the target learns nothing rather than something wrong
		}
		ss.proxyHeader = hdr
	}
	if !s.addSession(ss) {
		// --run-once: a second session raced the first one in.
		ss.closeWith(statusTryAgainLater, "Server is busy")
		ss.lingerClient()
		return nil
	}
	// From here on, ss.finish ends the connection. The path only, never
	// the query, and nothing when a Route is set: either may carry a
	// token, which must not reach the logs.
	if req.URL.Path != "/" && s.Route == nil {
		log = log.With("path", req.URL.Path)
	}
	if info.TLS != nil {
		log.Info("SSL/TLS (wss://) WebSocket connection")
	} else {
		log.Info("Plain non-SSL (ws://) WebSocket connection")
	}
	ss.log = log
	if s.Recorder != nil {
		rec, err := s.Recorder(info)
		if err != nil {
			log.Error("cannot record the session", "err", err)
			ss.closeWith(ws.StatusInternalServerError, "Recording failed")
			ss.lingerClient()
			ss.finish()
			return ss
		}
		ss.rec = rec
	}
	if !ss.run() {
		ss.finish()
	}
	return ss
}

// reserve counts the request against the limits, or refuses it (503, 429
// for the rate) with Retry-After.
func (s *Server) reserve(c net.Conn, req *http.Request, info *ConnInfo, log *slog.Logger) bool {
	if s.SessionToken != nil {
		if tok, ok := s.SessionToken(req); ok {
			info.Token = tok
		}
	}
	elsewhere := 0
	if s.Limits.PerToken > 0 && info.Token != "" && s.TokenElsewhere != nil {
		elsewhere = s.TokenElsewhere(info.Token)
	}
	sl, r := s.limiter().reserve(info.ClientKey(), info.Token, elsewhere, time.Now())
	if r == nil {
		info.slot = sl
		return true
	}
	code, h := r.status()
	log.Warn("handshake refused: over a limit", "limit", r.reason, "max", r.limit, "status", code)
	s.refused(r.reason)
	writeHTTPError(c, req.Method, code, "", h)
	return false
}

// admit authorizes and routes a WebSocket request before the upgrade,
// answering refusals with their HTTP status. Authorization comes first, so
// that no answer depends on the token (unknown, refused, malformed) before
// the client is authenticated: Authorize sees the static target, which is
// empty when a Route resolves it.
func (s *Server) admit(c net.Conn, req *http.Request, info *ConnInfo, log *slog.Logger) bool {
	info.Target = s.Target
	var err error
	if s.Authorize != nil {
		err = s.Authorize(req, info)
	}
	if err == nil && s.Route != nil {
		info.Target, err = s.Route(req)
	}
	if err == nil {
		return true
	}
	var he *HTTPError
	if !errors.As(err, &he) {
		he = &HTTPError{Status: http.StatusForbidden, Err: err}
	}
	s.refused(refusalReason(he))
	log.Warn("request refused", "status", he.Status, "err", he.Err)
	writeHTTPError(c, req.Method, he.Status, he.Message, he.Header)
	return false
}

// rejectBadRequest answers a request that could not be read, when there is
// anyone left to answer.
func (s *Server) rejectBadRequest(c net.Conn, log interface {
	Debug(string, ...any)
}, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errHeaderTooLarge):
		log.Debug("connection closed before a request", "err", err)
	case errors.As(err, &ne) && ne.Timeout():
		s.refused(RefusedTimeout)
		log.Debug("handshake timed out", "err", err)
		writeHTTPError(c, "", http.StatusRequestTimeout, "", nil)
	case errors.Is(err, errHeaderTooLarge):
		s.refused(RefusedTooLarge)
		log.Debug("request header too large")
		writeHTTPError(c, "", http.StatusRequestHeaderFieldsTooLarge, "", nil)
	default:
		s.refused(RefusedBadRequest)
		log.Debug("malformed request", "err", err)
		writeHTTPError(c, "", http.StatusBadRequest, "Bad request syntax", nil)
	}
}

// statusTryAgainLater is the IANA-registered close code 1013.
const statusTryAgainLater ws.StatusCode = 1013

// offeredProtocols are the subprotocols of Sec-WebSocket-Protocol values,
// without those that carry a token ("PREFIX.<token>" with tokenPrefix):
// a token is never chosen, echoed or logged.
func offeredProtocols(values []string, tokenPrefix string) []string {
	var offered []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" || tokenPrefix != "" && strings.HasPrefix(p, tokenPrefix+".") {
				continue
			}
			offered = append(offered, p)
		}
	}
	return offered
}

// chooseProtocol picks the subprotocol from the offered values: "binary" when
// offered, else "base64" when offered, else none (raw binary frames). It
// fails only when protocols are offered and none of them is supported.
func chooseProtocol(offered []string) (string, bool) {
	var any, b64 bool
	for _, v := range offered {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			any = true
			switch p {
			case ProtocolBinary:
				return ProtocolBinary, true
			case ProtocolBase64:
				b64 = true
			}
		}
	}
	if b64 {
		return ProtocolBase64, true
	}
	return "", !any
}

// hijacker hands our connection and its buffered reader to
// ws.HTTPUpgrader, so that bytes the client sent right after its request
// stay in br for the session.
type hijacker struct {
	conn   net.Conn
	rw     *bufio.ReadWriter
	header http.Header
}

func (h *hijacker) Header() http.Header {
	if h.header == nil {
		h.header = make(http.Header)
	}
	return h.header
}
func (h *hijacker) Write(p []byte) (int, error) { return 0, http.ErrHijacked }
func (h *hijacker) WriteHeader(int)             {}
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, h.rw, nil
}

// HTTPError is an error that is answered with an HTTP status before the
// upgrade.
type HTTPError struct {
	Status int
	// Reason, one of the Refused* constants, says why for metrics; empty
	// means one read from Status.
	Reason  string
	Message string      // reason shown to the client; empty means the status text
	Header  http.Header // extra response headers, e.g. WWW-Authenticate
	Err     error       // what is logged
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, http.StatusText(e.Status), e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

func (e *HTTPError) Unwrap() error { return e.Err }

func peerName(c net.Conn) string {
	a := c.RemoteAddr()
	if a == nil {
		return "unknown"
	}
	if s := a.String(); s != "" && s != "@" {
		return s
	}
	if la := c.LocalAddr(); la != nil {
		return la.String()
	}
	return "unix"
}
