package tests

// The arm64 release, run under Debian's qemu-user-static (run directly, no
// binfmt_misc): the binary in proxy mode, and the arm64 shim with the
// shim's test program (tests/testdata/listener.c cross-compiled by
// aarch64-linux-gnu-gcc). Wrap mode cannot run under qemu-user: it does
// not implement prctl(PR_GET_CHILD_SUBREAPER), which the supervisor needs.

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const (
	qemuARM64    = "qemu-aarch64-static"
	arm64Sysroot = "/usr/aarch64-linux-gnu" // libc6-arm64-cross: the loader and libc for qemu -L
)

// arm64Release runs make release and returns the arm64 binary's path and
// the version.
func arm64Release(t *testing.T) (bin, version string) {
	t.Helper()
	requireProgram(t, qemuARM64)
	requireProgram(t, "aarch64-linux-gnu-gcc")
	version = buildVersion(t)
	makeOut(t, 15*time.Minute, "release")
	return filepath.Join(repoRoot(t), "dist", "websockify_"+version+"_linux_arm64"), version
}

// TestRelease: make release writes static binaries for amd64 and arm64, a
// lintian-clean .deb for each and SHA256SUMS that match them.
func TestRelease(t *testing.T) {
	armBin, version := arm64Release(t)
	dist := filepath.Join(repoRoot(t), "dist")
	cmd := exec.Command("sha256sum", "--strict", "-c", "SHA256SUMS")
	cmd.Dir = dist
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
	}
	t.Logf("sha256sum -c:\n%s", out)
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		bin := filepath.Join(dist, "websockify_"+version+"_linux_"+arch)
		deb := filepath.Join(dist, fmt.Sprintf("websockify-go_%s_%s.deb", version, arch))
		for _, f := range []string{filepath.Base(bin), filepath.Base(deb)} {
			if !strings.Contains(string(out), f+": OK") {
				t.Errorf("SHA256SUMS does not cover %s", f)
			}
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != machine {
			t.Errorf("%s is for %v; want %v", bin, f.Machine, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked", bin)
			}
		}
		f.Close()
		if got := strings.TrimSpace(runOK(t, "dpkg-deb", "-f", deb, "Architecture")); got != arch {
			t.Errorf("%s: Architecture %q", deb, got)
		}
		lint, err := exec.Command("lintian", "--fail-on", "error", deb).CombinedOutput()
		if err != nil || regexp.MustCompile(`(?m)^E: `).Match(lint) {
			t.Errorf("lintian %s: %v\n%s", filepath.Base(deb), err, lint)
		}
	}
	v := runOK(t, qemuARM64, armBin, "--version")
	if !strings.Contains(v, " version "+version+" ") || !strings.Contains(v, "linux/arm64") {
		t.Errorf("arm64 --version: %q", v)
	}
}

// startARM64 runs the arm64 websockify under qemu with args, through the
// harness (so it is stopped and logged like the native one).
func startARM64(t *testing.T, bin string, args ...string) *proxy {
	t.Helper()
	p := startProxyCmd(t, func(c *exec.Cmd) {
		qemu, _ := exec.LookPath(qemuARM64)
		c.Path = qemu
		c.Args = append([]string{qemuARM64, bin}, args...)
	}, args...)
	p.addr = p.stderr.waitFor(t, listenRE, 60*time.Second)[1]
	return p
}

// echoThrough sends msg over a WebSocket to p and returns the first
// answers until want bytes came back.
func echoThrough(t *testing.T, p *proxy, msgs [][]byte, want int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, p.url("/"), &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatalf("dial %s: %v", p.url("/"), err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for _, m := range msgs {
		if err := c.Write(ctx, websocket.MessageBinary, m); err != nil {
			t.Fatal(err)
		}
	}
	var got []byte
	for len(got) < want {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
		got = append(got, b...)
	}
	c.Close(websocket.StatusNormalClosure, "")
	return got
}

// TestARM64ProxyUnderQemu: the arm64 binary relays WebSocket to an echo
// backend.
func TestARM64ProxyUnderQemu(t *testing.T) {
	bin, _ := arm64Release(t)
	backend := startBackend(t, nil)
	p := startARM64(t, bin, "127.0.0.1:0", backend.addr())
	msg := bytes.Repeat([]byte("arm64 "), 20000)
	if got := echoThrough(t, p, [][]byte{msg}, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("echo through the arm64 binary: %d bytes back, want %d equal", len(got), len(msg))
	}
}

// arm64Listener cross-compiles the shim's test program for arm64.
func arm64Listener(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "listener-arm64")
	runOK(t, "aarch64-linux-gnu-gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-o", out,
		filepath.Join(repoRoot(t), "tests", "testdata", "listener.c"))
	return out
}

// TestARM64ShimUnderQemu: the committed arm64 rebind.so moves the arm64
// listener's bind of the old port to loopback on the new one.
func TestARM64ShimUnderQemu(t *testing.T) {
	requireProgram(t, qemuARM64)
	listener := arm64Listener(t)
	oldPort, newPort := freePort(t), freePort(t)
	cmd := exec.Command(qemuARM64, "-L", arm64Sysroot, listener, "v4", fmt.Sprint(oldPort))
	cmd.Env = []string{
		"LD_PRELOAD=" + filepath.Join(repoRoot(t), "rebind", "rebind_arm64.so"),
		fmt.Sprintf("REBIND_OLD_PORT=%d", oldPort), fmt.Sprintf("REBIND_NEW_PORT=%d", newPort),
		"LISTENER_TOKEN=arm64-shim",
	}
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	want := fmt.Sprintf("listening 127.0.0.1:%d", newPort)
	got := stdout.waitFor(t, regexp.MustCompile(`listening \S+`), 30*time.Second)[0]
	if got != want {
		t.Fatalf("arm64 listener under the arm64 shim: %q; want %q (stderr %q)", got, want, stderr.String())
	}
	c := dialRead(t, fmt.Sprintf("127.0.0.1:%d", newPort), len("arm64-shim\n"))
	if c != "arm64-shim\n" {
		t.Fatalf("token %q", c)
	}
}

func dialRead(t *testing.T, addr string, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	return string(buf)
}
