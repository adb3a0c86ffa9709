package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the queue's writer goroutine and
// the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFlushWritesWhatWasLogged: after Flush, every record logged before it
// is out (a daemon child flushes before it reports ready).
func TestFlushWritesWhatWasLogged(t *testing.T) {
	var out lockedBuffer
	log, closer, err := New(Options{Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	for i := range 200 {
		log.Info("line", "n", i)
	}
	closer.(interface{ Flush(time.Duration) }).Flush(10 * time.Second)
	if n := strings.Count(out.String(), "line"); n != 200 {
		t.Fatalf("%d of 200 lines written after Flush", n)
	}
}
