package rebind

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestEnv(t *testing.T) {
	const lib = "/run/user/1/websockify/rebind.so"
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{
			name:    "empty",
			environ: nil,
			want:    []string{"LD_PRELOAD=" + lib, "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
		{
			name:    "keeps other variables in order",
			environ: []string{"HOME=/root", "PATH=/bin", "odd-entry-without-equals", "A=b=c"},
			want: []string{"HOME=/root", "PATH=/bin", "odd-entry-without-equals", "A=b=c",
				"LD_PRELOAD=" + lib, "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
		{
			name:    "prepends to existing preload",
			environ: []string{"LD_PRELOAD=/usr/lib/libfoo.so", "X=1"},
			want:    []string{"X=1", "LD_PRELOAD=" + lib + ":/usr/lib/libfoo.so", "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
		{
			name:    "space separated preload, lib not repeated",
			environ: []string{"LD_PRELOAD=/a.so " + lib + ":/b.so"},
			want:    []string{"LD_PRELOAD=" + lib + ":/a.so:/b.so", "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
		{
			name:    "last preload wins",
			environ: []string{"LD_PRELOAD=/first.so", "LD_PRELOAD=/last.so"},
			want:    []string{"LD_PRELOAD=" + lib + ":/last.so", "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
		{
			name:    "empty preload",
			environ: []string{"LD_PRELOAD="},
			want:    []string{"LD_PRELOAD=" + lib, "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
		{
			name:    "replaces rebind variables",
			environ: []string{"REBIND_OLD_PORT=1", "Y=2", "REBIND_NEW_PORT=2", "REBIND_OLD_PORT=3"},
			want:    []string{"Y=2", "LD_PRELOAD=" + lib, "REBIND_OLD_PORT=5900", "REBIND_NEW_PORT=40000"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.environ)
			got := Env(in, lib, 5900, 40000)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
			if !slices.Equal(in, tc.environ) {
				t.Errorf("Env modified its input: %q", in)
			}
		})
	}
}

func TestLibraryEmbedded(t *testing.T) {
	path, cleanup, err := Library("")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(data, shim) {
		t.Fatalf("read %s: %v; equal to embedded shim: %v", path, err, bytes.Equal(data, shim))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o500 {
		t.Errorf("mode of %s: %v, %v; want 0500", path, fi.Mode().Perm(), err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("mode of %s: %v, %v; want 0700", filepath.Dir(path), di.Mode().Perm(), err)
	}
	if !filepath.IsAbs(path) {
		t.Errorf("path %q is not absolute", path)
	}
	cleanup()
	cleanup() // idempotent
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("after cleanup: stat %s: %v; want not exist", filepath.Dir(path), err)
	}
}

func TestLibraryOverride(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my.so")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	path, cleanup, err := Library("my.so")
	if err != nil || path != file || cleanup == nil {
		t.Fatalf("Library(my.so) = %q, %v; want %q", path, err, file)
	}
	cleanup()
	if _, err := os.Stat(file); err != nil {
		t.Errorf("cleanup removed the override: %v", err)
	}
	spaced := filepath.Join(dir, "a b.so")
	if err := os.WriteFile(spaced, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(dir, "missing.so"), dir, spaced} {
		if path, _, err := Library(bad); err == nil {
			t.Errorf("Library(%q) = %q; want an error", bad, path)
		}
		if path, err := Cached(bad); err == nil {
			t.Errorf("Cached(%q) = %q; want an error", bad, path)
		}
	}
}

func TestCached(t *testing.T) {
	runtimeDir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir)
	path, err := Cached("")
	if err != nil {
		t.Fatal(err)
	}
	if dir := filepath.Join(runtimeDir, "websockify"); filepath.Dir(path) != dir {
		t.Errorf("cached in %s; want %s", filepath.Dir(path), dir)
	}
	if name := filepath.Base(path); !strings.HasPrefix(name, "rebind-") || len(name) != len("rebind-")+16+len(".so") {
		t.Errorf("file name %q; want rebind-<16 hex>.so", name)
	}
	again, err := Cached("")
	if err != nil || again != path {
		t.Fatalf("second Cached = %q, %v; want %q", again, err, path)
	}
	// A damaged copy is replaced, not trusted.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Cached(""); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, shim) {
		t.Error("damaged cached copy was not replaced")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("cache dir holds %d entries; want 1 (no temp files left)", len(entries))
	}
	// An unsafe directory is refused.
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Cached(""); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Errorf("Cached with a 0777 directory: %v; want a writable error", err)
	}
}

func TestExecArgs(t *testing.T) {
	tests := []struct {
		old, new int
		argv     []string
	}{
		{0, 1, []string{"true"}},
		{1, 65536, []string{"true"}},
		{1, 2, nil},
		{1, 2, []string{""}},
		{1, 2, []string{"no-such-program-websockify-test"}},
	}
	for _, tc := range tests {
		if err := Exec(tc.old, tc.new, tc.argv, ""); err == nil {
			t.Errorf("Exec(%d, %d, %q) returned nil; want an error", tc.old, tc.new, tc.argv)
		}
	}
}

// TestExec re-runs the test binary as a helper that calls Exec, which must
// replace it with a rebound listener.
func TestExec(t *testing.T) {
	if os.Getenv("REBIND_TEST_EXEC") == "1" {
		old, _ := strconv.Atoi(os.Getenv("REBIND_TEST_OLD"))
		nw, _ := strconv.Atoi(os.Getenv("REBIND_TEST_NEW"))
		err := Exec(old, nw, []string{os.Getenv("REBIND_TEST_BIN"), "v4", strconv.Itoa(old)}, "")
		fmt.Fprintln(os.Stderr, "Exec returned:", err)
		os.Exit(9)
	}
	bin := buildListener(t)
	oldPort, newPort := freePort(t), freePort(t)
	env := baseEnv("REBIND_TEST_EXEC=1", "XDG_RUNTIME_DIR="+t.TempDir(), "LISTENER_TOKEN=exec",
		"REBIND_TEST_BIN="+bin, "REBIND_TEST_OLD="+strconv.Itoa(oldPort), "REBIND_TEST_NEW="+strconv.Itoa(newPort))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := startListener(t, exe, env, "-test.run=^TestExec$")
	want := []string{fmt.Sprintf("127.0.0.1:%d", newPort)}
	if got := l.listening(); !slices.Equal(got, want) {
		t.Fatalf("listener reports %q; want %q (stderr %q)", got, want, l.stderrText())
	}
	if tok := readToken(t, want[0]); tok != "exec" {
		t.Errorf("token %q; want %q", tok, "exec")
	}
}
