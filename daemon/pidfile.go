package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// WritePIDFile writes this process's id to path, refusing to replace the
// file of a process that is still running. A stale file (its process gone)
// is replaced. The file is created with O_EXCL, so an existing file or
// symbolic link is never written through. remove deletes the file if it
// still holds this process's id.
func WritePIDFile(path string) (remove func() error, err error) {
	self := os.Getpid()
	content := []byte(strconv.Itoa(self) + "\n")
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.Write(content)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
				return nil, fmt.Errorf("write pid file: %w", err)
			}
			return func() error { return removeIfOurs(path, content) }, nil
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return nil, fmt.Errorf("create pid file: %w", err)
		}
		if pid, ok := readPID(path); ok && pid != self && alive(pid) {
			return nil, fmt.Errorf("pid file %s: websockify is already running as process %d", path, pid)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale pid file: %w", err)
		}
	}
}

func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func removeIfOurs(path string, content []byte) error {
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, content) {
		return nil // gone, or no longer ours
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}
