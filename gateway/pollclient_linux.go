package gateway

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// The client side of a pollSession: frames in, payloads to the target, and
// frames out, in order: the data frame in flight, then control frames.

// clientPending reports whether frames wait to be written to the client.
func (ps *pollSession) clientPending() bool {
	return ps.pipeN > 0 || ps.pull > 0 || ps.tA < ps.tB || len(ps.cout) > 0 || (ps.tls != nil && ps.tls.pending())
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
	for ps.cOut && !ps.clientDead {
		var n, from int
		var err error
		switch {
		case ps.pipeN > 0:
			from = fromPipe
			n, err = nbSplice(ps.pipe.r, ps.cfd, ps.pipeN, unix.SPLICE_F_MOVE)
		case ps.pull > 0:
			return progress // the rest of the frame is still to come from the target
		case ps.tls != nil && ps.tls.pending():
			from = fromTLS
			n, err = ps.tls.flush()
		case ps.tA < ps.tB:
			from = fromTB
			n, err = ps.writeClient((*ps.tb)[ps.tA:ps.tB])
		case len(ps.cout) > 0:
			from = fromCout
			n, err = ps.writeClient(ps.cout)
		default:
			return progress
		}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			ps.cOut = false
			ps.slowClient = true
			if !ps.cOutArmed {
				ps.armOut(false)
			}
			if ps.writeBy.IsZero() {
				ps.writeBy = ps.l.now.Add(ps.ss.srv.writeTimeout())
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
				ps.l.putPipe(ps.pipe)
				for ; ps.pipeFrames > 0; ps.pipeFrames-- {
					ps.frameSent()
				}
			}
		case fromTLS:
			if !ps.tls.pending() && ps.tA == ps.tB && len(ps.cout) == 0 {
				ps.writeBy = time.Time{}
			}
		case fromTB:
			if ps.tA += n; ps.tA == ps.tB {
				ps.releaseTB()
				ps.frameSent()
			}
		default:
			if n < len(ps.cout) {
				ps.cout = ps.cout[:copy(ps.cout, ps.cout[n:])]
			} else {
				ps.cout = ps.cout[:0]
				if cap(ps.cout) > 1024 {
					ps.cout = nil
				}
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
		return nbWrite(ps.cfd, p)
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
	ps.ss.traffic.put("<")
}

func (ps *pollSession) releaseTB() {
	if ps.tb != nil {
		if ps.l.tbuf == nil {
			ps.l.tbuf = ps.tb
		} else {
			bufPool.Put(ps.tb)
		}
	}
	ps.tb, ps.tA, ps.tB = nil, 0, 0
}

// clientWriteFailed drops the client as copyToClient does when a write
// fails: what the target sends from now on is read and discarded.
func (ps *pollSession) clientWriteFailed(err error) {
	if ps.clientDead {
		return
	}
	ps.ss.log.Debug("write to client failed", "err", err)
	ps.clientDead, ps.discard = true, true
	unix.Shutdown(ps.cfd, unix.SHUT_RDWR)
	ps.releaseTB()
	ps.dropPipe()
	if ps.tls != nil {
		ps.tls.release()
	}
	ps.cout, ps.writeBy = nil, time.Time{}
	ps.endClient(err)
}

// readClient reads and parses client frames while the target takes their
// payloads and no control frame waits for the client.
func (ps *pollSession) readClient() bool {
	if ps.clientDone || ps.in != nil || len(ps.cout) > 0 || (!ps.cIn && ps.pending == nil) {
		return false
	}
	ib := ps.l.clientBuf()
	buf := ib.b
	var n int
	if ps.pending != nil {
		n = copy(buf, ps.pending)
		if ps.pending = ps.pending[n:]; len(ps.pending) == 0 {
			ps.pending = nil
		}
	} else {
		if ps.slowTarget {
			buf = buf[:slowReadSize]
		}
		var err error
		if ps.tls != nil {
			n, err = ps.readTLS(buf)
		} else {
			n, err = nbRead(ps.cfd, buf)
		}
		switch {
		case err == unix.EAGAIN:
			ps.cIn = false
			return false
		case err == unix.EINTR:
			return true
		case err != nil:
			if _, ok := err.(unix.Errno); ok {
				err = os.NewSyscallError("read", err)
			}
			ps.endClient(err)
			return true
		case n == 0:
			ps.endClient(ps.fp.eof())
			return true
		case n < len(buf) && !ps.cHup && ps.tls == nil:
			// Drained: more data brings a new edge. (crypto/tls may hold
			// records already read: only a read that would block says a
			// TLS session is drained.)
			ps.cIn = false
		}
		ps.lastRead = ps.l.now
	}

	for off := 0; off < n && !ps.clientDone; {
		what, used, h, data, msgEnd, err := ps.fp.next(buf[off:n])
		off += used
		if err != nil {
			ps.failClient(err)
			break
		}
		switch what {
		case parsedData:
			if len(data) > 0 {
				ib.add(off-len(data), off)
			}
			if msgEnd {
				ps.ss.traffic.put("}")
			}
		case parsedControl:
			if err := ps.handleControl(h, data); err != nil {
				ps.failClient(err)
			}
		}
	}
	if ib.pending() {
		if rec := ps.ss.rec; rec != nil {
			for _, sp := range ib.spans {
				rec.ClientData(buf[sp.a:sp.b])
			}
		}
		ps.in, ps.l.cbuf = ib, nil
		ps.flushTarget()
		if ps.in == nil {
			ps.slowTarget = false // the target took it all at once
		}
	}
	return true
}

// eof is the error for the client's end of stream, as wsutil.Reader
// reports it: unexpected inside a frame or a fragmented message.
func (fp *frameParser) eof() error {
	if fp.in || fp.hdrN > 0 || fp.state.Fragmented() {
		return io.ErrUnexpectedEOF
	}
	return io.EOF
}

// handleControl answers a client control frame as session.handleControl
// does.
func (ps *pollSession) handleControl(h ws.Header, payload []byte) error {
	switch h.OpCode {
	case ws.OpPing:
		if !ps.closeSent {
			ps.queueControl(ws.OpPong, payload)
		}
	case ws.OpClose:
		code, reason, err := parseClose(payload)
		if err != nil {
			return err
		}
		ps.ss.closeCode, ps.ss.closeReason = code, reason
		if !ps.closeSent {
			ps.sendClose(code, reason) // the echo
		}
		return errPeerClosed
	}
	return nil
}

func (ps *pollSession) queueControl(op ws.OpCode, payload []byte) {
	var h [frameHeadroom]byte
	hl := headerLen(len(payload))
	putHeader(h[:hl], op, len(payload))
	ps.cout = append(append(ps.cout, h[:hl]...), payload...)
}

func (ps *pollSession) sendClose(code ws.StatusCode, reason string) {
	var body []byte
	if code != 0 {
		body = ws.NewCloseFrameBody(code, reason[:min(len(reason), ws.MaxControlFramePayloadSize-2)])
	}
	ps.closeSent = true
	if !ps.clientDead && !ps.lingering && !ps.clientClosed {
		ps.queueControl(ws.OpClose, body)
	}
}

// closeWith sends our close frame once and gives the client CloseTimeout
// to answer it, as session.closeWith does.
func (ps *pollSession) closeWith(code ws.StatusCode, reason string) {
	if ps.closeSent {
		return
	}
	ps.sendClose(code, reason)
	if ps.closingBy.IsZero() && !ps.clientDead {
		ps.closingBy = ps.l.now.Add(ps.ss.srv.closeTimeout())
	}
}

// failClient ends reading the client after a bad frame, with the close
// frame the error calls for (session.failRead).
func (ps *pollSession) failClient(err error) {
	if ce := closeErrorFor(err); ce != nil {
		ps.closeWith(ce.code, ce.reason)
		err = ce
	}
	ps.endClient(err)
}

// endClient stops reading client frames; the target is half-closed once it
// has taken what the client sent.
func (ps *pollSession) endClient(err error) {
	if ps.clientDone {
		return
	}
	ps.clientDone = true
	ps.pending = nil
	ps.ss.logEnd(err, ps.closeSent)
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
