package gateway

import (
	"io"
	"os"

	"github.com/websockify-go/websockify/gateway/internal/core"
	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// The target side of a pollSession: the client's payloads in, and target
// reads out as frames (or through a pipe, splice_linux.go).

func (ps *pollSession) releaseIn() {
	if ps.in != nil {
		ps.sc.putClientBuf(ps.in)
	}
	ps.in = nil
}

// flushTarget writes the client's bytes that the target has not taken yet.
func (ps *pollSession) flushTarget() bool {
	if ps.in == nil || !ps.target.out {
		return false
	}
	_, err := ps.in.writeTo(ps.target.fd)
	switch {
	case err == unix.EAGAIN:
		ps.target.out = false
		if !ps.target.armed {
			ps.armOut(targetSide)
		}
		// The target pushes back: read less from the client from now on,
		// and keep what waits in a small buffer.
		ps.slowTarget = true
		if small := ps.in.shrink(); small != ps.in {
			ps.sc.putClientBuf(ps.in)
			ps.in = small
		}
		return false
	case err == unix.EINTR:
		return true
	case err != nil:
		ps.releaseIn()
		ps.core.TargetWriteFailed(os.NewSyscallError("write", err), ps.l.Now())
		return true
	}
	if !ps.in.pending() {
		ps.releaseIn()
		ps.core.TargetWrote()
	}
	return true
}

// readTarget reads the target and sends each read as one frame, unless a
// frame is still in flight.
func (ps *pollSession) readTarget() bool {
	if ps.core.TargetDone() || !ps.target.in {
		return false
	}
	// Once our close is out or the client is being closed, target bytes
	// are read and dropped.
	drop := ps.core.Dropping()
	switch {
	case ps.pull > 0:
		return ps.pullTarget() // a frame in flight is finished first, even after our close
	case !drop && ps.clientPending():
		return false
	case !drop && ps.splicing:
		return ps.spliceTarget()
	}
	return ps.copyTarget()
}

// copyTarget reads the target into memory and sends the read as one frame.
func (ps *pollSession) copyTarget() bool {
	c := ps.core
	readSize := targetReadSize
	if c.Base64() {
		readSize = targetReadSize / 4 * 3
	}
	bp := ps.sc.targetBuf()
	buf := (*bp)[:core.Headroom+readSize]
	n, err := epoll.Read(ps.target.fd, buf[core.Headroom:])
	switch {
	case err == unix.EAGAIN:
		ps.target.in = false
		return false
	case err == unix.EINTR:
		return true
	case err != nil:
		ps.targetEnded(os.NewSyscallError("read", err))
		return true
	case n == 0:
		ps.targetEnded(io.EOF)
		return true
	case n < readSize && !ps.target.hup:
		ps.target.in = false // drained: more data brings a new edge
	}
	c.TargetReceived(ps.l.Now())
	pool, fb := &bufPool, bp
	var enc []byte
	if c.Base64() {
		pool, fb = &b64Pool, b64Pool.Get().(*[]byte)
		enc = *fb
	}
	frame := c.TargetFrame(buf, n, enc)
	if frame == nil {
		if pool != &bufPool {
			pool.Put(fb)
		}
		return true // dropped, as after a failed write
	}
	if pool == &bufPool {
		ps.sc.tbuf = nil
	}
	ps.tb, ps.tbPool = fb, pool
	ps.tA = cap(*fb) - cap(frame)
	ps.tB = ps.tA + len(frame)
	ps.splicing = ps.canSplice && n >= spliceMin
	ps.flushClient()
	return true
}

// targetEnded stops reading the target; core closes the session.
func (ps *pollSession) targetEnded(err error) {
	if ps.core.TargetEnded(err, ps.l.Now()) {
		ps.ss.logTargetEnd(err)
	}
}
