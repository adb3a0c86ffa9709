// Package epoll runs event loops for gateway's epoll driver: a few epoll
// instances, each served by one goroutine, on which handlers (sessions)
// watch two descriptors each, edge-triggered. A handler belongs to one loop
// for its whole life, so its state is only ever touched by that loop's
// goroutine; other goroutines reach it with Post.
//
// The loop knows nothing of WebSocket: it reports readiness (Handler.Event),
// lets handlers work (Handler.Step), delivers posted messages
// (Handler.Message) and keeps a few pipes for splice(2). The system calls
// the handlers make on their descriptors are this package's too (Read,
// Write, Writev, Splice, Inq): they never wait.
package epoll

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Handler is what a loop drives: two descriptors watched together. Embed
// Member to implement it.
type Handler interface {
	member() *Member
	// Event records readiness of descriptor side (0 or 1) from an epoll
	// event; Step acts on it.
	Event(side int, ev uint32)
	// Message handles a message posted to the handler, and reports whether
	// the handler should step after it.
	Message(m Msg) bool
	// Step does what readiness allows; Done reports whether the handler
	// has ended (it then removed itself with Remove).
	Step()
	Done() bool
}

// Member is a handler's place on its loop.
type Member struct {
	slot   int32
	gen    uint32
	marked bool
}

func (m *Member) member() *Member { return m }

// Msg is a message for a handler, posted from any goroutine.
type Msg struct {
	Kind   uint8
	Cause  uint8 // for the receiver's use
	Code   int
	Reason string
}

// The readiness bits an Event carries.
const (
	In  = unix.EPOLLIN
	Out = unix.EPOLLOUT
	// RDHup, Hup and Err report the peer's end or a failure.
	RDHup = unix.EPOLLRDHUP
	Hup   = unix.EPOLLHUP
	Err   = unix.EPOLLERR
)

// Reactor is a fixed set of loops.
type Reactor struct {
	loops []*Loop
	next  atomic.Uint32
	wg    sync.WaitGroup
}

// New starts n loops.
func New(n int) (*Reactor, error) {
	r := &Reactor{}
	for i := range n {
		l, err := newLoop(r, i)
		if err != nil {
			r.Stop()
			return nil, err
		}
		r.loops = append(r.loops, l)
		r.wg.Add(1)
		go l.run()
	}
	return r, nil
}

// Loops returns the loops, in the order of their Index.
func (r *Reactor) Loops() []*Loop { return r.loops }

// Pick chooses the loop for a new handler, round robin.
func (r *Reactor) Pick() *Loop {
	return r.loops[int(r.next.Add(1))%len(r.loops)]
}

// Stop ends the loops once their handlers have ended, and waits for them.
func (r *Reactor) Stop() {
	for _, l := range r.loops {
		l.post(post{stop: true})
	}
	r.wg.Wait()
}

type post struct {
	h    Handler
	m    Msg
	stop bool // exit once no handler is left
}

// Loop is one event loop. Fields below mu are owned by the loop's goroutine.
type Loop struct {
	r     *Reactor
	index int
	epfd  int
	ep    *os.File        // epfd, watched by Go's poller: the loop parks like any network goroutine
	rc    syscall.RawConn // ep's
	evfd  int             // eventfd that wakes the loop for queued messages

	mu     sync.Mutex
	queue  []post
	woken  bool      // evfd has been written since the queue was last taken
	closed bool      // evfd is closed: Post drops messages
	slots  []Handler // handlers by slot, under mu; event data names a slot
	gens   []uint32  // generation of each slot, against stale events
	free   []int32
	live   int

	stopping bool
	ready    []Handler // handlers to step in this round
	again    []Handler // handlers with more to do after their budget
	now      time.Time
	pipes    []Pipe

	events  []unix.EpollEvent
	everr   error // why epoll_wait failed, for run
	drained bool  // the last epoll_wait emptied the ready list
}

func newLoop(r *Reactor, index int) (*Loop, error) {
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
	return &Loop{r: r, index: index, epfd: epfd, ep: ep, rc: rc, evfd: evfd, events: make([]unix.EpollEvent, 128)}, nil
}

// Index numbers the loop within its Reactor, from 0.
func (l *Loop) Index() int { return l.index }

// Now is the time the current round started, for the handlers it steps.
func (l *Loop) Now() time.Time { return l.now }

// Post queues m for h on the loop and wakes it. Safe from any goroutine.
func (l *Loop) Post(h Handler, m Msg) { l.post(post{h: h, m: m}) }

// post queues p and wakes the loop.
//
// A message for a loop that has closed is dropped: its handler has ended
// (a timer, or a Shutdown's close, can come late). The eventfd is written
// under the lock, so that it is never written after close, when its number
// may already belong to another descriptor.
func (l *Loop) post(p post) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.queue = append(l.queue, p)
	if !l.woken {
		l.woken = true
		one := [8]byte{1}
		unix.Write(l.evfd, one[:])
	}
}

// run runs the loop until it is stopped and has no handler left.
//
// It never blocks in epoll_wait, which would hold a P and keep sysmon busy:
// with no event and nothing left to do, it parks in Go's poller until the
// epoll descriptor is readable. All rounds run inside one RawConn.Read,
// which forgets a readiness seen before it starts: within it, a readiness
// seen while the loop works is kept, so after a wait that emptied the ready
// list, the loop parks at once, and no event is lost.
func (l *Loop) run() {
	defer l.r.wg.Done()
	err := l.rc.Read(l.rounds)
	if err == nil {
		err = l.everr
	}
	if err != nil {
		panic(fmt.Sprintf("epoll: epoll_wait: %v", err)) // only a bug gets here
	}
	l.close()
}

// rounds runs rounds of the loop until there is nothing to do (false: wait
// until the epoll descriptor is readable), or the loop ends (true).
func (l *Loop) rounds(fd uintptr) bool {
	for {
		if l.drained && len(l.again) == 0 {
			// Any event since the last wait makes Go's poller report the
			// descriptor readable; without one, epoll_wait would find
			// nothing.
			l.drained = false
			return false
		}
		n, err := epollWait(int(fd), l.events)
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
		if l.stopping && l.handlers() == 0 {
			return true
		}
	}
}

// round handles events and the handlers with more to do.
func (l *Loop) round(events []unix.EpollEvent) {
	l.now = time.Now()
	for _, h := range l.again {
		l.mark(h)
	}
	clear(l.again)
	l.again = l.again[:0]
	queued := false
	l.mu.Lock() // handlers are registered from other goroutines
	for _, ev := range events {
		if ev.Fd < 0 {
			queued = true
			continue
		}
		slot, gen, side := ev.Fd, uint32(ev.Pad)>>1, int(ev.Pad&1)
		if int(slot) >= len(l.slots) || l.gens[slot] != gen || l.slots[slot] == nil {
			continue // a handler that has ended since
		}
		h := l.slots[slot]
		h.Event(side, ev.Events)
		l.mark(h)
	}
	l.mu.Unlock()
	if queued {
		l.takeQueue()
	}
	for i, h := range l.ready {
		h.member().marked = false
		if !h.Done() {
			h.Step()
		}
		l.ready[i] = nil
	}
	l.ready = l.ready[:0]
}

func (l *Loop) mark(h Handler) {
	if m := h.member(); !m.marked {
		m.marked = true
		l.ready = append(l.ready, h)
	}
}

// Again has h stepped again in the next round: it stopped with more to do,
// so that one busy handler cannot starve the others. From the loop only.
func (l *Loop) Again(h Handler) { l.again = append(l.again, h) }

// takeQueue handles the queued messages. The eventfd is reset before the
// queue is taken, so a message queued meanwhile writes it again.
func (l *Loop) takeQueue() {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	q := l.queue
	l.queue = nil
	l.woken = false
	l.mu.Unlock()
	for _, p := range q {
		switch {
		case p.stop:
			l.stopping = true
		case p.h.Done():
		case p.h.Message(p.m):
			l.mark(p.h)
		}
	}
}

// Register gives h a slot and adds its descriptors to the epoll set,
// edge-triggered: readiness is remembered in h until a read or write says
// EAGAIN. EPOLLOUT is left out until ArmOut, so that a new handler does not
// wake the loop just for being writable. Safe from any goroutine; the loop
// sees h once a descriptor has an event (or a message is posted).
func (l *Loop) Register(h Handler, fd0, fd1 int) error {
	m := h.member()
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
	m.slot, m.gen = slot, gen
	l.slots[slot] = h
	l.live++
	l.mu.Unlock()
	for side, fd := range [2]int{fd0, fd1} {
		if err := l.ctl(unix.EPOLL_CTL_ADD, fd, m, side, false); err != nil {
			return err
		}
	}
	return nil
}

// ArmOut adds EPOLLOUT to the registration of h's descriptor fd (side 0 or
// 1), after a write said EAGAIN. If the descriptor has become writable
// meanwhile, the change itself reports it.
func (l *Loop) ArmOut(h Handler, side, fd int) error {
	return l.ctl(unix.EPOLL_CTL_MOD, fd, h.member(), side, true)
}

// ctl adds or modifies the registration of a handler's descriptor.
func (l *Loop) ctl(op, fd int, m *Member, side int, out bool) error {
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET)
	if out {
		events |= unix.EPOLLOUT
	}
	ev := unix.EpollEvent{Events: events, Fd: m.slot, Pad: int32(m.gen<<1) | int32(side)}
	if err := unix.EpollCtl(l.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Remove forgets h; its descriptors leave the epoll set when it closes
// them.
func (l *Loop) Remove(h Handler) {
	m := h.member()
	l.mu.Lock()
	defer l.mu.Unlock()
	if int(m.slot) >= len(l.slots) || l.slots[m.slot] != h {
		return // never registered
	}
	l.slots[m.slot] = nil
	l.free = append(l.free, m.slot)
	l.live--
}

func (l *Loop) handlers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.live
}

func (l *Loop) close() {
	for _, p := range l.pipes {
		p.Close()
	}
	l.pipes = nil
	l.mu.Lock()
	l.closed = true
	unix.Close(l.evfd)
	l.mu.Unlock()
	l.ep.Close()
}

// Pipe is a pipe that carries bytes by splice(2), non-blocking at both
// ends.
type Pipe struct{ R, W int }

// Close closes both ends.
func (p Pipe) Close() {
	unix.Close(p.R)
	unix.Close(p.W)
}

// PipeSize is what pipes are grown to (the default maximum of
// /proc/sys/fs/pipe-max-size); a pipe that cannot grow keeps its size and
// simply takes fewer bytes at once.
const PipeSize = 1 << 20

// maxIdlePipes bounds the empty pipes a loop keeps for later handlers.
const maxIdlePipes = 8

// Pipe returns an empty pipe, kept from an earlier handler or new. From the
// loop only.
func (l *Loop) Pipe() (Pipe, error) {
	if k := len(l.pipes); k > 0 {
		p := l.pipes[k-1]
		l.pipes = l.pipes[:k-1]
		return p, nil
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return Pipe{}, fmt.Errorf("pipe2: %w", err)
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, PipeSize) // best effort
	return Pipe{R: fds[0], W: fds[1]}, nil
}

// PutPipe takes back an empty pipe.
func (l *Loop) PutPipe(p Pipe) {
	if len(l.pipes) < maxIdlePipes {
		l.pipes = append(l.pipes, p)
		return
	}
	p.Close()
}
