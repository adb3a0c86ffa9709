package gateway

import (
	"net"
	"sync"
	"time"
)

// frameWriter is the single writer of a client connection in the goroutine
// relay. Whole frames are written under its lock, so control frames from
// the reading side never interleave with data frames from the target side.
type frameWriter struct {
	mu      sync.Mutex
	conn    net.Conn
	batch   *batchConn // under conn when it is TLS: one system call per frame
	timeout time.Duration
}

// writeLocked writes frames (whole ones), with w.mu held.
func (w *frameWriter) writeLocked(frames []byte) error {
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if w.batch == nil {
		_, err := w.conn.Write(frames)
		return err
	}
	w.batch.hold()
	_, err := w.conn.Write(frames)
	if rerr := w.batch.release(); err == nil {
		err = rerr
	}
	return err
}
