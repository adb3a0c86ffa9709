package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// minTokenLen is the shortest token accepted: a guessable token on a TCP
// admin port is no protection.
const minTokenLen = 16

// readToken reads the bearer token from path.
func readToken(path string, log *slog.Logger) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("admin token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("admin token file %s: not a regular file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admin token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case tok == "":
		return nil, fmt.Errorf("admin token file %s is empty", path)
	case len(tok) < minTokenLen:
		return nil, fmt.Errorf("admin token file %s: the token is %d characters long; want at least %d", path, len(tok), minTokenLen)
	case strings.ContainsAny(tok, " \t\r\n"):
		return nil, fmt.Errorf("admin token file %s: the token contains whitespace; want one line", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("admin token file is readable by others than its owner", "file", path, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
	}
	return []byte(tok), nil
}

// private wraps a private endpoint: on TCP, it needs "Authorization:
// Bearer <token>", compared in constant time.
func (s *Server) private(h http.Handler) http.Handler {
	if s.unix {
		return h // the socket's mode (0600) is the control
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token == nil {
			http.Error(w, "forbidden: this endpoint needs --admin-token-file on a TCP admin listener (or an admin listener on a unix: socket)", http.StatusForbidden)
			return
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="websockify admin"`)
			http.Error(w, "unauthorized: this endpoint needs the admin bearer token (Authorization: Bearer <token>)", http.StatusUnauthorized)
			s.log.Info("admin: refused a request without the right token", "path", r.URL.Path, "client", r.RemoteAddr)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Hashes first: equal lengths, so the comparison's time says nothing
	// of the token's length either.
	a, b := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256(s.token)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
