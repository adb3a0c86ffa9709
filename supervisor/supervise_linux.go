package supervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Poll intervals for the readiness check: while waiting for the program,
// after ReadyTimeout, and once it listens (a safety net; SIGCHLD wakes us).
const (
	pollFast  = 50 * time.Millisecond
	pollSlow  = time.Second
	pollReady = 5 * time.Second

	// elsewhereEvery spaces the looks for the program's other listening
	// sockets (see checkReady).
	elsewhereEvery = 500 * time.Millisecond
)

// supervision is the state of one Run. Only Run's goroutine touches it;
// fields shared with Addr and Signal live in Process under its mutex.
type supervision struct {
	p     *Process
	path  string
	log   *slog.Logger
	sigch chan os.Signal
	self  int

	port       int
	preloadErr error // Check's verdict at the first start
	cur        *instance
	starts     int
	goneLogged bool
}

// instance is one start of the program.
type instance struct {
	pid      int
	started  time.Time
	readyBy  time.Time
	ready    bool
	reported bool       // the ReadyTimeout warning was logged
	exit     *ExitError // set when reaped
	seen     bool       // exit was returned by wait
	// elsewhere are the addresses the program was last seen listening on
	// while not on its port: the diagnosis when it never gets there.
	elsewhere   []netip.AddrPort
	elsewhereAt time.Time
}

// waitResult says why wait returned.
type waitResult int

const (
	ctxDone waitResult = iota
	programExited
	deadlineReached
)

// run is the supervision loop: start, watch, then act on the mode.
func (s *supervision) run(ctx context.Context) error {
	delay := orDefault(s.p.restartDelay, defaultRestartDelay)
	collisions, failures := 0, 0
	for {
		if ctx.Err() != nil {
			return s.stopAll()
		}
		if err := s.choosePort(); err != nil {
			return withStop(err, s.stopAll())
		}
		if err := s.start(); err != nil {
			return withStop(err, s.stopAll())
		}
		if s.wait(ctx, time.Time{}) == ctxDone {
			return s.stopAll()
		}
		e := s.cur.exit
		if s.p.OnExit != nil {
			s.p.OnExit(e)
		}
		if s.collided() {
			collisions++
			if collisions >= maxPortTries {
				s.log.Error("wrapped program could not listen: its loopback port was taken every time", "tries", collisions)
				return withStop(fmt.Errorf("supervisor: loopback port for the wrapped program taken by another program %d times in a row", collisions), s.stopAll())
			}
			s.log.Warn("loopback port of the wrapped program was taken by another program; retrying on a new port", "port", s.port, "status", e.Status())
			if err := s.stopTree(); err != nil {
				return err
			}
			s.port = 0
			continue
		}
		collisions = 0
		switch s.p.Mode {
		case ModeIgnore:
			s.log.Info("wrapped program exited (or daemonized)", "status", e.Status(), "pid", e.Pid)
			s.noteGone()
			s.wait(ctx, time.Time{}) // until ctx ends, still watching for readiness
			return s.stopAll()
		case ModeRespawn:
			up := time.Since(s.cur.started)
			stable := up >= orDefault(s.p.stableAfter, defaultStableAfter)
			if stable {
				delay = orDefault(s.p.restartDelay, defaultRestartDelay)
			}
			// A failure is a start that never listened, or that ended
			// badly soon after; a program that served and exited 0
			// (one per session, as telnetd) is not one.
			if !s.cur.ready || (e.Code != 0 && !stable) {
				failures++
			} else {
				failures = 0
			}
			msg := "wrapped program exited; restarting"
			if !s.cur.ready {
				msg = s.exitedEarly(e, up) + "; restarting"
			}
			if limit := s.p.startLimit(); limit > 0 && failures >= limit {
				s.log.Error(fmt.Sprintf("wrapped program failed %d times in a row; giving up (start limit %d)", failures, limit),
					"status", e.Status(), "last", strings.TrimPrefix(msg, "wrapped program "))
				return withStop(e, s.stopAll())
			}
			s.log.Warn(msg, "status", e.Status(), "uptime", up.Round(time.Millisecond), "restart_in", delay, "starts", s.starts, "failures_in_a_row", failures)
			if err := s.stopTree(); err != nil {
				return err
			}
			if s.wait(ctx, time.Now().Add(delay)) == ctxDone {
				return s.stopAll()
			}
			delay = min(2*delay, orDefault(s.p.maxRestartDelay, defaultMaxRestartDelay))
		default: // ModeExit
			s.log.Info("wrapped program exited", "status", e.Status(), "pid", e.Pid)
			if !s.cur.ready {
				s.log.Warn(s.exitedEarly(e, time.Since(s.cur.started)))
			}
			return withStop(e, s.stopAll())
		}
	}
}

// withStop returns err, joined with the error of the final stop if any.
func withStop(err, stopErr error) error {
	if stopErr == nil {
		return err
	}
	return errors.Join(err, stopErr)
}

// choosePort settles the port for the next start.
func (s *supervision) choosePort() error {
	if s.p.Port == 0 && (s.port == 0 || !portFree(s.port)) {
		port, err := PickPort()
		if err != nil {
			return fmt.Errorf("supervisor: %w", err)
		}
		if s.port != 0 {
			s.log.Info("loopback port of the wrapped program is taken; using another", "old_port", s.port, "port", port)
		}
		s.port = port
	} else if s.p.Port != 0 && !portFree(s.port) {
		s.log.Warn("loopback port for the wrapped program is already in use", "port", s.port)
	}
	s.p.mu.Lock()
	if s.p.addr.Port() != uint16(s.port) {
		s.p.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(s.port))
	}
	s.p.mu.Unlock()
	return nil
}

// start forks and execs the program once.
func (s *supervision) start() error {
	env := s.p.Env
	if s.p.Environ != nil {
		env = s.p.Environ(s.port)
	} else if env == nil {
		env = os.Environ()
	}
	if s.starts == 0 && s.p.Check != nil {
		if s.preloadErr = s.p.Check(s.path, env); s.preloadErr != nil {
			s.log.Warn("wrapped program cannot be moved to " + s.target() + ": " + s.preloadErr.Error())
		}
	}
	files := []*os.File{
		cmp.Or(s.p.Stdin, os.Stdin), cmp.Or(s.p.Stdout, os.Stdout), cmp.Or(s.p.Stderr, os.Stderr),
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{files[0].Fd(), files[1].Fd(), files[2].Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM},
	}
	s.p.mu.Lock()
	pid, err := syscall.ForkExec(s.path, s.p.Argv, attr)
	if err == nil {
		s.p.pid = pid
	}
	s.p.mu.Unlock()
	runtime.KeepAlive(files)
	if err != nil {
		return fmt.Errorf("supervisor: start %s: %w", s.path, err)
	}
	now := time.Now()
	s.cur = &instance{pid: pid, started: now, readyBy: now.Add(s.p.readyTimeout())}
	s.starts++
	s.log.Info("started wrapped program", "argv", strings.Join(s.p.Argv, " "), "pid", pid, "port", s.port)
	return nil
}

// wait reaps children and checks readiness until ctx ends, the current
// program exits (reported once), or until passes (if not zero).
func (s *supervision) wait(ctx context.Context, until time.Time) waitResult {
	for {
		if s.reap() > 0 {
			s.noteGone()
		}
		if c := s.cur; c != nil && c.exit != nil && !c.seen {
			c.seen = true
			s.checkReady(time.Now()) // ModeIgnore: its daemon may listen already
			return programExited
		}
		now := time.Now()
		if !until.IsZero() && !now.Before(until) {
			return deadlineReached
		}
		s.checkReady(now)
		next := pollReady
		if s.watching() {
			next = pollFast
			if s.cur.reported {
				next = pollSlow
			}
		}
		if !until.IsZero() {
			next = min(next, until.Sub(now))
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctxDone
		case <-s.sigch:
			t.Stop()
		case <-t.C:
		}
	}
}

// checkReady looks for a socket of ours listening on the port.
func (s *supervision) checkReady(now time.Time) {
	c := s.cur
	if !s.watching() {
		return
	}
	if addr, ok := s.listening(); ok {
		c.ready = true
		s.p.mu.Lock()
		s.p.addr = addr
		s.p.mu.Unlock()
		s.log.Info("wrapped program is listening on "+addr.String(), "after", now.Sub(c.started).Round(time.Millisecond))
		if s.p.OnReady != nil {
			s.p.OnReady(addr)
		}
		return
	}
	// Where else it listens is for the diagnosis only: a look at every
	// listening socket and every process, at most every elsewhereEvery.
	if now.Sub(c.elsewhereAt) >= elsewhereEvery || (!c.reported && now.After(c.readyBy)) {
		c.elsewhere, c.elsewhereAt = s.ownListeners(), now
	}
	if !c.reported && now.After(c.readyBy) {
		c.reported = true
		msg := fmt.Sprintf("wrapped program is not listening on %s after %v: %s",
			s.target(), s.p.readyTimeout(), s.whyNotReady())
		s.p.mu.Lock()
		s.p.diagnosis = msg
		s.p.mu.Unlock()
		s.log.Warn(msg)
	}
}

// exitedEarly says that the current program exited before it listened:
// its status, how long it ran and what is known of why.
func (s *supervision) exitedEarly(e *ExitError, up time.Duration) string {
	msg := fmt.Sprintf("wrapped program exited (%s) after %v, before listening on %s", e.Status(), up.Round(time.Millisecond), s.target())
	if why := s.whyNotReady(); why != "" && (s.preloadErr != nil || len(s.cur.elsewhere) > 0) {
		msg += ": " + why
	}
	s.p.mu.Lock()
	s.p.diagnosis = msg
	s.p.mu.Unlock()
	return msg
}

// whyNotReady explains why the current program is not on its port: the
// loader will not preload the shim into it, or it listens elsewhere, or
// it listens nowhere yet.
func (s *supervision) whyNotReady() string {
	if s.preloadErr != nil {
		return s.preloadErr.Error()
	}
	c := s.cur
	if c == nil || len(c.elsewhere) == 0 {
		return "it has no listening TCP socket"
	}
	var addrs []string
	moved := false
	for _, a := range c.elsewhere {
		addrs = append(addrs, a.String())
		moved = moved || (s.p.WrappedPort != 0 && int(a.Port()) == s.p.WrappedPort)
	}
	msg := "it listens on " + strings.Join(addrs, ", ") + " instead"
	if s.p.WrappedPort != 0 && !moved {
		msg += fmt.Sprintf(" (only binds of port %d are moved: is the program told to listen on %d?)", s.p.WrappedPort, s.p.WrappedPort)
	} else if moved {
		msg += fmt.Sprintf(" (its bind of port %d was not moved: LD_PRELOAD did not reach the process that bound it)", s.p.WrappedPort)
	}
	return msg
}

// ownListeners returns the TCP listening sockets, on any port, of the
// program and its descendants; nil when they cannot all be seen.
func (s *supervision) ownListeners() []netip.AddrPort {
	entries, err := tcpListeners(0)
	if err != nil || len(entries) == 0 {
		return nil
	}
	procs, err := readProcs()
	if err != nil {
		return nil
	}
	var pids []int
	for _, pr := range descendants(procs, s.self) {
		pids = append(pids, pr.pid)
	}
	inodes, complete := socketInodes(pids)
	if !complete {
		return nil
	}
	var out []netip.AddrPort
	for _, e := range entries {
		if inodes[e.inode] {
			out = append(out, e.addr)
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}

// watching reports whether readiness is still to be checked: the current
// program has not been seen listening and is running, or exited in
// ModeIgnore (a daemon it started may listen).
func (s *supervision) watching() bool {
	c := s.cur
	return c != nil && !c.ready && (c.exit == nil || s.p.Mode == ModeIgnore)
}

// listening returns the address of a listening socket on the port that
// belongs to us: some descendant has it open (or we could not read some
// descendant's fds). IPv4 is preferred.
func (s *supervision) listening() (netip.AddrPort, bool) {
	entries, err := tcpListeners(s.port)
	if err != nil || len(entries) == 0 {
		return netip.AddrPort{}, false
	}
	procs, err := readProcs()
	if err != nil {
		return netip.AddrPort{}, false
	}
	var pids []int
	for _, pr := range descendants(procs, s.self) {
		pids = append(pids, pr.pid)
	}
	inodes, complete := socketInodes(pids)
	slices.SortStableFunc(entries, func(a, b listenEntry) int {
		return cmp.Compare(a.addr.Addr().BitLen(), b.addr.Addr().BitLen())
	})
	for _, e := range entries {
		if inodes[e.inode] || !complete {
			return dialAddr(e), true
		}
	}
	return netip.AddrPort{}, false
}

// collided reports whether the program that just exited never listened
// because another program holds its (picked) port: something listens on
// the port, and it is not one of our processes.
func (s *supervision) collided() bool {
	if s.p.Port != 0 || s.cur.ready {
		return false
	}
	entries, err := tcpListeners(s.port)
	if err != nil || len(entries) == 0 {
		return false
	}
	_, ours := s.listening()
	return !ours
}

// target names where the program should listen, for messages.
func (s *supervision) target() string {
	p := strconv.Itoa(s.port)
	return "127.0.0.1:" + p + " or [::1]:" + p
}

// noteGone logs, once, that nothing of the program is left in ModeIgnore
// after the program itself exited (its daemon died, or there was none).
func (s *supervision) noteGone() {
	c := s.cur
	if s.goneLogged || s.p.Mode != ModeIgnore || c == nil || c.exit == nil || len(s.liveTree()) > 0 {
		return
	}
	s.goneLogged = true
	s.log.Warn("no process of the wrapped program is left; still serving (wrap mode ignore)")
}

// reap collects every child that has exited, recording the current
// program's status, and returns how many other processes it reaped. It
// never blocks.
func (s *supervision) reap() (others int) {
	for {
		var ws syscall.WaitStatus
		s.p.mu.Lock()
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		main := s.cur != nil && pid > 0 && pid == s.cur.pid
		if main {
			s.cur.exit = newExitError(pid, ws)
			s.p.pid = 0
		}
		s.p.mu.Unlock()
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return others
		}
		if !main {
			others++
			s.log.Debug("reaped a descendant of the wrapped program", "pid", pid, "status", newExitError(pid, ws).Status())
		}
	}
}
