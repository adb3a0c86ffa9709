package core

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// ClientHeadroom is the room a driver leaves free in front of the first
// client bytes of each read: base64 decoding may write the bytes of a quad
// begun in the read before there.
const ClientHeadroom = 4

// Recorder sees every payload byte of a session (--record).
type Recorder interface {
	ClientData(p []byte) // bytes from the client, as written to the target
	TargetData(p []byte) // bytes from the target, as sent to the client
}

// Tracer receives the reference's per-frame traffic characters (--traffic).
type Tracer interface{ Trace(s string) }

// Config is what a Session needs to know of its server. It does not change
// during the session.
type Config struct {
	Base64       bool          // the base64 subprotocol: text frames carrying base64
	MaxFrameSize int64         // the largest client frame payload; 0 means no limit
	Heartbeat    time.Duration // a ping every Heartbeat; a client silent for two is dropped
	CloseTimeout time.Duration // how long the client has to answer our close
	Recorder     Recorder      // nil unless recording
	Traffic      Tracer        // nil unless tracing
}

// Cause is why a session ended.
type Cause uint8

// The causes, in the order of the close paths.
const (
	Running           Cause = iota // not ended yet
	ClientClosed                   // the client sent a close frame
	ClientLost                     // the client's connection ended or failed without one
	ProtocolError                  // the client broke the protocol (End.Code says how)
	HeartbeatTimeout               // nothing from the client for two heartbeats
	CloseTimeout                   // no answer to our close frame in time
	TargetClosed                   // the target ended its stream
	TargetFailed                   // reading or writing the target failed
	TargetUnreachable              // the target could not be reached
	Closed                         // ended from outside (Close), for no more specific cause
	Drained                        // closed at the end of a drain's timeout
	Shutdown                       // closed because the server shuts down
	Killed                         // closed by an operator (the admin API)
	Revoked                        // closed because its token was revoked
)

// NumCauses is how many causes there are, Running included: Cause values
// are below it.
const NumCauses = int(Revoked) + 1

var causeNames = [NumCauses]string{"running", "client_close", "client_lost", "protocol_error",
	"heartbeat_timeout", "close_timeout", "target_close", "target_failed", "target_unreachable", "closed",
	"drain", "shutdown", "killed", "revoked"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "unknown"
}

// End says why a session ended: the first decisive event, with the close
// code that went with it (sent by us, or received) and the error, if any.
type End struct {
	Cause  Cause
	Code   ws.StatusCode
	Reason string
	Err    error
}

// Session is one WebSocket session's protocol state. The zero value is not
// usable: call Init.
type Session struct {
	state          // reset by Init
	stats counters // read from any goroutine (Stats)
}

// state is a Session's protocol state, which only its driver touches.
type state struct {
	cfg    Config
	parser parser
	b64    b64Decoder
	ctl    []byte // control frames for the client, written after the data frame in flight
	end    End

	clientErr  error // why client input ended
	clientDone bool  // client input is no longer read
	clientDead bool  // a write to the client failed: nothing more goes to it
	outputShut bool  // the driver has ended the client's output
	closeSent  bool  // our close frame is queued: no data frame may follow
	discard    bool  // target bytes are dropped
	targetDone bool

	lastRead, nextPing, closingBy time.Time
}

// counters are a session's figures that other goroutines read while the
// driver updates them: atomics, no lock, no allocation. Each direction has
// its own, a cache line apart: the goroutine relay updates them from two
// goroutines.
type counters struct {
	fromClient atomic.Uint64
	clientAt   atomic.Int64 // UnixNano of the last bytes from the client
	_          [48]byte
	toClient   atomic.Uint64
	targetAt   atomic.Int64 // UnixNano of the last bytes from the target
}

// Stats is a snapshot of a session's counters.
type Stats struct {
	FromClient   uint64    // payload bytes from the client, handed to the target
	ToClient     uint64    // payload bytes from the target, framed for the client
	LastActivity time.Time // when bytes last came from either side
}

// Stats returns the session's counters. Unlike every other method, it may
// be called from any goroutine at any time.
func (s *Session) Stats() Stats {
	st := Stats{FromClient: s.stats.fromClient.Load(), ToClient: s.stats.toClient.Load()}
	if ns := max(s.stats.clientAt.Load(), s.stats.targetAt.Load()); ns != 0 {
		st.LastActivity = time.Unix(0, ns)
	}
	return st
}

// Init starts a session at now.
func (s *Session) Init(cfg Config, now time.Time) {
	s.state = state{cfg: cfg, lastRead: now}
	s.stats.fromClient.Store(0)
	s.stats.toClient.Store(0)
	s.stats.clientAt.Store(now.UnixNano())
	s.stats.targetAt.Store(0)
	s.parser = newParser(cfg.MaxFrameSize, s.checkDataOp)
	if cfg.Heartbeat > 0 {
		s.nextPing = now.Add(cfg.Heartbeat)
	}
}

// Base64 reports whether the session speaks the base64 subprotocol.
func (s *Session) Base64() bool { return s.cfg.Base64 }

// Recording reports whether the session's bytes are recorded: a driver must
// then pass them through the session (no splice).
func (s *Session) Recording() bool { return s.cfg.Recorder != nil }

// CloseTimeout is how long either side gets to finish once the other has.
func (s *Session) CloseTimeout() time.Duration { return s.cfg.CloseTimeout }

func (s *Session) trace(c string) {
	if s.cfg.Traffic != nil {
		s.cfg.Traffic.Trace(c)
	}
}

// checkDataOp enforces the negotiated frame type: binary frames normally,
// text frames carrying base64 in base64 mode.
func (s *Session) checkDataOp(op ws.OpCode) error {
	switch {
	case op == ws.OpBinary && !s.cfg.Base64, op == ws.OpText && s.cfg.Base64:
		return nil
	case op == ws.OpText:
		return &CloseError{ws.StatusUnsupportedData, "Unsupported: Text frames are not supported", nil}
	default:
		return &CloseError{ws.StatusUnsupportedData, "Unsupported: Binary frames are not supported in base64 mode", nil}
	}
}

// Received notes that bytes came from the client at now: a heartbeat
// session's client is alive.
func (s *Session) Received(now time.Time) {
	s.lastRead = now
	s.stats.clientAt.Store(now.UnixNano())
}

// TargetReceived notes that bytes came from the target at now (for
// Stats.LastActivity only).
func (s *Session) TargetReceived(now time.Time) { s.stats.targetAt.Store(now.UnixNano()) }

// Client consumes client bytes from buf[off:] and returns how many it used
// and the first piece of target-bound payload found, if any: unmasked (and
// decoded, in base64 mode) in place, a subslice of buf. Control frames are
// answered (Pending) and a violation closes the session, which ends client
// input (ClientDone). The caller feeds the rest of the bytes on, piece by
// piece, until they are used up or input has ended.
//
// buf[:off] must be free for the session to write: the first bytes of each
// read need ClientHeadroom in front of them, and later ones have the frame
// header before them. A returned piece stays valid until the caller
// overwrites it.
func (s *Session) Client(buf []byte, off int) (used int, data []byte) {
	if s.clientDone {
		return len(buf) - off, nil
	}
	what, used, h, chunk, msgEnd, err := s.parser.next(buf[off:])
	if err != nil {
		s.failClient(err)
		return used, nil
	}
	switch what {
	case parsedData:
		data = chunk
		if s.cfg.Base64 {
			start := off + used - len(chunk)
			from, to, err := s.b64.decode(buf, start, start+len(chunk), msgEnd)
			data = buf[from:to]
			if err != nil {
				s.failClient(err)
				msgEnd = false
			}
		}
		if len(data) > 0 {
			s.stats.fromClient.Add(uint64(len(data)))
			if s.cfg.Recorder != nil {
				s.cfg.Recorder.ClientData(data)
			}
		}
		if msgEnd {
			s.trace("}")
		}
		return used, data
	case parsedControl:
		s.control(h, chunk)
	}
	return used, nil
}

// control answers a control frame from the client.
func (s *Session) control(h ws.Header, payload []byte) {
	switch h.OpCode {
	case ws.OpPing:
		if !s.closeSent && !s.clientDead {
			s.queue(ws.OpPong, payload)
		}
	case ws.OpClose:
		code, reason, err := parseClose(payload)
		if err != nil {
			s.failClient(err)
			return
		}
		s.setEnd(ClientClosed, code, reason, nil)
		if !s.closeSent {
			s.sendClose(code, reason) // the echo
		}
		s.endClient(nil)
	}
}

// failClient ends client input after a bad frame, with the close frame the
// error calls for.
func (s *Session) failClient(err error) {
	if ce := closeErrorFor(err); ce != nil {
		s.setEnd(ProtocolError, ce.Code, ce.Reason, ce.Err)
		s.closeWith(ce.Code, ce.Reason, s.lastRead)
		err = ce
	}
	s.endClient(err)
}

// ClientEnded says that reading the client ended: io.EOF (or nil) for the
// end of its stream, else the error.
func (s *Session) ClientEnded(err error) {
	if s.clientDone {
		return
	}
	if err == nil || err == io.EOF {
		err = s.parser.eof()
	}
	s.setEnd(ClientLost, 0, "", err)
	s.endClient(err)
}

// ClientWriteFailed says that a write to the client failed (or timed out):
// nothing more goes to it, and what the target sends is dropped.
func (s *Session) ClientWriteFailed(err error) {
	s.clientDead, s.discard = true, true
	s.ctl = s.ctl[:0]
	s.ClientEnded(err)
}

// ClientOutputShut says that the driver has ended the client's output
// (the session is ending): target bytes are dropped from now on.
func (s *Session) ClientOutputShut() { s.outputShut = true }

func (s *Session) endClient(err error) {
	s.clientDone = true
	s.clientErr = err
}

// ClientDone reports whether client input has ended.
func (s *Session) ClientDone() bool { return s.clientDone }

// ClientErr is why client input ended: nil after the client's close frame,
// a *CloseError after a violation, else the connection's error.
func (s *Session) ClientErr() error { return s.clientErr }

// ClientDead reports whether writing to the client has failed.
func (s *Session) ClientDead() bool { return s.clientDead }

// CloseSent reports whether our close frame has been queued.
func (s *Session) CloseSent() bool { return s.closeSent }

// Close closes the session from outside with code and reason: Stop with
// the cause Closed.
func (s *Session) Close(code ws.StatusCode, reason string, now time.Time) {
	s.Stop(Closed, code, reason, now)
}

// Stop closes the session from outside (shutdown, drain, an operator's
// request, a revoked token) with code and reason, and records cause as the
// session's end unless it had already ended: our close frame is queued,
// once, and the client has CloseTimeout to answer it.
func (s *Session) Stop(cause Cause, code ws.StatusCode, reason string, now time.Time) {
	if s.closeSent {
		return
	}
	s.setEnd(cause, code, reason, nil)
	s.closeWith(code, reason, now)
}

// TargetUnreachable closes a session whose target could not be reached.
func (s *Session) TargetUnreachable(err error, now time.Time) {
	s.setEnd(TargetUnreachable, ws.StatusInternalServerError, "Failed to connect to downstream server", err)
	s.closeWith(ws.StatusInternalServerError, "Failed to connect to downstream server", now)
	s.targetDone = true
}

func (s *Session) armClosing(now time.Time) {
	if s.closingBy.IsZero() && !s.clientDead {
		s.closingBy = now.Add(s.cfg.CloseTimeout)
	}
}

func (s *Session) setEnd(c Cause, code ws.StatusCode, reason string, err error) {
	if s.end.Cause == Running {
		s.end = End{Cause: c, Code: code, Reason: reason, Err: err}
	}
}

// End is why the session ended, once it has (Cause Running until then).
func (s *Session) End() End { return s.end }

// sendClose queues our close frame once. Nothing follows it.
func (s *Session) sendClose(code ws.StatusCode, reason string) {
	if s.closeSent {
		return
	}
	s.closeSent = true
	if !s.clientDead && !s.outputShut {
		s.queue(ws.OpClose, closeBody(code, reason))
	}
}

func (s *Session) queue(op ws.OpCode, payload []byte) {
	var h [Headroom]byte
	hl := HeaderLen(len(payload))
	PutHeader(h[:hl], op, len(payload))
	s.ctl = append(append(s.ctl, h[:hl]...), payload...)
}

// Pending returns the control frames waiting for the client. They go after
// the data frame in flight, if any; the caller says how much it wrote with
// Sent.
func (s *Session) Pending() []byte { return s.ctl }

// Sent drops the first n bytes of Pending.
func (s *Session) Sent(n int) {
	if n >= len(s.ctl) {
		if cap(s.ctl) > 1024 {
			s.ctl = nil // a burst of pongs: do not keep its buffer
		} else {
			s.ctl = s.ctl[:0]
		}
		return
	}
	s.ctl = s.ctl[:copy(s.ctl, s.ctl[n:])]
}

// TargetFrame turns n bytes read from the target, at buf[Headroom:], into
// one frame for the client and returns it, or nil when target bytes are
// dropped (our close is out, or the client is gone). A binary frame is
// built in place; a base64 one is encoded into enc, which must hold
// Headroom+EncodedLen(n) bytes.
func (s *Session) TargetFrame(buf []byte, n int, enc []byte) []byte {
	if s.dropping() {
		return nil
	}
	s.trace("{")
	payload := buf[Headroom : Headroom+n]
	s.stats.toClient.Add(uint64(n))
	if s.cfg.Recorder != nil {
		s.cfg.Recorder.TargetData(payload)
	}
	if !s.cfg.Base64 {
		return frameIn(buf[:Headroom+n], ws.OpBinary)
	}
	m := EncodedLen(n)
	encodeBase64(enc[Headroom:Headroom+m], payload)
	return frameIn(enc[:Headroom+m], ws.OpText)
}

// TargetHeader writes into dst the header of a binary frame of n target
// bytes that the driver moves to the client without reading them (splice),
// and returns its length; 0 means the bytes are dropped. Only for binary
// sessions that are not recorded.
func (s *Session) TargetHeader(dst []byte, n int) int {
	if s.dropping() {
		return 0
	}
	s.trace("{")
	s.stats.toClient.Add(uint64(n))
	hl := HeaderLen(n)
	PutHeader(dst[:hl], ws.OpBinary, n)
	return hl
}

func (s *Session) dropping() bool {
	s.discard = s.Dropping()
	return s.discard
}

// FrameSent notes that a data frame has reached the client.
func (s *Session) FrameSent() { s.trace("<") }

// TargetWrote notes that client bytes have reached the target.
func (s *Session) TargetWrote() { s.trace(">") }

// TargetEnded says that reading the target ended: io.EOF for the end of its
// stream, else the error. Unless target bytes were being dropped, the
// session closes (1000 or 1011) and report is true: the end is worth a log
// line.
func (s *Session) TargetEnded(err error, now time.Time) (report bool) {
	if s.targetDone {
		return false
	}
	s.targetDone = true
	if s.discard {
		return false
	}
	if err == io.EOF {
		s.setEnd(TargetClosed, ws.StatusNormalClosure, "Target closed", nil)
		s.closeWith(ws.StatusNormalClosure, "Target closed", now)
	} else {
		s.setEnd(TargetFailed, ws.StatusInternalServerError, "Target connection failed", err)
		s.closeWith(ws.StatusInternalServerError, "Target connection failed", now)
	}
	return true
}

// TargetWriteFailed says that writing client bytes to the target failed:
// the session closes with 1011 and client input ends.
func (s *Session) TargetWriteFailed(err error, now time.Time) {
	s.setEnd(TargetFailed, ws.StatusInternalServerError, "Target connection failed", err)
	s.closeWith(ws.StatusInternalServerError, "Target connection failed", now)
	if !s.clientDone {
		s.endClient(&TargetWriteError{err})
	}
}

func (s *Session) closeWith(code ws.StatusCode, reason string, now time.Time) {
	if !s.closeSent {
		s.sendClose(code, reason)
		s.armClosing(now)
	}
}

// TargetDone reports whether target input has ended.
func (s *Session) TargetDone() bool { return s.targetDone }

// TargetWriteError marks a failed write to the target.
type TargetWriteError struct{ Err error }

func (e *TargetWriteError) Error() string { return "write to target: " + e.Err.Error() }
func (e *TargetWriteError) Unwrap() error { return e.Err }

// ErrTimedOut stands for a passed deadline, as a net.Conn reports one.
var ErrTimedOut = os.ErrDeadlineExceeded

// HeartbeatReason is the reason of the close (1001) that ends a session
// whose client answered no ping for two heartbeat intervals.
const HeartbeatReason = "Heartbeat timeout: no answer to pings"

// readBy is when a heartbeat session with a silent client ends: two
// intervals after the last bytes from it.
func (s *Session) readBy() time.Time {
	if s.cfg.Heartbeat > 0 {
		return s.lastRead.Add(2 * s.cfg.Heartbeat)
	}
	return time.Time{}
}

// Deadline is the session's next deadline (zero: none): the client's
// answer to our close, the heartbeat's dead peer, the next ping. Tick acts
// on it.
func (s *Session) Deadline() time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !s.clientDone {
		if s.closingBy.IsZero() {
			earliest(s.readBy())
		} else {
			earliest(s.closingBy)
		}
	}
	earliest(s.nextPing)
	return next
}

// Tick acts on the deadlines passed by now: client input ends when our
// close has gone unanswered or the heartbeat's client is silent, and the
// next ping is queued.
func (s *Session) Tick(now time.Time) {
	passed := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	if !s.clientDone {
		switch {
		case passed(s.closingBy):
			s.setEnd(CloseTimeout, 0, "", ErrTimedOut)
			s.endClient(ErrTimedOut)
		case s.closingBy.IsZero() && passed(s.readBy()):
			// The client may be alive behind a proxy that lost its pongs:
			// our close tells it why, without waiting for an answer.
			s.setEnd(HeartbeatTimeout, ws.StatusGoingAway, HeartbeatReason, ErrTimedOut)
			s.sendClose(ws.StatusGoingAway, HeartbeatReason)
			s.endClient(ErrTimedOut)
		}
	}
	if passed(s.nextPing) {
		s.nextPing = time.Time{}
		if !s.closeSent && !s.clientDead {
			s.queue(ws.OpPing, nil)
			s.nextPing = now.Add(s.cfg.Heartbeat)
		}
	}
}

// IsTargetWriteError reports whether err is a failed write to the target.
func IsTargetWriteError(err error) bool {
	var te *TargetWriteError
	return errors.As(err, &te)
}

// Record sets the session's recorder, before any byte is relayed.
func (s *Session) Record(r Recorder) { s.cfg.Recorder = r }

// Dropping reports whether target bytes are dropped now: our close is out,
// or the client is gone or being closed.
func (s *Session) Dropping() bool {
	return s.discard || s.closeSent || s.clientDead || s.outputShut
}
