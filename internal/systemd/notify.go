// Package systemd tells systemd how the service is doing (sd_notify:
// READY, STOPPING, RELOADING, WATCHDOG, STATUS), with coreos/go-systemd. Out
// of systemd (no NOTIFY_SOCKET) every call does nothing.
package systemd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends state changes to systemd's notification socket. Its
// methods are safe to call from several goroutines; a nil *Notifier does
// nothing.
type Notifier struct {
	log    *slog.Logger
	mu     sync.Mutex
	warned bool
	send   func(state string) (bool, error)
}

// NewNotifier returns a Notifier for this process, or nil when it does not
// run under systemd (NOTIFY_SOCKET unset).
func NewNotifier(log *slog.Logger) *Notifier {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	// NOTIFY_SOCKET stays set: a process started by a SIGUSR2 upgrade
	// reports to systemd too (the unit sets NotifyAccess=all).
	return &Notifier{log: log, send: func(s string) (bool, error) { return sd.SdNotify(false, s) }}
}

// notify sends state; a failure is logged once.
func (n *Notifier) notify(state string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.send(state); err != nil && !n.warned {
		n.warned = true
		n.log.Warn("systemd notification failed (sd_notify); further failures are not logged", "err", err)
	}
}

// Ready says the service serves. MAINPID names this process: after a
// SIGUSR2 upgrade the new process becomes the unit's main process.
func (n *Notifier) Ready(status string) {
	n.notify(fmt.Sprintf("READY=1\nMAINPID=%d\nSTATUS=%s", os.Getpid(), status))
}

// Stopping says the service stops (it drains first).
func (n *Notifier) Stopping(status string) {
	n.notify("STOPPING=1\nSTATUS=" + status)
}

// Reloading says a reload (SIGHUP) starts; Ready ends it.
func (n *Notifier) Reloading() {
	n.notify("RELOADING=1\nMONOTONIC_USEC=" + sd.SdNotifyMonotonicUsec() + "\nSTATUS=reloading")
}

// Status updates the free-form status line (systemctl status shows it).
func (n *Notifier) Status(status string) {
	n.notify("STATUS=" + status)
}

// WatchdogInterval is systemd's watchdog timeout for this service, 0 when
// WatchdogSec is not set or the watchdog is meant for another process.
// WATCHDOG_PID is then removed from the environment, so that a process
// started by an upgrade (another PID) keeps the watchdog alive in its turn;
// hasParent says this process is such a one, started by the previous main
// process.
func WatchdogInterval(hasParent bool) (time.Duration, error) {
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID=%q: %w", pid, err)
		}
		if p != os.Getpid() && !(hasParent && p == os.Getppid()) {
			return 0, nil
		}
		os.Unsetenv("WATCHDOG_PID")
	}
	d, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, errors.New("WATCHDOG_USEC is not positive")
	}
	return d, nil
}

// Watchdog pings systemd's watchdog every interval/2, with the status from
// status(), until ctx ends. Without a watchdog, it refreshes the status
// every refresh instead (0: never).
func (n *Notifier) Watchdog(ctx context.Context, interval, refresh time.Duration, status func() string) {
	if n == nil {
		return
	}
	every, ping := refresh, ""
	if interval > 0 {
		every, ping = interval/2, "WATCHDOG=1\n"
	}
	if every <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n.notify(ping + "STATUS=" + status())
			}
		}
	}()
}

// serviceVars are systemd's variables meant for the service's main
// process only.
var serviceVars = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"}

// WithoutServiceVars returns env without systemd's variables meant for
// the main process (the notification socket, the watchdog, passed
// sockets): a wrapped program must not report for the service.
func WithoutServiceVars(env []string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, v := range serviceVars {
			if strings.HasPrefix(kv, v+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
