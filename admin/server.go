// Package admin is websockify's admin listener: a small HTTP server, on its
// own TCP address or Unix socket and never on the public port, that serves
// operators' endpoints (metrics, health, readiness) and, behind a bearer
// token, private ones (session control).
//
// Public endpoints (Handle) answer anyone who can reach the listener: bind
// it to loopback, a private network or a Unix socket. Private endpoints
// (HandlePrivate) need the token of Config.TokenFile on TCP; on a Unix
// socket, whose mode is 0600, the file's permissions are the control.
// Unknown paths get 404.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/websockify-go/websockify/internal/listen"
)

// Timeouts of the admin listener's HTTP server: a slow or stuck client
// holds a connection for a bounded time and never anything of the relay.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 8 << 10
	shutdownGrace     = 5 * time.Second
)

// SocketMode is the mode of an admin Unix socket: its owner only.
const SocketMode = 0o600

// Config says where the admin listener listens and how private endpoints
// are protected. It does not change once New returns.
type Config struct {
	// Addr is "host:port" (a TCP address; host may be empty for every
	// address, port 0 for any free port) or "unix:/path" (a Unix socket
	// created with mode 0600; a stale socket there is replaced).
	Addr string
	// TokenFile holds the bearer token that private endpoints need on a
	// TCP listener (surrounding whitespace ignored). Empty: private
	// endpoints are refused on TCP.
	TokenFile string
	// Listen, if set, replaces net.Listen for a TCP address or a Unix
	// socket (an inherited listener, from a parent process or systemd).
	Listen func(network, addr string) (net.Listener, error)
}

// Server is the admin listener. Create it with New; register handlers
// before Serve.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	remove func() error // removes the Unix socket file; nil on TCP
	unix   bool
	token  []byte // nil: no token file
	mux    *http.ServeMux
	srv    *http.Server

	closeOnce sync.Once
	closeErr  error
}

// ParseAddr splits an admin address into its network ("tcp" or "unix")
// and address, with a clear error for what cannot be one.
func ParseAddr(addr string) (network, address string, err error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return "", "", fmt.Errorf("admin address %q: no socket path after \"unix:\" (want unix:/path)", addr)
		}
		return "unix", path, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("admin address %q: want host:port, [ipv6]:port or unix:/path: %w", addr, err)
	}
	if port == "" {
		return "", "", fmt.Errorf("admin address %q: no port", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", "", fmt.Errorf("admin address %q: bad port: %w", addr, err)
	}
	return "tcp", net.JoinHostPort(host, port), nil
}

// New reads the token file and opens the listener, so that a bad address,
// a port in use or an unreadable token file fails at startup.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	network, address, err := ParseAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, unix: network == "unix", mux: http.NewServeMux()}
	if cfg.TokenFile != "" {
		if s.token, err = readToken(cfg.TokenFile, log); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.Listen != nil:
		s.ln, err = cfg.Listen(network, address)
		if err == nil && s.unix {
			if err = os.Chmod(address, SocketMode); err != nil {
				s.ln.Close()
			}
		}
	case s.unix:
		s.ln, s.remove, err = listen.Unix(address, SocketMode)
	default:
		s.ln, err = net.Listen(network, address)
	}
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Addr is the listener's address (the port chosen, for port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Unix reports whether the listener is a Unix socket.
func (s *Server) Unix() bool { return s.unix }

// Handle registers a public endpoint: pattern is a net/http ServeMux
// pattern ("/metrics", "GET /healthz").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandlePrivate registers an endpoint that needs the bearer token on a TCP
// listener (see the package's documentation).
func (s *Server) HandlePrivate(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.private(h))
}

// Serve answers requests until ctx ends or Close is called; either way it
// shuts the server down, letting requests in progress finish for a few
// seconds, and returns once that is done (the unix socket's file removed).
// A clean stop returns nil.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	err := s.srv.Serve(s.ln)
	// Serve returns as soon as a Close begins: wait for it to finish (the
	// requests in progress, the socket file's removal), or make it.
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("admin listener: %w", err)
}

// Close stops the server, waiting a few seconds for requests in progress,
// and removes its Unix socket file. It may be called more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			s.srv.Close()
		}
		s.ln.Close()
		if s.remove != nil {
			if rerr := s.remove(); rerr != nil && err == nil {
				err = rerr
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}
