package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWritePIDFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ws.pid")
	self := strconv.Itoa(os.Getpid()) + "\n"

	remove, err := WritePIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != self {
		t.Fatalf("content %q", b)
	}
	// Locked: a second open file description is refused, even in this
	// process.
	if _, err := WritePIDFile(path); err == nil || !strings.Contains(err.Error(), "already running as process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("not removed")
	}
	if err := remove(); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

// TestWritePIDFileRunning: a file locked by a running websockify is
// refused and left as it is.
func TestWritePIDFileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.pid")
	if err := os.WriteFile(path, []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = WritePIDFile(path)
	if err == nil || !strings.Contains(err.Error(), "already running as process 4242") {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "4242\n" {
		t.Fatalf("running process's file changed: %q", b)
	}
}

// TestWritePIDFileReusedPID: a stale file naming a live process (PID
// reuse after a crash) is not a running websockify: no lock, so it is
// replaced.
func TestWritePIDFileReusedPID(t *testing.T) {
	for name, pid := range map[string]int{"init": 1, "parent": os.Getppid(), "self": os.Getpid()} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ws.pid")
			if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			remove, err := WritePIDFile(path)
			if err != nil {
				t.Fatalf("stale pid file naming live process %d: %v", pid, err)
			}
			defer remove()
			if got, ok := readPID(path); !ok || got != os.Getpid() {
				t.Fatalf("pid file holds %d", got)
			}
		})
	}
}

func TestWritePIDFileStale(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	for name, content := range map[string]string{
		"dead process": strconv.Itoa(cmd.Process.Pid) + "\n",
		"garbage":      "not a pid",
		"empty":        "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ws.pid")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			remove, err := WritePIDFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer remove()
			if pid, ok := readPID(path); !ok || pid != os.Getpid() {
				t.Fatalf("pid file holds %d", pid)
			}
		})
	}
}

func TestPIDFileNotOursAnyMore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.pid")
	remove, err := WritePIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Replaced by another file (an operator, another tool).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "1\n" {
		t.Fatal("removed another process's pid file")
	}
}

func TestPIDFileSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ws.pid")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	remove, err := WritePIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("wrote through a symlink: %q", b)
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink != 0 {
		t.Fatal("pid file is still the symlink")
	}
}

func TestWritePIDFileNoDir(t *testing.T) {
	if _, err := WritePIDFile(filepath.Join(t.TempDir(), "missing", "ws.pid")); err == nil {
		t.Fatal("no error")
	}
}

// TestPIDFileHandOver: a process that takes the pid file over (an upgrade)
// shares the lock through a duplicate of the descriptor; the old one
// keeps the file when it lets go, and the lock holds until the new one
// removes the file.
func TestPIDFileHandOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.pid")
	old, err := LockPIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.WritePID(); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(old.File().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := AdoptPIDFile(os.NewFile(uintptr(fd), "passed"), path)
	if err != nil {
		t.Fatal(err)
	}
	old.Keep()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Keep removed the file: %v", err)
	}
	if _, err := LockPIDFile(path); err == nil {
		t.Fatal("the lock was released with the old descriptor")
	}
	if err := adopted.WritePID(); err != nil {
		t.Fatal(err)
	}
	if err := adopted.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("after Remove: %v", err)
	}
}

// TestAdoptPIDFileReplaced: a passed descriptor whose file is no longer at
// the path is refused.
func TestAdoptPIDFileReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.pid")
	p, err := LockPIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Keep()
	fd, _ := unix.Dup(int(p.File().Fd()))
	os.Remove(path)
	os.WriteFile(path, []byte("1\n"), 0o644)
	if _, err := AdoptPIDFile(os.NewFile(uintptr(fd), "passed"), path); err == nil || !strings.Contains(err.Error(), "no longer there") {
		t.Fatalf("AdoptPIDFile of a replaced file: %v", err)
	}
}
