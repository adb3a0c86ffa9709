package gateway

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/websockify-go/websockify/gateway/internal/core"
	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// The client side of a pollSession: frames in, payloads to the target, and
// frames out, in order: the data frame in flight, then control frames.

// clientPending reports whether frames wait to be written to the client.
func (ps *pollSession) clientPending() bool {
	return ps.pipeN > 0 || ps.pull > 0 || ps.tA < ps.tB || len(ps.core.Pending()) > 0 || (ps.tls != nil && ps.tls.pending())
}

// flushClient writes the frame in flight, then the queued control frames.
// On a TLS session, frames are sealed into records first, and the records
// are what is written.
func (ps *pollSession) flushClient() (progress bool) {
	const (
		fromPipe = iota
		fromTLS
		fromTB
		fromCout
	)
	for ps.client.out && !ps.core.ClientDead() {
		var n, from int
		var err error
		switch {
		case ps.pipeN > 0:
			from = fromPipe
			n, err = epoll.Splice(ps.pipe.R, ps.client.fd, ps.pipeN, unix.SPLICE_F_MOVE)
		case ps.pull > 0:
			return progress // the rest of the frame is still to come from the target
		case ps.tls != nil && ps.tls.pending():
			from = fromTLS
			n, err = ps.tls.flush()
		case ps.tA < ps.tB:
			from = fromTB
			n, err = ps.writeClient((*ps.tb)[ps.tA:ps.tB])
		case len(ps.core.Pending()) > 0:
			from = fromCout
			n, err = ps.writeClient(ps.core.Pending())
		default:
			return progress
		}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			ps.client.out = false
			ps.slowClient = true
			if !ps.client.armed {
				ps.armOut(clientSide)
			}
			if ps.writeBy.IsZero() {
				ps.writeBy = ps.l.Now().Add(ps.ss.srv.writeTimeout())
			}
			return progress
		case err != nil:
			if _, ok := err.(unix.Errno); ok {
				err = os.NewSyscallError("write", err)
			}
			ps.clientWriteFailed(err)
			return true
		case n == 0:
			ps.clientWriteFailed(io.ErrShortWrite)
			return true
		}
		progress = true
		switch from {
		case fromPipe:
			if ps.pipeN -= n; ps.pipeN == 0 && ps.pull == 0 {
				ps.l.PutPipe(ps.pipe)
				for ; ps.pipeFrames > 0; ps.pipeFrames-- {
					ps.frameSent()
				}
			}
		case fromTLS:
			if !ps.tls.pending() && ps.tA == ps.tB && len(ps.core.Pending()) == 0 {
				ps.writeBy = time.Time{}
			}
		case fromTB:
			if ps.tA += n; ps.tA == ps.tB {
				ps.releaseTB()
				ps.frameSent()
			}
		default:
			ps.core.Sent(n)
			if len(ps.core.Pending()) == 0 {
				ps.writeBy = time.Time{}
			}
		}
	}
	return progress
}

// writeClient writes frame bytes to the client: to its socket, or, on a TLS
// session, into records (which take them all) for the next round.
func (ps *pollSession) writeClient(p []byte) (int, error) {
	if ps.tls == nil {
		return epoll.Write(ps.client.fd, p)
	}
	n, err := ps.tc.Write(p)
	if err != nil {
		return n, &tlsWriteError{err}
	}
	return n, nil
}

// tlsWriteError is crypto/tls refusing a write (after a failure or our
// close_notify).
type tlsWriteError struct{ err error }

func (e *tlsWriteError) Error() string { return "tls: " + e.err.Error() }
func (e *tlsWriteError) Unwrap() error { return e.err }

func (ps *pollSession) frameSent() {
	ps.writeBy = time.Time{}
	ps.core.FrameSent()
}

func (ps *pollSession) releaseTB() {
	switch {
	case ps.tb == nil:
	case ps.tbPool == &bufPool && ps.sc.tbuf == nil:
		ps.sc.tbuf = ps.tb
	default:
		ps.tbPool.Put(ps.tb)
	}
	ps.tb, ps.tbPool, ps.tA, ps.tB = nil, nil, 0, 0
}

// clientWriteFailed drops the client as the goroutine relay does when a
// write fails: what the target sends from now on is read and discarded.
func (ps *pollSession) clientWriteFailed(err error) {
	if ps.core.ClientDead() {
		return
	}
	ps.ss.log.Debug("write to client failed", "err", err)
	ps.core.ClientWriteFailed(err)
	unix.Shutdown(ps.client.fd, unix.SHUT_RDWR)
	ps.releaseTB()
	ps.dropPipe()
	if ps.tls != nil {
		ps.tls.release()
	}
	ps.writeBy = time.Time{}
}

// readClient reads client bytes and hands them to core while the target
// takes their payloads and no control frame waits for the client.
func (ps *pollSession) readClient() bool {
	c := ps.core
	if c.ClientDone() || ps.in != nil || len(c.Pending()) > 0 || (!ps.client.in && ps.pending == nil) {
		return false
	}
	ib := ps.sc.clientBuf()
	const h = core.ClientHeadroom
	buf := ib.b[h:]
	var n int
	if ps.pending != nil {
		n = copy(buf, ps.pending)
		if ps.pending = ps.pending[n:]; len(ps.pending) == 0 {
			ps.pending = nil
		}
	} else {
		if ps.slowTarget {
			buf = buf[:slowReadSize-h]
		}
		var err error
		if ps.tls != nil {
			n, err = ps.readTLS(buf)
		} else {
			n, err = epoll.Read(ps.client.fd, buf)
		}
		switch {
		case err == unix.EAGAIN:
			ps.client.in = false
			return false
		case err == unix.EINTR:
			return true
		case err != nil:
			if _, ok := err.(unix.Errno); ok {
				err = os.NewSyscallError("read", err)
			}
			c.ClientEnded(err)
			return true
		case n == 0:
			c.ClientEnded(io.EOF)
			return true
		case n < len(buf) && !ps.client.hup && ps.tls == nil:
			// Drained: more data brings a new edge. (crypto/tls may hold
			// records already read: only a read that would block says a
			// TLS session is drained.)
			ps.client.in = false
		}
	}
	c.Received(ps.l.Now())
	in := ib.b[:h+n]
	for off := h; off < len(in) && !c.ClientDone(); {
		used, data := c.Client(in, off)
		off += used
		if len(data) > 0 {
			a := cap(in) - cap(data)
			ib.add(a, a+len(data))
		}
	}
	if ib.pending() {
		ps.in, ps.sc.cbuf = ib, nil
		ps.flushTarget()
		if ps.in == nil {
			ps.slowTarget = false // the target took it all at once
		}
	}
	return true
}

// readTLS reads a TLS session's plaintext into buf, up to when the socket
// has no more. It reports EAGAIN when nothing was read and the socket is
// drained, and n == 0 at the end of the stream. An error after some bytes
// is left for the next read: crypto/tls reports it again. Whatever TLS had
// to write meanwhile (alerts, key updates) leaves with the next flush.
func (ps *pollSession) readTLS(buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := ps.tc.Read(buf[n:])
		n += m
		switch {
		case err == nil && m > 0:
			continue
		case n > 0:
		case errors.Is(err, errWouldBlock):
			err = unix.EAGAIN
		case err == io.EOF:
			err = nil
		}
		if ps.tls.pending() {
			ps.flushClient()
		}
		if n > 0 {
			return n, nil
		}
		return 0, err
	}
	return n, nil
}
