// Package handover upgrades a running websockify without refusing a
// connection: on request it starts a new process of the (possibly new)
// binary, hands it the listening socket and the locked pid file, and
// reports once the new process serves, so that the old one can stop
// accepting and drain. It uses cloudflare/tableflip, which passes the
// descriptors and the readiness of the new process.
package handover

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cloudflare/tableflip"
)

// Timeout is how long a new process has to report that it serves; it is
// killed after that and the old process serves on.
const Timeout = 30 * time.Second

// Names of the descriptors passed to the new process.
const (
	listenerNet  = "websockify"
	listenerName = "listen"
	pidFileName  = "pid-file"
)

// Upgrader is the process's side of upgrades: it hands its descriptors to
// a new process on Upgrade, and takes them over from its predecessor when
// it is such a new process.
type Upgrader struct {
	upg  *tableflip.Upgrader
	ppid int // the previous process, when this one was started by an upgrade

	mu      sync.Mutex
	busy    bool   // an upgrade runs
	refused string // why upgrades are refused, if they are
	done    bool   // a new process took over
}

// New sets up upgrades for this process. It must be called once, before
// the listener is opened (Listener).
func New() (*Upgrader, error) {
	upg, err := tableflip.New(tableflip.Options{UpgradeTimeout: Timeout})
	if err != nil {
		return nil, fmt.Errorf("upgrades: %w", err)
	}
	u := &Upgrader{upg: upg}
	if upg.HasParent() {
		u.ppid = os.Getppid() // tableflip starts the new process as a child
	}
	return u, nil
}

// Predecessor returns the process this one was started by in an upgrade,
// while it still runs (it drains its sessions).
func (u *Upgrader) Predecessor() (pid int, running bool) {
	if u.ppid == 0 || os.Getppid() != u.ppid { // once it exits, this process is reparented
		return 0, false
	}
	return u.ppid, true
}

// HasParent reports whether this process was started by an upgrade.
func (u *Upgrader) HasParent() bool { return u.upg.HasParent() }

// Listener returns the listening socket passed by the previous process, or
// nil.
func (u *Upgrader) Listener() (net.Listener, error) {
	ln, err := u.upg.Listener(listenerNet, listenerName)
	if err != nil {
		return nil, fmt.Errorf("upgrade: the listener passed by the previous process: %w", err)
	}
	return ln, nil
}

// PIDFile returns the pid file descriptor passed by the previous process
// (it holds the pid file's lock), or nil.
func (u *Upgrader) PIDFile() (*os.File, error) {
	f, err := u.upg.File(pidFileName)
	if err != nil {
		return nil, fmt.Errorf("upgrade: the pid file passed by the previous process: %w", err)
	}
	return f, nil
}

// Pass registers what a new process gets: the listener and, if not nil,
// the locked pid file.
func (u *Upgrader) Pass(ln net.Listener, pidFile *os.File) error {
	tl, ok := ln.(tableflip.Listener)
	if !ok {
		return fmt.Errorf("upgrade: cannot pass a %T to a new process", ln)
	}
	if err := u.upg.AddListener(listenerNet, listenerName, tl); err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	if pidFile != nil {
		if err := u.upg.AddFile(pidFileName, pidFile); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
	}
	return nil
}

// Refuse makes every later Upgrade fail with why (a mode in which a
// hand-over would not be safe).
func (u *Upgrader) Refuse(why string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.refused = why
}

// Ready tells the previous process, if any, that this one serves: it
// stops accepting then. Descriptors passed but not used are closed.
func (u *Upgrader) Ready() error {
	return u.upg.Ready()
}

// Stop ends upgrades, when the process stops for good.
func (u *Upgrader) Stop() { u.upg.Stop() }

// ErrBusy is Upgrade's error while another upgrade runs, or while the
// previous process still drains.
var ErrBusy = errors.New("an upgrade is in progress")

// RefusedError is Upgrade's error when no upgrade was tried: another one
// runs, or upgrades are refused in this mode. Other errors are upgrades
// that failed.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Upgrade starts a new process and waits until it serves (nil: this
// process should stop accepting and drain) or fails (this process serves
// on). Concurrent calls fail with ErrBusy at once.
func (u *Upgrader) Upgrade() error {
	u.mu.Lock()
	switch {
	case u.refused != "":
		u.mu.Unlock()
		return &RefusedError{errors.New(u.refused)}
	case u.done:
		u.mu.Unlock()
		return &RefusedError{errors.New("a new process already serves in this one's place")}
	case u.busy:
		u.mu.Unlock()
		return &RefusedError{ErrBusy}
	}
	u.busy = true
	u.mu.Unlock()
	err := u.upg.Upgrade()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.busy = false
	if err == nil {
		u.done = true
		return nil
	}
	if err.Error() == "parent hasn't exited" {
		return &RefusedError{fmt.Errorf("%w: the previous process still drains", ErrBusy)}
	}
	return err
}

// ListenWith returns the listener on network and addr passed by the
// previous process, or opens one with open, and passes it on to the next:
// for the other listeners of the process, such as the admin listener,
// which a new process could not bind while the old one holds it. A Unix
// socket's file is removed when the process stops without an upgrade.
func (u *Upgrader) ListenWith(network, addr string, open func(network, addr string) (net.Listener, error)) (net.Listener, error) {
	return u.upg.ListenWithCallback(network, addr, open)
}
