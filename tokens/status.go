package tokens

import (
	"errors"
	"net/http"
)

// Client-facing answers for requests that no target can be found for. The
// reference closes the TCP connection without a word in all these cases.
const (
	MsgNotPresent = "Token not present"
	MsgNotFound   = "Token not found"
	MsgInvalid    = "Invalid token"
	MsgFailed     = "Token lookup failed"
)

// Status is the HTTP answer for a Lookup error: 404 "Token not found" for
// ErrNotFound, 403 "Invalid token" for ErrInvalidToken and 503 "Token
// lookup failed" for a backend failure. The messages never contain the
// token or backend details; those belong in the log.
func Status(err error) (code int, message string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, MsgNotFound
	case errors.Is(err, ErrInvalidToken):
		return http.StatusForbidden, MsgInvalid
	}
	return http.StatusServiceUnavailable, MsgFailed
}
