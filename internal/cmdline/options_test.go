package cmdline

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func parse(args ...string) (*Config, *Rebind, error) {
	return Parse(append([]string{"websockify"}, args...), "test", io.Discard)
}

func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		listen HostPort
		target HostPort
		wrap   []string
		check  func(*Config) string
	}{
		{args: []string{"6080", "localhost:5900"}, listen: HostPort{"", 6080}, target: HostPort{"localhost", 5900}},
		{args: []string{"127.0.0.1:6080", "[::1]:5900"}, listen: HostPort{"127.0.0.1", 6080}, target: HostPort{"::1", 5900}},
		{args: []string{"[::]:6080", "::1:5900"}, listen: HostPort{"::", 6080}, target: HostPort{"::1", 5900}},
		{args: []string{"::1:6080", "h:1"}, listen: HostPort{"::1", 6080}, target: HostPort{"h", 1}},
		{args: []string{":6080", "h:1"}, listen: HostPort{"", 6080}, target: HostPort{"h", 1}},
		{args: []string{"5901", "--wrap-mode=ignore", "--", "vncserver", "-geometry", "1024x768", ":1"},
			listen: HostPort{"", 5901}, wrap: []string{"vncserver", "-geometry", "1024x768", ":1"},
			check: func(c *Config) string {
				if c.WrapMode != "ignore" {
					return "wrap mode " + c.WrapMode
				}
				return ""
			}},
		{args: []string{"2023", "--wrap-mode", "respawn", "--", "telnetd", "-debug", "2023"},
			listen: HostPort{"", 2023}, wrap: []string{"telnetd", "-debug", "2023"}},
		{args: []string{"6080", "h:1", "--run-once", "--heartbeat", "3", "-v"}, listen: HostPort{"", 6080}, target: HostPort{"h", 1},
			check: func(c *Config) string {
				if !c.RunOnce || c.Heartbeat != 3*time.Second || !c.Verbose {
					return "options after positionals were lost"
				}
				return ""
			}},
		{args: []string{"--unix-target=/tmp/s", "6080"}, listen: HostPort{"", 6080},
			check: func(c *Config) string {
				if c.UnixTarget != "/tmp/s" {
					return "unix target " + c.UnixTarget
				}
				return ""
			}},
		{args: []string{"--unix-listen", "/tmp/l", "--unix-listen-mode=660", "h:1"}, target: HostPort{"h", 1},
			check: func(c *Config) string {
				if c.UnixListen != "/tmp/l" || c.UnixMode != 0o660 {
					return "unix listen"
				}
				return ""
			}},
		{args: []string{"--inetd", "h:1"}, target: HostPort{"h", 1}},
		{args: []string{"6080", "h:1"}, listen: HostPort{"", 6080}, target: HostPort{"h", 1},
			check: func(c *Config) string {
				if c.Heartbeat != 30*time.Second {
					return "heartbeat by default " + c.Heartbeat.String() + "; want 30s"
				}
				return ""
			}},
		{args: []string{"6080", "h:1", "--heartbeat", "0"}, listen: HostPort{"", 6080}, target: HostPort{"h", 1},
			check: func(c *Config) string {
				if c.Heartbeat != 0 {
					return "--heartbeat 0 left " + c.Heartbeat.String()
				}
				return ""
			}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, _, err := parse(tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen != tc.listen || c.Target != tc.target || strings.Join(c.Wrap, " ") != strings.Join(tc.wrap, " ") {
				t.Fatalf("got listen %v target %v wrap %q", c.Listen, c.Target, c.Wrap)
			}
			if tc.check != nil {
				if msg := tc.check(c); msg != "" {
					t.Fatal(msg)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{nil, "Too few arguments", true},
		{[]string{"6080"}, "Too few arguments", true},
		{[]string{"x6080", "h:1"}, "Error parsing listen port", true},
		{[]string{"6080", "h"}, "Error parsing target", true},
		{[]string{"6080", "h:x"}, "Error parsing target port", true},
		{[]string{"6080", "h:70000"}, "Error parsing target port", true},
		{[]string{"6080", "h:1", "extra"}, "Too many arguments", true},
		{[]string{"--bogus", "6080", "h:1"}, "no such option: --bogus", true},
		{[]string{"--wrap-mode=sometimes", "6080", "h:1"}, "invalid choice", true},
		{[]string{"--unix-listen=/x", "--unix-listen-mode=9", "h:1"}, "Error parsing listen unix socket mode", true},
		{[]string{"--timeout=-1", "6080", "h:1"}, "must not be negative", true},
		{[]string{"--drain-timeout=-1", "6080", "h:1"}, "--drain-timeout must not be negative", true},
		{[]string{"--drain-timeout=soon", "6080", "h:1"}, "drain-timeout", true},
		{[]string{"--max-frame-size=10", "6080", "h:1"}, "max-frame-size", true},
		{[]string{"6080", "--"}, "No program to wrap", true},
		{[]string{"0", "--", "prog"}, "fixed listen port", true},
		{[]string{"--inetd", "--", "prog"}, "cannot be combined", true},
		{[]string{"--token-plugin=TokenFile", "6080", "h:1"}, "Too many arguments", true},
		{[]string{"--token-source=x", "6080", "h:1"}, "You must use --token-plugin to use --token-source", true},
		{[]string{"--host-token", "6080", "h:1"}, "You must use --token-plugin to use --host-token", true},
		{[]string{"--auth-source=x", "6080", "h:1"}, "You must use --auth-plugin to use --auth-source", true},
		{[]string{"--web=/tmp", "--web-auth", "6080", "h:1"}, "You must use --auth-plugin to use --web-auth", true},
		{[]string{"--token-plugin=TokenFile", "6080", "--", "prog"}, "wrapped program", true},
		{[]string{"--auth-plugin=BasicHTTPAuth", "--web-auth", "6080", "h:1"}, "You must use --web to use --web-auth", true},
		{[]string{"--legacy-syslog", "6080", "h:1"}, "You must use --syslog to use --legacy-syslog", true},
		{[]string{"--syslog=localhost:x", "6080", "h:1"}, "Error parsing syslog port", true},
		{[]string{"--ssl-only", "--cert=/nonexistent.pem", "6080", "h:1"}, "SSL only and /nonexistent.pem not found", true},
		{[]string{"--ssl-version=sslv3", "6080", "h:1"}, "invalid choice", true},
		{[]string{"--ssl-target-insecure", "6080", "h:1"}, "You must use --ssl-target", true},
		{[]string{"--log-format=xml", "6080", "h:1"}, "invalid choice", true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := parse(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want it to contain %q", err, tc.want)
			}
			var ue *UsageError
			if errors.As(err, &ue) != tc.usage {
				t.Fatalf("usage error %v; want %v", errors.As(err, &ue), tc.usage)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	var out strings.Builder
	_, _, err := Parse([]string{"websockify", "--help"}, "1.2.3", &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err %v; want ErrHelp", err)
	}
	for _, want := range []string{"--wrap-mode", "--unix-listen-mode", "--heartbeat", "-- PROGRAM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	out.Reset()
	if _, _, err := Parse([]string{"websockify", "--version"}, "1.2.3", &out); !errors.Is(err, ErrHelp) || !strings.Contains(out.String(), "1.2.3") {
		t.Fatalf("version: %v %q", err, out.String())
	}
}

func TestParseRebind(t *testing.T) {
	_, rb, err := parse("rebind", "5900", "5901", "prog", "-x")
	if err != nil {
		t.Fatal(err)
	}
	if rb.OldPort != 5900 || rb.NewPort != 5901 || strings.Join(rb.Argv, " ") != "prog -x" {
		t.Fatalf("got %+v", rb)
	}
	if _, _, err := parse("rebind", "5900"); err == nil {
		t.Fatal("no error for a short rebind command")
	}
}

// FuzzPositionals checks that address parsing never panics and that what
// it accepts round-trips through String.
func FuzzPositionals(f *testing.F) {
	for _, s := range []string{"6080", "[::1]:5900", "::1:5900", "a:1", ":", "[]:1", "h:99999", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if hp, err := parseTarget(s); err == nil {
			again, err := parseTarget(hp.String())
			if err != nil || again != hp {
				t.Fatalf("%q → %v → %v, %v", s, hp, again, err)
			}
		}
		if hp, err := parseListen(s); err == nil && (hp.Port < 0 || hp.Port > 65535) {
			t.Fatalf("%q → port %d", s, hp.Port)
		}
	})
}

func TestDrainTimeout(t *testing.T) {
	cfg, _, err := parse("--drain-timeout", "300", "6080", "h:1")
	if err != nil || cfg.DrainTimeout != 300*time.Second {
		t.Fatalf("--drain-timeout 300: %v, %v", cfg, err)
	}
	if cfg, _, err = parse("6080", "h:1"); err != nil || cfg.DrainTimeout != 0 {
		t.Fatalf("default: %v, %v", cfg.DrainTimeout, err)
	}
}
