package tests

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH: %v", err)
	}
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

	wrapsListener(t, bin, clone)
}

// TestMakeInstall: make install honours PREFIX and DESTDIR.
func TestMakeInstall(t *testing.T) {
	root, _ := filepath.Abs("..")
	stage := t.TempDir()
	cmd := exec.Command("make", "-s", "-C", root, "install", "DESTDIR="+stage, "PREFIX=/opt/ws")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(stage, "opt", "ws", "bin", "websockify")
	fi, err := os.Stat(bin)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed binary: %v %v", fi, err)
	}
	if out, err := exec.Command(bin, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "websockify version ") {
		t.Fatalf("installed --version: %q %v", out, err)
	}
}

// TestReadmeGoVersion: the Go version the README asks for is go.mod's.
func TestReadmeGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := reMust(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range reMust(`Go (\d+\.\d+(?:\.\d+)?) or newer`).FindAllSubmatch(readme, -1) {
		if string(v[1]) != string(m[1]) {
			t.Errorf("README asks for Go %s; go.mod for %s", v[1], m[1])
		}
	}
	if !bytes.Contains(readme, []byte("Go "+string(m[1])+" or newer")) {
		t.Errorf("README does not state go.mod's Go %s", m[1])
	}
}

// TestDemoListensOnLoopback: make demo (webui/demo.sh) offers a login, so
// it listens on 127.0.0.1 unless DEMO_LISTEN says otherwise.
func TestDemoListensOnLoopback(t *testing.T) {
	requireProgram(t, "inetutils-inetd")
	if os.Geteuid() != 0 {
		t.Fatal("make demo needs root (CI runs as root)")
	}
	port := freePort(t)
	cmd := exec.Command("sh", "../webui/demo.sh")
	cmd.Env = append(os.Environ(), "BIN="+wsBinary, "DEMO_PORT="+strconv.Itoa(port), "DEMO_LISTEN=", "DEMO_LOGIN=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	out.waitFor(t, reMust(`wrapped program is listening`), 30*time.Second)
	if !strings.Contains(out.String(), fmt.Sprintf("Listen on 127.0.0.1:%d", port)) ||
		!strings.Contains(out.String(), fmt.Sprintf("open http://127.0.0.1:%d/wstelnet.html", port)) {
		t.Fatalf("the demo does not listen on 127.0.0.1 only:\n%s", out)
	}
}
