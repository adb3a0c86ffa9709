package gateway

import (
	"io"
	"os"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// The target side of a pollSession: the client's payloads in, and target
// reads out as frames (or through a pipe, splice_linux.go).

func (ps *pollSession) releaseIn() {
	if ps.in != nil {
		ps.l.putClientBuf(ps.in)
	}
	ps.in = nil
}

// flushTarget writes the client's bytes that the target has not taken yet.
func (ps *pollSession) flushTarget() bool {
	if ps.in == nil || !ps.tOut {
		return false
	}
	_, err := ps.in.writeTo(ps.tfd)
	switch {
	case err == unix.EAGAIN:
		ps.tOut = false
		if !ps.tOutArmed {
			ps.armOut(true)
		}
		// The target pushes back: read less from the client from now on,
		// and keep what waits in a small buffer.
		ps.slowTarget = true
		if small := ps.in.shrink(); small != ps.in {
			ps.l.putClientBuf(ps.in)
			ps.in = small
		}
		return false
	case err == unix.EINTR:
		return true
	case err != nil:
		ps.releaseIn()
		ps.closeWith(ws.StatusInternalServerError, "Target connection failed")
		ps.endClient(&targetError{os.NewSyscallError("write", err)})
		return true
	}
	if !ps.in.pending() {
		ps.releaseIn()
		ps.ss.traffic.put(">")
	}
	return true
}

// readTarget reads the target and sends each read as one frame, unless a
// frame is still in flight.
func (ps *pollSession) readTarget() bool {
	if ps.targetDone || !ps.tIn {
		return false
	}
	// Once our close is out or the client is being closed, target bytes
	// are read and dropped.
	drop := ps.discard || ps.closeSent || ps.lingering || ps.clientClosed
	switch {
	case ps.pull > 0:
		return ps.pullTarget() // a frame in flight is finished first, even after our close

	case !drop && ps.clientPending():
		return false
	case !drop && ps.splicing:
		return ps.spliceTarget()
	}
	return ps.copyTarget(drop)
}

// copyTarget reads the target into memory and sends the read as one frame.
func (ps *pollSession) copyTarget(drop bool) bool {
	bp := ps.l.targetBuf()
	buf := (*bp)[:frameHeadroom+targetReadSize]
	n, err := nbRead(ps.tfd, buf[frameHeadroom:])
	switch {
	case err == unix.EAGAIN:
		ps.tIn = false
		return false
	case err == unix.EINTR:
		return true
	case err != nil:
		ps.targetEnded(os.NewSyscallError("read", err))
		return true
	case n == 0:
		ps.targetEnded(io.EOF)
		return true
	case n < targetReadSize && !ps.tHup:
		ps.tIn = false // drained: more data brings a new edge
	}
	if drop {
		ps.discard = true // as copyToClient after a failed write
		return true
	}
	ps.ss.traffic.put("{")
	if rec := ps.ss.rec; rec != nil {
		rec.TargetData(buf[frameHeadroom : frameHeadroom+n])
	}
	start := frameHeadroom - headerLen(n)
	putHeader(buf[start:frameHeadroom], ws.OpBinary, n)
	ps.tb, ps.l.tbuf, ps.tA, ps.tB = bp, nil, start, frameHeadroom+n
	ps.splicing = ps.canSplice && n >= spliceMin
	ps.flushClient()
	return true
}

// targetEnded stops reading the target, closing the session as
// copyToClient does.
func (ps *pollSession) targetEnded(err error) {
	if ps.targetDone {
		return
	}
	ps.targetDone = true
	if ps.discard {
		return
	}
	name := ps.ss.endpoint.String()
	if err == io.EOF {
		ps.ss.log.Debug(name + ": Target closed connection")
		ps.closeWith(ws.StatusNormalClosure, "Target closed")
	} else {
		ps.ss.log.Info(name+": Target connection failed", "err", err)
		ps.closeWith(ws.StatusInternalServerError, "Target connection failed")
	}
}
