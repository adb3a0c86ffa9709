package gateway

import (
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// TLS sessions on an event loop. crypto/tls runs over loopTLS, a
// connection that never waits: a read the socket cannot serve yet fails
// with errWouldBlock, which crypto/tls treats as temporary (its state is
// kept, and the next Read goes on where this one stopped), and writes only
// gather the records, which the loop then writes when the socket takes
// them. A frame's records leave in one system call, and what waits for a
// slow client is bounded as on plain sessions: one frame, plus control
// frames.

// errWouldBlock is a read that would wait for the socket.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "gateway: read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// loopTLS is the connection under a TLS session relayed by a loop. It is
// used from the loop's goroutine only.
type loopTLS struct {
	net.Conn // the accepted connection, closed: for its addresses only
	fd       int
	out      *[]byte // records not written yet (from batchPool), or nil
}

func (c *loopTLS) Read(p []byte) (int, error) {
	for {
		n, err := epoll.Read(c.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, errWouldBlock
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write gathers records for flush.
func (c *loopTLS) Write(p []byte) (int, error) {
	if c.out == nil {
		c.out = batchPool.Get().(*[]byte)
	}
	*c.out = append(*c.out, p...)
	return len(p), nil
}

// pending reports whether records wait for the socket.
func (c *loopTLS) pending() bool { return c.out != nil && len(*c.out) > 0 }

// flush writes the waiting records; EAGAIN and other errors are the
// socket's. The buffer goes back to the pool once empty.
func (c *loopTLS) flush() (int, error) {
	n, err := epoll.Write(c.fd, *c.out)
	if n > 0 {
		if rest := len(*c.out) - n; rest > 0 {
			*c.out = (*c.out)[:copy(*c.out, (*c.out)[n:])]
		} else {
			c.release()
		}
	}
	return n, err
}

func (c *loopTLS) release() {
	if c.out != nil {
		*c.out = (*c.out)[:0]
		batchPool.Put(c.out)
		c.out = nil
	}
}

// The loop keeps the time: deadlines are its timers, not the socket's.
func (c *loopTLS) SetDeadline(time.Time) error      { return nil }
func (c *loopTLS) SetReadDeadline(time.Time) error  { return nil }
func (c *loopTLS) SetWriteDeadline(time.Time) error { return nil }

// Close and CloseWrite leave the socket to the loop.
func (c *loopTLS) Close() error      { return nil }
func (c *loopTLS) CloseWrite() error { return nil }

// loopTLSClient returns the parts of a TLS session's client connection an
// event loop needs: the TLS connection, the prefixConn under it and the
// accepted socket, when the stack is the one sniff builds and nothing is
// left to replay.
func loopTLSClient(c net.Conn) (*tls.Conn, *prefixConn, bool) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil, nil, false
	}
	b, ok := tc.NetConn().(*batchConn)
	if !ok {
		return nil, nil, false
	}
	b.mu.Lock()
	holding := b.holding
	b.mu.Unlock()
	pc, ok := b.Conn.(*prefixConn)
	if !ok || holding || len(pc.prefix) > 0 || !plainSocket(pc.Conn) {
		return nil, nil, false
	}
	return tc, pc, true
}
