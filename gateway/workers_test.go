package gateway

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// At most limit goroutines stay waiting after a burst, they take the next
// jobs, and stop ends them (the package's goleak check would see any left).
func TestWorkersKeepAtMostLimit(t *testing.T) {
	base := runtime.NumGoroutine()
	w := newWorkers(3)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		w.run(func() {
			defer wg.Done()
			<-release
		})
	}
	close(release)
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for w.idle.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for runtime.NumGoroutine() > base+3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the others end
	}
	if n := runtime.NumGoroutine(); n != base+3 {
		t.Fatalf("%d goroutines left after the burst; want %d", n-base, 3)
	}
	if n := w.idle.Load(); n != 3 {
		t.Fatalf("%d goroutines waiting after the burst; want 3", n)
	}
	done := make(chan struct{})
	w.run(func() { close(done) }) // taken by a waiting goroutine
	<-done
	w.stop()
}
