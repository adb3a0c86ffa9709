package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/tokens"
)

// Local is the gateway's session registry (*gateway.Server).
type Local interface {
	Sessions() []gateway.SessionInfo
	Session(id uint64) (gateway.SessionInfo, bool)
	StopSession(id uint64, cause gateway.Cause, reason string) bool
	StopMatching(match func(gateway.SessionInfo) bool, cause gateway.Cause, reason string) int
}

// Fleet is the sessions of every instance sharing a registry (fleet.go).
type Fleet interface {
	// List returns the sessions every instance registered.
	List(ctx context.Context) ([]Entry, error)
	// StopToken asks every instance to end the sessions of token.
	StopToken(ctx context.Context, token, reason string) error
}

// Entry is one session as the admin API shows it.
type Entry struct {
	Instance        string     `json:"instance,omitempty"`
	ID              uint64     `json:"id"`
	Client          string     `json:"client"`
	Target          string     `json:"target"`
	Token           string     `json:"token,omitempty"` // redacted as in logs
	Subprotocol     string     `json:"subprotocol"`
	Driver          string     `json:"driver"`
	TLS             bool       `json:"tls"`
	Started         time.Time  `json:"started"`
	BytesFromClient uint64     `json:"bytes_from_client"`
	BytesToClient   uint64     `json:"bytes_to_client"`
	LastActivity    time.Time  `json:"last_activity"`
	Expires         *time.Time `json:"expires,omitempty"`
	// Ending: the session was ended and waits for the client's close
	// reply (at most the close timeout).
	Ending bool `json:"ending,omitempty"`
}

// entryOf is si as the API shows it.
func entryOf(si gateway.SessionInfo, instance string) Entry {
	e := Entry{Instance: instance, ID: si.ID, Client: si.Client, Target: si.Target,
		Subprotocol: si.Subprotocol, Driver: si.Driver, TLS: si.TLS, Started: si.Started,
		BytesFromClient: si.FromClient, BytesToClient: si.ToClient, LastActivity: si.LastActivity, Ending: si.Ending}
	if si.Token != "" {
		e.Token = tokens.Redact(si.Token)
	}
	if !si.Expires.IsZero() {
		x := si.Expires
		e.Expires = &x
	}
	return e
}

// Limits on admin requests: anything longer is refused whole.
const (
	maxQuery  = 8 << 10 // bytes of the query string
	maxReason = 120     // bytes of a close reason (a close frame holds 123)
	// DefaultKillReason is the close reason of a session ended through the
	// API without ?reason=.
	DefaultKillReason = "Session ended by the administrator"
)

// API serves the session endpoints of the admin listener:
//
//	GET    /sessions[?all=1]            the sessions (of the fleet with all=1)
//	GET    /sessions/{id}               one session
//	DELETE /sessions/{id}[?reason=R]    end it (close 1008)
//	DELETE /sessions?token=T[&all=1][&reason=R]
//	                                    end the token's sessions (everywhere)
type API struct {
	Local    Local
	Fleet    Fleet  // nil: no fleet registry (all=1 is refused)
	Instance string // this instance's name in fleet listings
	Logger   *slog.Logger
}

// Register mounts the endpoints on mux-like handle (the admin listener's
// HandlePrivate).
func (a *API) Register(handle func(pattern string, h http.Handler)) {
	handle("/sessions", a)
	handle("/sessions/", a)
}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := a.serve(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, err.Error()}
		}
		if ae.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET, DELETE")
		}
		writeJSON(w, ae.status, map[string]string{"error": ae.msg})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// query holds the parameters of a request, checked.
type query struct {
	all    bool
	token  string
	reason string
}

// parseQuery accepts only the parameters named in allowed, each at most
// once, within maxQuery bytes.
func parseQuery(r *http.Request, allowed ...string) (query, error) {
	var q query
	if len(r.URL.RawQuery) > maxQuery {
		return q, &apiError{http.StatusRequestURITooLong, fmt.Sprintf("query string longer than %d bytes", maxQuery)}
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, badInput("malformed query string: %v", err)
	}
	for k, v := range vals {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return q, badInput("unknown parameter %q here (allowed: %s)", clip(k), strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return q, badInput("parameter %q given %d times", k, len(v))
		}
	}
	if v, ok := vals["all"]; ok {
		switch v[0] {
		case "1", "true", "yes":
			q.all = true
		case "0", "false", "no":
		default:
			return q, badInput("all=%q: use all=1", clip(v[0]))
		}
	}
	if v, ok := vals["token"]; ok {
		q.token = v[0]
		if q.token == "" {
			return q, badInput("empty token")
		}
		if len(q.token) > tokens.MaxTokenLength {
			return q, badInput("token longer than %d bytes", tokens.MaxTokenLength)
		}
	}
	q.reason = DefaultKillReason
	if v, ok := vals["reason"]; ok {
		if err := checkReason(v[0]); err != nil {
			return q, err
		}
		q.reason = v[0]
	}
	return q, nil
}

// checkReason accepts a close reason of printable ASCII within maxReason.
func checkReason(s string) error {
	if s == "" || len(s) > maxReason {
		return badInput("reason must be 1 to %d bytes", maxReason)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return badInput("reason must be printable ASCII")
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (a *API) serve(r *http.Request) (any, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/sessions")
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return nil, &apiError{http.StatusNotFound, "not found"}
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		return a.collection(r)
	}
	id, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || id == 0 {
		return nil, badInput("session id %q is not a positive integer", clip(rest))
	}
	return a.one(r, id)
}

// collection is /sessions.
func (a *API) collection(r *http.Request) (any, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q, err := parseQuery(r, "all")
		if err != nil {
			return nil, err
		}
		return a.list(r.Context(), q.all)
	case http.MethodDelete:
		q, err := parseQuery(r, "token", "all", "reason")
		if err != nil {
			return nil, err
		}
		if q.token == "" {
			return nil, badInput("DELETE /sessions needs ?token=T (or DELETE /sessions/{id})")
		}
		return a.stopToken(r.Context(), q)
	}
	return nil, &apiError{http.StatusMethodNotAllowed, "method " + clip(r.Method) + " not allowed: GET or DELETE"}
}

// List is the answer of GET /sessions.
type List struct {
	Sessions []Entry `json:"sessions"`
	// Partial says that only this instance's sessions are listed though
	// the fleet's were asked for (the registry is unreachable), and why.
	Partial string `json:"partial,omitempty"`
}

func (a *API) list(ctx context.Context, all bool) (*List, error) {
	if all && a.Fleet == nil {
		return nil, badInput("all=1 needs a session registry (TokenRedis or --session-registry)")
	}
	out := &List{Sessions: []Entry{}}
	if all {
		fl, err := a.Fleet.List(ctx)
		if err == nil {
			out.Sessions = append(out.Sessions, fl...)
			return out, nil
		}
		out.Partial = "session registry unreachable, local sessions only: " + err.Error()
	}
	for _, si := range a.Local.Sessions() {
		out.Sessions = append(out.Sessions, entryOf(si, a.Instance))
	}
	return out, nil
}

// Ended is the answer of a DELETE.
type Ended struct {
	Ended int `json:"ended"` // sessions of this instance ended
	// Fleet says whether the other instances were asked too (all=1).
	Fleet bool `json:"fleet,omitempty"`
}

func (a *API) stopToken(ctx context.Context, q query) (*Ended, error) {
	if q.all && a.Fleet == nil {
		return nil, badInput("all=1 needs a session registry (TokenRedis or --session-registry)")
	}
	n := a.Local.StopMatching(func(si gateway.SessionInfo) bool { return si.Token == q.token }, gateway.CauseKilled, q.reason)
	a.logger().Info("admin: ended the sessions of a token", "token", tokens.Redact(q.token), "sessions", n, "fleet", q.all)
	out := &Ended{Ended: n}
	if q.all {
		if err := a.Fleet.StopToken(ctx, q.token, q.reason); err != nil {
			return nil, &apiError{http.StatusServiceUnavailable, fmt.Sprintf("ended %d local sessions, but the session registry is unreachable: %v", n, err)}
		}
		out.Fleet = true
	}
	return out, nil
}

// one is /sessions/{id}.
func (a *API) one(r *http.Request, id uint64) (any, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if _, err := parseQuery(r); err != nil {
			return nil, err
		}
		si, ok := a.Local.Session(id)
		if !ok {
			return nil, &apiError{http.StatusNotFound, fmt.Sprintf("no open session %d on this instance", id)}
		}
		return entryOf(si, a.Instance), nil
	case http.MethodDelete:
		q, err := parseQuery(r, "reason")
		if err != nil {
			return nil, err
		}
		if !a.Local.StopSession(id, gateway.CauseKilled, q.reason) {
			return nil, &apiError{http.StatusNotFound, fmt.Sprintf("no open session %d on this instance", id)}
		}
		a.logger().Info("admin: ended a session", "session", id)
		return &Ended{Ended: 1}, nil
	}
	return nil, &apiError{http.StatusMethodNotAllowed, "method " + clip(r.Method) + " not allowed: GET or DELETE"}
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
