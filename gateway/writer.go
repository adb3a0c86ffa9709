package gateway

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// frameHeadroom is the space kept in front of a payload so that the frame
// header can be written in place and header and payload leave in one write.
const frameHeadroom = ws.MaxHeaderSize - 4 // server frames are never masked

// errCloseSent is returned for writes after our close frame: RFC 6455 allows
// no data frames after it.
var errCloseSent = errors.New("gateway: close frame already sent")

// frameWriter is the single writer of a client connection. Every frame is
// written whole under one lock, so pongs from the reading side never
// interleave with data frames from the target side.
type frameWriter struct {
	mu        sync.Mutex
	conn      net.Conn
	batch     *batchConn // under conn when it is TLS: one system call per frame
	timeout   time.Duration
	closeSent bool
	// loop, once set, owns the connection: the session has been handed to
	// an event loop and every write through w fails with errHandedOff.
	loop loopSession
	ctl  [frameHeadroom + ws.MaxControlFramePayloadSize]byte
}

// loopSession is a session relayed by an event loop (reactor_linux.go).
// Its methods may be called from any goroutine.
type loopSession interface {
	// goAway sends a close frame with code and reason, as closeWith does.
	goAway(code ws.StatusCode, reason string)
	// abort ends the session at once, closing both connections.
	abort()
}

// errHandedOff is returned for writes through a frameWriter whose
// connection an event loop owns.
var errHandedOff = errors.New("gateway: session relayed by an event loop")

// handedOff returns the event loop side of the session, or nil.
func (w *frameWriter) handedOff() loopSession {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loop
}

// writeFrame sends buf[frameHeadroom:] as one unfragmented frame of type op.
// buf must have frameHeadroom bytes of room before the payload.
func (w *frameWriter) writeFrame(op ws.OpCode, buf []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loop != nil {
		return errHandedOff
	}
	if w.closeSent {
		return errCloseSent
	}
	return w.writeLocked(op, buf)
}

func (w *frameWriter) writeLocked(op ws.OpCode, buf []byte) error {
	payload := len(buf) - frameHeadroom
	start := frameHeadroom - headerLen(payload)
	putHeader(buf[start:frameHeadroom], op, payload)
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if w.batch == nil {
		_, err := w.conn.Write(buf[start:])
		return err
	}
	w.batch.hold()
	_, err := w.conn.Write(buf[start:])
	if rerr := w.batch.release(); err == nil {
		err = rerr
	}
	return err
}

// writeControl sends a control frame with payload p (at most 125 bytes).
func (w *frameWriter) writeControl(op ws.OpCode, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loop != nil {
		return errHandedOff
	}
	if w.closeSent {
		return errCloseSent
	}
	if op == ws.OpClose {
		w.closeSent = true
	}
	n := copy(w.ctl[frameHeadroom:], p)
	return w.writeLocked(op, w.ctl[:frameHeadroom+n])
}

// sendClose sends our close frame once; later calls do nothing and report
// false.
func (w *frameWriter) sendClose(code ws.StatusCode, reason string) (bool, error) {
	var body []byte
	if code != 0 {
		if len(reason) > ws.MaxControlFramePayloadSize-2 {
			reason = reason[:ws.MaxControlFramePayloadSize-2]
		}
		body = ws.NewCloseFrameBody(code, reason)
	}
	err := w.writeControl(ws.OpClose, body)
	if errors.Is(err, errCloseSent) {
		return false, nil
	}
	return true, err
}

func (w *frameWriter) isCloseSent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeSent
}

// headerLen is the size of an unmasked frame header for a payload of n bytes.
func headerLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// putHeader encodes an unmasked, final frame header into dst, which is
// exactly headerLen(n) bytes long (RFC 6455 §5.2).
func putHeader(dst []byte, op ws.OpCode, n int) {
	dst[0] = 0x80 | byte(op)
	switch len(dst) {
	case 2:
		dst[1] = byte(n)
	case 4:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
	default:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
	}
}
