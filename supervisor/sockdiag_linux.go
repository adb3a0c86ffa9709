package supervisor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listening sockets are found with NETLINK_SOCK_DIAG, which asks the kernel
// for sockets in LISTEN state only. /proc/net/tcp lists every socket
// (thousands of TIME_WAIT entries on a busy host, tens of milliseconds per
// read), so it is only the fallback.

// Layout of the inet_diag structures (linux/inet_diag.h).
const (
	nlmsgHdrLen    = 16 // struct nlmsghdr
	diagReqLen     = 56 // struct inet_diag_req_v2
	diagMsgLen     = 72 // struct inet_diag_msg
	diagMsgSport   = 4  // offset of id.idiag_sport (big endian)
	diagMsgSrc     = 8  // offset of id.idiag_src[4]
	diagMsgInode   = 68 // offset of idiag_inode
	tcpListenState = 10 // TCP_LISTEN
)

// tcpListeners returns the TCP sockets listening on port (any port when
// port is 0), IPv4 and IPv6.
func tcpListeners(port int) ([]listenEntry, error) {
	out, err := diagListeners(port)
	if err == nil {
		return out, nil
	}
	return procNetListeners(port)
}

// diagListeners asks the kernel for listening TCP sockets over netlink.
func diagListeners(port int) ([]listenEntry, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	var out []listenEntry
	for seq, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		entries, err := diagDump(fd, uint32(seq+1), family, port)
		if err != nil && !(family == unix.AF_INET6 && errors.Is(err, unix.ENOENT)) {
			return nil, err
		}
		out = append(out, entries...)
	}
	return out, nil
}

// diagDump runs one SOCK_DIAG_BY_FAMILY dump for family.
func diagDump(fd int, seq uint32, family uint8, port int) ([]listenEntry, error) {
	ne := binary.NativeEndian
	req := make([]byte, nlmsgHdrLen+diagReqLen)
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	req[nlmsgHdrLen] = family
	req[nlmsgHdrLen+1] = unix.IPPROTO_TCP
	ne.PutUint32(req[nlmsgHdrLen+4:], 1<<tcpListenState)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag request: %w", err)
	}
	var out []listenEntry
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag parse: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := -int32(ne.Uint32(m.Data)); errno != 0 {
						return nil, fmt.Errorf("sock_diag: %w", unix.Errno(errno))
					}
				}
				return out, nil
			}
			if e, ok := parseDiagMsg(m.Data, family, port); ok {
				out = append(out, e)
			}
		}
	}
}

// parseDiagMsg decodes an inet_diag_msg for a socket on port.
func parseDiagMsg(d []byte, family uint8, port int) (listenEntry, bool) {
	if len(d) < diagMsgLen || d[0] != family {
		return listenEntry{}, false
	}
	sport := int(binary.BigEndian.Uint16(d[diagMsgSport:]))
	if port != 0 && sport != port {
		return listenEntry{}, false
	}
	var addr netip.Addr
	if family == unix.AF_INET {
		addr = netip.AddrFrom4([4]byte(d[diagMsgSrc : diagMsgSrc+4]))
	} else {
		addr = netip.AddrFrom16([16]byte(d[diagMsgSrc : diagMsgSrc+16])).Unmap()
	}
	inode := uint64(binary.NativeEndian.Uint32(d[diagMsgInode:]))
	return listenEntry{addr: netip.AddrPortFrom(addr, uint16(sport)), inode: inode}, true
}
