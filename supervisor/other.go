//go:build !linux

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Run is only implemented on Linux: it needs /proc and the child subreaper.
func (p *Process) Run(ctx context.Context) error {
	return fmt.Errorf("supervisor: %w on %s", errors.ErrUnsupported, runtime.GOOS)
}

// Signal is only implemented on Linux.
func (p *Process) Signal(os.Signal) error { return ErrNotRunning }
