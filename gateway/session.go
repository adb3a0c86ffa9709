package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/websockify-go/websockify/gateway/internal/core"
)

// session is one upgraded WebSocket connection and its target: what the
// two drivers share. Its protocol state and decisions are core's; a driver
// (relay.go: two goroutines; loop_linux.go: an event loop) moves the bytes
// and calls core from one goroutine at a time.
type session struct {
	srv        *Server
	raw        net.Conn // the accepted connection under client (TLS or not)
	rec        Recorder // nil unless recording
	client     net.Conn
	br         *bufio.Reader // the handshake's reader: bytes the client sent after its request
	base64     bool
	endpoint   Endpoint
	id         uint64    // the connection's number (ConnInfo.ID)
	started    time.Time // when the session was upgraded
	clientAddr string    // ConnInfo.ClientAddr: the client, as trusted proxies name it
	// proxyHeader is sent to the target first (Endpoint.ProxyProtocol).
	proxyHeader []byte
	log         *slog.Logger
	traffic     *traffic
	slot        *slot // released when the session ends
	info        *ConnInfo
	proto       string
	stopping    atomic.Bool // stopped from outside (registry.go)

	core core.Session

	// mu guards core until a driver relays the session, and drv. The
	// goroutine relay goes on guarding core with it; an event loop owns
	// core from the moment drv is set.
	mu      sync.Mutex
	drv     driver
	drvName atomic.Pointer[string] // drv's name, read without mu (Totals)
	ended   chan struct{}
}

// driver is how the server reaches a session that a driver relays. Its
// methods may be called from any goroutine.
type driver interface {
	// close sends our close frame with code and reason (Shutdown,
	// StopSessions), recording cause as the session's end.
	close(cause core.Cause, code ws.StatusCode, reason string)
	// abort ends the session at once, closing both connections.
	abort()
}

func newSession(s *Server, c net.Conn, br *bufio.Reader, proto string, ep Endpoint, log *slog.Logger) *session {
	ss := &session{
		srv:      s,
		raw:      c,
		client:   c,
		br:       br,
		base64:   proto == ProtocolBase64,
		endpoint: ep,
		started:  time.Now(),
		log:      log,
		ended:    make(chan struct{}),
		info:     &ConnInfo{}, // the connection's, once upgraded
	}
	if s.Traffic != nil {
		ss.traffic = &traffic{w: s.Traffic}
	}
	ss.initCore()
	return ss
}

// initCore starts the session's protocol state with the server's settings.
func (ss *session) initCore() {
	cfg := core.Config{
		Base64:       ss.base64,
		MaxFrameSize: ss.srv.maxFrameSize(),
		Heartbeat:    ss.srv.Heartbeat,
		CloseTimeout: ss.srv.closeTimeout(),
	}
	if ss.traffic != nil {
		cfg.Traffic = ss.traffic
	}
	ss.core.Init(cfg, time.Now())
}

// run dials the target and relays the session on the driver the server
// picks for it, until it ends; or it leaves the session to an event loop
// (handedOff), which calls finish when it ends.
func (ss *session) run() (handedOff bool) {
	defer func() {
		if !handedOff {
			close(ss.ended)
		}
	}()
	if ss.rec != nil {
		ss.mu.Lock()
		ss.core.Record(ss.rec)
		ss.mu.Unlock()
	}
	ss.log.Info("connecting to: " + ss.endpoint.String())
	dialStart := time.Now()
	target, handedOff, err := ss.srv.dialOnLoop(ss) // prints the legend if it connects
	if handedOff {
		ss.srv.dialed(dialStart, nil)
		return true
	}
	if target == nil && err == nil {
		target, err = ss.dial()
		ss.srv.dialed(dialStart, err)
		if err == nil && ss.srv.relayOnLoop(ss, target) {
			return true
		}
	} else {
		ss.srv.dialed(dialStart, err)
	}
	if err != nil {
		ss.log.Warn("Failed to connect to "+ss.endpoint.String(), "err", err)
		ss.mu.Lock()
		ss.core.TargetUnreachable(err, time.Now())
		ss.writePending()
		ss.mu.Unlock()
		ss.lingerClient()
		return false
	}
	relayGoroutines(ss, target)
	return false
}

// dial connects to the target with Go's dialer.
func (ss *session) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ss.srv.dialTimeout())
	defer cancel()
	target, err := ss.endpoint.dial(ctx, ss.srv.dialTimeout(), ss.proxyHeader)
	if err == nil {
		ss.traffic.legend()
	}
	return target, err
}

// driverName names the driver that relays the session (DriverNone before
// one does).
func (ss *session) driverName() string {
	if n := ss.drvName.Load(); n != nil {
		return *n
	}
	return DriverNone
}

// setDriver makes d the session's driver, with ss.mu held.
func (ss *session) setDriver(d driver, name *string) {
	ss.drv = d
	ss.drvName.Store(name)
}

// The driver names, as setDriver takes them.
var (
	nameEpoll      = DriverEpoll
	nameGoroutines = DriverGoroutines
)

func (ss *session) driver() driver {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.drv
}

// closeWith closes a session that no driver relays (yet): our close frame
// goes out at once. A started session is closed through its driver. It may
// be called from any goroutine.
func (ss *session) closeWith(code ws.StatusCode, reason string) {
	ss.stopWith(core.Closed, code, reason)
}

// stopWith is closeWith recording cause as the session's end (unless it had
// already ended).
func (ss *session) stopWith(cause core.Cause, code ws.StatusCode, reason string) {
	ss.mu.Lock()
	d := ss.drv
	if d == nil {
		ss.core.Stop(cause, code, reason, time.Now())
		ss.writePending()
	}
	ss.mu.Unlock()
	if d != nil {
		d.close(cause, code, reason)
	}
}

// writePending writes what core queued for the client, with ss.mu held,
// before a driver relays the session.
func (ss *session) writePending() {
	if p := ss.core.Pending(); len(p) > 0 {
		ss.client.SetWriteDeadline(time.Now().Add(ss.srv.writeTimeout()))
		ss.client.Write(p)
		ss.core.Sent(len(p))
	}
}

// finish releases what an ended session holds, once: the recorder, its
// place among the server's sessions and the accepted connection.
func (ss *session) finish() {
	end := ss.ending()
	ss.logEnd(end)
	if o := ss.srv.Observer; o != nil {
		o.SessionEnded(end)
	}
	if ss.srv.RunOnce {
		ss.log.Info("exiting due to --run-once")
	}
	if ss.rec != nil {
		ss.rec.Close()
	}
	ss.srv.removeSession(ss, core.Stats{FromClient: end.FromClient, ToClient: end.ToClient})
	ss.slot.release()
	ss.raw.Close()
	ss.srv.untrack(ss.raw)
}

// lingerClient closes the client connection the way RFC 6455 asks: the
// server ends TCP first, after giving the client a moment to read our close
// frame and to finish what it was sending.
func (ss *session) lingerClient() {
	closeWrite(ss.client)
	ss.client.SetReadDeadline(time.Now().Add(ss.srv.closeTimeout()))
	io.CopyN(io.Discard, ss.br, 1<<20)
	ss.client.Close()
}

// logClientEnd logs why client input ended, once it has: the same lines
// whichever driver relays the session.
func (ss *session) logClientEnd() {
	err := ss.core.ClientErr()
	var ce *core.CloseError
	var te *core.TargetWriteError
	switch {
	case err == nil:
		ss.log.Debug(ss.endpoint.String() + ": Client closed connection")
	case errors.As(err, &ce):
		ss.log.Info("closing session", "code", int(ce.Code), "reason", ce.Reason, "err", ce.Err)
	case errors.As(err, &te):
		ss.log.Info(ss.endpoint.String()+": Target write failed", "err", te.Err)
	case ss.core.CloseSent():
		ss.log.Debug("client gone after close", "err", err)
	default:
		ss.log.Info("client connection lost", "err", err)
	}
}

// logTargetEnd logs the end of the target's stream, when core reports it.
func (ss *session) logTargetEnd(err error) {
	name := ss.endpoint.String()
	if err == io.EOF {
		ss.log.Debug(name + ": Target closed connection")
	} else {
		ss.log.Info(name+": Target connection failed", "err", err)
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
