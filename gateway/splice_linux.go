package gateway

import (
	"io"
	"os"

	"github.com/websockify-go/websockify/gateway/internal/core"
	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// Target → client by splice(2): when the target sends in bulk, its bytes
// go to the client through a pipe without being copied into our memory.
// The pipe receives, for each frame, the header (a small write) and then
// the payload straight from the target socket; then everything in the pipe
// goes to the client with one splice. The frame sizes are the ones the copy
// path produces (at most targetReadSize bytes each), known in advance from
// the bytes waiting in the target socket (SIOCINQ).

// spliceBatch bounds the target bytes put in the pipe at once.
const spliceBatch = 512 << 10

// spliceTarget fills a pipe with frames of the bytes waiting in the target
// socket and starts sending them. With less than spliceMin bytes waiting,
// it falls back to the copy path.
func (ps *pollSession) spliceTarget() bool {
	avail, err := epoll.Inq(ps.target.fd)
	if err != nil || avail < spliceMin {
		ps.splicing = false
		return ps.copyTarget()
	}
	p, err := ps.l.Pipe()
	if err != nil {
		ps.splicing, ps.canSplice = false, false
		return ps.copyTarget()
	}
	ps.pipe, ps.pipeN, ps.pipeFrames = p, 0, 0
	ps.core.TargetReceived(ps.l.Now())
	batch := spliceBatch
	if ps.slowClient {
		batch = targetReadSize // bound what waits in the pipe for a slow client
	}
	for total := 0; avail > 0 && total < batch; {
		n := min(avail, targetReadSize)
		var h [core.Headroom]byte
		hl := ps.core.TargetHeader(h[:], n)
		if hl == 0 {
			break // dropped: the next read drops the rest
		}
		if w, err := epoll.Write(p.W, h[:hl]); err != nil || w < hl {
			break // the pipe is full (a write this small is all or nothing)
		}
		ps.pipeN += hl
		ps.pipeFrames++
		ps.pull = n
		if !ps.pullTarget() || ps.pull > 0 || ps.core.TargetDone() {
			break
		}
		avail -= n
		total += hl + n
	}
	ps.flushClient()
	if !ps.clientPending() {
		ps.slowClient = false // the client took it all at once
	}
	return true
}

// pullTarget moves the rest of the frame being spliced from the target
// into the pipe. It reports whether bytes moved.
func (ps *pollSession) pullTarget() bool {
	m, err := epoll.Splice(ps.target.fd, ps.pipe.W, ps.pull, unix.SPLICE_F_MOVE)
	switch {
	case err == unix.EAGAIN:
		// The socket is empty, or the pipe full (then it drains to the
		// client first).
		if ps.pipeN == 0 {
			ps.target.in = false
		}
		return false
	case err == unix.EINTR:
		return true
	case err != nil || m == 0:
		// The target ended within a frame whose header has gone: the client
		// cannot be given a consistent stream any more.
		if err == nil {
			err = io.ErrUnexpectedEOF
		} else {
			err = os.NewSyscallError("splice", err)
		}
		ps.clientWriteFailed(err)
		ps.targetEnded(err)
		return true
	}
	ps.pipeN += int(m)
	ps.pull -= int(m)
	return true
}

// dropPipe discards the pipe of a session whose client is gone.
func (ps *pollSession) dropPipe() {
	if ps.pipeN > 0 || ps.pull > 0 {
		ps.pipe.Close() // it holds bytes
	}
	ps.pipeN, ps.pipeFrames, ps.pull = 0, 0, 0
}
