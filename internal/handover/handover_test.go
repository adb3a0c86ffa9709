package handover

import (
	"errors"
	"net"
	"testing"
)

// The upgrade itself (a new process) is tested end to end in
// tests/upgrade_test.go; here, what is decided before one is tried.
func TestUpgraderRefusals(t *testing.T) {
	u, err := New() // once per process: tableflip allows one Upgrader
	if err != nil {
		t.Fatal(err)
	}
	defer u.Stop()
	if u.HasParent() {
		t.Fatal("a test process has no parent upgrader")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := u.Pass(ln, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := u.Listener(); got != nil || err != nil {
		t.Fatalf("Listener without a previous process: %v, %v", got, err)
	}
	if err := u.Pass(fakeListener{ln}, nil); err == nil {
		t.Fatal("Pass of a listener without a descriptor: no error")
	}

	u.Refuse("refused in this mode")
	var refused *RefusedError
	if err := u.Upgrade(); !errors.As(err, &refused) || err.Error() != "refused in this mode" {
		t.Fatalf("Upgrade after Refuse: %v", err)
	}
	u.mu.Lock()
	u.refused, u.busy = "", true
	u.mu.Unlock()
	if err := u.Upgrade(); !errors.As(err, &refused) || !errors.Is(err, ErrBusy) {
		t.Fatalf("Upgrade during an upgrade: %v", err)
	}
}

// fakeListener hides the listener's descriptor.
type fakeListener struct{ net.Listener }
