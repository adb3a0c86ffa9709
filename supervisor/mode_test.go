package supervisor

import (
	"errors"
	"flag"
	"strings"
	"syscall"
	"testing"
)

var _ flag.Value = (*Mode)(nil)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeExit, "exit": ModeExit, "ignore": ModeIgnore, "respawn": ModeRespawn} {
		got, err := ParseMode(in)
		if err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Exit", "restart", " exit", "exit "} {
		_, err := ParseMode(bad)
		if err == nil || !strings.Contains(err.Error(), "exit, ignore, respawn") {
			t.Errorf("ParseMode(%q) error %v; want one listing the valid modes", bad, err)
		}
	}
	var m Mode
	if m.String() != "exit" {
		t.Errorf("zero Mode String() = %q; want exit", m.String())
	}
	if err := m.Set("respawn"); err != nil || m != ModeRespawn {
		t.Errorf("Set(respawn): %v, %q", err, m)
	}
}

func TestExitError(t *testing.T) {
	tests := []struct {
		ws         syscall.WaitStatus
		code       int
		sig        syscall.Signal
		status     string
		errContain string
	}{
		{ws: 0, code: 0, status: "exit status 0"},
		{ws: 3 << 8, code: 3, status: "exit status 3"},
		{ws: 255 << 8, code: 255, status: "exit status 255"},
		{ws: 9, code: 137, sig: syscall.SIGKILL, status: "killed by signal 9 (killed)"},
		{ws: 15, code: 143, sig: syscall.SIGTERM, status: "killed by signal 15 (terminated)"},
		{ws: 6 | 0x80, code: 134, sig: syscall.SIGABRT, status: "killed by signal 6 (aborted)"},
	}
	for _, tc := range tests {
		e := newExitError(42, tc.ws)
		if e.Code != tc.code || e.Signal != tc.sig || e.Status() != tc.status || e.Pid != 42 {
			t.Errorf("wait status %#x: got %+v %q; want code %d signal %d %q", int(tc.ws), *e, e.Status(), tc.code, tc.sig, tc.status)
		}
		var coder interface{ ExitCode() int }
		if !errors.As(error(e), &coder) || coder.ExitCode() != tc.code {
			t.Errorf("ExitCode via errors.As: want %d", tc.code)
		}
		if !strings.HasPrefix(e.Error(), "wrapped program ") {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

func TestValidate(t *testing.T) {
	env := func(int) []string { return nil }
	for _, p := range []*Process{
		{},
		{Argv: []string{""}, Port: 1},
		{Argv: []string{"true"}, Port: 1, Mode: "bogus"},
		{Argv: []string{"true"}, Port: 70000},
		{Argv: []string{"true"}},
		{Argv: []string{"no-such-program-websockify-test"}, Environ: env},
	} {
		if err := p.Run(t.Context()); err == nil {
			t.Errorf("Run(%+v) = nil; want an error", p)
		}
	}
}
