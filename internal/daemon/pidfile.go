package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// WritePIDFile writes this process's id to path and holds an exclusive
// lock (flock) on the file for as long as the process lives. Whether
// another websockify runs is decided by that lock, never by whether the
// PID in the file names a live process: after a crash the PID is often
// reused (PID 1 in a container, a shell), and the lock is released by the
// kernel however the process ended. A file locked by another process is
// refused; an unlocked one is stale and rewritten. A symbolic link at path
// is replaced, never written through.
//
// remove deletes the file if it is still the one this process locked, and
// releases the lock.
func WritePIDFile(path string) (remove func() error, err error) {
	p, err := LockPIDFile(path)
	if err != nil {
		return nil, err
	}
	if err := p.WritePID(); err != nil {
		p.Remove()
		return nil, err
	}
	return p.Remove, nil
}

// PIDFile is a pid file locked by this process (see WritePIDFile).
type PIDFile struct {
	f    *os.File
	path string
}

// LockPIDFile opens and locks the pid file at path, as WritePIDFile does,
// without writing it yet.
func LockPIDFile(path string) (*PIDFile, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 3 {
			return nil, fmt.Errorf("pid file %s keeps changing while it is locked", path)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
		if errors.Is(err, syscall.ELOOP) {
			// A symbolic link: replace it rather than write through it.
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove pid file symlink: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create pid file: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b, _ := io.ReadAll(io.LimitReader(f, 64))
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				if pid, perr := strconv.Atoi(string(bytes.TrimSpace(b))); perr == nil && pid > 0 {
					return nil, fmt.Errorf("pid file %s: websockify is already running as process %d", path, pid)
				}
				return nil, fmt.Errorf("pid file %s: locked by another running websockify", path)
			}
			return nil, fmt.Errorf("lock pid file %s: %w", path, err)
		}
		// The file may have been removed (by its exiting owner) between our
		// open and our lock: lock what is at path, or try again.
		if !samePath(f, path) {
			f.Close()
			continue
		}
		return &PIDFile{f: f, path: path}, nil
	}
}

// AdoptPIDFile takes over the pid file that a previous process locked and
// passed as f (a duplicate of its descriptor shares its lock). It must
// still be the file at path.
func AdoptPIDFile(f *os.File, path string) (*PIDFile, error) {
	if !samePath(f, path) {
		f.Close()
		return nil, fmt.Errorf("pid file %s: the file passed by the previous process is no longer there", path)
	}
	return &PIDFile{f: f, path: path}, nil
}

// File is the locked file, to pass to a process that takes over.
func (p *PIDFile) File() *os.File { return p.f }

// WritePID writes this process's id into the file.
func (p *PIDFile) WritePID() error {
	if err := rewrite(p.f, []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return fmt.Errorf("write pid file %s: %w", p.path, err)
	}
	return nil
}

// Remove deletes the file if it is still ours, and releases the lock.
func (p *PIDFile) Remove() error { return release(p.f, p.path) }

// Keep closes this process's descriptor without removing the file: another
// process that holds it (it took over) keeps the lock.
func (p *PIDFile) Keep() { p.f.Close() }

func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(fi, now)
}

func rewrite(f *os.File, content []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(content, 0)
	return err
}

// release removes path if it is still our locked file, then unlocks it.
func release(f *os.File, path string) error {
	if f == nil {
		return nil
	}
	var err error
	if samePath(f, path) {
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = fmt.Errorf("remove pid file: %w", rerr)
		}
	}
	f.Close() // a second call finds it closed; Close reports, nothing breaks
	return err
}

func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	return pid, err == nil && pid > 0
}
