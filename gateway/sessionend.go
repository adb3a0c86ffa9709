package gateway

import (
	"time"
)

// ending describes the session as it ends. The driver is done with core.
func (ss *session) ending() *SessionEnd {
	driver := ss.driverName()
	ss.mu.Lock()
	e := ss.core.End()
	st := ss.core.Stats()
	ss.mu.Unlock()
	return &SessionEnd{
		ID:         ss.id,
		Client:     ss.clientAddr,
		Target:     ss.endpoint.String(),
		Driver:     driver,
		Cause:      e.Cause.String(),
		Code:       int(e.Code),
		Reason:     e.Reason,
		Duration:   time.Since(ss.started),
		FromClient: st.FromClient,
		ToClient:   st.ToClient,
		Err:        e.Err,
	}
}

// logEnd logs the session's end in one line: with the client (the logger's
// own attribute), its target, the token that chose it (redacted), the
// driver, how long it lasted, the payload bytes each way, and the close
// code and cause.
func (ss *session) logEnd(e *SessionEnd) {
	args := make([]any, 0, 20)
	args = append(args, "target", e.Target)
	if ss.endpoint.LogToken != "" {
		args = append(args, "token", ss.endpoint.LogToken)
	}
	args = append(args, "driver", e.Driver, "duration", e.Duration.Round(time.Millisecond).String(),
		"bytes_from_client", e.FromClient, "bytes_to_client", e.ToClient, "code", e.Code, "cause", e.Cause)
	if e.Err != nil {
		args = append(args, "err", e.Err)
	}
	ss.log.Info("session ended", args...)
}
