//go:build linux

package supervisor

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
)

func TestParseStat(t *testing.T) {
	p, ok := parseStat(12, []byte("12 (a (weird) name) S 1 12 12 0 -1 4194560 ..."))
	if !ok || p != (procInfo{pid: 12, ppid: 1, pgrp: 12, state: 'S'}) {
		t.Errorf("got %+v, %v", p, ok)
	}
	for _, bad := range []string{"", "12 (x", "12 (x) S", "12 (x) S a b"} {
		if _, ok := parseStat(12, []byte(bad)); ok {
			t.Errorf("parseStat(%q) ok; want failure", bad)
		}
	}
	self, err := readProcs()
	if err != nil {
		t.Fatal(err)
	}
	if me, ok := self[os.Getpid()]; !ok || me.ppid != os.Getppid() {
		t.Errorf("own entry %+v, %v; want ppid %d", me, ok, os.Getppid())
	}
}

func TestDescendants(t *testing.T) {
	procs := map[int]procInfo{
		1: {pid: 1}, 10: {pid: 10, ppid: 1}, 11: {pid: 11, ppid: 10}, 12: {pid: 12, ppid: 11},
		13: {pid: 13, ppid: 10}, 20: {pid: 20, ppid: 1},
	}
	var got []int
	for _, p := range descendants(procs, 10) {
		got = append(got, p.pid)
	}
	slices.Sort(got)
	if want := []int{11, 12, 13}; !slices.Equal(got, want) {
		t.Errorf("descendants of 10: %v; want %v", got, want)
	}
}

func TestParseNetTCP(t *testing.T) {
	word := func(b [4]byte) string { // one address word as the kernel prints it
		return hexWord(binary.NativeEndian.Uint32(b[:]))
	}
	v4 := word([4]byte{127, 0, 0, 1})
	any6 := "00000000000000000000000000000000"
	lo6 := "000000000000000000000000" + word([4]byte{0, 0, 0, 1})
	text := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: " + v4 + ":1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n" +
		"   1: " + v4 + ":1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n" +
		"   2: " + any6 + ":1F90 " + any6 + ":0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1\n" +
		"   3: " + lo6 + ":1F91 " + any6 + ":0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1\n"
	got := parseNetTCP([]byte(text), 8080)
	want := []listenEntry{
		{addr: netip.MustParseAddrPort("127.0.0.1:8080"), inode: 111},
		{addr: netip.MustParseAddrPort("[::]:8080"), inode: 333},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
	if got := parseNetTCP([]byte(text), 8081); len(got) != 1 || got[0].addr != netip.MustParseAddrPort("[::1]:8081") {
		t.Errorf("port 8081: got %v; want [::1]:8081", got)
	}
	if d := dialAddr(want[1]); d != netip.MustParseAddrPort("[::1]:8080") {
		t.Errorf("dialAddr(%v) = %v", want[1], d)
	}
	if d := dialAddr(listenEntry{addr: netip.MustParseAddrPort("0.0.0.0:1")}); d != netip.MustParseAddrPort("127.0.0.1:1") {
		t.Errorf("dialAddr(0.0.0.0:1) = %v", d)
	}
}

func hexWord(v uint32) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&0xF]
		v >>= 4
	}
	return string(b)
}

// TestListenersFindRealSockets checks the netlink and the /proc readers
// against sockets this test opens, inode included.
func TestListenersFindRealSockets(t *testing.T) {
	var lns []net.Listener
	ln4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lns = append(lns, ln4)
	port := ln4.Addr().(*net.TCPAddr).Port
	if hasIPv6() {
		ln6, err := net.Listen("tcp6", net.JoinHostPort("::1", itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln6)
	}
	var want []listenEntry
	for _, ln := range lns {
		defer ln.Close()
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		f.Close()
		want = append(want, listenEntry{addr: netip.MustParseAddrPort(ln.Addr().String()), inode: st.Ino})
	}
	for name, list := range map[string]func(int) ([]listenEntry, error){
		"netlink": diagListeners, "proc": procNetListeners,
	} {
		got, err := list(port)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v; want %v", name, got, want)
		}
	}
}
