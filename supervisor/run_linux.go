package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// active is set while a Run owns the process-wide resources it takes over:
// the child-subreaper flag and the reaping of every child of this process.
// It is the package's only variable besides the sentinels.
var active atomic.Bool

// Run starts the program, supervises it according to Mode, and returns once
// the program and everything it started are gone.
//
// The program runs in its own process group with inherited (or the given)
// standard files, the default SIGPIPE disposition (unless this process
// called signal.Ignore on it), and SIGTERM as its parent-death signal. Run
// makes this process a child subreaper, so descendants that daemonize out of
// the group are re-parented here; they are stopped with the rest. Stopping
// means SIGTERM (and SIGCONT) to the group and to every descendant, up to
// Grace for them to exit, then SIGKILL.
//
// Run returns nil after ctx ends, an *ExitError when the program exits in
// ModeExit (even with status 0), and another error when the program cannot
// be started or no free port can be found. It logs each start, the address
// the program listens on, each exit with its status, and each restart.
//
// While Run is active it reaps every child of this OS process with
// wait4(-1): other code in the same process must not start and wait for
// children (os/exec) meanwhile, or its Wait fails with ECHILD. Only one
// Process may run at a time (ErrBusy), and Run may be called only once.
func (p *Process) Run(ctx context.Context) error {
	if err := p.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return errors.New("supervisor: Run called twice")
	}
	p.started = true
	p.mu.Unlock()
	if !active.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer active.Store(false)

	path, err := exec.LookPath(p.Argv[0])
	if err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	// The parent-death signal fires when the thread that forked the
	// program exits, so every start happens on this locked thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	restore, err := becomeSubreaper()
	if err != nil {
		return err
	}
	defer restore()
	sigch := make(chan os.Signal, 1)
	signal.Notify(sigch, syscall.SIGCHLD)
	defer signal.Stop(sigch)

	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
	}()
	s := &supervision{p: p, path: path, log: p.logger(), sigch: sigch, self: os.Getpid(), port: p.Port}
	return s.run(ctx)
}

// Signal sends sig to the program's process group, or, once the program
// itself has exited (it daemonized, in ModeIgnore), to every process it left
// behind. It returns ErrNotRunning when there is nothing to signal.
func (p *Process) Signal(sig os.Signal) error {
	ss, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("supervisor: unsupported signal %v", sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return ErrNotRunning
	}
	if p.pid != 0 { // not reaped yet, so the group id cannot be reused
		if err := unix.Kill(-p.pid, ss); err != nil {
			return fmt.Errorf("supervisor: signal process group %d: %w", p.pid, err)
		}
		return nil
	}
	procs, err := readProcs()
	if err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	sent := 0
	for _, pr := range descendants(procs, os.Getpid()) {
		if pr.live() && unix.Kill(pr.pid, ss) == nil {
			sent++
		}
	}
	if sent == 0 {
		return ErrNotRunning
	}
	return nil
}

// becomeSubreaper sets PR_SET_CHILD_SUBREAPER; restore puts back the
// previous setting.
func becomeSubreaper() (restore func(), err error) {
	var prev int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&prev)), 0, 0, 0); err != nil {
		return nil, fmt.Errorf("supervisor: get child subreaper: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("supervisor: become child subreaper: %w", err)
	}
	return func() {
		if prev == 0 {
			_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		}
	}, nil
}
