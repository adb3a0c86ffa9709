package gateway

import (
	"errors"
	"runtime"
	"testing"

	"github.com/gobwas/ws"
)

// TestLoopFallbackLeavesConfig: when the event loops cannot start, sessions
// are relayed with goroutines, and Server's fields are left as they were
// set (they were written at run time, racing with anyone reading them: the
// race detector catches that here).
func TestLoopFallbackLeavesConfig(t *testing.T) {
	newReactorFunc = func(int) (*reactor, error) { return nil, errors.New("no loops today") }
	t.Cleanup(func() { newReactorFunc = newReactor })
	s := &Server{Target: Endpoint{Address: startEcho(t)}, EventLoops: 2}
	addr := startServer(t, s)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s.EventLoops != 2 || s.Relay != RelayAuto {
				t.Error("Server's config changed while serving")
				return
			}
			runtime.Gosched()
		}
	}()
	for range 3 {
		c, br, _ := dial(t, addr, "")
		c.Write(clientFrame(true, ws.OpBinary, []byte("hi")))
		if f := readFrame(t, br); string(f.Payload) != "hi" {
			t.Fatalf("echo %q", f.Payload)
		}
	}
	close(stop)
	<-done
}

// TestRelayEpollNeedsLoops: asked for by name, the epoll driver is not
// replaced silently: Serve fails when the loops cannot start.
func TestRelayEpollNeedsLoops(t *testing.T) {
	newReactorFunc = func(int) (*reactor, error) { return nil, errors.New("no loops today") }
	t.Cleanup(func() { newReactorFunc = newReactor })
	s := &Server{Target: Endpoint{Address: "127.0.0.1:1"}, Relay: RelayEpoll, Logger: quietLogger()}
	ln := newLocalListener(t)
	defer ln.Close()
	if err := s.Serve(ln); err == nil {
		t.Fatal("Serve relayed with goroutines while epoll was asked for")
	}
}
