package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// EnvMarker is set in the environment of the re-executed child. Child
// removes it, so that programs the daemon starts do not inherit it.
const EnvMarker = "WEBSOCKIFY_DAEMON"

// DefaultReadyTimeout is how long Detach waits for the child to report.
const DefaultReadyTimeout = 30 * time.Second

// Descriptors of the child.
const (
	listenerFD = 3
	readyFD    = 4
)

// Readiness messages on the pipe.
const (
	msgReady  = 'R'
	msgFailed = 'E'
)

// Options configures Detach. The zero value re-executes os.Args.
type Options struct {
	Path string   // executable; empty means os.Executable()
	Args []string // arguments after argv[0]; nil means os.Args[1:]
	Env  []string // environment; nil means os.Environ()

	// Stdout and Stderr are the child's until it is ready; nil means the
	// parent's own.
	Stdout, Stderr *os.File

	// ReadyTimeout bounds the wait for the child's report; the child is
	// killed when it expires. Zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// StartError reports a child that failed to become ready.
type StartError struct {
	Msg    string // the child's error, or how it ended
	Status int    // the child's exit status, or 1
}

func (e *StartError) Error() string { return "daemon failed to start: " + e.Msg }

// ExitStatus is the exit status the parent should end with.
func (e *StartError) ExitStatus() int { return e.Status }

// Detach starts the daemon child with ln and waits until it is ready. On
// nil the caller should exit with status 0; it may close ln (a Unix
// listener's socket file is kept). Detach must not be called in the child.
func Detach(ln net.Listener, o Options) error {
	if os.Getenv(EnvMarker) != "" {
		return errors.New("daemon: already detached")
	}
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		return fmt.Errorf("daemon: cannot pass a %T to the background process", ln)
	}
	lf, err := fl.File()
	if err != nil {
		return fmt.Errorf("daemon: listener file: %w", err)
	}
	defer lf.Close()
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}

	path := o.Path
	if path == "" {
		if path, err = os.Executable(); err != nil {
			return fmt.Errorf("daemon: find own executable: %w", err)
		}
	}
	args := o.Args
	if args == nil {
		args = os.Args[1:]
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("daemon: readiness pipe: %w", err)
	}
	defer rd.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		wr.Close()
		return fmt.Errorf("daemon: %w", err)
	}
	defer devNull.Close()

	cmd := exec.Command(path, args...)
	cmd.Env = append(env, EnvMarker+"=1")
	cmd.Stdin = devNull
	cmd.Stdout, cmd.Stderr = orDefault(o.Stdout, os.Stdout), orDefault(o.Stderr, os.Stderr)
	cmd.ExtraFiles = []*os.File{lf, wr} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return fmt.Errorf("daemon: start background process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the child if the parent lives on

	timeout := o.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	rd.SetReadDeadline(time.Now().Add(timeout))
	var kind [1]byte
	_, err = io.ReadFull(rd, kind[:])
	switch {
	case err == nil && kind[0] == msgReady:
		return nil
	case err == nil && kind[0] == msgFailed:
		msg, _ := io.ReadAll(io.LimitReader(rd, 64<<10))
		return &StartError{Msg: string(msg), Status: childStatus(exited, time.Second)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		cmd.Process.Kill()
		<-exited
		return &StartError{Msg: fmt.Sprintf("not ready after %v; stopped it", timeout), Status: 1}
	}
	st := childStatus(exited, timeout)
	return &StartError{Msg: fmt.Sprintf("exited before it was ready (status %d)", st), Status: st}
}

func orDefault(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

// childStatus waits up to d for the child's exit status; 1 if unknown.
func childStatus(exited <-chan error, d time.Duration) int {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
	case <-t.C:
	}
	return 1
}

// Child reports whether this process is a daemon child started by Detach.
// If so, it returns the inherited listener and notify, which the child must
// call once: with nil when it is ready to serve (its stdio then moves to
// /dev/null and its directory to /), or with the error that stops it (the
// parent prints it; the child's own stdio is then silenced, and it should
// exit non-zero). If the listener cannot be used, ln is nil and the failure
// has already been reported: the child should just exit with status 1.
func Child() (ln net.Listener, notify func(error), ok bool) {
	if os.Getenv(EnvMarker) == "" {
		return nil, nil, false
	}
	os.Unsetenv(EnvMarker)
	// Programs the daemon starts must not inherit the pipe, or the parent
	// would wait for them too.
	unix.CloseOnExec(listenerFD)
	unix.CloseOnExec(readyFD)
	pipe := os.NewFile(readyFD, "daemon-ready")
	var once sync.Once
	notify = func(err error) {
		once.Do(func() { report(pipe, err) })
	}
	lf := os.NewFile(listenerFD, "daemon-listener")
	ln, err := net.FileListener(lf)
	lf.Close()
	if err != nil {
		notify(fmt.Errorf("daemon: inherited listener: %w", err))
		return nil, notify, true
	}
	return ln, notify, true
}

func report(pipe *os.File, err error) {
	if pipe == nil {
		return
	}
	msg := []byte{msgReady}
	if err != nil {
		msg = append([]byte{msgFailed}, strings.TrimSpace(err.Error())...)
	} else {
		// Done before the parent hears of it, so that once the parent
		// has exited the daemon is detached for good.
		os.Chdir("/")
		detachStdio()
	}
	pipe.Write(msg)
	pipe.Close()
	detachStdio()
}

// detachStdio puts /dev/null on descriptors 0, 1 and 2.
func detachStdio() {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	for fd := 0; fd <= 2; fd++ {
		unix.Dup2(int(f.Fd()), fd)
	}
}
