package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

type hangupsKey struct{}

// hangups runs what a SIGHUP reloads (the TLS certificate, the signal
// forwarded to the wrapped program), one step after the other, so that
// systemd hears RELOADING=1 before and READY=1 once all are done. A SIGHUP
// with nothing to reload is logged, never fatal.
type hangups struct {
	mu    sync.Mutex
	steps []hangupStep
	sig   chan os.Signal
}

type hangupStep struct {
	ctx context.Context // the step is dropped once it ends
	f   func()
}

// newHangups catches SIGHUP from now on; run handles them.
func newHangups() *hangups {
	h := &hangups{sig: make(chan os.Signal, 1)}
	signal.Notify(h.sig, syscall.SIGHUP)
	return h
}

// with returns ctx carrying h, for onHangup.
func (h *hangups) with(ctx context.Context) context.Context {
	return context.WithValue(ctx, hangupsKey{}, h)
}

func (h *hangups) add(ctx context.Context, f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.steps = append(h.steps, hangupStep{ctx, f})
}

// run handles SIGHUPs until ctx ends: before, the steps still current,
// then after.
func (h *hangups) run(ctx context.Context, log *slog.Logger, before, after func()) {
	go func() {
		defer signal.Stop(h.sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.sig:
			}
			h.mu.Lock()
			steps := h.steps[:0:0]
			for _, s := range h.steps {
				if s.ctx.Err() == nil {
					steps = append(steps, s)
				}
			}
			h.steps = steps
			h.mu.Unlock()
			if len(steps) == 0 {
				log.Info("SIGHUP: nothing to reload (no TLS certificate, no wrapped program)")
				continue
			}
			before()
			for _, s := range steps {
				s.f()
			}
			after()
		}
	}()
}
