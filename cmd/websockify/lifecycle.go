package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/websockify-go/websockify/admin"
	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/internal/handover"
	"github.com/websockify-go/websockify/internal/systemd"
)

// notReadyDraining is the readiness reason of a drain (/readyz).
const notReadyDraining = "draining"

// lifecycle is what runServer needs to stop well: the drain timeout, the
// upgrader, systemd and readiness.
type lifecycle struct {
	srv     *gateway.Server
	log     *slog.Logger
	drain   time.Duration // --drain-timeout
	upg     *handover.Upgrader
	sd      *systemd.Notifier // nil out of systemd
	ready   *admin.Readiness  // what /readyz answers
	upgrade chan error        // the result of a SIGUSR2 upgrade
	sigs    <-chan os.Signal  // SIGTERM, SIGINT, SIGUSR2
	// stopAdmin closes the admin listener, and stopNotify ends the
	// watchdog and status updates: after an upgrade the new process
	// answers on the one and sends the others.
	stopAdmin, stopNotify func()
}

// status is the line systemd shows (STATUS=).
func (l *lifecycle) status(state string) string {
	return fmt.Sprintf("%s; %d sessions open", state, l.srv.ActiveSessions())
}

// startUpgrade runs a SIGUSR2 upgrade in the background; its result
// arrives on l.upgrade. A SIGUSR2 during an upgrade is refused.
func (l *lifecycle) startUpgrade(busy *bool) {
	if *busy {
		l.log.Warn("SIGUSR2: upgrade refused: an upgrade is in progress")
		return
	}
	*busy = true
	l.log.Info("SIGUSR2: upgrade: starting a new process of " + executable())
	go func() { l.upgrade <- l.upg.Upgrade() }()
}

// drainAndStop stops accepting at once (the listener is closed, /readyz
// fails), lets open sessions run until they end, the drain timeout
// passes, or a SIGTERM or SIGINT arrives on sigs, then closes what is left
// with 1001 and waits for Serve's result on served. Without a drain
// timeout, sessions are closed at once. why says what started it.
func (l *lifecycle) drainAndStop(ctx context.Context, why string, stopping bool, served <-chan error, sigs <-chan os.Signal) error {
	l.ready.Set(notReadyDraining, why+": not accepting new sessions")
	if stopping {
		l.sd.Stopping(l.status("draining"))
	}
	// The upgrader holds a duplicate of the listening socket, for a new
	// process: close it too, or the kernel would go on accepting.
	l.upg.Stop()
	l.srv.StopAccepting()
	if l.drain <= 0 {
		return l.closeNow(ctx, served)
	}
	start := time.Now()
	l.log.Info(fmt.Sprintf("Draining (%s): not accepting; waiting up to %v for %d open sessions to end (SIGTERM again or SIGINT closes them now)", why, l.drain, l.srv.ActiveSessions()))
	t := time.NewTimer(l.drain)
	defer t.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case err := <-served:
			l.log.Info("Drained: every session has ended")
			return err
		case <-t.C:
			l.log.Info(fmt.Sprintf("Drain timeout (%v): closing the %d sessions left with 1001", l.drain, l.srv.ActiveSessions()))
			l.srv.StopSessions(gateway.CauseDrained, ws.StatusGoingAway, shutdownReason)
			return l.closeNow(ctx, served)
		case sig := <-sigs:
			if sig == syscall.SIGUSR2 {
				l.log.Warn("SIGUSR2: upgrade refused: this process is draining")
				continue
			}
			l.log.Info(fmt.Sprintf("%v while draining: closing the %d sessions left with 1001 now", sig, l.srv.ActiveSessions()))
			return l.closeNow(ctx, served)
		case <-tick.C:
			// No session left: what remains are idle HTTP keep-alive
			// connections (a browser keeps them for minutes) and
			// handshakes, which had handshakeGrace to become sessions.
			if l.srv.ActiveSessions() == 0 && time.Since(start) >= handshakeGrace {
				l.log.Info("Drained: every session has ended")
				return l.closeNow(ctx, served)
			}
			if stopping && n%10 == 0 { // after an upgrade, systemd's status is the new process's
				l.sd.Status(l.status("draining"))
			}
		}
	}
}

// handshakeGrace is how long a drain lets connections in their handshake
// become sessions when no session is open.
const handshakeGrace = time.Second

// shutdownReason is the reason of the 1001 close frames of a drain or a
// shutdown (Shutdown's, as the reference's).
const shutdownReason = "Server shutting down"

// closeNow closes every open session with 1001 "Server shutting down",
// cuts what does not answer within shutdownGrace, and returns Serve's
// result.
func (l *lifecycle) closeNow(ctx context.Context, served <-chan error) error {
	l.upg.Stop()
	sctx, cancel := context.WithTimeout(ctx, shutdownGrace)
	defer cancel()
	l.srv.Shutdown(sctx)
	return <-served
}
