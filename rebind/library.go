package rebind

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// ErrBadShim reports that there is no rebind.so for this architecture in
// the binary: only amd64 and arm64 have a committed one (see shim_*.go).
var ErrBadShim = errors.New("rebind: this binary has no rebind.so for " + runtime.GOARCH + " (build it from rebind.c and pass --rebind-so FILE)")

// Library returns the path of a rebind.so for LD_PRELOAD.
//
// A non-empty override is checked (it must name an existing regular file and
// make a valid LD_PRELOAD entry) and returned as an absolute path, with a
// no-op cleanup. Otherwise the embedded shim is written to a new private
// directory under os.TempDir (directory 0700, file 0500) and cleanup removes
// that directory. The file must stay in place while any process that may
// still exec a rebound program runs, so call cleanup only after the wrapped
// program and its descendants are gone. cleanup is never nil when err is nil
// and may be called more than once.
func Library(override string) (path string, cleanup func(), err error) {
	if override != "" {
		path, err := checkOverride(override)
		if err != nil {
			return "", nil, err
		}
		return path, func() {}, nil
	}
	if err := checkShim(); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "websockify-rebind-")
	if err != nil {
		return "", nil, fmt.Errorf("rebind: create directory for rebind.so: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, "rebind.so")
	if err := checkPreloadPath(path); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(path, shim, 0o500); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("rebind: write %s: %w", path, err)
	}
	return path, cleanup, nil
}

// Cached returns the path of a rebind.so that outlives this process, for
// callers that exec the wrapped program in place and so cannot clean up.
//
// A non-empty override is handled as by [Library]. Otherwise the embedded
// shim lives in a per-user directory: $XDG_RUNTIME_DIR/websockify when
// XDG_RUNTIME_DIR is set (a tmpfs emptied at logout), else
// <os.UserCacheDir>/websockify. The directory is created 0700 and must be
// owned by the current user and not writable by group or others. The file is
// named rebind-<first 16 hex digits of its SHA-256>.so, so versions never
// overwrite each other; it is reused when its content matches and otherwise
// written to a temporary file and renamed into place, so a reader never sees
// a partial file.
func Cached(override string) (string, error) {
	if override != "" {
		return checkOverride(override)
	}
	if err := checkShim(); err != nil {
		return "", err
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(shim)
	path := filepath.Join(dir, "rebind-"+hex.EncodeToString(sum[:8])+".so")
	if err := checkPreloadPath(path); err != nil {
		return "", err
	}
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, shim) {
		return path, nil
	}
	f, err := os.CreateTemp(dir, ".rebind-*.so")
	if err != nil {
		return "", fmt.Errorf("rebind: cache rebind.so: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(shim)
	if err == nil {
		err = f.Chmod(0o500)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("rebind: cache rebind.so in %s: %w", dir, err)
	}
	return path, nil
}

// cacheDir returns the per-user directory for Cached, creating it 0700.
func cacheDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if !filepath.IsAbs(base) {
		var err error
		if base, err = os.UserCacheDir(); err != nil {
			return "", fmt.Errorf("rebind: no directory to cache rebind.so in: %w", err)
		}
	}
	dir := filepath.Join(base, "websockify")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("rebind: create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("rebind: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("rebind: %s is not a directory", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("rebind: %s is writable by group or others (mode %v)", dir, fi.Mode().Perm())
	case ok && int(st.Uid) != os.Geteuid():
		return "", fmt.Errorf("rebind: %s is owned by uid %d, not by us (uid %d)", dir, st.Uid, os.Geteuid())
	}
	return dir, nil
}

// checkOverride validates a user-supplied rebind.so path.
func checkOverride(override string) (string, error) {
	path, err := filepath.Abs(override)
	if err != nil {
		return "", fmt.Errorf("rebind: library %q: %w", override, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("rebind: library: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("rebind: library %s is not a regular file", path)
	}
	if err := checkPreloadPath(path); err != nil {
		return "", err
	}
	return path, nil
}

// checkPreloadPath rejects paths the loader would split: LD_PRELOAD entries
// are separated by colons and spaces.
func checkPreloadPath(path string) error {
	if strings.ContainsAny(path, ": \t\n") {
		return fmt.Errorf("rebind: library path %q cannot be used in LD_PRELOAD (contains a colon or space)", path)
	}
	return nil
}

func checkShim() error {
	if !bytes.HasPrefix(shim, []byte("\x7fELF")) {
		return ErrBadShim
	}
	return nil
}
