package gateway

import (
	"fmt"
	"runtime"
	"time"

	"github.com/gobwas/ws"
	"github.com/websockify-go/websockify/gateway/internal/core"
	"github.com/websockify-go/websockify/gateway/internal/epoll"
)

// reactor is the epoll driver's event loops (internal/epoll), with each
// loop's scratch buffers: a session reads into them and keeps one only
// while the other side cannot take its bytes.
type reactor struct {
	loops   *epoll.Reactor
	scratch []scratch // by loop index
}

func newReactor(n int) (*reactor, error) {
	loops, err := epoll.New(n)
	if err != nil {
		return nil, err
	}
	return &reactor{loops: loops, scratch: make([]scratch, n)}, nil
}

// pick chooses the loop for a new session, and its scratch buffers.
func (r *reactor) pick() (*epoll.Loop, *scratch) {
	l := r.loops.Pick()
	return l, &r.scratch[l.Index()]
}

// stop ends the loops once their sessions have ended, and waits for them.
func (r *reactor) stop() {
	r.loops.Stop()
	for i := range r.scratch {
		r.scratch[i].release()
	}
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
		r, err := newReactorFunc(s.loopCount())
		if err != nil {
			s.logger().Warn("event loops unavailable; relaying with goroutines", "err", err)
			s.noLoops = true
			return nil
		}
		s.loops = r
	}
	return s.loops
}

func (s *Server) loopCount() int {
	if s.EventLoops > 0 {
		return s.EventLoops
	}
	return runtime.GOMAXPROCS(0)
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
	r, err := newReactorFunc(s.loopCount())
	if err != nil {
		return fmt.Errorf("gateway: epoll relay: %w", err)
	}
	s.loops = r
	return nil
}

// The messages a pollSession takes from other goroutines.
const (
	msgStep  uint8 = iota // it has something to do before any event
	msgClose              // send a close frame (Shutdown, CloseSessions)
	msgAbort              // end it at once
	msgTimer              // one of its deadlines may have passed
)

// Message handles a message posted to the session, on its loop.
func (ps *pollSession) Message(m epoll.Msg) bool {
	switch m.Kind {
	case msgClose:
		ps.core.Stop(core.Cause(m.Cause), ws.StatusCode(m.Code), m.Reason, ps.l.Now())
	case msgAbort:
		ps.end()
		return false
	case msgTimer:
		ps.timerAt = time.Time{}
	}
	return true
}

// Step does what the session's readiness and deadlines allow.
func (ps *pollSession) Step() { ps.step() }

// Done reports whether the session has ended.
func (ps *pollSession) Done() bool { return ps.done }

// scratch is a loop's scratch buffers, used by its goroutine only.
type scratch struct {
	cbuf *inBuf  // client input
	tbuf *[]byte // target input, with room for a frame header in front
}

// clientBuf is the scratch buffer for client input.
func (sc *scratch) clientBuf() *inBuf {
	if sc.cbuf == nil {
		sc.cbuf = inBufPool.Get().(*inBuf)
	}
	return sc.cbuf
}

// putClientBuf takes back a session's input buffer: as the scratch buffer
// if there is none (and it is a full-size one), else into its pool.
func (sc *scratch) putClientBuf(ib *inBuf) {
	if sc.cbuf == nil && len(ib.b) == clientReadSize {
		ib.reset()
		sc.cbuf = ib
		return
	}
	ib.put()
}

// targetBuf is the scratch buffer for target input.
func (sc *scratch) targetBuf() *[]byte {
	if sc.tbuf == nil {
		sc.tbuf = bufPool.Get().(*[]byte)
	}
	return sc.tbuf
}

func (sc *scratch) release() {
	if sc.cbuf != nil {
		sc.cbuf.put()
	}
	if sc.tbuf != nil {
		bufPool.Put(sc.tbuf)
	}
	sc.cbuf, sc.tbuf = nil, nil
}
