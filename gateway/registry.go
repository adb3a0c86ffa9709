package gateway

import (
	"slices"
	"time"

	"github.com/gobwas/ws"
)

// SessionInfo describes an open session for the session list.
type SessionInfo struct {
	ID          uint64    // the connection's ConnInfo.ID
	Client      string    // ConnInfo.ClientAddr
	Target      string    // where the session goes
	Token       string    // ConnInfo.Token: a secret, to be shown only redacted
	Subprotocol string    // "binary", "base64" or "" (none)
	Driver      string    // "epoll", "goroutines", or "" while connecting
	TLS         bool      // wss://
	Started     time.Time // when the upgrade completed
	// FromClient and ToClient count the payload bytes relayed each way.
	FromClient, ToClient uint64
	// LastActivity is when bytes last came from either side.
	LastActivity time.Time
	// Expires is ConnInfo.Expires: when the token stops being valid (zero:
	// never).
	Expires time.Time
	// Ending says that the session was stopped (StopSession) and waits for
	// the client's close reply.
	Ending bool
}

// StatusPolicyViolation (1008) closes sessions ended by an operator or a
// revoked token.
const StatusPolicyViolation = ws.StatusPolicyViolation

// describe returns the session's entry in the session list.
func (ss *session) describe() SessionInfo {
	si := SessionInfo{
		ID: ss.id, Client: ss.info.ClientAddr(), Target: ss.endpoint.String(), Token: ss.info.Token,
		Subprotocol: ss.proto, TLS: ss.info.TLS != nil, Started: ss.started, Expires: ss.info.Expires,
		Ending: ss.stopping.Load(),
	}
	if d := ss.driverName(); d != DriverNone {
		si.Driver = d
	}
	st := ss.core.Stats()
	si.FromClient, si.ToClient, si.LastActivity = st.FromClient, st.ToClient, st.LastActivity
	return si
}

// Sessions lists the open sessions, oldest first.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	out := make([]SessionInfo, 0, len(list))
	for _, ss := range list {
		out = append(out, ss.describe())
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Session returns the open session numbered id.
func (s *Server) Session(id uint64) (SessionInfo, bool) {
	s.mu.Lock()
	ss := s.byID[id]
	s.mu.Unlock()
	if ss == nil {
		return SessionInfo{}, false
	}
	return ss.describe(), true
}

// StopSession ends the open session numbered id with close 1008 and
// reason, recording cause (CauseKilled, CauseRevoked): the client gets the close frame, the target EOF once the client
// answered (or CloseTimeout passed); what was in flight is relayed or
// dropped whole, never cut inside a frame. false: no such session.
func (s *Server) StopSession(id uint64, cause Cause, reason string) bool {
	s.mu.Lock()
	ss := s.byID[id]
	s.mu.Unlock()
	if ss == nil {
		return false
	}
	ss.stop(cause, reason)
	return true
}

// StopMatching ends, as StopSession, every open session for which match
// is true, and returns how many; sessions already stopped are left alone.
func (s *Server) StopMatching(match func(SessionInfo) bool, cause Cause, reason string) int {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	n := 0
	for _, ss := range list {
		if !ss.stopping.Load() && match(ss.describe()) && ss.stop(cause, reason) {
			n++
		}
	}
	return n
}

// stop closes the session from outside with 1008 and reason, logging why;
// false if it had been stopped already.
func (ss *session) stop(cause Cause, reason string) bool {
	if !ss.stopping.CompareAndSwap(false, true) {
		return false
	}
	what := "session ended by an operator"
	if cause == CauseRevoked {
		what = "session ended: token revoked"
	}
	ss.log.Warn(what, "session", ss.id, "reason", reason)
	ss.stopWith(cause, StatusPolicyViolation, reason)
	return true
}
