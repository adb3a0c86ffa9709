package tests

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStaticBinaryInChroot: bin/websockify is statically linked and runs
// alone in an empty chroot (no libc, no /etc, no /tmp), where it relays to
// a backend outside and wraps nothing (no shell there).
func TestStaticBinaryInChroot(t *testing.T) {
	f, err := elf.Open(wsBinary)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s has a program interpreter: it is dynamically linked", wsBinary)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("%s needs shared libraries %v", wsBinary, libs)
	}
	f.Close()
	if os.Geteuid() != 0 {
		t.Fatal("chroot needs root (CI runs as root)")
	}

	root := t.TempDir()
	data, err := os.ReadFile(wsBinary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "websockify"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	chrooted := func(args ...string) *exec.Cmd {
		cmd := exec.Command("/websockify", args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Dir = "/"
		cmd.Env = []string{}
		return cmd
	}
	out, err := chrooted("--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "websockify") {
		t.Fatalf("--version in the chroot: %v\n%s", err, out)
	}

	backend := startBackend(t, nil)
	port := freePort(t)
	cmd := chrooted(fmt.Sprintf("127.0.0.1:%d", port), backend.addr())
	stderr := newSyncBuffer()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	stderr.waitFor(t, listenRE, 10*time.Second)
	rc := dialRaw(t, fmt.Sprintf("127.0.0.1:%d", port))
	rc.echoOnce([]byte("from inside a chroot"))
}

// TestFreshCloneBuilds: the committed files alone (what `git clone` gives,
// without make and without a C compiler) pass `go build ./...` and
// `go vet ./...`, and a `go build` of cmd/websockify wraps a program: the
// compiled shim is committed for this architecture.
func TestFreshCloneBuilds(t *testing.T) {
	git := requireProgram(t, "git")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := exec.Command(git, "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	clone := t.TempDir()
	n := 0
	for _, name := range strings.Split(strings.TrimRight(string(ls), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(clone, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		n++
	}
	t.Logf("%d committed files copied", n)
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	gocmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = clone
		// No C compiler: what `go install` on a machine without gcc does.
		cmd.Env = append(os.Environ(), "CC=/nonexistent-cc", "CGO_ENABLED=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("go %s in a fresh clone: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
	gocmd("build", "./...")
	gocmd("vet", "./...")
	bin := filepath.Join(clone, "websockify-go-build")
	gocmd("build", "-o", bin, "./cmd/websockify")

	listener := listenerBin(t, false)
	port := freePort(t)
	cmd := exec.Command(bin, fmt.Sprintf("127.0.0.1:%d", port), "--", listener, "v4", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "WEBSOCKIFY_REBIND_SO=")
	out := newSyncBuffer()
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	out.waitFor(t, reMust(`wrapped program is listening on`), 20*time.Second)
	wsExpect(t, fmt.Sprintf("127.0.0.1:%d", port), reMust(`listener\n`))
}
