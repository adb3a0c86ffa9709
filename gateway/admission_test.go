package gateway

import (
	"fmt"
	"net"
	"slices"
	"testing"
)

// addrConn is a net.Conn with only a remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c *addrConn) RemoteAddr() net.Addr { return c.remote }

func tcpConn(s string) *addrConn {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return &addrConn{remote: a}
}

func TestAdmissionPerClientShedsItsOwnOldest(t *testing.T) {
	a := newAdmission(PendingLimits{Global: 100, PerClient: 2})
	x1, x2, x3 := tcpConn("10.0.0.1:1"), tcpConn("10.0.0.1:2"), tcpConn("10.0.0.1:3")
	y := tcpConn("10.0.0.2:1")
	for _, c := range []net.Conn{x1, y, x2} {
		if v := a.admit(c); len(v) != 0 {
			t.Fatalf("admit %v shed %v", c.RemoteAddr(), v)
		}
	}
	if v := a.admit(x3); !slices.Equal(v, []net.Conn{x1}) {
		t.Fatalf("shed %v; want the client's oldest", v)
	}
	a.done(x2) // upgraded
	if v := a.admit(tcpConn("10.0.0.1:4")); len(v) != 0 {
		t.Fatalf("shed %v after one finished", v)
	}
	if a.shed.Load() != 1 {
		t.Fatalf("shed count %d", a.shed.Load())
	}
}

func TestAdmissionGlobalShedsOldest(t *testing.T) {
	a := newAdmission(PendingLimits{Global: 3, PerClient: -1})
	cs := []net.Conn{tcpConn("10.0.0.1:1"), tcpConn("10.0.0.2:1"), tcpConn("10.0.0.3:1")}
	for _, c := range cs {
		a.admit(c)
	}
	if v := a.admit(tcpConn("10.0.0.4:1")); !slices.Equal(v, cs[:1]) {
		t.Fatalf("shed %v; want the oldest", v)
	}
	a.done(cs[0]) // already gone: harmless
	a.done(cs[1])
	if v := a.admit(tcpConn("10.0.0.5:1")); len(v) != 0 {
		t.Fatalf("shed %v with room", v)
	}
}

func TestAdmissionClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"10.1.2.3:80":                "10.1.2.3",
		"[::ffff:10.1.2.3]:80":       "10.1.2.3",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2::9]:1":        "2001:db8:1:2::/64",
	} {
		if got := clientKey(tcpConn(addr), nil); got != want {
			t.Errorf("clientKey(%s) = %q; want %q", addr, got, want)
		}
	}
	u := &addrConn{remote: &net.UnixAddr{Name: "@", Net: "unix"}}
	if got := clientKey(u, nil); got != "" {
		t.Errorf("unix client key %q", got)
	}
}

func TestAdmissionDefaults(t *testing.T) {
	a := newAdmission(PendingLimits{})
	if a == nil || a.global < 16 || a.perClient < 8 {
		t.Fatalf("defaults %+v", a)
	}
	if newAdmission(PendingLimits{Global: -1, PerClient: -1}) != nil {
		t.Fatal("no caps asked, caps made")
	}
}

// TestAdmissionTrustedProxyOnlyGlobal: a trusted proxy carries many
// clients' connections: the per-client cap does not count them.
func TestAdmissionTrustedProxyOnlyGlobal(t *testing.T) {
	a := newAdmission(PendingLimits{Global: 10, PerClient: 2})
	a.trusted = trusted(t, "10.0.0.1")
	for i := range 5 {
		if v := a.admit(tcpConn(fmt.Sprintf("10.0.0.1:%d", i+1))); len(v) != 0 {
			t.Fatalf("connection %d from the trusted proxy shed %v", i+1, v)
		}
	}
	a.admit(tcpConn("10.0.0.2:1"))
	a.admit(tcpConn("10.0.0.2:2"))
	if v := a.admit(tcpConn("10.0.0.2:3")); len(v) != 1 {
		t.Fatalf("an untrusted client's third connection shed %v; want its oldest", v)
	}
}
