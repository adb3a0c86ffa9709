package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/internal/systemd"
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
	// wait bounds how long a WebSocket request waits for the program
	// to listen: within the handshake timeout, leaving time to answer.
	wait time.Duration
	mode supervisor.Mode

	mu    sync.Mutex
	ready chan struct{}  // closed while the program listens
	addr  netip.AddrPort // where it listens, once ready
	first chan struct{}  // closed the first time it listens
	once  sync.Once

	// Hooks for readiness and metrics (operate.go); nil: none. They run
	// on the supervisor's goroutine and must not block.
	onListening func()
	onExited    func(*supervisor.ExitError)
}

// newWrapped prepares the wrapped program; it is started by start.
func newWrapped(cfg *cmdline.Config, log *slog.Logger) (*wrapped, error) {
	mode, err := supervisor.ParseMode(cfg.WrapMode)
	if err != nil {
		return nil, err
	}
	// A program that cannot be run is a startup error, said once, before
	// the port is bound.
	if _, err := exec.LookPath(cfg.Wrap[0]); err != nil {
		var why string
		switch {
		case errors.Is(err, exec.ErrNotFound) && !strings.Contains(cfg.Wrap[0], "/"):
			why = "not found in $PATH"
		case errors.Is(err, fs.ErrNotExist):
			why = "no such file"
		case errors.Is(err, fs.ErrPermission), errors.Is(err, exec.ErrNotFound):
			why = "not an executable file"
		default:
			why = err.Error()
		}
		return nil, fmt.Errorf("cannot run the wrapped program %q: %s", cfg.Wrap[0], why)
	}
	lib, cleanup, err := rebind.Library(cfg.RebindSO)
	if err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	w := &wrapped{
		cleanup: cleanup, label: "'" + strings.Join(cfg.Wrap, " ") + "'",
		wait: max(cfg.HandshakeTimeout-time.Second, cfg.HandshakeTimeout/2), mode: mode,
		ready: make(chan struct{}), first: make(chan struct{}),
	}
	limit := cfg.WrapStartLimit
	if limit == 0 {
		limit = -1 // no limit
	}
	w.proc = &supervisor.Process{
		Argv: cfg.Wrap,
		Environ: func(port int) []string {
			return rebind.Env(systemd.WithoutServiceVars(os.Environ()), lib, cfg.Listen.Port, port)
		},
		Check:       rebind.CheckPreload,
		Mode:        mode,
		Grace:       cfg.WrapGrace,
		WrappedPort: cfg.Listen.Port,
		StartLimit:  limit,
		Logger:      log,
		OnReady:     w.onReady,
		OnExit:      w.onExit,
	}
	return w, nil
}

// onReady records where the program listens and releases waiting clients.
func (w *wrapped) onReady(addr netip.AddrPort) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addr = addr
	select {
	case <-w.ready:
	default:
		close(w.ready)
	}
	w.once.Do(func() { close(w.first) })
	if w.onListening != nil {
		w.onListening()
	}
}

// onExit makes new clients wait again for a restarted program. In ignore
// mode the program's exit is expected (it daemonized) and what it left
// listening stays the target.
func (w *wrapped) onExit(e *supervisor.ExitError) {
	if w.onExited != nil {
		w.onExited(e)
	}
	if w.mode == supervisor.ModeIgnore {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.ready:
		w.ready = make(chan struct{})
	default:
	}
}

// listening returns the address the program listens on, waiting up to
// w.wait for it to listen (a client that arrives while it
// starts or restarts).
func (w *wrapped) listening(ctx context.Context) (netip.AddrPort, bool) {
	w.mu.Lock()
	ready := w.ready
	w.mu.Unlock()
	t := time.NewTimer(w.wait)
	defer t.Stop()
	select {
	case <-ready:
	case <-t.C:
		return netip.AddrPort{}, false
	case <-ctx.Done():
		return netip.AddrPort{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addr, w.addr.IsValid()
}

// listeningNow returns the address the program listens on, if it does.
func (w *wrapped) listeningNow() (netip.AddrPort, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.ready:
		return w.addr, w.addr.IsValid()
	default:
		return netip.AddrPort{}, false
	}
}

// route sends every session to the address the program listens on,
// 127.0.0.1 or [::1], once it listens.
func (w *wrapped) route(base func(gateway.Endpoint) gateway.Endpoint) func(*http.Request) (gateway.Endpoint, error) {
	return func(r *http.Request) (gateway.Endpoint, error) {
		a, ok := w.listening(r.Context())
		if !ok {
			why := "it is not listening yet"
			if d := w.proc.Diagnosis(); d != "" {
				why = d
			}
			return gateway.Endpoint{}, &gateway.HTTPError{Status: http.StatusServiceUnavailable,
				Message: "Wrapped program is not listening", Reason: gateway.RefusedNotReady,
				Err: fmt.Errorf("wrapped program %s not listening after %v: %s", w.label, w.wait, why)}
		}
		ep := gateway.Endpoint{Network: "tcp", Address: a.String(),
			Label: fmt.Sprintf("command: %s (%s)", w.label, a)}
		return base(ep), nil
	}
}

// wasReady reports whether the program has listened at least once.
func (w *wrapped) wasReady() bool {
	select {
	case <-w.first:
		return true
	default:
		return false
	}
}

// logOutput gives the program /dev/null as stdin and a pipe as stdout and
// stderr whose lines go to log (a daemon's own stdio is /dev/null). The
// returned function closes our end of the pipe once the program is gone.
func (w *wrapped) logOutput(log *slog.Logger) (func(), error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	r, wr, err := os.Pipe()
	if err != nil {
		null.Close()
		return nil, fmt.Errorf("wrap: output pipe: %w", err)
	}
	w.proc.Stdin, w.proc.Stdout, w.proc.Stderr = null, wr, wr
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			log.Info("wrapped program: " + sc.Text())
		}
	}()
	return func() {
		wr.Close()
		null.Close()
		// Descendants of the program that outlive it may keep the pipe
		// open: do not wait for them.
		select {
		case <-done:
		case <-time.After(time.Second):
		}
		r.Close()
	}, nil
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
