package auth

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/websockify-go/websockify/internal/registry"
)

// Request is what a plugin may judge a connection by.
type Request struct {
	// Header is the client's request header. Run SanitizeHeader on it
	// first: no plugin of this package reads SSL_* headers, but a header
	// must never be able to pose as TLS identity.
	Header http.Header
	// TLS is the state of the client's TLS connection; nil for plain
	// connections. Client identity comes only from TLS.VerifiedChains.
	TLS *tls.ConnectionState
	// TargetNetwork ("tcp" or "unix") and TargetAddress (host:port, or
	// a socket's path) are where the request goes when the target is
	// fixed (the command line). With token routing they are empty:
	// authentication runs before the token is looked up, so that an
	// unauthenticated client learns nothing about tokens (whether one
	// exists, is refused or is malformed) from the answer.
	TargetNetwork, TargetAddress string
	// Client is the client's address: the connection's peer, or the one a
	// trusted proxy named (--trusted-proxies); port 0 when not known,
	// invalid for Unix-socket clients.
	Client netip.AddrPort
}

// Plugin decides whether a request may proceed. Implementations are safe
// for concurrent use.
type Plugin interface {
	// Authenticate returns nil to allow the request, or an *Error saying
	// how to refuse it.
	Authenticate(r *Request) error
}

// Error is a refusal, the reference's AuthenticationError: the HTTP status,
// reason phrase and extra headers of the response, and what to log.
type Error struct {
	Status int         // 401 or 403
	Reason string      // shown to the client; empty means the status text
	Header http.Header // e.g. WWW-Authenticate; may be nil
	Log    string      // for the server log; empty means Reason
}

func (e *Error) Error() string {
	msg := e.Log
	if msg == "" {
		msg = e.Reason
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%d %s", e.Status, msg)
}

// Options tune the plugins. The zero value is valid.
type Options struct {
	// Getenv reads EnvBasicAuth and EnvBasicAuthFile. Nil means os.Getenv.
	Getenv func(string) string
}

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// plugins maps the reference's class names to constructors.
var plugins = registry.New("auth", "websockify.auth_plugins.", map[string]registry.Constructor[Plugin, Options]{
	"BasicHTTPAuth":    newBasicHTTPAuth,
	"ExpectOrigin":     newExpectOrigin,
	"ClientCertCNAuth": newClientCertCNAuth,
})

// Names lists the plugin names New accepts, sorted.
func Names() []string { return plugins.Names() }

// New creates the plugin named like the reference's class (BasicHTTPAuth,
// or websockify.auth_plugins.BasicHTTPAuth) for source, the --auth-source
// value. A source with which no request could ever pass is an error.
func New(name, source string, o Options) (Plugin, error) {
	return plugins.New(name, source, o)
}

// NeedsClientCert reports whether p can only pass clients that present a
// verified TLS certificate, so that the server must require one
// (--verify-client); without it such a plugin would refuse everyone.
func NeedsClientCert(p Plugin) bool {
	_, ok := p.(*clientCertCNAuth)
	return ok
}

// SanitizeHeader deletes the headers whose name starts with "SSL_" or
// "SSL-" in any letter case, which the reference's Apache-style plugins
// trusted as TLS identity. It returns the names it removed.
func SanitizeHeader(h http.Header) []string {
	var removed []string
	for k := range h {
		if len(k) >= 4 && strings.EqualFold(k[:3], "ssl") && (k[3] == '_' || k[3] == '-') {
			removed = append(removed, k)
			delete(h, k)
		}
	}
	slices.Sort(removed)
	return removed
}
