package systemd

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenNotify is a NOTIFY_SOCKET for the test, and its messages.
func listenNotify(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	msgs := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return msgs
}

func TestNotifier(t *testing.T) {
	msgs := listenNotify(t)
	n := NewNotifier(slog.New(slog.DiscardHandler))
	if n == nil {
		t.Fatal("no notifier with NOTIFY_SOCKET set")
	}
	pid := strconv.Itoa(os.Getpid())
	n.Ready("serving")
	n.Reloading()
	n.Stopping("draining")
	n.Status("x")
	want := [][]string{{"READY=1", "MAINPID=" + pid, "STATUS=serving"}, {"RELOADING=1", "STATUS=reloading"}, {"STOPPING=1", "STATUS=draining"}, {"STATUS=x"}}
	for _, w := range want {
		got := strings.Split(<-msgs, "\n")
		for _, l := range w {
			if !slices.Contains(got, l) {
				t.Errorf("message %q lacks %q", got, l)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n.Watchdog(ctx, 20*time.Millisecond, 0, func() string { return "ok" })
	if m := <-msgs; m != "WATCHDOG=1\nSTATUS=ok" {
		t.Fatalf("watchdog message %q", m)
	}
}

// TestNilNotifier: out of systemd every call does nothing.
func TestNilNotifier(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := NewNotifier(nil)
	if n != nil {
		t.Fatal("a notifier without NOTIFY_SOCKET")
	}
	n.Ready("x")
	n.Stopping("x")
	n.Watchdog(context.Background(), time.Millisecond, time.Millisecond, func() string { return "" })
}

func TestWatchdogInterval(t *testing.T) {
	self, parent := strconv.Itoa(os.Getpid()), strconv.Itoa(os.Getppid())
	for _, tc := range []struct {
		usec, pid string
		hasParent bool
		want      time.Duration
		err       bool
	}{
		{"", "", false, 0, false},
		{"2000000", "", false, 2 * time.Second, false},
		{"2000000", self, false, 2 * time.Second, false},
		{"2000000", "1", false, 0, false},    // another process's
		{"2000000", parent, false, 0, false}, // the parent's, and we are not its upgrade
		{"2000000", parent, true, 2 * time.Second, false},
		{"x", "", false, 0, true},
		{"0", "", false, 0, true},
		{"1000", "y", false, 0, true},
	} {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		got, err := WatchdogInterval(tc.hasParent)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("USEC=%q PID=%q parent=%v: %v, %v; want %v (error %v)", tc.usec, tc.pid, tc.hasParent, got, err, tc.want, tc.err)
		}
		if tc.want > 0 && os.Getenv("WATCHDOG_PID") != "" {
			t.Errorf("WATCHDOG_PID still set: a new process of an upgrade would not ping")
		}
	}
}

func TestWithoutServiceVars(t *testing.T) {
	got := WithoutServiceVars([]string{"PATH=/bin", "NOTIFY_SOCKET=/run/x", "WATCHDOG_USEC=1", "WATCHDOG_PID=2",
		"LISTEN_FDS=1", "LISTEN_PID=3", "LISTEN_FDNAMES=a", "NOTIFY_SOCKETX=keep", "HOME=/"})
	want := []string{"PATH=/bin", "NOTIFY_SOCKETX=keep", "HOME=/"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q; want %q", got, want)
	}
}
