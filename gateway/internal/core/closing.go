package core

import (
	"errors"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// CloseError is a reason to close the session with a given code.
type CloseError struct {
	Code   ws.StatusCode
	Reason string
	Err    error
}

func (e *CloseError) Error() string { return e.Reason }
func (e *CloseError) Unwrap() error { return e.Err }

// closeErrorFor maps an error from reading client frames to the close frame
// it calls for; nil means none: the connection failed and there is nobody
// to tell.
func closeErrorFor(err error) *CloseError {
	var ce *CloseError
	var pe ws.ProtocolError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, wsutil.ErrFrameTooLarge):
		return &CloseError{ws.StatusMessageTooBig, "Frame too large", err}
	case errors.As(err, &pe):
		return &CloseError{ws.StatusProtocolError, "Protocol error: " + string(pe), err}
	case errors.Is(err, ws.ErrHeaderLengthMSB), errors.Is(err, ws.ErrHeaderLengthUnexpected):
		return &CloseError{ws.StatusProtocolError, "Protocol error: Invalid frame length", err}
	}
	return nil
}

// parseClose validates a close frame's payload (RFC 6455 §5.5.1, §7.4):
// empty, or a code a peer may send followed by UTF-8. A violation is a
// *CloseError with 1002.
func parseClose(payload []byte) (ws.StatusCode, string, error) {
	if len(payload) == 1 {
		return 0, "", &CloseError{ws.StatusProtocolError, "Protocol error: Invalid close frame", nil}
	}
	code, reason := ws.ParseCloseFrameData(payload)
	if len(payload) >= 2 {
		if !peerCode(code) {
			return 0, "", &CloseError{ws.StatusProtocolError, "Protocol error: Invalid close code", errInvalidCloseCode}
		}
		if !utf8.ValidString(reason) {
			return 0, "", &CloseError{ws.StatusProtocolError, "Protocol error: Invalid UTF-8 in close", nil}
		}
	}
	return code, reason, nil
}

// peerCode reports whether a peer may send code (RFC 6455 §7.4 and the
// IANA registry): 1000–1003, 1007–1014 and 3000–4999.
func peerCode(code ws.StatusCode) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
}

var errInvalidCloseCode = errors.New("invalid close code")

// closeBody is the payload of our close frame: code and reason, the reason
// cut to fit a control frame. Code 0 means an empty body.
func closeBody(code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return nil
	}
	return ws.NewCloseFrameBody(code, reason[:min(len(reason), ws.MaxControlFramePayloadSize-2)])
}
