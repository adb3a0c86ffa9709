package gateway

import (
	"crypto/tls"
	"net"
	"sync"

	"github.com/websockify-go/websockify/gateway/internal/core"
)

// batchConn is the connection under a TLS session. crypto/tls writes every
// record (16 KiB at most) with its own Write; while a frame is written,
// batchConn gathers them, so that one frame costs one system call. Its
// methods may be called from any goroutine: TLS may write from the reading
// side too (alerts, key updates), and such writes join the batch.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     *[]byte // gathered records while holding, from batchPool
}

var batchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, core.Headroom+targetReadSize+4<<10)
	return &b
}}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holding {
		*b.buf = append(*b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// hold starts gathering writes.
func (b *batchConn) hold() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = true
	if b.buf == nil {
		b.buf = batchPool.Get().(*[]byte)
	}
}

// release writes what was gathered in one call and stops gathering. The
// buffer goes back to the pool: an idle session holds none.
func (b *batchConn) release() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	var err error
	if len(*b.buf) > 0 {
		_, err = b.Conn.Write(*b.buf)
	}
	*b.buf = (*b.buf)[:0]
	batchPool.Put(b.buf)
	b.buf = nil
	return err
}

// CloseWrite half-closes the underlying connection when it can.
func (b *batchConn) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// batchOf returns the batchConn under a TLS session's connection, or nil.
func batchOf(c net.Conn) *batchConn {
	if tc, ok := c.(*tls.Conn); ok {
		b, _ := tc.NetConn().(*batchConn)
		return b
	}
	return nil
}
