package gateway

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loops' system calls on non-blocking descriptors never wait, so
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

func nbRead(fd int, p []byte) (int, error)  { return rawIO(unix.SYS_READ, fd, p) }
func nbWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

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

func nbWritev(fd int, iov []unix.Iovec) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// nbSplice moves up to n bytes between rfd and wfd; SPLICE_F_NONBLOCK is
// added to flags.
func nbSplice(rfd, wfd, n int, flags int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(rfd), 0, uintptr(wfd), 0, uintptr(n), uintptr(flags|unix.SPLICE_F_NONBLOCK))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// nbInq returns how many bytes wait in a socket's receive queue.
func nbInq(fd int) (int, error) {
	var v int32
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCINQ, uintptr(unsafe.Pointer(&v)))
	return int(v), errnoErr(e)
}

// nbEpollWait collects ready events without waiting.
func nbEpollWait(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
