package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// The noVNC-shaped workload speaks a small framing of its own inside the
// relayed byte stream, so that it reads the same through a WebSocket proxy
// (which may split or join the backend's writes into frames as it likes)
// and through the plain relay: every backend message is a 4-byte header,
// a type byte and a 24-bit big-endian length, then the payload.
const (
	msgEcho   = 'E' // the reply to an input event: the event itself
	msgUpdate = 'U' // a piece of a framebuffer update
	msgHeader = 4

	inputSize   = 16       // an input event, client to backend
	updatePiece = 16 << 10 // the pieces of a burst, so that replies interleave
)

// Input events carry their kind in the first byte and the client's send
// time in the next eight.
const (
	kindStreamer = 'S' // the backend streams bursts to this session
	kindInput    = 'I' // input only
)

// mixBackend is the target of the noVNC-shaped workload: it echoes every
// input event as a small reply, and to the sessions whose events say
// kindStreamer it writes a framebuffer-like burst every period.
type mixBackend struct {
	ln     net.Listener
	burst  int
	period time.Duration
}

func startMixBackend(burst int, period time.Duration) (*mixBackend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &mixBackend{ln: ln, burst: burst, period: period}
	go serve(ln, b.handle)
	return b, nil
}

func (b *mixBackend) addr() string { return b.ln.Addr().String() }

func (b *mixBackend) handle(c net.Conn) {
	var mu sync.Mutex // one writer at a time: echoes go between burst pieces
	done := make(chan struct{})
	defer close(done)
	ev := make([]byte, inputSize)
	reply := make([]byte, msgHeader+inputSize)
	streaming := false
	for {
		if _, err := io.ReadFull(c, ev); err != nil {
			return
		}
		if ev[0] == kindStreamer && !streaming {
			streaming = true
			go b.stream(c, &mu, done)
		}
		putHeader(reply, msgEcho, inputSize)
		copy(reply[msgHeader:], ev)
		mu.Lock()
		_, err := c.Write(reply)
		mu.Unlock()
		if err != nil {
			return
		}
	}
}

// stream writes a burst of b.burst bytes every b.period, in pieces of
// updatePiece, until done; a burst that takes longer than the period
// delays the next (the ticker drops ticks), as a VNC server does.
func (b *mixBackend) stream(c net.Conn, mu *sync.Mutex, done chan struct{}) {
	piece := make([]byte, msgHeader+updatePiece)
	putHeader(piece, msgUpdate, updatePiece)
	copy(piece[msgHeader:], pattern)
	t := time.NewTicker(b.period)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		for sent := 0; sent < b.burst; sent += updatePiece {
			mu.Lock()
			_, err := c.Write(piece)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func putHeader(b []byte, typ byte, n int) {
	binary.BigEndian.PutUint32(b, uint32(typ)<<24|uint32(n))
}

// msgReader reassembles the backend's messages from what a client
// receives: frame payloads over WebSocket, reads over the plain relay.
// Control frames (the proxy's heartbeat pings) are skipped.
type msgReader struct {
	cl    *client
	buf   []byte // unread bytes
	store []byte // buf's backing array, reused once buf is empty
}

// next returns the next message's type and payload length; it does not
// keep payloads.
func (m *msgReader) next(payload []byte) (typ byte, n int, err error) {
	for len(m.buf) < msgHeader {
		if err := m.more(); err != nil {
			return 0, 0, err
		}
	}
	h := binary.BigEndian.Uint32(m.buf)
	typ, n = byte(h>>24), int(h&0xffffff)
	m.buf = m.buf[msgHeader:]
	for got := 0; got < n; {
		if len(m.buf) == 0 {
			if err := m.more(); err != nil {
				return 0, 0, err
			}
		}
		k := min(n-got, len(m.buf))
		if got < len(payload) {
			copy(payload[got:], m.buf[:k])
		}
		got += k
		m.buf = m.buf[k:]
	}
	return typ, n, nil
}

// more appends the next data frame's payload (or read) to m.buf.
func (m *msgReader) more() error {
	for {
		op, p, err := m.cl.next()
		if err != nil {
			return err
		}
		switch op {
		case opClose:
			return errors.New("closed by the proxy")
		case opBinary, 0x0: // binary, continuation
			if len(m.buf) == 0 {
				m.buf = m.store[:0]
			}
			m.buf = append(m.buf, p...)
			if cap(m.buf) > cap(m.store) {
				m.store = m.buf[:0]
			}
			return nil
		}
	}
}
