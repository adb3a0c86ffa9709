package gateway

import (
	"net/http"
	"time"
)

// Observer is told what happens to connections and sessions, for metrics.
// Its methods are called from connection goroutines and event loops, never
// under a lock of the relay: they must be quick and must not block (count,
// never wait).
type Observer interface {
	// HandshakeRefused: a WebSocket handshake was answered with an error,
	// for reason (one of the Refused* constants).
	HandshakeRefused(reason string)
	// Upgraded: a handshake succeeded, d after the connection was accepted.
	Upgraded(d time.Duration)
	// TLSHandshakeFailed: a client's TLS handshake failed.
	TLSHandshakeFailed()
	// TargetDialed: connecting to a session's target took d and gave err.
	TargetDialed(d time.Duration, err error)
	// SessionEnded: a session ended (also one whose target could not be
	// reached).
	SessionEnded(e *SessionEnd)
}

// Reasons for a refused handshake: a small fixed set, for metrics' labels.
const (
	RefusedBadRequest   = "bad_request"   // malformed request, not a valid upgrade, no supported subprotocol
	RefusedTimeout      = "timeout"       // the request did not arrive within the handshake timeout
	RefusedTooLarge     = "too_large"     // the request line and headers were too long
	RefusedTLSRequired  = "tls_required"  // a plain connection with --ssl-only
	RefusedOrigin       = "origin"        // the Origin is not allowed
	RefusedAuth         = "auth"          // authentication failed
	RefusedTokenMissing = "token_missing" // no token in the request
	RefusedTokenUnknown = "token_unknown" // the token leads nowhere
	RefusedTokenInvalid = "token_invalid" // the token is refused as such (malformed, expired)
	RefusedTokenBackend = "token_backend" // the token backend failed
	RefusedNotReady     = "not_ready"     // the wrapped program is not listening
	RefusedLimit        = "limit"         // over a limit
	RefusedOther        = "other"         // any other refusal of a Route or Authorize hook
)

// Drivers, as SessionEnd.Driver names them.
const (
	DriverEpoll      = "epoll"
	DriverGoroutines = "goroutines"
	DriverNone       = "none" // the session ended before a driver relayed it
)

// SessionEnd describes a session that has ended.
type SessionEnd struct {
	ID         uint64
	Client     string // the client's address: for the log, never a label
	Target     string // the target's name: for the log, never a label
	Driver     string // DriverEpoll, DriverGoroutines or DriverNone
	Cause      string // why it ended: client_close, target_close, drain, ...
	Code       int    // the close code sent or received; 0: none
	Reason     string // the close reason
	Duration   time.Duration
	FromClient uint64 // payload bytes from the client
	ToClient   uint64 // payload bytes to the client
	Err        error  // the error behind the end, if any
}

// refusalReason maps an HTTP refusal to its reason: the error's own, or
// one read from its status.
func refusalReason(he *HTTPError) string {
	if he.Reason != "" {
		return he.Reason
	}
	switch he.Status {
	case http.StatusBadRequest:
		return RefusedBadRequest
	case http.StatusUnauthorized, http.StatusForbidden:
		return RefusedAuth
	case http.StatusNotFound:
		return RefusedTokenUnknown
	case http.StatusTooManyRequests:
		return RefusedLimit
	case http.StatusServiceUnavailable:
		return RefusedTokenBackend
	}
	return RefusedOther
}

func (s *Server) refused(reason string) {
	if s.Observer != nil {
		s.Observer.HandshakeRefused(reason)
	}
}

// Traffic totals of the sessions relayed so far, open ones included.
type Totals struct {
	// Open counts the open sessions by driver: DriverEpoll,
	// DriverGoroutines and DriverNone (upgraded, not relayed yet).
	Open                 map[string]int
	FromClient, ToClient uint64 // payload bytes each way
}

// Totals returns the open sessions and the bytes relayed so far, counting
// the open sessions' bytes as they stand: a short walk of the sessions
// under the server's lock, which the relay does not take per frame.
func (s *Server) Totals() Totals {
	t := Totals{Open: map[string]int{DriverEpoll: 0, DriverGoroutines: 0, DriverNone: 0}}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.FromClient, t.ToClient = s.endedFromClient, s.endedToClient
	for ss := range s.sessions {
		st := ss.core.Stats()
		t.FromClient += st.FromClient
		t.ToClient += st.ToClient
		t.Open[ss.driverName()]++
	}
	return t
}

// dialed reports a dial of a session's target that began at start.
func (s *Server) dialed(start time.Time, err error) {
	if s.Observer != nil {
		s.Observer.TargetDialed(time.Since(start), err)
	}
}
