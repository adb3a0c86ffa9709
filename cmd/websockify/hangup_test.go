package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestHangups: a SIGHUP runs the current steps in order between before
// and after; a step whose context ended is dropped.
func TestHangups(t *testing.T) {
	h := newHangups()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	rec := func(s string) func() {
		return func() { mu.Lock(); got = append(got, s); mu.Unlock() }
	}
	done := make(chan struct{}, 1)
	hctx := h.with(ctx)
	onHangup(hctx, rec("tls"))
	gone, stop := context.WithCancel(hctx)
	onHangup(gone, rec("gone"))
	stop()
	onHangup(hctx, rec("wrapped"))
	h.run(ctx, slog.New(slog.DiscardHandler), rec("before"), func() { rec("after")(); done <- struct{}{} })

	syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGHUP not handled")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"before", "tls", "wrapped", "after"}; !slices.Equal(got, want) {
		t.Fatalf("steps %q; want %q", got, want)
	}
}
