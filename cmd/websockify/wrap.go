package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"syscall"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/options"
	"github.com/websockify-go/websockify/rebind"
	"github.com/websockify-go/websockify/supervisor"
)

// wrapped is the program of "websockify PORT -- PROGRAM ARGS": started with
// rebind.so so that its bind of PORT moves to a loopback port, which the
// gateway relays to.
type wrapped struct {
	proc    *supervisor.Process
	cleanup func() // removes the materialised shim
	label   string
}

// newWrapped prepares the wrapped program; it is started by start.
func newWrapped(cfg *options.Config, log *slog.Logger) (*wrapped, error) {
	mode, err := supervisor.ParseMode(cfg.WrapMode)
	if err != nil {
		return nil, err
	}
	lib, cleanup, err := rebind.Library(cfg.RebindSO)
	if err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	w := &wrapped{cleanup: cleanup, label: "'" + strings.Join(cfg.Wrap, " ") + "'"}
	w.proc = &supervisor.Process{
		Argv: cfg.Wrap,
		Environ: func(port int) []string {
			return rebind.Env(os.Environ(), lib, cfg.Listen.Port, port)
		},
		Mode:   mode,
		Grace:  cfg.WrapGrace,
		Logger: log,
	}
	return w, nil
}

// route sends every session to the program's current loopback address.
func (w *wrapped) route(base func(gateway.Endpoint) gateway.Endpoint) func(*http.Request) (gateway.Endpoint, error) {
	return func(*http.Request) (gateway.Endpoint, error) {
		a := w.proc.Addr()
		if !a.IsValid() {
			return gateway.Endpoint{}, &gateway.HTTPError{Status: http.StatusServiceUnavailable,
				Message: "Wrapped program is not running", Err: fmt.Errorf("wrapped program %s has no port yet", w.label)}
		}
		ep := gateway.Endpoint{Network: "tcp", Address: a.String(),
			Label: fmt.Sprintf("command: %s (port %d)", w.label, a.Port())}
		return base(ep), nil
	}
}

// start runs the program until ctx ends (or it exits, in exit mode), with
// SIGHUP forwarded to it. The result arrives on the returned channel.
func (w *wrapped) start(ctx context.Context, log *slog.Logger) <-chan error {
	done := make(chan error, 1)
	onHangup(ctx, func() {
		if err := w.proc.Signal(syscall.SIGHUP); err != nil {
			log.Info("SIGHUP not forwarded", "err", err)
		}
	})
	log.Info("Starting " + w.label)
	go func() { done <- w.proc.Run(ctx) }()
	return done
}
