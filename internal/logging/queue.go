package logging

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// queueSize is how many records a sink may fall behind before records
// are dropped.
const queueSize = 4096

// drainTimeout bounds how long Close waits for a sink to take what is
// queued.
const drainTimeout = 2 * time.Second

// queue puts a bounded queue and one writer goroutine in front of a sink
// (stderr, a log file, syslog), so that logging never blocks the caller: a
// session's relay must wait on nothing but its own two sockets, not on a
// syslog reader that stopped reading or a log file on a stuck disk. When
// the queue is full, records are dropped and counted; the sink gets one
// line saying how many when it takes records again.
type queue struct {
	// ch holds pointers: a full channel of records would be a fixed
	// 1.6 MB per sink (4,096 records of about 400 bytes), there whether
	// or not anything waits. A queued record is allocated when it is
	// logged and freed once written.
	ch      chan *queued
	root    slog.Handler // for the notice of dropped records
	dropped atomic.Int64 // since the last notice
	total   atomic.Int64 // since start

	mu     sync.RWMutex // guards closed against Handle sending on a closed ch
	closed bool
	done   chan struct{}
}

type queued struct {
	h     slog.Handler
	r     slog.Record
	flush chan struct{} // set for a flush marker instead of a record
}

// queuedHandler is a slog.Handler feeding a queue.
type queuedHandler struct {
	q *queue
	h slog.Handler
}

// newQueue starts the writer of h's queue. Close stops it.
func newQueue(h slog.Handler, size int) (*queuedHandler, *queue) {
	q := &queue{ch: make(chan *queued, size), root: h, done: make(chan struct{})}
	go q.run()
	return &queuedHandler{q: q, h: h}, q
}

func (q *queue) run() {
	defer close(q.done)
	for it := range q.ch {
		if it.flush != nil {
			close(it.flush)
			continue
		}
		q.notice()
		it.h.Handle(context.Background(), it.r)
	}
	q.notice()
}

// notice reports the records dropped since the last notice, if any.
func (q *queue) notice() {
	n := q.dropped.Swap(0)
	if n == 0 {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "log records dropped: the log destination did not keep up", 0)
	r.AddAttrs(slog.Int64("dropped", n), slog.Int64("dropped_total", q.total.Load()))
	q.root.Handle(context.Background(), r)
}

// Dropped is the number of records dropped since start.
func (q *queue) Dropped() int64 { return q.total.Load() }

// Close stops taking records and waits (up to drainTimeout) until the
// queued ones are written.
func (q *queue) Close() error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	select {
	case <-q.done:
	case <-time.After(drainTimeout):
	}
	return nil
}

// flush waits, at most timeout, until the records queued before it have
// been written.
func (q *queue) flush(timeout time.Duration) {
	done := make(chan struct{})
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return
	}
	select {
	case q.ch <- &queued{flush: done}:
	case <-deadline.C:
		q.mu.RUnlock()
		return
	}
	q.mu.RUnlock()
	select {
	case <-done:
	case <-deadline.C:
	}
}

func (h *queuedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.h.Enabled(ctx, l)
}

// Handle queues r without waiting; a full queue drops it.
func (h *queuedHandler) Handle(_ context.Context, r slog.Record) error {
	q := h.q
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return nil
	}
	select {
	case q.ch <- &queued{h: h.h, r: r.Clone()}:
	default:
		q.dropped.Add(1)
		q.total.Add(1)
	}
	return nil
}

func (h *queuedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &queuedHandler{q: h.q, h: h.h.WithAttrs(as)}
}

func (h *queuedHandler) WithGroup(name string) slog.Handler {
	return &queuedHandler{q: h.q, h: h.h.WithGroup(name)}
}
