package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/websockify-go/websockify/internal/registry"
)

// Target is where a token leads: a TCP address or a Unix socket.
type Target struct {
	// Network is "tcp" or "unix".
	Network string
	// Address is host:port for TCP (an IPv6 host in brackets, as
	// net.JoinHostPort writes it) or the path of a Unix socket.
	Address string
	// ProxyProtocol is the PROXY protocol header the target gets
	// (proxy_protocol=v1|v2|none in token files and Redis values):
	// ProxyDefault leaves it to --target-proxy-protocol.
	ProxyProtocol ProxyProtocol
	// Expires, if set, is when the token stops being valid (a JWT's exp):
	// with --revoke-sessions its sessions end then.
	Expires time.Time
}

// ProxyProtocol is a token's choice of PROXY protocol header for its
// target.
type ProxyProtocol int8

// The choices: the server's default, none, version 1 or 2.
const (
	ProxyDefault ProxyProtocol = 0
	ProxyNone    ProxyProtocol = -1
	ProxyV1      ProxyProtocol = 1
	ProxyV2      ProxyProtocol = 2
)

// ParseProxyProtocol reads "v1", "v2" or "none".
func ParseProxyProtocol(s string) (ProxyProtocol, error) {
	switch s {
	case "v1":
		return ProxyV1, nil
	case "v2":
		return ProxyV2, nil
	case "none":
		return ProxyNone, nil
	}
	return ProxyDefault, fmt.Errorf("proxy_protocol=%q: want v1, v2 or none", s)
}

// Resolve is the PROXY protocol version to send (0: none), given the
// server's default version def.
func (p ProxyProtocol) Resolve(def int) int {
	switch p {
	case ProxyDefault:
		return def
	case ProxyNone:
		return 0
	}
	return int(p)
}

// String names the target for logs.
func (t Target) String() string {
	if t.Network == "unix" {
		return "unix socket " + t.Address
	}
	return t.Address
}

// Plugin resolves tokens to targets. Implementations are safe for concurrent
// use.
type Plugin interface {
	// Lookup returns the target of token. It returns an error wrapping
	// ErrNotFound when the token is unknown, ErrInvalidToken when the token
	// is refused as such (malformed, too long, bad signature, expired), and
	// any other error when the backend failed (file unreadable, Redis or
	// API unreachable).
	Lookup(ctx context.Context, token string) (Target, error)
}

// Sentinel errors of Lookup; test with errors.Is.
var (
	ErrNotFound     = errors.New("tokens: token not found")
	ErrInvalidToken = errors.New("tokens: invalid token")
)

// Options tune the plugins. The zero value is valid; every field has a
// documented default.
type Options struct {
	// Logger receives the plugins' log records. Nil means slog.Default().
	Logger *slog.Logger

	// Now is the clock for JWT exp/nbf checks. Nil means time.Now.
	Now func() time.Time

	// Getenv reads the secret environment variables (see the package
	// documentation). Nil means os.Getenv.
	Getenv func(string) string

	// HTTPClient is used by BaseTokenAPI and JSONTokenApi. Nil means a
	// client with a DefaultAPITimeout overall timeout.
	HTTPClient *http.Client
	// APIRedirectAnyHost lets BaseTokenAPI and JSONTokenApi follow
	// redirects to other schemes, hosts and ports; by default only
	// redirects to the template's origin are followed. Ignored when
	// HTTPClient sets its own CheckRedirect.
	APIRedirectAnyHost bool

	// JWTLeeway is the clock skew allowed on JWT exp and nbf. Zero means
	// DefaultJWTLeeway; a negative value means none.
	JWTLeeway time.Duration

	// JWTRequireExp makes JWTTokenApi refuse tokens without an exp claim.
	JWTRequireExp bool
}

// Defaults for the zero values of Options and for the plugins' limits.
const (
	DefaultAPITimeout  = 5 * time.Second
	DefaultJWTLeeway   = 30 * time.Second
	MaxTokenLength     = 4096     // longest token any plugin accepts
	MaxJWTLength       = 8 << 10  // longest JWT parsed
	MaxAPIResponse     = 4 << 10  // largest token API response body read
	MaxTokenFileSize   = 16 << 20 // largest token file read
	maxSmallFileLength = 4 << 10  // TokenFileName files, JWT key files
)

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

func (o Options) jwtLeeway() time.Duration {
	switch {
	case o.JWTLeeway < 0:
		return 0
	case o.JWTLeeway == 0:
		return DefaultJWTLeeway
	}
	return o.JWTLeeway
}

// plugins maps the reference's class names to constructors.
var plugins = registry.New("token", "websockify.token_plugins.", map[string]registry.Constructor[Plugin, Options]{
	"ReadOnlyTokenFile":         newReadOnlyTokenFile,
	"TokenFile":                 newTokenFile,
	"TokenFileName":             newTokenFileName,
	"BaseTokenAPI":              newBaseTokenAPI,
	"JSONTokenApi":              newJSONTokenAPI,
	"JWTTokenApi":               newJWTTokenAPI,
	"TokenRedis":                newTokenRedis,
	"UnixDomainSocketDirectory": newUnixDomainSocketDirectory,
})

// Names lists the plugin names New accepts, sorted.
func Names() []string { return plugins.Names() }

// New creates the plugin named like the reference's class (TokenFile, or
// websockify.token_plugins.TokenFile) for source, the --token-source value.
// Problems that would make every lookup fail (a missing file or directory,
// an unreadable key, a malformed Redis source or URL template) are
// reported here, at startup. Plugins holding resources (TokenRedis)
// implement io.Closer.
func New(name, source string, o Options) (Plugin, error) {
	return plugins.New(name, source, o)
}
