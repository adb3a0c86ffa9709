package gateway

import (
	"crypto/tls"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/websockify-go/websockify/gateway/internal/core"
	"github.com/websockify-go/websockify/gateway/internal/epoll"
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
	ss   *session
	core *core.Session // ss.core, the loop's once the session is registered
	epoll.Member
	l      *epoll.Loop
	sc     *scratch  // l's
	client sock      // the client's socket, the loop's own (takeSocket)
	target sock      // the target's socket, the loop's own (dialSocket, dupSocket)
	tc     *tls.Conn // a wss:// session's TLS, over tls; nil for ws://
	tls    *loopTLS
	done   bool

	// client → target
	pending    []byte // client bytes read along with the handshake
	in         *inBuf // holds target-bound bytes not yet written, or nil
	slowTarget bool   // the target pushed back lately: small client reads
	targetShut bool   // the target has been half-closed
	logged     bool   // the end of client input has been logged

	// target → client: at most one data frame in flight, then core's
	// control frames.
	tb           *[]byte    // holds the data frame being written, or nil
	tbPool       *sync.Pool // where tb goes back
	tA, tB       int
	canSplice    bool // both sockets TCP, binary frames and nothing to record
	splicing     bool // target bytes go to the client through pipe (splice_linux.go)
	slowClient   bool // the client pushed back lately: one frame per splice
	pipe         epoll.Pipe
	pipeN        int  // frame bytes in pipe: headers and payloads
	pipeFrames   int  // whole frames in pipe
	pull         int  // payload bytes of the last frame in pipe still in the target socket
	lingering    bool // the client side is done: waiting for the client's FIN
	lingerLeft   int
	clientClosed bool // the client's socket is closed (cfd is -1)

	// The driver's own deadlines, zero when not set; core holds the
	// session's.
	writeBy, drainBy, lingerBy time.Time
	timer                      *time.Timer
	timerAt                    time.Time
}

// sock is one of a session's sockets, with its readiness remembered from
// edge-triggered events until EAGAIN. A short read also ends readability,
// unless the peer's FIN (or an error) has been seen: its event has then
// been consumed already, and only another read reports it.
type sock struct {
	fd           int
	in, out, hup bool
	armed        bool // EPOLLOUT is registered (after the first EAGAIN)
}

// note records an event's readiness.
func (sk *sock) note(ev uint32) {
	sk.in = sk.in || ev&(epoll.In|epoll.RDHup|epoll.Hup|epoll.Err) != 0
	sk.out = sk.out || ev&(epoll.Out|epoll.Hup|epoll.Err) != 0
	sk.hup = sk.hup || ev&(epoll.RDHup|epoll.Hup|epoll.Err) != 0
}

// stepRounds bounds the work of one session per loop iteration, so that
// a busy session cannot starve the others on its loop: each round moves at
// most one buffer each way.
const stepRounds = 4

// spliceMin is the target read size from which the target's bytes go to
// the client by splice(2): below it, read and write are cheaper.
const spliceMin = 32 << 10

// timerSlack is how early a session's deadlines may be acted on: its timer
// fires that much before the earliest one, which makes up for the time the
// loop takes to get to the session.
const timerSlack = 2 * time.Millisecond

// errTimedOut stands for a passed deadline, as a net.Conn reports one.
var errTimedOut = core.ErrTimedOut

// loopConn is a session's client connection as an event loop takes it.
type loopConn struct {
	raw net.Conn    // the accepted socket
	pc  *prefixConn // what reads raw
	tc  *tls.Conn   // the TLS session over pc, or nil
}

// loopClient reports whether ss's client can be relayed by an event loop:
// a plain socket, or TLS over one, with nothing read ahead of the loop but
// buffered bytes, and event loops running.
func (s *Server) loopClient(ss *session) (loopConn, bool) {
	var lc loopConn
	if tc, pc, ok := loopTLSClient(ss.client); ok {
		lc = loopConn{raw: pc.Conn, pc: pc, tc: tc}
	} else if pc, ok := ss.client.(*prefixConn); ok && len(pc.prefix) == 0 && plainSocket(pc.Conn) {
		lc = loopConn{raw: pc.Conn, pc: pc}
	} else {
		return lc, false
	}
	return lc, s.eventLoops() != nil
}

// relayOnLoop hands ss to an event loop when both its connections are
// plain sockets and it speaks binary frames; it then owns target too and
// reports true. Otherwise the caller relays ss with goroutines.
func (s *Server) relayOnLoop(ss *session, target net.Conn) bool {
	lc, ok := s.loopClient(ss)
	if !ok || !plainSocket(target) {
		return false
	}
	tfd, err := dupSocket(target)
	if err != nil {
		ss.log.Debug("relaying with goroutines", "err", err)
		return false
	}
	if !s.handOff(ss, lc, tfd, isTCP(target)) {
		unix.Close(tfd)
		return false
	}
	target.Close() // as the client's in handOff
	return true
}

// dialOnLoop connects to ss's target itself and hands the session to an
// event loop when the session can go there and the target is a TCP
// address: this skips Go's poller for the target (dialSocket). Otherwise,
// and when the hand-off fails, it returns the target connection, if made,
// for the caller to relay; nil and no error mean the caller dials.
func (s *Server) dialOnLoop(ss *session) (target net.Conn, handedOff bool, err error) {
	e := ss.endpoint
	if e.TLS != nil || e.network() != "tcp" { // tcp4 and tcp6 restrict addresses: Go's dialer checks
		return nil, false, nil
	}
	lc, ok := s.loopClient(ss)
	if !ok {
		return nil, false, nil
	}
	start := time.Now()
	tfd, ok, err := dialSocket(e.Address, s.dialTimeout())
	if !ok || err != nil {
		return nil, false, err
	}
	if len(ss.proxyHeader) > 0 {
		if err := writeSocket(tfd, ss.proxyHeader, start.Add(s.dialTimeout())); err != nil {
			unix.Close(tfd)
			return nil, false, err
		}
	}
	ss.traffic.legend()
	if s.handOff(ss, lc, tfd, true) {
		return nil, true, nil
	}
	// The client could not be handed over (out of descriptors, say): the
	// goroutine relay takes the connection made, as a sockConn of tfd
	// itself, since a duplicate (net.FileConn) could fail for want of the
	// very descriptor that the hand-off lacked.
	return connOfSocket(tfd, "tcp"), false, nil
}

// connOfSocket is the connected, non-blocking socket fd as a net.Conn that
// owns it, without duplicating it.
func connOfSocket(fd int, netw string) net.Conn {
	c := &sockConn{fd: fd, netw: netw}
	if sa, err := syscall.Getpeername(fd); err == nil {
		c.raddr = sockaddrAddr(netw, sa)
	}
	return c
}

// handOff gives ss, with the target socket tfd, to an event loop, which
// then owns tfd, the client connection and ss.core; false leaves all three
// to the caller. It happens once, before any byte is relayed: a session
// lives on one driver from start to end.
func (s *Server) handOff(ss *session, lc loopConn, tfd int, tcp bool) bool {
	r := s.eventLoops()
	if r == nil {
		return false
	}
	// ss.mu is held until the loop owns the session, so that a close asked
	// for meanwhile (closeWith) happens before it, or reaches the loop.
	ss.mu.Lock()
	defer ss.mu.Unlock()
	cfd, err := takeSocket(lc.raw)
	if err != nil {
		ss.log.Debug("relaying with goroutines", "err", err)
		return false
	}
	l, sc := r.pick()
	ps := &pollSession{
		ss:        ss,
		core:      &ss.core,
		l:         l,
		sc:        sc,
		client:    sock{fd: cfd, out: true},
		target:    sock{fd: tfd, out: true}, // writable until a write says otherwise
		canSplice: isTCP(lc.raw) && tcp && lc.tc == nil && !ss.core.Base64() && !ss.core.Recording(),
	}
	if n := ss.br.Buffered(); n > 0 {
		p, _ := ss.br.Peek(n)
		ps.pending = append([]byte(nil), p...)
	}
	ss.br = nil // the loop reads the socket itself from now on
	if lc.tc != nil {
		// crypto/tls goes on over the loop's descriptor. It may hold
		// records read already: the session reads it until it would block.
		ps.tls = &loopTLS{Conn: lc.raw, fd: cfd}
		ps.tc = lc.tc
		lc.pc.Conn = ps.tls
		ps.client.in = true
	}
	// Once registered, ps belongs to the loop: decide before.
	kick := ps.pending != nil || len(ss.core.Pending()) > 0 || !ss.core.Deadline().IsZero() || ps.tls != nil
	ss.setDriver(ps, &nameEpoll)
	err = l.Register(ps, ps.client.fd, ps.target.fd)
	switch {
	case err != nil:
		// The loop may have seen one socket already: the session is its to
		// end (out of epoll watches, say).
		ss.log.Warn("event loop refused the session", "err", err)
		l.Post(ps, epoll.Msg{Kind: msgAbort})
	case kick:
		l.Post(ps, epoll.Msg{Kind: msgStep})
	}
	// A duplicate keeps the socket open; closing the original takes it out
	// of Go's poller, which would otherwise wake up for every packet too. A
	// socket taken whole has closed its sockConn already.
	lc.raw.Close()
	return true
}

func plainSocket(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn, *sockConn:
		return true
	}
	return false
}

func isTCP(c net.Conn) bool {
	switch c := c.(type) {
	case *net.TCPConn:
		return true
	case *sockConn:
		return c.netw == "tcp"
	}
	return false
}

// takeSocket gives an event loop c's descriptor: a sockConn's own, or
// else a duplicate.
func takeSocket(c net.Conn) (int, error) {
	if sc, ok := c.(*sockConn); ok {
		if fd, ok := sc.take(); ok {
			return fd, nil
		}
		return sc.dup()
	}
	return dupSocket(c)
}

// dupSocket duplicates c's descriptor; it shares c's open file, so it is
// non-blocking too.
func dupSocket(c net.Conn) (int, error) {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	return dupRaw(rc)
}

// dupRaw duplicates the descriptor behind rc.
func dupRaw(rc syscall.RawConn) (int, error) {
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = dupFD(int(s)) }); err != nil {
		return -1, err
	}
	return fd, derr
}

// dupFD duplicates fd, close-on-exec. The duplicate shares fd's open file:
// it is non-blocking if fd is.
func dupFD(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return nfd, nil
}

// close sends our close frame, on the loop.
func (ps *pollSession) close(cause core.Cause, code ws.StatusCode, reason string) {
	ps.l.Post(ps, epoll.Msg{Kind: msgClose, Cause: uint8(cause), Code: int(code), Reason: reason})
}

func (ps *pollSession) abort() { ps.l.Post(ps, epoll.Msg{Kind: msgAbort}) }

func (ps *pollSession) fire() { ps.l.Post(ps, epoll.Msg{Kind: msgTimer}) }

// The sides of a session, as its loop numbers them.
const (
	clientSide = 0
	targetSide = 1
)

// side returns the socket of a side.
func (ps *pollSession) side(side int) *sock {
	if side == targetSide {
		return &ps.target
	}
	return &ps.client
}

// armOut adds EPOLLOUT to a socket's registration after its first EAGAIN
// on a write. If the socket has become writable meanwhile, the change
// itself reports it.
func (ps *pollSession) armOut(side int) {
	sk := ps.side(side)
	sk.armed = true
	if err := ps.l.ArmOut(ps, side, sk.fd); err != nil {
		ps.ss.log.Warn("event loop", "err", err) // cannot happen on a registered socket
	}
}

// Event records readiness of the client's or the target's socket.
func (ps *pollSession) Event(side int, ev uint32) {
	if side == clientSide && ps.clientClosed {
		return // an event from before the close
	}
	ps.side(side).note(ev)
}

// step does what the session's readiness and deadlines allow.
func (ps *pollSession) step() {
	ps.expire(ps.l.Now())
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
			ps.l.Again(ps)
			break
		}
	}
	if !ps.done {
		ps.armTimer()
	}
}

// advance moves the session towards its end once client input is done
// (as relayGoroutines): the target is half-closed after the client's last
// bytes and has CloseTimeout to finish, its output discarded; once our
// frames are out, the client is half-closed and has CloseTimeout to close
// (lingerClient); the session ends when both connections are done.
func (ps *pollSession) advance() bool {
	c := ps.core
	if !c.ClientDone() {
		return false
	}
	progress := false
	if !ps.logged {
		ps.logged = true
		ps.ss.logClientEnd()
	}
	if !ps.targetShut && ps.in == nil {
		unix.Shutdown(ps.target.fd, unix.SHUT_WR)
		ps.targetShut = true
		ps.drainBy = ps.l.Now().Add(c.CloseTimeout())
		progress = true
	}
	if !ps.lingering && !ps.clientClosed && (c.ClientDead() || !ps.clientPending()) {
		c.ClientOutputShut()
		if c.ClientDead() {
			ps.closeClient()
		} else {
			ps.closeNotify()
			unix.Shutdown(ps.client.fd, unix.SHUT_WR)
			ps.lingering, ps.lingerLeft = true, 1<<20
			ps.lingerBy = ps.l.Now().Add(c.CloseTimeout())
		}
		progress = true
	}
	if ps.lingering && ps.client.in {
		n, err := epoll.Read(ps.client.fd, ps.sc.clientBuf().b)
		switch {
		case err == unix.EAGAIN:
			ps.client.in = false
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
	if ps.clientClosed && c.TargetDone() {
		ps.end()
		return true
	}
	return progress
}

// closeClient closes the client's socket, ending lingerClient.
func (ps *pollSession) closeClient() {
	ps.lingering, ps.clientClosed = false, true
	unix.Close(ps.client.fd)
	ps.client.fd = -1
}

// expire acts on the deadlines that have passed: core's, and the driver's
// own.
func (ps *pollSession) expire(now time.Time) {
	ps.core.Tick(now.Add(timerSlack))
	passed := func(t time.Time) bool { return !t.IsZero() && !now.Before(t.Add(-timerSlack)) }
	if passed(ps.writeBy) {
		ps.clientWriteFailed(errTimedOut)
	}
	if ps.targetShut && !ps.core.TargetDone() && passed(ps.drainBy) {
		ps.targetEnded(errTimedOut)
	}
	if ps.lingering && passed(ps.lingerBy) {
		ps.closeClient()
	}
}

// armTimer makes sure the session's timer fires by its next deadline. A
// timer that fires early is harmless: expire checks again.
func (ps *pollSession) armTimer() {
	next := ps.core.Deadline()
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(ps.writeBy)
	if ps.targetShut && !ps.core.TargetDone() {
		earliest(ps.drainBy)
	}
	if ps.lingering {
		earliest(ps.lingerBy)
	}
	if next.IsZero() || (!ps.timerAt.IsZero() && !next.Before(ps.timerAt)) {
		return
	}
	ps.timerAt = next
	d := max(next.Sub(ps.l.Now())-timerSlack, 0)
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
	ps.l.Remove(ps)
	if !ps.clientClosed {
		unix.Close(ps.client.fd)
	}
	unix.Close(ps.target.fd)
	ps.releaseIn()
	ps.releaseTB()
	ps.dropPipe()
	if ps.tls != nil {
		ps.tls.release()
	}
	ps.pending = nil
	ps.ss.finish()
	close(ps.ss.ended)
}

var _ driver = (*pollSession)(nil)

// closeNotify ends a TLS session's output with close_notify, as the
// goroutine relay does, if the socket takes the alert at once (everything
// before it has been written: the client has nothing pending).
func (ps *pollSession) closeNotify() {
	if ps.tls == nil {
		return
	}
	ps.tc.CloseWrite()
	if ps.tls.pending() {
		ps.tls.flush()
	}
	ps.tls.release()
}
