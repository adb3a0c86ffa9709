package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/websockify-go/websockify/admin"
	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/internal/listen"
	"github.com/websockify-go/websockify/internal/route"
	"github.com/websockify-go/websockify/metrics"
	"github.com/websockify-go/websockify/supervisor"
	"github.com/websockify-go/websockify/tokens"
)

// Readiness reasons set here (drain's is set where the drain is).
const (
	notReadyWrapped = "wrapped_program"
	notReadyTokens  = "token_backend"
)

// tokenCheckEvery is how often the token backend (Redis, a token API) is
// checked while an admin listener serves /readyz.
const tokenCheckEvery = 5 * time.Second

// operating is what --admin-listen serves: metrics, health and readiness,
// and the hooks that feed them. Without --admin-listen, metrics is nil
// (which records nothing) and nothing is checked.
type operating struct {
	enabled bool
	metrics *metrics.Metrics
	ready   *admin.Readiness
	log     *slog.Logger

	// private registers more private endpoints on the admin listener
	// (the session API).
	private []func(handle func(pattern string, h http.Handler))

	// Set by buildServer: what /readyz?deep=1 checks.
	target  gateway.Endpoint // a fixed target, if any
	wrapped *wrapped
	tokens  tokens.Plugin
}

func newOperating(cfg *cmdline.Config, log *slog.Logger) *operating {
	op := &operating{enabled: cfg.AdminListen != "", ready: &admin.Readiness{}, log: log}
	if op.enabled {
		op.metrics = metrics.New(metrics.Options{Version: version, Wrapped: len(cfg.Wrap) > 0})
	}
	return op
}

// observe hooks the metrics into the gateway.
func (op *operating) observe(srv *gateway.Server) {
	if op.metrics != nil {
		srv.Observer = op.metrics
		op.metrics.Watch(srv)
	}
}

// tokenLookup counts a lookup and follows a remote backend's health (Redis,
// a token API): a failing backend makes the process not ready until a
// lookup or a check (checkTokens) succeeds. A local source's failures (an
// unreadable token file) do not: nothing would check it again once the
// balancer stopped sending lookups.
func (op *operating) tokenLookup(plugin string, d time.Duration, err error) {
	if !op.enabled {
		return
	}
	outcome := route.LookupOutcome(err)
	op.metrics.TokenLookup(plugin, d, outcome)
	if _, remote := op.tokens.(tokens.Pinger); !remote {
		return
	}
	if outcome == "error" {
		op.ready.Set(notReadyTokens, plugin+": "+err.Error())
	} else {
		op.ready.Clear(notReadyTokens)
	}
}

// watchWrapped makes the process not ready until the wrapped program
// listens, and again while it restarts.
func (op *operating) watchWrapped(w *wrapped) {
	op.wrapped = w
	op.ready.Set(notReadyWrapped, "the wrapped program is not listening yet")
	w.onListening = func() {
		op.ready.Clear(notReadyWrapped)
		op.metrics.WrappedState(metrics.WrappedListening)
	}
	w.onExited = func(e *supervisor.ExitError) {
		switch w.mode {
		case supervisor.ModeIgnore: // it daemonized: what it left listening serves
			op.metrics.WrappedExit(e.Code, false)
			op.metrics.WrappedState(metrics.WrappedListening)
		case supervisor.ModeRespawn:
			op.ready.Set(notReadyWrapped, "the wrapped program exited ("+e.Status()+"); restarting")
			op.metrics.WrappedExit(e.Code, true)
		default:
			op.ready.Set(notReadyWrapped, "the wrapped program exited ("+e.Status()+")")
			op.metrics.WrappedExit(e.Code, false)
		}
	}
}

// serveAdmin opens the admin listener and serves /metrics, /healthz and
// /readyz, and the Go profiler under /debug/pprof/ and the session API
// (private), until ctx ends or the returned stop is called. Without
// --admin-listen it does nothing.
//
// listen, if not nil, opens the listener with the given function of
// default: the upgrader's, which takes it from the previous process and
// passes it on to the next.
func (op *operating) serveAdmin(ctx context.Context, cfg *cmdline.Config, listen func(network, addr string, open func(network, addr string) (net.Listener, error)) (net.Listener, error)) (stop func(), err error) {
	if !op.enabled {
		return func() {}, nil
	}
	acfg := admin.Config{Addr: cfg.AdminListen, TokenFile: cfg.AdminTokenFile}
	if listen != nil {
		acfg.Listen = func(network, addr string) (net.Listener, error) {
			return listen(network, addr, openAdmin)
		}
	}
	as, err := admin.New(acfg, op.log)
	if err != nil {
		return nil, err
	}
	as.Handle("GET /metrics", op.metrics.Handler())
	as.Handle("GET /healthz", admin.Healthz())
	as.Handle("GET /readyz", admin.Readyz(op.ready, op.deepCheck))
	// Profiles show the process's internals: private (the bearer token on
	// TCP, the socket's mode on unix:).
	as.HandlePrivate("GET /debug/pprof/", http.HandlerFunc(pprof.Index))
	as.HandlePrivate("GET /debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline))
	as.HandlePrivate("GET /debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	as.HandlePrivate("GET /debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	as.HandlePrivate("GET /debug/pprof/trace", http.HandlerFunc(pprof.Trace))
	for _, register := range op.private {
		register(as.HandlePrivate)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := as.Serve(ctx); err != nil {
			op.log.Error("admin listener failed", "err", err)
		}
	}()
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		op.checkTokens(ctx)
	}()
	where := cfg.AdminListen
	if !as.Unix() {
		where = as.Addr().String()
	}
	op.log.Info("  - Admin listener on " + where + " (/metrics, /healthz, /readyz, /sessions)")
	return func() {
		cancel()
		<-done
		<-checked
	}, nil
}

// checkTokens pings the token backend, when it has one to ping, every
// tokenCheckEvery until ctx ends, and marks the process not ready while it
// does not answer.
func (op *operating) checkTokens(ctx context.Context) {
	p, ok := op.tokens.(tokens.Pinger)
	if !ok {
		return
	}
	t := time.NewTicker(tokenCheckEvery)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, admin.DeepTimeout)
		err := p.Ping(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			op.ready.Set(notReadyTokens, "token backend unreachable: "+err.Error())
		} else {
			op.ready.Clear(notReadyTokens)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deepCheck is /readyz?deep=1: a dial of the fixed target, or of the port
// the wrapped program listens on, or a check of the token backend.
func (op *operating) deepCheck(ctx context.Context) error {
	switch {
	case op.wrapped != nil:
		a, ok := op.wrapped.listeningNow()
		if !ok {
			return errors.New("the wrapped program is not listening")
		}
		return dialCheck(ctx, "tcp", a.String())
	case op.tokens != nil:
		if p, ok := op.tokens.(tokens.Pinger); ok {
			return p.Ping(ctx)
		}
		return nil // a local token source: no one target to dial
	case op.target.Address != "":
		network := op.target.Network
		if network == "" {
			network = "tcp"
		}
		return dialCheck(ctx, network, op.target.Address)
	}
	return nil
}

// dialCheck connects to address and hangs up.
func dialCheck(ctx context.Context, network, address string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return fmt.Errorf("target %s: %w", address, err)
	}
	return c.Close()
}

// openAdmin opens the admin listener as admin.New does by default: a Unix
// socket with mode 0600 (a stale socket file replaced), or TCP.
func openAdmin(network, addr string) (net.Listener, error) {
	if network == "unix" {
		ln, _, err := listen.Unix(addr, admin.SocketMode)
		return ln, err
	}
	return net.Listen(network, addr)
}
