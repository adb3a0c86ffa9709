package supervisor

import (
	"fmt"
	"syscall"
)

// ExitError describes how one run of the wrapped program ended. Run returns
// it in ModeExit, and OnExit receives it in every mode.
type ExitError struct {
	Pid int
	// Code is the exit status, or 128+N after death by signal N, as a
	// shell reports it; it is what websockify should exit with.
	Code int
	// Signal is the signal that killed the program, 0 if it exited.
	Signal syscall.Signal
}

// newExitError converts a wait status.
func newExitError(pid int, ws syscall.WaitStatus) *ExitError {
	e := &ExitError{Pid: pid}
	switch {
	case ws.Exited():
		e.Code = ws.ExitStatus()
	case ws.Signaled():
		e.Signal = ws.Signal()
		e.Code = 128 + int(e.Signal)
	}
	return e
}

// ExitCode returns Code, so that callers can forward the status with
// errors.As and an interface{ ExitCode() int }.
func (e *ExitError) ExitCode() int { return e.Code }

// Status returns "exit status N" or "killed by signal N (name)".
func (e *ExitError) Status() string {
	if e.Signal != 0 {
		return fmt.Sprintf("killed by signal %d (%v)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

func (e *ExitError) Error() string {
	return "wrapped program " + e.Status()
}
