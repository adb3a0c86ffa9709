package gateway

import (
	"encoding/base64"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/websockify-go/websockify/gateway/internal/core"
)

// The goroutine relay: two goroutines per session, one reading the client
// and writing the target, the other reading the target and writing the
// client. Every decision is core's, taken under the session's lock; the
// lock is never held across I/O.

// targetReadSize is the largest chunk read from the target, and so the
// largest frame sent to the client, as in the reference.
const targetReadSize = 64 << 10

// clientChunk is the goroutine relay's read size for client input.
const clientChunk = 32 << 10

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, core.Headroom+targetReadSize)
	return &b
}}

// b64Pool holds the buffers that base64-encode a target read.
var b64Pool = sync.Pool{New: func() any {
	b := make([]byte, core.Headroom+base64.StdEncoding.EncodedLen(targetReadSize/4*3))
	return &b
}}

// goRelay relays one session with two goroutines.
type goRelay struct {
	ss     *session
	target net.Conn
	mu     *sync.Mutex // the session's: guards ss.core and timerAt
	w      frameWriter // lock order: w.mu, then mu
	ctl    []byte      // control frames being written, under w.mu

	timer   *time.Timer
	timerAt time.Time
}

// relayGoroutines relays ss to target until both directions are done.
func relayGoroutines(ss *session, target net.Conn) {
	defer target.Close()
	g := &goRelay{ss: ss, target: target, mu: &ss.mu}
	g.w = frameWriter{conn: ss.client, batch: batchOf(ss.client), timeout: ss.srv.writeTimeout()}
	ss.mu.Lock()
	ss.setDriver(g, &nameGoroutines)
	g.timer = time.AfterFunc(time.Hour, g.tick)
	g.timer.Stop()
	ss.mu.Unlock()
	defer g.timer.Stop()
	g.flushControl() // a close asked for before the relay started
	g.arm()

	toClient := make(chan struct{})
	go func() {
		defer close(toClient)
		g.copyToClient()
	}()
	g.copyToTarget()

	// The client side is done, and nothing more may be sent to it (our
	// close is out, or it is gone): end its TCP connection first, as RFC
	// 6455 asks of servers. The target sees EOF after everything the client
	// sent, and gets CloseTimeout to end its output, which is discarded.
	g.w.mu.Lock() // after the data frame in flight, if any
	g.mu.Lock()
	ss.logClientEnd()
	ss.core.ClientOutputShut()
	g.mu.Unlock()
	g.w.mu.Unlock()
	closeWrite(target)
	target.SetReadDeadline(time.Now().Add(ss.srv.closeTimeout()))
	ss.lingerClient()
	<-toClient
}

// copyToTarget reads the client and writes the payloads core finds to the
// target, until client input ends.
func (g *goRelay) copyToTarget() {
	c := &g.ss.core
	rc := rawConnOf(g.ss.client)
	for {
		// Wait for the client without a buffer, where it allows.
		if g.ss.br.Buffered() == 0 && rc != nil {
			waitReadable(rc)
		} else {
			g.ss.br.Peek(1)
		}
		bp := bufPool.Get().(*[]byte)
		buf := (*bp)[:core.ClientHeadroom+clientChunk]
		n, err := g.ss.br.Read(buf[core.ClientHeadroom:])
		if n > 0 {
			g.fromClient(buf[:core.ClientHeadroom+n])
		}
		bufPool.Put(bp)
		g.mu.Lock()
		if err != nil {
			c.ClientEnded(err)
		}
		done := c.ClientDone()
		g.mu.Unlock()
		g.flushControl()
		g.arm()
		if done {
			return
		}
	}
}

// fromClient hands a read of client bytes to core, answers the control
// frames among them, then writes their payload to the target at once, as
// the epoll driver does: a pong goes out before anything the target answers
// to the data around the ping. The payload pieces are gathered in place,
// in order, each moving only towards the front of buf.
func (g *goRelay) fromClient(buf []byte) {
	c := &g.ss.core
	start, end := -1, 0
	g.mu.Lock()
	c.Received(time.Now())
	for off := core.ClientHeadroom; off < len(buf) && !c.ClientDone(); {
		used, data := c.Client(buf, off)
		off += used
		if len(data) == 0 {
			continue
		}
		if start < 0 {
			start = cap(buf) - cap(data)
			end = start
		}
		end += copy(buf[end:], data)
	}
	g.mu.Unlock()
	g.flushControl()
	if start < 0 || end == start {
		return
	}
	_, err := g.target.Write(buf[start:end])
	g.mu.Lock()
	if err != nil {
		c.TargetWriteFailed(err, time.Now())
	} else {
		c.TargetWrote()
	}
	g.mu.Unlock()
}

// copyToClient reads the target and sends each read as one frame. Once
// target bytes are dropped (our close is out, or the client failed), it
// keeps reading until the target ends, so that the target is not reset
// while it still writes.
func (g *goRelay) copyToClient() {
	c := &g.ss.core
	readSize := targetReadSize
	if c.Base64() {
		readSize = targetReadSize / 4 * 3
	}
	rc := rawConnOf(g.target)
	for {
		waitReadable(rc) // without a buffer, where the target allows
		bp := bufPool.Get().(*[]byte)
		n, rerr := g.target.Read((*bp)[core.Headroom : core.Headroom+readSize])
		if n > 0 {
			c.TargetReceived(time.Now()) // an atomic store: no lock
			g.sendFrame(*bp, n)
		}
		bufPool.Put(bp)
		if rerr == nil {
			continue
		}
		g.mu.Lock()
		report := c.TargetEnded(rerr, time.Now())
		g.mu.Unlock()
		if report {
			g.ss.logTargetEnd(rerr)
		}
		g.flushControl()
		g.arm()
		return
	}
}

// sendFrame sends n target bytes, at buf[core.Headroom:], as one frame,
// unless core drops them.
func (g *goRelay) sendFrame(buf []byte, n int) {
	c := &g.ss.core
	var ep *[]byte
	var enc []byte
	if c.Base64() {
		ep = b64Pool.Get().(*[]byte)
		enc = *ep
		defer b64Pool.Put(ep)
	}
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	g.mu.Lock()
	frame := c.TargetFrame(buf, n, enc)
	g.mu.Unlock()
	if frame == nil {
		return
	}
	err := g.w.writeLocked(frame)
	g.mu.Lock()
	if err != nil {
		g.clientWriteFailed(err)
	} else {
		c.FrameSent()
	}
	g.mu.Unlock()
}

// clientWriteFailed drops the client, with g.mu held: a partial frame may
// be out, so nothing more can follow.
func (g *goRelay) clientWriteFailed(err error) {
	if g.ss.core.ClientDead() {
		return
	}
	g.ss.log.Debug("write to client failed", "err", err)
	g.ss.core.ClientWriteFailed(err)
	g.ss.client.Close()
}

// flushControl writes the control frames core has queued.
func (g *goRelay) flushControl() {
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	g.mu.Lock()
	p := g.ss.core.Pending()
	if len(p) == 0 {
		g.mu.Unlock()
		return
	}
	g.ctl = append(g.ctl[:0], p...)
	g.ss.core.Sent(len(p))
	g.mu.Unlock()
	if err := g.w.writeLocked(g.ctl); err != nil {
		g.mu.Lock()
		g.clientWriteFailed(err)
		g.mu.Unlock()
	}
}

// arm makes sure the timer fires by core's next deadline. A timer that
// fires early is harmless: tick checks again.
func (g *goRelay) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	next := g.ss.core.Deadline()
	if next.IsZero() || (!g.timerAt.IsZero() && !next.Before(g.timerAt)) {
		return
	}
	g.timerAt = next
	g.timer.Reset(time.Until(next))
}

// tick acts on core's deadlines: a ping to send, or a client whose time is
// up, whose read is then cut short.
func (g *goRelay) tick() {
	select {
	case <-g.ss.ended:
		return
	default:
	}
	c := &g.ss.core
	g.mu.Lock()
	g.timerAt = time.Time{}
	wasDone := c.ClientDone()
	c.Tick(time.Now())
	expired := c.ClientDone() && !wasDone
	g.mu.Unlock()
	if expired {
		g.ss.client.SetReadDeadline(time.Now())
	}
	g.flushControl()
	g.arm()
}

// close sends our close frame; the client has CloseTimeout to answer.
func (g *goRelay) close(cause core.Cause, code ws.StatusCode, reason string) {
	g.mu.Lock()
	g.ss.core.Stop(cause, code, reason, time.Now())
	g.mu.Unlock()
	g.flushControl()
	g.arm()
}

// abort ends the session at once.
func (g *goRelay) abort() {
	g.ss.client.Close()
	g.target.Close()
}

// rawConnOf returns c's raw connection when c is a socket, for
// waitReadable; nil otherwise (TLS).
func rawConnOf(c net.Conn) syscall.RawConn {
	if pc, ok := c.(*prefixConn); ok && len(pc.prefix) == 0 {
		c = pc.Conn
	}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc
		}
	}
	return nil
}
