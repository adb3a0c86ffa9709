package gateway

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// reactor is a fixed set of event loops, each an epoll instance served by
// one goroutine, that relay plain sessions. A session belongs to one loop
// for its whole life, so its state is only ever touched by that loop's
// goroutine; other goroutines reach it through the loop's message queue.
type reactor struct {
	loops []*loop
	next  atomic.Uint32
	wg    sync.WaitGroup
}

func newReactor(n int) (*reactor, error) {
	r := &reactor{}
	for range n {
		l, err := newLoop(r)
		if err != nil {
			r.stop()
			return nil, err
		}
		r.loops = append(r.loops, l)
		r.wg.Add(1)
		go l.run()
	}
	return r, nil
}

// pick chooses the loop for a new session, round robin.
func (r *reactor) pick() *loop {
	return r.loops[int(r.next.Add(1))%len(r.loops)]
}

// stop ends the loops once their sessions have ended, and waits for them.
func (r *reactor) stop() {
	for _, l := range r.loops {
		l.post(loopMsg{kind: msgStop})
	}
	r.wg.Wait()
}

// newReactorFunc starts event loops; tests replace it.
var newReactorFunc = newReactor

// eventLoops returns the server's event loops, starting them on first use;
// nil means sessions use the goroutine relay.
func (s *Server) eventLoops() *reactor {
	if s.Relay == RelayGoroutines {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loops == nil && s.ln != nil && !s.noLoops {
		n := s.EventLoops
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		r, err := newReactorFunc(n)
		if err != nil {
			s.logger().Warn("event loops unavailable; relaying with goroutines", "err", err)
			s.noLoops = true
			return nil
		}
		s.loops = r
	}
	return s.loops
}

// startLoops starts the event loops before Serve accepts when the epoll
// driver was asked for by name: it fails if they cannot run.
func (s *Server) startLoops() error {
	if s.Relay != RelayEpoll {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loops != nil {
		return nil
	}
	n := s.EventLoops
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	r, err := newReactorFunc(n)
	if err != nil {
		return fmt.Errorf("gateway: epoll relay: %w", err)
	}
	s.loops = r
	return nil
}

type msgKind uint8

const (
	msgStep  msgKind = iota // step ps: it has something to do before any event
	msgClose                // send a close frame (Shutdown, CloseSessions)
	msgAbort                // end ps at once
	msgTimer                // one of ps's deadlines may have passed
	msgStop                 // exit once no session is left
)

type loopMsg struct {
	kind   msgKind
	ps     *pollSession
	code   ws.StatusCode
	reason string
}

// loop is one event loop. Fields below mu are owned by the loop's goroutine.
type loop struct {
	r    *reactor
	epfd int
	ep   *os.File        // epfd, watched by Go's poller: the loop parks like any network goroutine
	rc   syscall.RawConn // ep's
	evfd int             // eventfd that wakes the loop for queued messages

	mu     sync.Mutex
	queue  []loopMsg
	woken  bool           // evfd has been written since the queue was last taken
	closed bool           // evfd is closed: post drops messages
	slots  []*pollSession // sessions by slot, under mu; event data names a slot
	gens   []uint32       // generation of each slot, against stale events
	free   []int32
	live   int

	stopping bool
	ready    []*pollSession // sessions to step in this round
	again    []*pollSession // sessions with more to do after their budget
	now      time.Time

	// Scratch buffers: a session reads into these and hands them back
	// unless it must keep unsent bytes, in which case it takes the buffer
	// and the loop gets a fresh one from the pool.
	cbuf  *inBuf  // client input
	tbuf  *[]byte // target input, with room for a frame header in front
	pipes []pipePair

	events  []unix.EpollEvent
	everr   error // why epoll_wait failed, for run
	drained bool  // the last epoll_wait emptied the ready list
}

func newLoop(r *reactor) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	// A non-blocking descriptor given to os.NewFile joins Go's poller, which
	// then reports our epoll instance readable when it has events.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("set epoll non-blocking: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		unix.Close(evfd)
		return nil, fmt.Errorf("epoll file: %w", err)
	}
	l := &loop{r: r, epfd: epfd, ep: ep, rc: rc, evfd: evfd, events: make([]unix.EpollEvent, 128)}
	return l, nil
}

// post queues m for the loop and wakes it. Safe from any goroutine.
//
// A message for a loop that has closed is dropped: its session has ended
// (a timer, or a Shutdown's close, can come late). The eventfd is written
// under the lock, so that it is never written after close, when its number
// may already belong to another descriptor.
func (l *loop) post(m loopMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.queue = append(l.queue, m)
	if !l.woken {
		l.woken = true
		one := [8]byte{1}
		unix.Write(l.evfd, one[:])
	}
}

// run runs the loop until it is stopped and has no session left.
//
// It never blocks in epoll_wait, which would hold a P and keep sysmon busy:
// with no event and nothing left to do, it parks in Go's poller until the
// epoll descriptor is readable. All rounds run inside one RawConn.Read,
// which forgets a readiness seen before it starts: within it, a readiness
// seen while the loop works is kept, so after a wait that emptied the ready
// list, the loop parks at once, and no event is lost.
func (l *loop) run() {
	defer l.r.wg.Done()
	err := l.rc.Read(l.rounds)
	if err == nil {
		err = l.everr
	}
	if err != nil {
		panic(fmt.Sprintf("gateway: epoll_wait: %v", err)) // only a bug gets here
	}
	l.close()
}

// rounds runs rounds of the loop until there is nothing to do (false: wait
// until the epoll descriptor is readable), or the loop ends (true).
func (l *loop) rounds(fd uintptr) bool {
	for {
		if l.drained && len(l.again) == 0 {
			// Any event since the last wait makes Go's poller report the
			// descriptor readable; without one, epoll_wait would find
			// nothing.
			l.drained = false
			return false
		}
		n, err := nbEpollWait(int(fd), l.events)
		switch {
		case err == unix.EINTR:
			n = 0
		case err != nil:
			l.everr = err // for run
			return true
		}
		l.drained = n > 0 && n < len(l.events)
		if n == 0 && len(l.again) == 0 {
			return false
		}
		l.round(l.events[:n])
		if l.stopping && l.sessions() == 0 {
			return true
		}
	}
}

// round handles events and the sessions with more to do.
func (l *loop) round(events []unix.EpollEvent) {
	l.now = time.Now()
	for _, ps := range l.again {
		l.mark(ps)
	}
	clear(l.again)
	l.again = l.again[:0]
	queued := false
	l.mu.Lock() // sessions are registered from other goroutines
	for _, ev := range events {
		if ev.Fd < 0 {
			queued = true
			continue
		}
		slot, gen, target := ev.Fd, uint32(ev.Pad)>>1, ev.Pad&1 == 1
		if int(slot) >= len(l.slots) || l.gens[slot] != gen || l.slots[slot] == nil {
			continue // a session that has ended since
		}
		ps := l.slots[slot]
		ps.onEvent(target, ev.Events)
		l.mark(ps)
	}
	l.mu.Unlock()
	if queued {
		l.takeQueue()
	}
	for i, ps := range l.ready {
		ps.marked = false
		if !ps.done {
			ps.step()
		}
		l.ready[i] = nil
	}
	l.ready = l.ready[:0]
}

func (l *loop) mark(ps *pollSession) {
	if !ps.marked {
		ps.marked = true
		l.ready = append(l.ready, ps)
	}
}

// takeQueue handles the queued messages. The eventfd is reset before the
// queue is taken, so a message queued meanwhile writes it again.
func (l *loop) takeQueue() {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	q := l.queue
	l.queue = nil
	l.woken = false
	l.mu.Unlock()
	for _, m := range q {
		ps := m.ps
		switch {
		case m.kind == msgStop:
			l.stopping = true
			continue
		case ps.done:
			continue
		case m.kind == msgClose:
			ps.core.Close(m.code, m.reason, l.now)
		case m.kind == msgAbort:
			ps.end()
			continue
		case m.kind == msgTimer:
			ps.timerAt = time.Time{}
		}
		l.mark(ps)
	}
}

// register gives ps a slot and adds both its sockets to the epoll set,
// edge-triggered: readiness is remembered in ps until a read or write says
// EAGAIN. EPOLLOUT is left out until a write first says EAGAIN (armOut), so
// that a new session does not wake the loop just for being writable. Safe
// from any goroutine; the loop sees ps once a socket has an event.
func (l *loop) register(ps *pollSession) error {
	l.mu.Lock()
	var slot int32
	if k := len(l.free); k > 0 {
		slot, l.free = l.free[k-1], l.free[:k-1]
	} else {
		slot = int32(len(l.slots))
		l.slots = append(l.slots, nil)
		l.gens = append(l.gens, 0)
	}
	gen := (l.gens[slot] + 1) & (1<<30 - 1)
	l.gens[slot] = gen
	ps.slot, ps.gen = slot, gen
	fds := [2]int{ps.cfd, ps.tfd} // ps is the loop's once published
	l.slots[slot] = ps
	l.live++
	l.mu.Unlock()
	for i, fd := range fds {
		if err := l.ctl(unix.EPOLL_CTL_ADD, fd, slot, gen, i == 1, false); err != nil {
			return err
		}
	}
	return nil
}

// ctl adds or modifies the registration of a session's socket.
func (l *loop) ctl(op, fd int, slot int32, gen uint32, target, out bool) error {
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET)
	if out {
		events |= unix.EPOLLOUT
	}
	side := int32(0)
	if target {
		side = 1
	}
	ev := unix.EpollEvent{Events: events, Fd: slot, Pad: int32(gen<<1) | side}
	if err := unix.EpollCtl(l.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// remove forgets ps; its sockets leave the epoll set when it closes them.
func (l *loop) remove(ps *pollSession) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if int(ps.slot) >= len(l.slots) || l.slots[ps.slot] != ps {
		return // never registered
	}
	l.slots[ps.slot] = nil
	l.free = append(l.free, ps.slot)
	l.live--
}

func (l *loop) sessions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.live
}

func (l *loop) close() {
	for _, p := range l.pipes {
		p.close()
	}
	l.pipes = nil
	if l.cbuf != nil {
		l.cbuf.put()
	}
	if l.tbuf != nil {
		bufPool.Put(l.tbuf)
	}
	l.cbuf, l.tbuf = nil, nil
	l.mu.Lock()
	l.closed = true
	unix.Close(l.evfd)
	l.mu.Unlock()
	l.ep.Close()
}

// clientBuf is the loop's scratch buffer for client input.
func (l *loop) clientBuf() *inBuf {
	if l.cbuf == nil {
		l.cbuf = inBufPool.Get().(*inBuf)
	}
	return l.cbuf
}

// putClientBuf takes back a session's input buffer: as the scratch buffer
// if the loop has none (and it is a full-size one), else into its pool.
func (l *loop) putClientBuf(ib *inBuf) {
	if l.cbuf == nil && len(ib.b) == clientReadSize {
		ib.reset()
		l.cbuf = ib
		return
	}
	ib.put()
}

// targetBuf is the loop's scratch buffer for target input.
func (l *loop) targetBuf() *[]byte {
	if l.tbuf == nil {
		l.tbuf = bufPool.Get().(*[]byte)
	}
	return l.tbuf
}

// pipePair is a pipe that carries target bytes to the client by splice(2).
type pipePair struct{ r, w int }

func (p pipePair) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

// maxIdlePipes bounds the empty pipes a loop keeps for later sessions.
const maxIdlePipes = 8

func (l *loop) getPipe() (pipePair, error) {
	if k := len(l.pipes); k > 0 {
		p := l.pipes[k-1]
		l.pipes = l.pipes[:k-1]
		return p, nil
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return pipePair{}, fmt.Errorf("pipe2: %w", err)
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize) // best effort
	return pipePair{r: fds[0], w: fds[1]}, nil
}

// putPipe takes back an empty pipe.
func (l *loop) putPipe(p pipePair) {
	if len(l.pipes) < maxIdlePipes {
		l.pipes = append(l.pipes, p)
		return
	}
	p.close()
}
