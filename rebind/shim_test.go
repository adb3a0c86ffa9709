package rebind

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// These tests run tests/testdata/listener.c with the embedded rebind.so and
// check where its sockets end up: from the listener's own getsockname
// report, from /proc/net/tcp{,6}, and by reading the token it sends.

func TestShimMovesIPv4AnyToLoopback(t *testing.T) {
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	env := Env(baseEnv("LISTENER_TOKEN=v4-token"), lib, oldPort, newPort)
	l := startListener(t, bin, env, "v4", strconv.Itoa(oldPort))
	want := []string{fmt.Sprintf("127.0.0.1:%d", newPort)}
	if got := l.listening(); !slices.Equal(got, want) {
		t.Fatalf("listener reports %q; want %q (stderr %q)", got, want, l.stderrText())
	}
	if got := procListeners(t, newPort); !slices.Equal(got, []netip.AddrPort{netip.MustParseAddrPort(want[0])}) {
		t.Errorf("/proc/net shows %v on port %d; want only %s", got, newPort, want[0])
	}
	if got := procListeners(t, oldPort); len(got) != 0 {
		t.Errorf("/proc/net shows %v on the old port %d; want nothing", got, oldPort)
	}
	if tok := readToken(t, want[0]); tok != "v4-token" {
		t.Errorf("token %q; want %q", tok, "v4-token")
	}
}

func TestShimMovesIPv6ToLoopback(t *testing.T) {
	needIPv6(t)
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	for _, addr := range []string{"::", "::1", "::ffff:0.0.0.0"} {
		t.Run(addr, func(t *testing.T) {
			env := Env(baseEnv("LISTENER_TOKEN=v6-token"), lib, oldPort, newPort)
			l := startListener(t, bin, env, "v6", strconv.Itoa(oldPort), addr)
			want := []string{fmt.Sprintf("[::1]:%d v6only=1", newPort)}
			if got := l.listening(); !slices.Equal(got, want) {
				t.Fatalf("listener reports %q; want %q (stderr %q)", got, want, l.stderrText())
			}
			dial := net.JoinHostPort("::1", strconv.Itoa(newPort))
			if got := procListeners(t, newPort); !slices.Equal(got, []netip.AddrPort{netip.MustParseAddrPort(dial)}) {
				t.Errorf("/proc/net shows %v; want only %s", got, dial)
			}
			if tok := readToken(t, dial); tok != "v6-token" {
				t.Errorf("token %q; want %q", tok, "v6-token")
			}
			// IPV6_V6ONLY keeps the v4 side of the port free.
			if c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", newPort)); err == nil {
				c.Close()
				t.Errorf("127.0.0.1:%d accepts connections; want it unused", newPort)
			}
		})
	}
}

func TestShimDualStackBothStart(t *testing.T) {
	needIPv6(t)
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	env := Env(baseEnv("LISTENER_TOKEN=dual"), lib, oldPort, newPort)
	l := startListener(t, bin, env, "dual", strconv.Itoa(oldPort))
	want := []string{
		fmt.Sprintf("[::1]:%d v6only=1", newPort),
		fmt.Sprintf("127.0.0.1:%d", newPort),
	}
	if got := l.listening(); !slices.Equal(got, want) {
		t.Fatalf("listener reports %q; want %q (stderr %q)", got, want, l.stderrText())
	}
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", newPort), fmt.Sprintf("[::1]:%d", newPort)} {
		if tok := readToken(t, addr); tok != "dual" {
			t.Errorf("token from %s: %q; want %q", addr, tok, "dual")
		}
	}
	if got := len(procListeners(t, newPort)); got != 2 {
		t.Errorf("%d sockets listen on port %d; want 2", got, newPort)
	}
}

func TestShimPassesThrough(t *testing.T) {
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort, otherPort := freePort(t), freePort(t), freePort(t)
	env := Env(baseEnv(), lib, oldPort, newPort)

	t.Run("other port", func(t *testing.T) {
		l := startListener(t, bin, env, "v4", strconv.Itoa(otherPort))
		want := []string{fmt.Sprintf("0.0.0.0:%d", otherPort)}
		if got := l.listening(); !slices.Equal(got, want) {
			t.Fatalf("listener reports %q; want %q", got, want)
		}
	})
	t.Run("specific address other port", func(t *testing.T) {
		l := startListener(t, bin, env, "v4", strconv.Itoa(otherPort), "127.0.0.2")
		want := []string{fmt.Sprintf("127.0.0.2:%d", otherPort)}
		if got := l.listening(); !slices.Equal(got, want) {
			t.Fatalf("listener reports %q; want %q", got, want)
		}
	})
	t.Run("port 0", func(t *testing.T) {
		l := startListener(t, bin, env, "v4", "0")
		got := l.listening()
		if len(got) != 1 || !strings.HasPrefix(got[0], "0.0.0.0:") || got[0] == fmt.Sprintf("0.0.0.0:%d", newPort) {
			t.Fatalf("listener reports %q; want 0.0.0.0 on a kernel-chosen port", got)
		}
	})
}

func TestShimInvalidEnvDisables(t *testing.T) {
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	old, nw := strconv.Itoa(oldPort), strconv.Itoa(newPort)
	tests := []struct {
		name     string
		old, new string // "-" leaves the variable unset
		warns    bool
	}{
		{"new not a number", old, "abc", true},
		{"new trailing junk", old, nw + "x", true},
		{"new empty", old, "", true},
		{"new zero", old, "0", true},
		{"new too large", old, "65536", true},
		{"new negative", old, "-" + nw, true},
		{"old leading space", " " + old, nw, true},
		{"old plus sign", "+" + old, nw, true},
		{"old huge", "99999999999999999999", nw, true},
		{"old unset", "-", nw, false},
		{"both unset", "-", "-", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv("LD_PRELOAD=" + lib)
			if tc.old != "-" {
				env = append(env, EnvOldPort+"="+tc.old)
			}
			if tc.new != "-" {
				env = append(env, EnvNewPort+"="+tc.new)
			}
			l := startListener(t, bin, env, "v4", old)
			want := []string{"0.0.0.0:" + old}
			if got := l.listening(); !slices.Equal(got, want) {
				t.Fatalf("listener reports %q; want %q (shim should be disabled)", got, want)
			}
			stderr := l.stderrText()
			if n := strings.Count(stderr, "rebind: "); (n == 1) != tc.warns || n > 1 {
				t.Errorf("stderr has %d rebind lines (%q); want warning=%v, at most one", n, stderr, tc.warns)
			}
		})
	}
}

func TestShimPreservesErrno(t *testing.T) {
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", newPort))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := startListener(t, bin, Env(baseEnv(), lib, oldPort, newPort), "v4", strconv.Itoa(oldPort))
	<-l.done
	wantErr := fmt.Sprintf("bind 0.0.0.0:%d: %s (errno %d)", oldPort, syscall.EADDRINUSE.Error(), int(syscall.EADDRINUSE))
	if code := exitCode(l.err); code != 3 || !strings.Contains(strings.ToLower(l.stderrText()), wantErr) {
		t.Fatalf("exit %d, stderr %q; want exit 3 and %q", code, l.stderrText(), wantErr)
	}
}

// TestShimSameFamilyTwice pins the documented rule: two binds of one family
// on the old port meet on one loopback address, and the second gets
// EADDRINUSE.
func TestShimSameFamilyTwice(t *testing.T) {
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	l := startListener(t, bin, Env(baseEnv(), lib, oldPort, newPort), "twice", strconv.Itoa(oldPort))
	<-l.done
	wantErr := fmt.Sprintf("bind 127.0.0.1:%d: %s", oldPort, syscall.EADDRINUSE.Error())
	if code := exitCode(l.err); code != 3 || !strings.Contains(strings.ToLower(l.stderrText()), wantErr) {
		t.Fatalf("exit %d, stderr %q; want exit 3 and %q", code, l.stderrText(), wantErr)
	}
}

// TestShimInheritedThroughShell shows that descendants are rebound too: the
// shim does not remove itself from the environment.
func TestShimInheritedThroughShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	bin, lib := buildListener(t), shimPath(t)
	oldPort, newPort := freePort(t), freePort(t)
	env := Env(baseEnv("LISTENER_TOKEN=via-sh"), lib, oldPort, newPort)
	// Not exec: the listener is a grandchild of sh's parent.
	l := startListener(t, sh, env, "-c", fmt.Sprintf("%s v4 %d; exit $?", bin, oldPort))
	want := []string{fmt.Sprintf("127.0.0.1:%d", newPort)}
	if got := l.listening(); !slices.Equal(got, want) {
		t.Fatalf("listener reports %q; want %q", got, want)
	}
	if tok := readToken(t, want[0]); tok != "via-sh" {
		t.Errorf("token %q; want %q", tok, "via-sh")
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
