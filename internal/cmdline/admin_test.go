package cmdline

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminFlags(t *testing.T) {
	cfg, _, err := parse("--admin-listen", "127.0.0.1:9090", "--admin-token-file", "tok", "6080", "h:1")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("tok")
	if cfg.AdminListen != "127.0.0.1:9090" || cfg.AdminTokenFile != abs {
		t.Errorf("admin: %q %q", cfg.AdminListen, cfg.AdminTokenFile)
	}
	cfg, _, err = parse("--admin-listen=unix:admin.sock", "6080", "h:1")
	if err != nil {
		t.Fatal(err)
	}
	if abs, _ := filepath.Abs("admin.sock"); cfg.AdminListen != "unix:"+abs {
		t.Errorf("unix admin address %q not made absolute", cfg.AdminListen)
	}
	cfg, _, err = parse("--admin-listen=unix:/run/a.sock", "--admin-token-file=/etc/tok", "6080", "h:1")
	if err != nil || len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "no effect") {
		t.Errorf("token file on a unix socket: %v %q; want a warning", err, cfg.Warnings)
	}
	if cfg, _, err := parse("6080", "h:1"); err != nil || cfg.AdminListen != "" {
		t.Errorf("default: %v %q; want no admin listener", err, cfg.AdminListen)
	}
}

func TestAdminFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--admin-listen=", "6080", "h:1"}, "empty address"},
		{[]string{"--admin-listen=9090", "6080", "h:1"}, "want host:port"},
		{[]string{"--admin-listen=localhost:", "6080", "h:1"}, "no port"},
		{[]string{"--admin-listen=localhost:99999", "6080", "h:1"}, "bad port"},
		{[]string{"--admin-listen=unix:", "6080", "h:1"}, "no socket path"},
		{[]string{"--admin-listen=127.0.0.1:6080", "6080", "h:1"}, "public port"},
		{[]string{"--admin-listen=:5901", "5901", "--", "prog"}, "public port"},
		{[]string{"--admin-listen=unix:/tmp/pub.sock", "--unix-listen=/tmp/pub.sock", "h:1"}, "public socket"},
		{[]string{"--admin-token-file=/etc/tok", "6080", "h:1"}, "needs --admin-listen"},
	} {
		_, _, err := parse(tc.args...)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want a usage error with %q", tc.args, err, tc.want)
		}
	}
}
