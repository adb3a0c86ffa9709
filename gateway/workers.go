package gateway

import "sync/atomic"

// workers runs accepted connections on goroutines kept from earlier ones.
// A handshake grows a new goroutine's stack several times (the request
// parser, the upgrader, logging); a kept goroutine has grown it already.
// At most limit goroutines wait for work; the others end with their
// connection.
type workers struct {
	jobs  chan func()
	quit  chan struct{}
	idle  atomic.Int32
	limit int32
}

func newWorkers(limit int) *workers {
	return &workers{jobs: make(chan func()), quit: make(chan struct{}), limit: int32(limit)}
}

// run runs f on a waiting goroutine, or on a new one.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		go w.work(f)
	}
}

func (w *workers) work(f func()) {
	for {
		f()
		if w.idle.Add(1) > w.limit {
			w.idle.Add(-1)
			return
		}
		select {
		case f = <-w.jobs:
			w.idle.Add(-1)
		case <-w.quit:
			return
		}
	}
}

// stop ends the waiting goroutines; run must not be called after.
func (w *workers) stop() { close(w.quit) }
