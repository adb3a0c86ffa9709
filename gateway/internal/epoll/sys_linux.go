package epoll

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System calls on non-blocking descriptors, for event loops. They never wait, so
// they are made without telling the scheduler (RawSyscall): a loop keeps
// its P, and sysmon does not hand the P to another thread, and wake one,
// when a call such as a loopback write (which delivers to the peer
// before it returns) takes more than 20 µs. Blocking calls (close, shutdown
// with lingering, epoll_wait with a timeout) keep the usual wrappers.

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Read is read(2): -1 with the error, as x/sys returns.
func Read(fd int, p []byte) (int, error) { return rawIO(unix.SYS_READ, fd, p) }

// Write is write(2): -1 with the error, as x/sys returns.
func Write(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2); -1 with the error, as x/sys returns.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// Writev is writev(2).
func Writev(fd int, iov []unix.Iovec) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Splice moves up to n bytes between rfd and wfd; SPLICE_F_NONBLOCK is
// added to flags.
func Splice(rfd, wfd, n int, flags int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(rfd), 0, uintptr(wfd), 0, uintptr(n), uintptr(flags|unix.SPLICE_F_NONBLOCK))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// Inq returns how many bytes wait in a socket's receive queue.
func Inq(fd int) (int, error) {
	var v int32
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCINQ, uintptr(unsafe.Pointer(&v)))
	return int(v), errnoErr(e)
}

// epollWait collects ready events without waiting.
func epollWait(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Connect starts connecting the non-blocking socket fd to ap. It is a
// raw system call, which the scheduler does not watch: on loopback,
// connect completes the handshake before it returns, which can take long
// enough for sysmon to hand the P to another thread.
func Connect(fd int, ap netip.AddrPort) error {
	var sa unsafe.Pointer
	var n uintptr
	port := ap.Port()
	if ap.Addr().Is4() {
		sa4 := &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], port)
		sa, n = unsafe.Pointer(sa4), unix.SizeofSockaddrInet4
	} else {
		sa6 := &unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa6.Port))[:], port)
		sa, n = unsafe.Pointer(sa6), unix.SizeofSockaddrInet6
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa), n)
	return errnoErr(e)
}
