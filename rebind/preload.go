package rebind

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrPreloadIgnored is wrapped by CheckPreload's errors.
var ErrPreloadIgnored = errors.New("LD_PRELOAD will be ignored")

// CheckPreload reports why the dynamic loader would not apply the
// LD_PRELOAD of env to the executable at path, or nil when it finds no
// reason (or env has no LD_PRELOAD). It recognises Go programs (they call
// the kernel directly, never libc's bind), statically linked programs,
// setuid/setgid or file-capability programs that would run in secure
// execution mode, and an ELF class, machine or libc that differs from the
// preloaded library's. A "#!" script is judged by its interpreter (one
// level, `env` excepted). The error wraps ErrPreloadIgnored and is one line.
// A nil result is no guarantee: a wrapper script may still exec a static
// program; only readiness on the new port proves the shim worked.
func CheckPreload(path string, env []string) error {
	preload := lastEnv(env, "LD_PRELOAD")
	if strings.TrimSpace(preload) == "" {
		return nil
	}
	if interp := scriptInterpreter(path); interp != "" && filepath.Base(interp) != "env" {
		if err := checkExecutable(interp, preload); err != nil {
			return fmt.Errorf("%w: interpreter of %s: %w", ErrPreloadIgnored, path, err)
		}
		return nil
	}
	if err := checkExecutable(path, preload); err != nil {
		return fmt.Errorf("%w: %w", ErrPreloadIgnored, err)
	}
	return nil
}

func checkExecutable(path, preload string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil // Run reports a missing program itself
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if fi.Mode()&os.ModeSetuid != 0 && int(st.Uid) != os.Getuid() {
			return fmt.Errorf("%s is setuid (owner uid %d); the loader ignores LD_PRELOAD paths in secure-execution mode", path, st.Uid)
		}
		if fi.Mode()&os.ModeSetgid != 0 && int(st.Gid) != os.Getgid() {
			return fmt.Errorf("%s is setgid (group gid %d); the loader ignores LD_PRELOAD paths in secure-execution mode", path, st.Gid)
		}
	}
	if hasFileCaps(path) && os.Geteuid() != 0 {
		return fmt.Errorf("%s has file capabilities; the loader ignores LD_PRELOAD paths in secure-execution mode", path)
	}
	if _, err := buildinfo.ReadFile(path); err == nil {
		return fmt.Errorf("%s is a Go program; Go does not call libc's bind", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil // not ELF: nothing to say
	}
	defer f.Close()
	interp := elfInterp(f)
	if interp == "" {
		return fmt.Errorf("%s is statically linked", path)
	}
	for _, lib := range strings.FieldsFunc(preload, func(r rune) bool { return r == ':' || r == ' ' }) {
		if err := compatible(path, f, interp, lib); err != nil {
			return err
		}
	}
	return nil
}

// compatible checks that the loader can load lib into the program f.
func compatible(path string, f *elf.File, interp, lib string) error {
	l, err := elf.Open(lib)
	if err != nil {
		return fmt.Errorf("cannot read preloaded %s: %w", lib, err)
	}
	defer l.Close()
	if l.Class != f.Class || l.Machine != f.Machine {
		return fmt.Errorf("%s is %v %v but %s is %v %v", path, f.Class, f.Machine, lib, l.Class, l.Machine)
	}
	needed, _ := l.ImportedLibraries()
	glibc := false
	for _, n := range needed {
		glibc = glibc || n == "libc.so.6"
	}
	if glibc && strings.Contains(filepath.Base(interp), "musl") {
		return fmt.Errorf("%s uses musl libc (%s) but %s is built for glibc", path, interp, lib)
	}
	return nil
}

// elfInterp returns the PT_INTERP path, "" for a static executable.
func elfInterp(f *elf.File) string {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "?"
			}
			return string(bytes.TrimRight(b, "\x00"))
		}
	}
	return ""
}

// scriptInterpreter returns the absolute interpreter of a "#!" script.
func scriptInterpreter(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	line, ok := bytes.CutPrefix(buf[:n], []byte("#!"))
	if !ok {
		return ""
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
		return ""
	}
	return fields[0]
}

// lastEnv returns the last value of key in env, as the loader reads it.
func lastEnv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
