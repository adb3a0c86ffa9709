package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
	// Our own file is ours to rewrite (a restart with the same pid).
	if _, err := WritePIDFile(path); err != nil {
		t.Fatalf("rewrite own pid file: %v", err)
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

func TestWritePIDFileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.pid")
	ppid := strconv.Itoa(os.Getppid())
	if err := os.WriteFile(path, []byte(ppid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := WritePIDFile(path)
	if err == nil || !strings.Contains(err.Error(), "already running as process "+ppid) {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != ppid+"\n" {
		t.Fatalf("running process's file changed: %q", b)
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
