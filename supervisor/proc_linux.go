package supervisor

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// procInfo is one line of /proc/PID/stat, reduced to what we use.
type procInfo struct {
	pid, ppid, pgrp int
	state           byte // R, S, D, Z, T, ...
}

func (p procInfo) live() bool { return p.state != 'Z' && p.state != 'X' }

// readProcs returns a snapshot of every process in /proc. Processes that
// vanish while it reads are skipped.
func readProcs() (map[int]procInfo, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	procs := make(map[int]procInfo, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		if p, ok := parseStat(pid, data); ok {
			procs[pid] = p
		}
	}
	return procs, nil
}

// parseStat parses "pid (comm) state ppid pgrp ..."; comm may hold spaces
// and parentheses, so the fields start after the last ')'.
func parseStat(pid int, data []byte) (procInfo, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return procInfo{}, false
	}
	return procInfo{pid: pid, ppid: ppid, pgrp: pgrp, state: f[0][0]}, true
}

// descendants returns every process below root in the snapshot, root
// excluded, parents before children.
func descendants(procs map[int]procInfo, root int) []procInfo {
	children := make(map[int][]procInfo)
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []procInfo
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if c.pid != root {
				out = append(out, c)
				queue = append(queue, c.pid)
			}
		}
	}
	return out
}

// socketInodes returns the inodes of the sockets that pids have open.
// complete is false when some process's fds could not be read (another
// user's process), so a socket may be missing.
func socketInodes(pids []int) (inodes map[uint64]bool, complete bool) {
	inodes = make(map[uint64]bool)
	complete = true
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		d, err := os.Open(dir)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				complete = false
			}
			continue
		}
		names, _ := d.Readdirnames(-1)
		d.Close()
		for _, n := range names {
			link, err := os.Readlink(dir + "/" + n)
			if s, ok := strings.CutPrefix(link, "socket:["); ok && err == nil {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
					inodes[ino] = true
				}
			}
		}
	}
	return inodes, complete
}

// listenEntry is a TCP socket in LISTEN state.
type listenEntry struct {
	addr  netip.AddrPort // local address, v4-mapped addresses unmapped
	inode uint64
}

// procNetListeners returns the sockets listening on port, from
// /proc/net/tcp and /proc/net/tcp6 (a missing file, as without IPv6, is
// skipped).
func procNetListeners(port int) ([]listenEntry, error) {
	var out []listenEntry
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		out = append(out, parseNetTCP(data, port)...)
	}
	return out, nil
}

// tcpListen is the kernel's TCP_LISTEN state as /proc/net/tcp prints it.
const tcpListen = "0A"

// parseNetTCP parses /proc/net/tcp{,6} text for listeners on port (any
// port when port is 0). Addresses are hex words in
// host byte order; the port is a plain hex number.
func parseNetTCP(data []byte, port int) []listenEntry {
	var out []listenEntry
	portHex := fmt.Sprintf(":%04X ", port) // cheap filter before splitting fields
	lines := strings.Split(string(data), "\n")
	for _, line := range lines[min(1, len(lines)):] {
		if port != 0 && !strings.Contains(line, portHex) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		hexAddr, hexPort, ok := strings.Cut(f[1], ":")
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if !ok || err != nil || (port != 0 && int(p) != port) {
			continue
		}
		raw, err := hex.DecodeString(hexAddr)
		if err != nil || (len(raw) != 4 && len(raw) != 16) {
			continue
		}
		for i := 0; i < len(raw); i += 4 {
			binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
		}
		addr, _ := netip.AddrFromSlice(raw)
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, listenEntry{addr: netip.AddrPortFrom(addr.Unmap(), uint16(p)), inode: inode})
	}
	return out
}

// dialAddr returns the address to dial a listener on: the loopback of its
// family for a wildcard bind, else its own address.
func dialAddr(e listenEntry) netip.AddrPort {
	a := e.addr.Addr()
	switch {
	case a.Is4() && a.IsUnspecified():
		a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case a.Is6() && a.IsUnspecified():
		a = netip.IPv6Loopback()
	}
	return netip.AddrPortFrom(a, e.addr.Port())
}
