package epoll

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair is a handler over a socket pair that records what it is told.
type pair struct {
	Member
	l      *Loop
	fds    [2]int
	events chan int
	msgs   chan Msg
	done   bool
}

// Event drains the ready side itself, before it reports it: a Step that
// drained both sides could consume the next write to the other one before
// epoll reported it, and an edge-triggered epoll reports nothing for a
// descriptor found empty (the test then waited for ever under load).
func (p *pair) Event(side int, ev uint32) {
	if ev&In != 0 {
		var b [64]byte
		for {
			if n, _ := Read(p.fds[side], b[:]); n <= 0 {
				break
			}
		}
		select {
		case p.events <- side:
		default:
		}
	}
}
func (p *pair) Message(m Msg) bool {
	p.msgs <- m
	if m.Kind == 1 {
		p.done = true
		p.l.Remove(p)
		return false
	}
	return true
}
func (p *pair) Step()      {}
func (p *pair) Done() bool { return p.done }

func socketPair(t *testing.T) [2]int {
	t.Helper()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	return sp
}

// TestLoopEventsAndMessages: readiness of either descriptor reaches the
// handler with its side, and posted messages arrive in order.
func TestLoopEventsAndMessages(t *testing.T) {
	r, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t), socketPair(t)
	p := &pair{l: r.Pick(), fds: [2]int{a[0], b[0]}, events: make(chan int, 4), msgs: make(chan Msg, 4)}
	if err := p.l.Register(p, a[0], b[0]); err != nil {
		t.Fatal(err)
	}
	Write(b[1], []byte("x"))
	if side := <-p.events; side != 1 {
		t.Fatalf("event on side %d; want 1", side)
	}
	Write(a[1], []byte("y"))
	if side := <-p.events; side != 0 {
		t.Fatalf("event on side %d; want 0", side)
	}
	p.l.Post(p, Msg{Kind: 0, Code: 1001, Reason: "bye"})
	p.l.Post(p, Msg{Kind: 1})
	if m := <-p.msgs; m.Code != 1001 || m.Reason != "bye" {
		t.Fatalf("message %+v", m)
	}
	<-p.msgs
	r.Stop()
}

// TestLoopPostAfterCloseWritesNothing: a message for a loop that has
// stopped (a late timer, a Shutdown's close) is dropped; it must not write
// to the loop's old eventfd number, which another descriptor may have
// taken (it once did: eight bytes before an HTTP response).
func TestLoopPostAfterCloseWritesNothing(t *testing.T) {
	r, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Loops()[0]
	r.Stop()
	sp := socketPair(t)
	l.Post(&pair{}, Msg{})
	for _, fd := range sp {
		var b [16]byte
		if n, err := unix.Read(fd, b[:]); err != unix.EAGAIN {
			t.Fatalf("descriptor %d (the loop's eventfd was %d): read %d bytes (%v) after a post to the closed loop", fd, l.evfd, n, err)
		}
	}
}
