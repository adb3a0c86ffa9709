package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Defaults for the zero values of Process fields.
const (
	DefaultGrace        = 10 * time.Second
	DefaultReadyTimeout = 10 * time.Second
	DefaultStartLimit   = 10

	defaultRestartDelay    = time.Second      // first respawn delay
	defaultMaxRestartDelay = 30 * time.Second // the delay doubles up to this
	defaultStableAfter     = 10 * time.Second // uptime that resets the delay
	maxPortTries           = 3                // port collisions before giving up
)

var (
	// ErrBusy is returned by Run while another Process runs in this OS
	// process: reaping children and the subreaper flag are process-wide.
	ErrBusy = errors.New("supervisor: another Process is already running")
	// ErrNotRunning is returned by Signal when there is no program to
	// signal.
	ErrNotRunning = errors.New("supervisor: wrapped program is not running")
)

// Process runs one wrapped program and supervises it until Run returns. Set
// the exported fields before Run and do not change them afterwards; Addr
// and Signal may be called from any goroutine.
type Process struct {
	// Argv is the program and its arguments. Argv[0] is looked up in PATH;
	// no shell is involved.
	Argv []string
	// Env is the program's environment; nil means os.Environ(). It is used
	// as is when Environ is nil.
	Env []string
	// Environ, if set, returns the environment for a start that must
	// listen on loopback port port, for example
	//	func(port int) []string { return rebind.Env(os.Environ(), lib, 5900, port) }
	// It is called before every start, with a new port after a collision.
	Environ func(port int) []string
	// Check, if set, says before the first start why the program will not
	// take its environment's LD_PRELOAD (rebind.CheckPreload), so that a
	// program that is never ready is reported with the reason; nil skips
	// the check.
	Check func(path string, env []string) error
	// Mode is what to do when the program exits; the zero value is
	// ModeExit.
	Mode Mode
	// Port is the loopback port the program must end up listening on. If
	// zero, Run picks one with PickPort (Environ is then required) and
	// picks another one if that port is taken before the program listens
	// on it. A non-zero Port is never changed.
	Port int
	// Grace is how long the program (its process group and every
	// descendant) gets between SIGTERM and SIGKILL. Zero means
	// DefaultGrace.
	Grace time.Duration
	// ReadyTimeout is how long after a start the program may take to
	// listen on Port before Run logs that it does not, and why as far as
	// it can tell. The program is not killed for it. Zero
	// means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Stdin, Stdout and Stderr are the program's standard files; nil
	// means the caller's own.
	Stdin, Stdout, Stderr *os.File
	// Logger receives the supervision log; nil means slog.Default().
	Logger *slog.Logger
	// OnReady, if set, is called each time a start of the program is seen
	// listening, with the address to dial (127.0.0.1:Port or [::1]:Port).
	// OnExit, if set, is called each time the program exits on its own,
	// not for the stop at the end of Run. Both run on Run's goroutine and
	// must not block.
	OnReady func(addr netip.AddrPort)
	OnExit  func(*ExitError)

	// WrappedPort is the port the program is told to listen on (the one
	// the shim moves), for diagnostics only; zero if unknown.
	WrappedPort int
	// StartLimit is how many failed starts in a row ModeRespawn accepts
	// before Run gives up and returns the last *ExitError, like systemd's
	// start limit. A failed start is one that exited before listening,
	// or with a non-zero status within its first 10 s; a program that
	// served and exited with status 0 has not failed. Zero means
	// DefaultStartLimit; a negative value means no limit.
	StartLimit int

	// Test seams; zero means the default* constants.
	restartDelay, maxRestartDelay, stableAfter time.Duration

	mu      sync.Mutex
	started bool           // Run was called
	running bool           // Run has not returned yet
	pid     int            // the current program, until it is reaped; 0 if none
	addr    netip.AddrPort // see Addr
	// diagnosis is the last explanation of a start that did not listen.
	diagnosis string
}

// Diagnosis returns the last explanation logged for a start that did not
// listen on its port (exited early, or not listening after ReadyTimeout),
// or "" if there is none.
func (p *Process) Diagnosis() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.diagnosis
}

func (p *Process) startLimit() int {
	if p.StartLimit == 0 {
		return DefaultStartLimit
	}
	return p.StartLimit
}

// Addr returns the address to dial to reach the program: the one found by
// the last readiness check, or 127.0.0.1:port before the current port was
// seen listening; the zero AddrPort before Run has chosen a port.
func (p *Process) Addr() netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

func (p *Process) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

func (p *Process) grace() time.Duration { return orDefault(p.Grace, DefaultGrace) }

func (p *Process) readyTimeout() time.Duration {
	return orDefault(p.ReadyTimeout, DefaultReadyTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// validate checks the configuration before Run starts anything.
func (p *Process) validate() error {
	if len(p.Argv) == 0 || p.Argv[0] == "" {
		return errors.New("supervisor: no program to run")
	}
	if _, err := ParseMode(string(p.Mode)); err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	if p.Port < 0 || p.Port > 65535 {
		return fmt.Errorf("supervisor: port %d out of range", p.Port)
	}
	if p.Port == 0 && p.Environ == nil {
		return errors.New("supervisor: Port is zero and there is no Environ to pass a picked port to the program")
	}
	return nil
}
