//go:build linux

package rebind

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPreload(t *testing.T) {
	lib := shimPath(t)
	dynamic := buildListener(t)
	static := buildListener(t, "-static")
	goBin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := []string{"PATH=/bin", "LD_PRELOAD=" + lib}
	tests := []struct {
		name, path string
		env        []string
		want       string // "" means no error
	}{
		{"no preload", static, []string{"PATH=/bin"}, ""},
		{"empty preload", static, []string{"LD_PRELOAD="}, ""},
		{"dynamic", dynamic, env, ""},
		{"static", static, env, "is statically linked"},
		{"go", goBin, env, "is a Go program"},
		{"script of static", script("s1", "#!"+static+" -x\n"), env, "interpreter of"},
		{"script via env", script("s2", "#!/usr/bin/env whatever\n"), env, ""},
		{"script of dynamic", script("s3", "#!"+dynamic+"\n"), env, ""},
		{"not elf", script("s4", "just text"), env, ""},
		{"unreadable preload", dynamic, []string{"LD_PRELOAD=/nonexistent/x.so"}, "cannot read preloaded"},
		{"last preload wins", static, []string{"LD_PRELOAD=" + lib, "LD_PRELOAD="}, ""},
	}
	if os.Geteuid() == 0 {
		suid := filepath.Join(dir, "suid")
		data, _ := os.ReadFile(dynamic)
		if err := os.WriteFile(suid, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(suid, 65534, 65534); err == nil && os.Chmod(suid, os.ModeSetuid|0o755) == nil {
			tests = append(tests, struct {
				name, path string
				env        []string
				want       string
			}{"setuid", suid, env, "is setuid"})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPreload(tc.path, tc.env)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckPreload = %v; want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrPreloadIgnored)):
				t.Errorf("CheckPreload = %v; want ErrPreloadIgnored with %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

func TestCheckPreload32Bit(t *testing.T) {
	lib := shimPath(t)
	bin := buildListener(t, "-m32")
	err := CheckPreload(bin, []string{"LD_PRELOAD=" + lib})
	if err == nil || !strings.Contains(err.Error(), "ELFCLASS32") {
		t.Errorf("CheckPreload = %v; want an ELF class mismatch", err)
	}
}
