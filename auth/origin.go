package auth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// expectOrigin is ExpectOrigin: the request must carry exactly one Origin
// header, equal to one of the source's whitespace-separated origins.
type expectOrigin struct {
	allowed []string
}

func newExpectOrigin(source string, o Options) (Plugin, error) {
	allowed := strings.Fields(source)
	if len(allowed) == 0 {
		return nil, errors.New("a whitespace-separated list of allowed origins is required")
	}
	return &expectOrigin{allowed: allowed}, nil
}

// Authenticate refuses with the reference's 403 "Invalid Origin" a missing
// Origin, an Origin not in the list and, beyond the reference, more than
// one Origin header.
func (e *expectOrigin) Authenticate(r *Request) error {
	origins := r.Header.Values("Origin")
	switch {
	case len(origins) > 1:
		return invalidOrigin(e.allowed, fmt.Sprintf("%d Origin headers", len(origins)))
	case len(origins) == 0:
		return invalidOrigin(e.allowed, "'None'")
	case !slices.Contains(e.allowed, origins[0]):
		return invalidOrigin(e.allowed, fmt.Sprintf("'%s'", quoteLog(origins[0])))
	}
	return nil
}

// invalidOrigin is the reference's InvalidOriginError.
func invalidOrigin(allowed []string, got string) *Error {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = "'" + a + "'"
	}
	return &Error{
		Status: http.StatusForbidden,
		Reason: "Invalid Origin",
		Log:    fmt.Sprintf("Invalid Origin Header: Expected one of [%s], got %s", strings.Join(q, ", "), got),
	}
}

// quoteLog escapes control characters and caps the length of a
// client-supplied value for the log.
func quoteLog(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
