package gateway

import (
	"errors"
	"io"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// errPeerClosed ends copyToTarget when the client sent a valid close frame.
var errPeerClosed = errors.New("gateway: client closed the connection")

// handleControl answers a control frame whose header wsutil.Reader has
// checked (final, at most 125 bytes). It runs on the reading goroutine, also
// between the fragments of a message.
func (ss *session) handleControl(h ws.Header, r io.Reader) error {
	var p [ws.MaxControlFramePayloadSize]byte
	payload := p[:h.Length]
	if _, err := io.ReadFull(r, payload); err != nil {
		return err
	}
	switch h.OpCode {
	case ws.OpPing:
		err := ss.w.writeControl(ws.OpPong, payload)
		if errors.Is(err, errCloseSent) {
			return nil
		}
		return err
	case ws.OpPong:
		return nil // liveness is tracked by every read, see clientReader
	case ws.OpClose:
		return ss.handleClose(payload)
	}
	return nil
}

// handleClose validates the client's close frame and echoes it, unless we
// closed first, in which case this is the reply we were waiting for.
func (ss *session) handleClose(payload []byte) error {
	code, reason, err := parseClose(payload)
	if err != nil {
		return err
	}
	ss.closeCode, ss.closeReason = code, reason
	if _, err := ss.w.sendClose(code, reason); err != nil {
		return err
	}
	return errPeerClosed
}

// parseClose validates a close frame's payload (RFC 6455 §5.5.1, §7.4):
// empty, or a code a peer may send followed by UTF-8. A violation is a
// *closeError with 1002.
func parseClose(payload []byte) (ws.StatusCode, string, error) {
	if len(payload) == 1 {
		return 0, "", &closeError{ws.StatusProtocolError, "Protocol error: Invalid close frame", nil}
	}
	code, reason := ws.ParseCloseFrameData(payload)
	if len(payload) >= 2 {
		if err := checkCloseCode(code); err != nil {
			return 0, "", &closeError{ws.StatusProtocolError, "Protocol error: " + err.Error(), err}
		}
		if !utf8.ValidString(reason) {
			return 0, "", &closeError{ws.StatusProtocolError, "Protocol error: Invalid UTF-8 in close", nil}
		}
	}
	return code, reason, nil
}

// checkCloseCode accepts the codes a peer may send (RFC 6455 §7.4 and the
// IANA registry): 1000–1003, 1007–1014 and 3000–4999.
func checkCloseCode(code ws.StatusCode) error {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return nil
	}
	return errInvalidCloseCode
}

var errInvalidCloseCode = errors.New("Invalid close code")

// clientReader reads the client through the handshake's buffered reader,
// so that bytes pipelined after the request are not lost. With a heartbeat
// every read pushes the read deadline two intervals ahead, unless the
// session is closing.
type clientReader struct{ ss *session }

func (c clientReader) Read(p []byte) (int, error) {
	n, err := c.ss.br.Read(p)
	if n > 0 && c.ss.srv.Heartbeat > 0 {
		c.ss.extendReadDeadline()
	}
	return n, err
}

func (ss *session) extendReadDeadline() {
	ss.deadlineMu.Lock()
	defer ss.deadlineMu.Unlock()
	if !ss.closingBy.IsZero() {
		return
	}
	ss.client.SetReadDeadline(time.Now().Add(2 * ss.srv.Heartbeat))
}

// ping sends the heartbeat and schedules the next one.
func (ss *session) ping() {
	select {
	case <-ss.ended:
		return
	default:
	}
	if err := ss.w.writeControl(ws.OpPing, nil); err != nil {
		return
	}
	ss.heartbeat.Reset(ss.srv.Heartbeat)
}
