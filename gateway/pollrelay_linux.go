package gateway

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// pollSession is a session relayed by an event loop: non-blocking reads and
// writes on its two sockets when epoll says they are ready. It keeps the
// goroutine relay's behaviour (relay.go): the same frame rules, close codes,
// log lines, traffic characters, recorder calls, deadlines and half-close
// order. Every field is owned by the loop's goroutine, except l and ss,
// which are set before the loop sees the session and never change.
//
// An idle session holds no buffer: input is read into the loop's scratch
// buffers and a session takes one only while the other side cannot take
// its bytes. That also bounds a session's memory under a flood: at most one
// buffer of client bytes for the target and one frame (a buffer, or a pipe
// in splice mode) for the client, plus queued control frames, which the
// client must read before more of its input is read.
type pollSession struct {
	ss       *session
	l        *loop
	slot     int32
	gen      uint32
	cfd, tfd int // the client's and the target's sockets, duplicated from their net.Conns
	marked   bool
	done     bool

	cOutArmed, tOutArmed bool // EPOLLOUT is registered (after the first EAGAIN)

	// Readiness remembered from edge-triggered events until EAGAIN. A
	// short read also ends readability, unless the peer's FIN (or an error)
	// has been seen: its event has then been consumed already, and only
	// another read reports it.
	cIn, cOut, tIn, tOut bool
	cHup, tHup           bool

	// client → target
	fp         frameParser
	pending    []byte // client bytes read along with the handshake
	in         *inBuf // holds target-bound bytes not yet written, or nil
	clientDone bool   // client frames are no longer read
	targetShut bool   // the target has been half-closed

	// target → client: at most one data frame in flight, then cout.
	tb           *[]byte // holds the data frame being written, or nil
	tA, tB       int
	canSplice    bool // both sockets TCP and nothing to record
	splicing     bool // target bytes go to the client through pipe (splice.go)
	pipe         pipePair
	pipeN        int    // frame bytes in pipe: headers and payloads
	pipeFrames   int    // whole frames in pipe
	pull         int    // payload bytes of the last frame in pipe still in the target socket
	cout         []byte // control frames, written after the data frame
	targetDone   bool   // the target is no longer read
	discard      bool   // target bytes are dropped: the client failed or we closed
	closeSent    bool
	clientDead   bool // a write to the client failed
	lingering    bool // the client side is done: waiting for the client's FIN
	lingerLeft   int
	clientClosed bool // the client's socket is closed (cfd is -1)

	// Deadlines, zero when not set.
	lastRead, nextPing, closingBy, writeBy, drainBy, lingerBy time.Time
	timer                                                     *time.Timer
	timerAt                                                   time.Time
}

// stepRounds bounds the work of one session per loop iteration, so that
// a busy session cannot starve the others on its loop: each round moves at
// most one buffer each way.
const stepRounds = 4

// spliceMin is the target read size from which the target's bytes go to
// the client by splice(2): below it, read and write are cheaper.
const spliceMin = 32 << 10

// errTimedOut stands for a passed deadline, as a net.Conn reports one.
var errTimedOut = os.ErrDeadlineExceeded

// relayOnLoop hands ss to an event loop when both its connections are
// plain sockets and it speaks binary frames; it then owns target too and
// reports true. Otherwise the caller relays ss with goroutines.
func (s *Server) relayOnLoop(ss *session, target net.Conn) bool {
	pc, ok := ss.client.(*prefixConn)
	if !ok || len(pc.prefix) > 0 || ss.base64 || !plainSocket(pc.Conn) || !plainSocket(target) {
		return false
	}
	r := s.eventLoops()
	if r == nil {
		return false
	}
	cfd, err := dupSocket(pc.Conn)
	if err != nil {
		ss.log.Debug("relaying with goroutines", "err", err)
		return false
	}
	tfd, err := dupSocket(target)
	if err != nil {
		unix.Close(cfd)
		ss.log.Debug("relaying with goroutines", "err", err)
		return false
	}
	ps := &pollSession{
		ss:        ss,
		l:         r.pick(),
		cfd:       cfd,
		tfd:       tfd,
		fp:        newFrameParser(s.maxFrameSize(), ss.checkDataOp),
		canSplice: isTCP(pc.Conn) && isTCP(target) && ss.rec == nil,
	}
	if n := ss.br.Buffered(); n > 0 {
		p, _ := ss.br.Peek(n)
		ps.pending = append([]byte(nil), p...)
	}
	ss.br = nil // the loop reads the socket itself from now on
	ss.deadlineMu.Lock()
	ps.closingBy = ss.closingBy
	ss.deadlineMu.Unlock()
	ps.start(time.Now())
	ss.w.mu.Lock()
	ps.closeSent = ss.w.closeSent
	// Once registered, ps belongs to the loop: decide before.
	kick := ps.pending != nil || ps.closeSent || s.Heartbeat > 0
	l := ps.l
	err = l.register(ps)
	ss.w.loop = ps
	switch {
	case err != nil:
		// The loop may have seen one socket already: the session is its to
		// end (out of epoll watches, say).
		ss.log.Warn("event loop refused the session", "err", err)
		l.post(loopMsg{kind: msgAbort, ps: ps})
	case kick:
		l.post(loopMsg{kind: msgStep, ps: ps}) // under w.mu: before any goAway
	}
	ss.w.mu.Unlock()
	// The duplicates keep the sockets open; closing the originals takes
	// them out of Go's poller, which would otherwise wake up for every
	// packet too.
	pc.Conn.Close()
	target.Close()
	return true
}

func plainSocket(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

func isTCP(c net.Conn) bool {
	_, ok := c.(*net.TCPConn)
	return ok
}

// dupSocket duplicates c's descriptor; it shares c's open file, so it is
// non-blocking too.
func dupSocket(c net.Conn) (int, error) {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	return fd, nil
}

func (ps *pollSession) goAway(code ws.StatusCode, reason string) {
	ps.l.post(loopMsg{kind: msgClose, ps: ps, code: code, reason: reason})
}

func (ps *pollSession) abort() { ps.l.post(loopMsg{kind: msgAbort, ps: ps}) }

func (ps *pollSession) fire() { ps.l.post(loopMsg{kind: msgTimer, ps: ps}) }

// start sets up a new session before the loop sees it. Both sockets count
// as writable until a write says otherwise; readable ones report an event
// when added to the epoll set.
func (ps *pollSession) start(now time.Time) {
	ps.cOut, ps.tOut = true, true
	ps.lastRead = now
	if h := ps.ss.srv.Heartbeat; h > 0 {
		ps.nextPing = now.Add(h)
	}
}

// armOut adds EPOLLOUT to a socket's registration after its first EAGAIN
// on a write. If the socket has become writable meanwhile, the change
// itself reports it.
func (ps *pollSession) armOut(target bool) {
	fd := ps.cfd
	if target {
		fd, ps.tOutArmed = ps.tfd, true
	} else {
		ps.cOutArmed = true
	}
	if err := ps.l.ctl(unix.EPOLL_CTL_MOD, fd, ps.slot, ps.gen, target, true); err != nil {
		ps.ss.log.Warn("event loop", "err", err) // cannot happen on a registered socket
	}
}

func (ps *pollSession) onEvent(target bool, ev uint32) {
	if !target && ps.clientClosed {
		return // an event from before the close
	}
	in := ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	out := ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
	hup := ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	if target {
		ps.tIn, ps.tOut, ps.tHup = ps.tIn || in, ps.tOut || out, ps.tHup || hup
	} else {
		ps.cIn, ps.cOut, ps.cHup = ps.cIn || in, ps.cOut || out, ps.cHup || hup
	}
}

// step does what the session's readiness and deadlines allow.
func (ps *pollSession) step() {
	ps.expire(ps.l.now)
	for round := 0; !ps.done; round++ {
		progress := ps.flushClient()
		progress = ps.flushTarget() || progress
		progress = ps.readClient() || progress
		progress = ps.readTarget() || progress
		progress = ps.advance() || progress
		if !progress || ps.done {
			break
		}
		if round == stepRounds-1 {
			ps.l.again = append(ps.l.again, ps)
			break
		}
	}
	if !ps.done {
		ps.armTimer()
	}
}

// clientPending reports whether frames wait to be written to the client.
func (ps *pollSession) clientPending() bool {
	return ps.pipeN > 0 || ps.pull > 0 || ps.tA < ps.tB || len(ps.cout) > 0
}

// flushClient writes the frame in flight, then the queued control frames.
func (ps *pollSession) flushClient() (progress bool) {
	for ps.cOut && !ps.clientDead {
		var n int
		var err error
		switch {
		case ps.pipeN > 0:
			var m int64
			m, err = unix.Splice(ps.pipe.r, nil, ps.cfd, nil, ps.pipeN, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			n = int(m)
		case ps.pull > 0:
			return progress // the rest of the frame is still to come from the target
		case ps.tA < ps.tB:
			n, err = unix.Write(ps.cfd, (*ps.tb)[ps.tA:ps.tB])
		case len(ps.cout) > 0:
			n, err = unix.Write(ps.cfd, ps.cout)
		default:
			return progress
		}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			ps.cOut = false
			if !ps.cOutArmed {
				ps.armOut(false)
			}
			if ps.writeBy.IsZero() {
				ps.writeBy = ps.l.now.Add(ps.ss.srv.writeTimeout())
			}
			return progress
		case err != nil:
			ps.clientWriteFailed(os.NewSyscallError("write", err))
			return true
		case n == 0:
			ps.clientWriteFailed(io.ErrShortWrite)
			return true
		}
		progress = true
		switch {
		case ps.pipeN > 0:
			if ps.pipeN -= n; ps.pipeN == 0 && ps.pull == 0 {
				ps.l.putPipe(ps.pipe)
				for ; ps.pipeFrames > 0; ps.pipeFrames-- {
					ps.frameSent()
				}
			}
		case ps.tA < ps.tB:
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

func (ps *pollSession) releaseIn() {
	if ps.in != nil {
		ps.in.reset()
		if ps.l.cbuf == nil {
			ps.l.cbuf = ps.in
		} else {
			inBufPool.Put(ps.in)
		}
	}
	ps.in = nil
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
	ps.cout, ps.writeBy = nil, time.Time{}
	ps.endClient(err)
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
		var err error
		n, err = unix.Read(ps.cfd, buf)
		switch {
		case err == unix.EAGAIN:
			ps.cIn = false
			return false
		case err == unix.EINTR:
			return true
		case err != nil:
			ps.endClient(os.NewSyscallError("read", err))
			return true
		case n == 0:
			ps.endClient(ps.fp.eof())
			return true
		case n < len(buf) && !ps.cHup:
			ps.cIn = false // drained: more data brings a new edge
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
	n, err := unix.Read(ps.tfd, buf[frameHeadroom:])
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

// advance moves the session towards its end once the client side is done
// (as session.run): the target is half-closed after the client's last bytes
// and has CloseTimeout to finish, its output discarded; once our frames are
// out, the client is half-closed and has CloseTimeout to close
// (lingerClient); the session ends when both connections are done.
func (ps *pollSession) advance() bool {
	progress := false
	if ps.clientDone && !ps.targetShut && ps.in == nil {
		unix.Shutdown(ps.tfd, unix.SHUT_WR)
		ps.targetShut = true
		ps.drainBy = ps.l.now.Add(ps.ss.srv.closeTimeout())
		progress = true
	}
	if ps.clientDone && !ps.lingering && !ps.clientClosed && (ps.clientDead || !ps.clientPending()) {
		if ps.clientDead {
			ps.closeClient()
		} else {
			unix.Shutdown(ps.cfd, unix.SHUT_WR)
			ps.lingering, ps.lingerLeft = true, 1<<20
			ps.lingerBy = ps.l.now.Add(ps.ss.srv.closeTimeout())
		}
		progress = true
	}
	if ps.lingering && ps.cIn {
		n, err := unix.Read(ps.cfd, ps.l.clientBuf().b)
		switch {
		case err == unix.EAGAIN:
			ps.cIn = false
		case err == unix.EINTR:
		case err != nil || n == 0:
			ps.closeClient()
		default:
			if ps.lingerLeft -= n; ps.lingerLeft <= 0 {
				ps.closeClient()
			}
		}
		progress = true
	}
	if ps.clientClosed && ps.targetDone {
		ps.end()
		return true
	}
	return progress
}

// closeClient closes the client's socket, ending lingerClient.
func (ps *pollSession) closeClient() {
	ps.lingering, ps.clientClosed = false, true
	unix.Close(ps.cfd)
	ps.cfd = -1
}

// expire acts on the deadlines that have passed.
func (ps *pollSession) expire(now time.Time) {
	passed := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	if !ps.clientDone {
		switch {
		case passed(ps.closingBy):
			ps.endClient(errTimedOut)
		case ps.closingBy.IsZero() && passed(ps.readBy()):
			ps.endClient(errTimedOut) // the heartbeat's dead peer
		}
	}
	if passed(ps.nextPing) {
		ps.nextPing = time.Time{}
		if !ps.closeSent && !ps.clientDead {
			ps.queueControl(ws.OpPing, nil)
			ps.nextPing = now.Add(ps.ss.srv.Heartbeat)
		}
	}
	if passed(ps.writeBy) {
		ps.clientWriteFailed(errTimedOut)
	}
	if ps.targetShut && !ps.targetDone && passed(ps.drainBy) {
		ps.targetEnded(errTimedOut)
	}
	if ps.lingering && passed(ps.lingerBy) {
		ps.closeClient()
	}
}

// readBy is when a heartbeat session with a silent client ends: two
// intervals after the last bytes from it.
func (ps *pollSession) readBy() time.Time {
	if h := ps.ss.srv.Heartbeat; h > 0 {
		return ps.lastRead.Add(2 * h)
	}
	return time.Time{}
}

// armTimer makes sure the session's timer fires by its next deadline. A
// timer that fires early is harmless: expire checks again.
func (ps *pollSession) armTimer() {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !ps.clientDone {
		earliest(ps.closingBy)
		if ps.closingBy.IsZero() {
			earliest(ps.readBy())
		}
	}
	earliest(ps.nextPing)
	earliest(ps.writeBy)
	if ps.targetShut && !ps.targetDone {
		earliest(ps.drainBy)
	}
	if ps.lingering {
		earliest(ps.lingerBy)
	}
	if next.IsZero() || (!ps.timerAt.IsZero() && !next.Before(ps.timerAt)) {
		return
	}
	ps.timerAt = next
	d := max(next.Sub(ps.l.now), 0)
	if ps.timer == nil {
		ps.timer = time.AfterFunc(d, ps.fire)
	} else {
		ps.timer.Reset(d)
	}
}

// end closes both sockets and releases everything the session holds.
func (ps *pollSession) end() {
	if ps.done {
		return
	}
	ps.done = true
	if ps.timer != nil {
		ps.timer.Stop()
	}
	ps.l.remove(ps)
	if !ps.clientClosed {
		unix.Close(ps.cfd)
	}
	unix.Close(ps.tfd)
	ps.releaseIn()
	ps.releaseTB()
	ps.dropPipe()
	ps.cout, ps.pending = nil, nil
	ps.ss.finish()
	close(ps.ss.ended)
}

var _ loopSession = (*pollSession)(nil)
