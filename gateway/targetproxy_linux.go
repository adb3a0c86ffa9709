package gateway

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// writeSocket writes all of p to the connected non-blocking socket fd,
// waiting (up to deadline) when its buffer is full; a fresh connection's
// is empty, and a PROXY header fits.
func writeSocket(fd int, p []byte, deadline time.Time) error {
	for len(p) > 0 {
		n, err := ignoringEINTR(func() (int, error) { return unix.Write(fd, p) })
		switch {
		case err == unix.EAGAIN:
			wait := time.Until(deadline)
			if wait <= 0 {
				return fmt.Errorf("write PROXY header: %w", os.ErrDeadlineExceeded)
			}
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(pfd, int(wait/time.Millisecond)+1); err != nil && err != unix.EINTR {
				return fmt.Errorf("write PROXY header: %w", err)
			}
			continue
		case err != nil:
			return fmt.Errorf("write PROXY header: %w", err)
		}
		p = p[n:]
	}
	return nil
}
