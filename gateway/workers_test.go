package gateway

import (
	"sync"
	"testing"
	"time"
)

// At most limit goroutines stay waiting after a burst, they take the next
// jobs, and stop ends them (the package's goleak check would see any left).
func TestWorkersKeepAtMostLimit(t *testing.T) {
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
	time.Sleep(50 * time.Millisecond) // the others have had time to end
	if n := w.idle.Load(); n != 3 {
		t.Fatalf("%d goroutines waiting after the burst; want 3", n)
	}
	done := make(chan struct{})
	w.run(func() { close(done) }) // taken by a waiting goroutine
	<-done
	w.stop()
}
