package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// stuckWriter blocks every Write until released.
type stuckWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestQueueNeverBlocks: with the sink stuck, logging returns at once;
// what does not fit is dropped, counted and reported in one line once
// the sink moves again; Close drains.
func TestQueueNeverBlocks(t *testing.T) {
	w := &stuckWriter{release: make(chan struct{})}
	h, q := newQueue(NewPlain(w, slog.LevelInfo, false), 8)
	log := slog.New(h).With("session", 1)
	// The writer goroutine takes one record and blocks on it; 8 more fill
	// the queue; the rest are dropped. None of these calls may wait (the
	// test would hang).
	for i := range 100 {
		log.Info("line", "i", i)
	}
	if got := q.Dropped(); got < 100-1-8 {
		t.Fatalf("dropped %d; want at least %d", got, 100-1-8)
	}
	close(w.release)
	q.Close()
	out := w.buf.String()
	if !strings.Contains(out, "log records dropped") || !strings.Contains(out, "dropped=") {
		t.Fatalf("no line saying how many records were dropped:\n%s", out)
	}
	if n := strings.Count(out, "line"); n < 2 || n > 9 {
		t.Fatalf("%d records written; want those that fit the queue", n)
	}
	log.Info("after close") // dropped quietly, no panic
}
