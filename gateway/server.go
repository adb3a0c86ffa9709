package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/websockify-go/websockify/clientaddr"
	"github.com/websockify-go/websockify/gateway/internal/core"
)

// Defaults for the zero values of Server's fields.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxHeaderBytes   = 16 << 10
	DefaultMaxFrameSize     = 16 << 20
	DefaultWriteTimeout     = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	DefaultDialTimeout      = 10 * time.Second
)

// Server accepts WebSocket connections and relays them to a target.
//
// Exported fields must not change after Serve is called. A Server serves one
// listener at a time.
type Server struct {
	// Target is where every session goes when Route is nil.
	Target Endpoint

	// Route, if set, picks the target of a WebSocket request before the
	// upgrade. An *HTTPError it returns is sent to the client as an HTTP
	// response; any other error becomes 403 Forbidden.
	Route func(r *http.Request) (Endpoint, error)
	// RouteIgnoresPath says that Route takes nothing from the request's
	// path (the wrapped program's route), so paths may be logged as they
	// are without a Route; otherwise a path may be a token and is not.
	RouteIgnoresPath bool

	// Authorize, if set, runs for every WebSocket request before Route
	// (info.Target is then Target, not the routed one) and before the
	// upgrade; an error refuses it like a Route error, and Route does not
	// run.
	Authorize func(r *http.Request, info *ConnInfo) error

	// Recorder, if set, is called when a session starts; what it returns
	// sees every byte relayed in both directions. An error ends the
	// session with 1011.
	Recorder func(info *ConnInfo) (Recorder, error)

	// TLS, if set, serves connections that start with a TLS handshake
	// record over TLS, on the same port as plain ones.
	TLS *tls.Config

	// SSLOnly refuses connections that do not start with TLS.
	SSLOnly bool

	// FlashPolicy answers Flash's <policy-file-request/> with FlashPolicy.
	FlashPolicy bool

	// HTTP serves requests that are not WebSocket upgrades. If nil, they get
	// 405 Method Not Allowed (501 for unknown methods), as the reference
	// does without --web.
	HTTP http.Handler

	// HandshakeTimeout bounds everything before the upgrade: reading the
	// request and writing the response. Zero means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	// MaxHeaderBytes caps the request line and headers. Zero means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int

	// MaxFrameSize caps the payload of one client frame; a larger frame
	// closes the session with 1009. Zero means DefaultMaxFrameSize.
	MaxFrameSize int64

	// WriteTimeout bounds the write of one frame to the client. Zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration

	// CloseTimeout bounds the wait for the peer's close frame after ours,
	// and for the target to finish after the client closed. Zero means
	// DefaultCloseTimeout.
	CloseTimeout time.Duration

	// DialTimeout bounds connecting to the target. Zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration

	// TrustedProxies are the networks whose connections may name the
	// client: in a PROXY protocol header (with ProxyProtocol) and in the
	// ForwardedHeader of their requests. Nil trusts nobody.
	TrustedProxies *clientaddr.Trusted

	// ProxyProtocol reads a PROXY protocol header (v1 or v2) from every
	// connection from TrustedProxies, which must send one; an untrusted
	// connection that sends one is dropped.
	ProxyProtocol bool

	// ForwardedHeader is the request header in which TrustedProxies name
	// the client (rightmost untrusted address wins); empty reads none.
	ForwardedHeader clientaddr.Header

	// TokenSubprotocol, if set, is the prefix of offered subprotocols
	// that carry a token ("PREFIX.<base64url token>", read by Route):
	// they are never chosen, echoed or logged.
	TokenSubprotocol string

	// Heartbeat, if positive, sends a ping every Heartbeat and drops a
	// client from which nothing, not even a pong, arrives for two intervals.
	Heartbeat time.Duration

	// RunOnce makes Serve stop accepting once a WebSocket session has been
	// upgraded, and return when that session ends.
	RunOnce bool

	// IdleTimeout, if positive, makes Serve stop accepting once no session
	// has been open for that long.
	IdleTimeout time.Duration

	// Traffic, if set, receives the reference's per-frame traffic
	// characters (see TrafficLegend).
	Traffic io.Writer

	// Logger receives log records. Nil means slog.Default().
	Logger *slog.Logger

	// Relay picks the driver that relays sessions (see Relay's values).
	// The zero value is RelayAuto.
	Relay Relay

	// EventLoops is how many event loops the epoll driver runs. Zero means
	// GOMAXPROCS.
	EventLoops int

	// Observer, if set, is told of refusals, handshakes, dials and session
	// ends, for metrics.
	Observer Observer

	// PendingLimits caps the connections that have not finished their
	// handshake (admission.go). The zero value derives the caps from the
	// descriptor limit.
	PendingLimits PendingLimits

	// Limits caps the sessions and the handshake rate (limits.go),
	// checked before Authorize, Route and the dial.
	Limits Limits

	// SessionToken, if set, names the token of a WebSocket request without
	// looking it up: for Limits.PerToken, the session list and ending
	// sessions by token. It must be cheap: it runs before the limits.
	SessionToken func(r *http.Request) (token string, ok bool)

	// TokenElsewhere, if set, reports how many sessions token holds on
	// other instances (a fleet registry), for Limits.PerToken.
	TokenElsewhere func(token string) int

	admissionOnce sync.Once
	admission     *admission // nil: no caps
	limiterOnce   sync.Once
	limits        *limiter

	mu       sync.Mutex
	ln       net.Listener
	acc      accepter // ln's
	loops    *reactor // started by the first session handed to a loop
	noLoops  bool     // the loops could not start: sessions use goroutines
	conns    map[net.Conn]struct{}
	sessions map[*session]struct{}
	byID     map[uint64]*session // the same sessions, by ConnInfo.ID
	wg       sync.WaitGroup
	stopped  bool
	closing  bool // CloseSessions ran: connections accepted now are dropped
	idle     *time.Timer
	started  uint64 // sessions upgraded so far
	accepted uint64 // connections accepted so far

	// Payload bytes of the sessions that have ended (Totals).
	endedFromClient, endedToClient uint64
}

// ConnInfo describes an accepted connection to the hooks.
type ConnInfo struct {
	// ID numbers accepted connections from 1, as the reference's handler
	// ids do (record files are named after it).
	ID uint64
	// RemoteAddr is the client's address as logged: "ip:port", a bare IP
	// when a forwarded-for header gave no port, a socket path for Unix
	// sockets. It is the connection's peer unless a trusted proxy named the
	// client (Via is then set).
	RemoteAddr string
	// Client is the client's address, as RemoteAddr says; its port is 0
	// when not known, and it is invalid for Unix-socket clients. Limits,
	// plugins and metrics read the client from here.
	Client netip.AddrPort
	// Via is the address of the trusted proxy that named the client (in a
	// PROXY protocol header or a forwarded-for header), empty when the
	// client connected directly.
	Via string
	// TLS is the connection's TLS state, nil for plain connections.
	TLS *tls.ConnectionState
	// Target is the session's target, once Route has chosen it.
	Target Endpoint
	// Token is the request's token (Server.SessionToken), empty without
	// one. It is a secret: log it only redacted.
	Token string
	// Expires, if set (by Route), is when the token stops being valid: a
	// JWT's exp. The session list shows it; revocation ends the session
	// then.
	Expires time.Time

	slot *slot      // the session's place in the limits' counts
	conn connClient // who the connection is from, before any request
}

// Recorder observes the bytes of one session. Its methods may be called
// from two goroutines at once.
type Recorder interface {
	ClientData(p []byte) // bytes from the client, as written to the target
	TargetData(p []byte) // bytes from the target, as sent to the client
	Close() error
}

type connInfoKey struct{}

// ConnInfoFrom returns the connection info of a request passed to
// Server.HTTP, Route or Authorize.
func ConnInfoFrom(ctx context.Context) *ConnInfo {
	ci, _ := ctx.Value(connInfoKey{}).(*ConnInfo)
	return ci
}

// ErrServerStopped is returned by Serve when it is called after Shutdown.
var ErrServerStopped = errors.New("gateway: server stopped")

func (s *Server) handshakeTimeout() time.Duration {
	if s.HandshakeTimeout > 0 {
		return s.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

func (s *Server) maxFrameSize() int64 {
	if s.MaxFrameSize > 0 {
		return s.MaxFrameSize
	}
	return DefaultMaxFrameSize
}

func (s *Server) writeTimeout() time.Duration {
	if s.WriteTimeout > 0 {
		return s.WriteTimeout
	}
	return DefaultWriteTimeout
}

func (s *Server) closeTimeout() time.Duration {
	if s.CloseTimeout > 0 {
		return s.CloseTimeout
	}
	return DefaultCloseTimeout
}

func (s *Server) dialTimeout() time.Duration {
	if s.DialTimeout > 0 {
		return s.DialTimeout
	}
	return DefaultDialTimeout
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Serve accepts connections on ln until StopAccepting or Shutdown is
// called, or RunOnce or IdleTimeout ends it, and closes ln then. (Closing
// ln is not enough to stop it: on Linux, connections are accepted from a
// duplicate of its descriptor.) It then waits for the open connections to
// finish and returns. A clean stop returns nil.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.startLoops(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrServerStopped
	}
	s.ln = ln
	s.acc = newAccepter(ln)
	acc := s.acc
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
		s.sessions = make(map[*session]struct{})
		s.byID = make(map[uint64]*session)
	}
	if s.IdleTimeout > 0 {
		s.idle = time.AfterFunc(s.IdleTimeout, s.idleExpired)
	}
	s.mu.Unlock()

	w := newWorkers(4 * runtime.GOMAXPROCS(0))
	err := s.acceptLoop(acc, w)
	s.StopAccepting()
	s.wg.Wait()
	w.stop()
	s.mu.Lock()
	r := s.loops
	s.loops = nil
	s.mu.Unlock()
	if r != nil {
		r.stop() // every session has ended: the loops are idle
	}
	return err
}

func (s *Server) acceptLoop(acc accepter, w *workers) error {
	var backoff time.Duration
	for {
		c, err := acc.accept()
		if err != nil {
			if s.isStopped() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off as
				// net/http does, and keep the listener.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("accept failed; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		id, ok := s.track(c)
		if !ok {
			c.Close()
			return nil
		}
		s.admitPending(c)
		w.run(func() { s.serveConn(c, id) })
	}
}

// track registers an accepted connection and numbers it; false means the
// server is closing its sessions. A connection accepted just before
// StopAccepting is served all the same: its client was not refused, and
// must not be reset (a drain, an upgrade's hand-over).
func (s *Server) track(c net.Conn) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return 0, false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.accepted++
	return s.accepted, true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// StopAccepting closes the listener. Open sessions go on; Serve returns when
// they have ended.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	if s.idle != nil {
		s.idle.Stop()
	}
	s.closeListener()
}

// closeListener closes the listener Serve accepts on, if any. Called with
// s.mu held.
func (s *Server) closeListener() {
	if s.ln != nil {
		s.ln.Close()
		s.acc.close()
	}
}

// Shutdown stops accepting, closes every open session with 1001 (going away)
// and drops connections still in their handshake. It returns once every
// connection has ended, or with ctx's error when ctx ends first, after
// closing what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.StopAccepting()
	s.StopSessions(CauseShutdown, ws.StatusGoingAway, "Server shutting down")

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		for ss := range s.sessions {
			if d := ss.driver(); d != nil {
				d.abort()
			}
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// CloseSessions sends a close frame with code and reason to every open
// session and drops connections still in their handshake. Sessions then end
// as after any close of ours: the client's close reply, or CloseTimeout.
func (s *Server) CloseSessions(code ws.StatusCode, reason string) {
	s.StopSessions(CauseClosed, code, reason)
}

// StopSessions is CloseSessions recording cause as the end of every session
// that had not ended yet (CauseDrained, CauseShutdown...).
func (s *Server) StopSessions(cause Cause, code ws.StatusCode, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	inSession := make(map[net.Conn]bool, len(s.sessions))
	for ss := range s.sessions {
		inSession[ss.raw] = true
		go ss.stopWith(cause, code, reason)
	}
	for c := range s.conns {
		if !inSession[c] {
			c.Close()
		}
	}
}

// ActiveSessions reports how many WebSocket sessions are open.
func (s *Server) ActiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) addSession(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.RunOnce {
		if s.started > 0 {
			return false
		}
		s.stopped = true
		s.closeListener()
	}
	s.started++
	s.sessions[ss] = struct{}{}
	if s.byID == nil {
		s.byID = make(map[uint64]*session)
	}
	s.byID[ss.id] = ss
	if s.idle != nil {
		s.idle.Stop()
	}
	return true
}

func (s *Server) removeSession(ss *session, st core.Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// In one step with the removal, so that Totals never counts a session
	// twice or not at all.
	s.endedFromClient += st.FromClient
	s.endedToClient += st.ToClient
	delete(s.sessions, ss)
	if s.byID[ss.id] == ss {
		delete(s.byID, ss.id)
	}
	if len(s.sessions) == 0 && s.idle != nil && !s.stopped {
		s.idle.Reset(s.IdleTimeout)
	}
}

func (s *Server) idleExpired() {
	s.mu.Lock()
	busy := len(s.sessions) > 0
	s.mu.Unlock()
	if busy {
		return
	}
	s.logger().Info("listener exit due to --idle-timeout", "seconds", s.IdleTimeout.Seconds())
	s.StopAccepting()
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
