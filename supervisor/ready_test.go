//go:build linux

package supervisor

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// readyChan returns an OnReady callback and the channel it reports to.
func readyChan() (func(netip.AddrPort), chan netip.AddrPort) {
	ch := make(chan netip.AddrPort, 16)
	return func(a netip.AddrPort) { ch <- a }, ch
}

func waitReady(t *testing.T, ch chan netip.AddrPort, logs fmt.Stringer) netip.AddrPort {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(15 * time.Second):
		t.Fatalf("program never seen listening; log:\n%s", logs)
		return netip.AddrPort{}
	}
}

func TestReadyOnLoopback(t *testing.T) {
	for _, mode := range []string{"listen", "listen6"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "listen6" && !hasIPv6() {
				t.Skip("no IPv6 loopback")
			}
			p := helperProcess(t, newMarker(t), mode)
			p.Env = append(p.Env, fmt.Sprintf("HELPER_PORT=%d", p.Port))
			log, buf := testLogger(t)
			p.Logger = log
			var ch chan netip.AddrPort
			p.OnReady, ch = readyChan()
			if got, want := p.Addr(), (netip.AddrPort{}); got != want {
				t.Errorf("Addr before Run = %v; want zero", got)
			}
			cancel, wait := runAsync(t, p)
			want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p.Port))
			if mode == "listen6" {
				want = netip.AddrPortFrom(netip.IPv6Loopback(), uint16(p.Port))
			}
			if got := waitReady(t, ch, buf); got != want {
				t.Errorf("OnReady(%v); want %v", got, want)
			}
			if got := p.Addr(); got != want {
				t.Errorf("Addr() = %v; want %v", got, want)
			}
			if !strings.Contains(buf.String(), "wrapped program is listening on "+want.String()) {
				t.Errorf("log lacks the listening line:\n%s", buf)
			}
			cancel()
			if err := wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestForeignListenerIsNotReadiness: a socket on the port that none of our
// processes holds does not count, and the timeout is reported.
func TestForeignListenerIsNotReadiness(t *testing.T) {
	p := helperProcess(t, newMarker(t), "sleep")
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log, buf := testLogger(t)
	p.Logger = log
	p.ReadyTimeout = 300 * time.Millisecond
	var ch chan netip.AddrPort
	p.OnReady, ch = readyChan()
	cancel, wait := runAsync(t, p)
	eventually(t, "the not-listening warning", func() bool {
		return strings.Contains(buf.String(), fmt.Sprintf("is not listening on 127.0.0.1:%d or [::1]:%d after 300ms", p.Port, p.Port))
	})
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-ch:
		t.Errorf("OnReady(%v) for a socket that is not ours", a)
	default:
	}
}

// TestRebindEndToEnd runs the C listener under the real shim: it binds the
// old port and is found on the new one.
func TestRebindEndToEnd(t *testing.T) {
	lib := shimPath(t)
	bin := buildListener(t)
	for _, tc := range []struct {
		mode string
		want []string // dial addresses accepted; %d is the new port
		v6   bool
	}{
		{"v4", []string{"127.0.0.1:%d"}, false},
		{"v6", []string{"[::1]:%d"}, true},
		// The v6 socket is bound first, so either may be seen first.
		{"dual", []string{"127.0.0.1:%d", "[::1]:%d"}, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			if tc.v6 && !hasIPv6() {
				t.Skip("no IPv6 loopback")
			}
			oldPort := freePort(t)
			log, buf := testLogger(t)
			onReady, ch := readyChan()
			marker := newMarker(t)
			p := &Process{
				Argv: []string{bin, tc.mode, itoa(oldPort)},
				Environ: func(port int) []string {
					return append(os.Environ(), marker, "LISTENER_TOKEN=e2e", "LD_PRELOAD="+lib,
						"REBIND_OLD_PORT="+itoa(oldPort), "REBIND_NEW_PORT="+itoa(port))
				},
				Grace:   time.Second,
				Logger:  log,
				OnReady: onReady,
			}
			cancel, wait := runAsync(t, p)
			got := waitReady(t, ch, buf)
			var want []string
			for _, w := range tc.want {
				want = append(want, fmt.Sprintf(w, got.Port()))
			}
			if !slices.Contains(want, got.String()) || int(got.Port()) == oldPort {
				t.Fatalf("ready at %v; want one of %v, on a port other than %d", got, want, oldPort)
			}
			if p.Addr() != got {
				t.Errorf("Addr() = %v; want %v", p.Addr(), got)
			}
			for _, addr := range want {
				var c net.Conn
				eventually(t, "a connection to "+addr, func() bool {
					var err error
					c, err = net.DialTimeout("tcp", addr, 5*time.Second)
					return err == nil
				})
				tok, _ := bufio.NewReader(c).ReadString('\n')
				c.Close()
				if tok != "e2e\n" {
					t.Errorf("token from %s: %q; want %q", addr, tok, "e2e\n")
				}
			}
			if strings.Contains(buf.String(), "cannot be moved") {
				t.Errorf("preload warning for a dynamic program:\n%s", buf)
			}
			cancel()
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			assertNoOrphans(t, marker)
		})
	}
}

// TestPortCollisionRetry: another program takes the picked port between the
// pick and the program's bind. Run notices and starts again on a new port;
// if it keeps happening it gives up with a clear error.
func TestPortCollisionRetry(t *testing.T) {
	for _, always := range []bool{false, true} {
		t.Run(fmt.Sprintf("always=%v", always), func(t *testing.T) {
			marker := newMarker(t)
			p := helperProcess(t, marker, "listen")
			p.Port = 0
			var taken []net.Listener
			var ports []int
			base := p.Env
			p.Environ = func(port int) []string {
				ports = append(ports, port)
				if always || len(ports) == 1 {
					ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
					if err != nil {
						t.Errorf("take port %d: %v", port, err)
					} else {
						taken = append(taken, ln)
					}
				}
				return append(base, fmt.Sprintf("HELPER_PORT=%d", port))
			}
			defer func() {
				for _, ln := range taken {
					ln.Close()
				}
			}()
			log, buf := testLogger(t)
			p.Logger = log
			var ch chan netip.AddrPort
			p.OnReady, ch = readyChan()
			cancel, wait := runAsync(t, p)
			if always {
				err := wait()
				if err == nil || !strings.Contains(err.Error(), "taken by another program 3 times") {
					t.Fatalf("Run = %v; want the give-up error", err)
				}
				if len(ports) != 3 {
					t.Errorf("started %d times (ports %v); want 3", len(ports), ports)
				}
				assertNoOrphans(t, marker)
				return
			}
			got := waitReady(t, ch, buf)
			if len(ports) != 2 || int(got.Port()) != ports[1] || ports[0] == ports[1] {
				t.Errorf("ports %v, ready on %v; want a second, different port", ports, got)
			}
			if !strings.Contains(buf.String(), "retrying on a new port") {
				t.Errorf("log lacks the retry line:\n%s", buf)
			}
			cancel()
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			assertNoOrphans(t, marker)
		})
	}
}
