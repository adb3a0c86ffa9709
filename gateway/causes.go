package gateway

import "github.com/websockify-go/websockify/gateway/internal/core"

// Cause is why a session ended; its String is the name that logs and
// metrics use (client_close, drain...).
type Cause = core.Cause

// The causes a session can be stopped with from outside (StopSessions).
const (
	CauseClosed   = core.Closed   // no more specific cause (CloseSessions)
	CauseDrained  = core.Drained  // the end of a drain's timeout
	CauseShutdown = core.Shutdown // the server shuts down (Shutdown)
	CauseKilled   = core.Killed   // an operator's request (the admin API)
	CauseRevoked  = core.Revoked  // the session's token was revoked
)
