package supervisor

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killTimeout bounds the wait for processes after SIGKILL (a process in
// uninterruptible sleep dies only when its I/O ends).
const killTimeout = 5 * time.Second

// stopAll stops whatever is left and reaps it, for the end of Run.
func (s *supervision) stopAll() error {
	err := s.stopTree()
	s.reap()
	return err
}

// stopTree stops the current program's process group and every descendant
// of this process: SIGTERM and SIGCONT, Grace to exit, then SIGKILL.
func (s *supervision) stopTree() error {
	pgid := 0
	if s.cur != nil {
		pgid = s.cur.pid
	}
	s.reap()
	if len(s.liveTree()) == 0 {
		// Only zombies, if anything: a killed multi-threaded process
		// stays unreapable until all its threads are gone.
		if s.waitGone(time.Now().Add(killTimeout)) {
			return nil
		}
	}
	s.signalTree(pgid, syscall.SIGTERM)
	s.signalTree(pgid, syscall.SIGCONT)
	if s.waitGone(time.Now().Add(s.p.grace())) {
		return nil
	}
	left := s.liveTree()
	s.log.Warn(fmt.Sprintf("wrapped program did not stop within %v of SIGTERM; sending SIGKILL", s.p.grace()), "pids", left)
	deadline := time.Now().Add(killTimeout)
	for {
		s.signalTree(pgid, syscall.SIGKILL)
		if s.waitGone(time.Now().Add(100 * time.Millisecond)) {
			return nil
		}
		if time.Now().After(deadline) {
			left = s.liveTree()
			s.log.Error("processes of the wrapped program survived SIGKILL", "pids", left)
			return fmt.Errorf("supervisor: processes %v survived SIGKILL", left)
		}
	}
}

// waitGone reaps until this process has no descendant left, zombies
// included (true), or deadline passes. Once every descendant is dead, all
// zombies are our own children, so they are reaped here.
func (s *supervision) waitGone(deadline time.Time) bool {
	for {
		s.reap()
		procs, err := readProcs()
		if err != nil {
			s.log.Error("cannot list processes", "err", err)
			return false
		}
		if len(descendants(procs, s.self)) == 0 {
			return true
		}
		d := time.Until(deadline)
		if d <= 0 {
			return false
		}
		t := time.NewTimer(min(d, pollFast))
		select {
		case <-s.sigch:
			t.Stop()
		case <-t.C:
		}
	}
}

// liveTree returns the pids of the live (not zombie) descendants of this
// process.
func (s *supervision) liveTree() []int {
	procs, err := readProcs()
	if err != nil {
		s.log.Error("cannot list processes", "err", err)
		return nil
	}
	var pids []int
	for _, pr := range descendants(procs, s.self) {
		if pr.live() {
			pids = append(pids, pr.pid)
		}
	}
	return pids
}

// signalTree sends sig once to the process group pgid, if it still has a
// live member, and to every other live descendant of this process.
func (s *supervision) signalTree(pgid int, sig syscall.Signal) {
	procs, err := readProcs()
	if err != nil {
		s.log.Error("cannot list processes", "err", err)
		return
	}
	tree := descendants(procs, s.self)
	group := false
	for _, pr := range tree {
		group = group || (pgid > 0 && pr.pgrp == pgid && pr.live())
	}
	if group {
		_ = unix.Kill(-pgid, sig)
	}
	for _, pr := range tree {
		if pr.live() && !(group && pr.pgrp == pgid) {
			_ = unix.Kill(pr.pid, sig)
		}
	}
}
