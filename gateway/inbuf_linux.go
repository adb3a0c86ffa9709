package gateway

import (
	"sync"

	"github.com/websockify-go/websockify/gateway/internal/epoll"
	"golang.org/x/sys/unix"
)

// clientReadSize is an event loop's read size for client input: larger
// reads mean fewer system calls per byte relayed.
const clientReadSize = 1 << 20

// gatherMax is the largest piece of payload moved in memory to join the
// piece before it; longer pieces are written where they are, by writev.
const gatherMax = 4 << 10

// maxIovecs bounds the pieces handed to one writev call.
const maxIovecs = 64

// inBuf holds client input and, once parsed and unmasked in place, the
// payload pieces bound for the target: spans of b between the frame
// headers, in order. Short pieces are moved next to the piece before
// them, so there is at most one span per gatherMax bytes.
type inBuf struct {
	b     []byte
	spans []span
	first int // spans[first:] are not written yet
	iov   [maxIovecs]unix.Iovec
}

type span struct{ a, b int }

// slowReadSize is the client read size while the target pushes back: a
// session then holds at most this much for it (in a small buffer), not a
// whole clientReadSize buffer.
const slowReadSize = 64 << 10

var (
	inBufPool = sync.Pool{New: func() any {
		return &inBuf{b: make([]byte, clientReadSize), spans: make([]span, 0, 16)}
	}}
	smallInBufPool = sync.Pool{New: func() any {
		return &inBuf{b: make([]byte, slowReadSize), spans: make([]span, 0, 4)}
	}}
)

// put returns ib to its pool.
func (ib *inBuf) put() {
	ib.reset()
	if len(ib.b) == clientReadSize {
		inBufPool.Put(ib)
	} else {
		smallInBufPool.Put(ib)
	}
}

// unsent is the number of target-bound bytes left.
func (ib *inBuf) unsent() int {
	n := 0
	for _, sp := range ib.spans[ib.first:] {
		n += sp.b - sp.a
	}
	return n
}

// shrink moves the unsent bytes of a large buffer into a small one when
// they fit, and returns the buffer that now holds them; the caller gives
// back the other.
func (ib *inBuf) shrink() *inBuf {
	if len(ib.b) != clientReadSize || ib.unsent() > slowReadSize {
		return ib
	}
	small := smallInBufPool.Get().(*inBuf)
	n := 0
	for _, sp := range ib.spans[ib.first:] {
		n += copy(small.b[n:], ib.b[sp.a:sp.b])
	}
	small.spans = append(small.spans, span{0, n})
	return small
}

func (ib *inBuf) reset() {
	ib.spans, ib.first = ib.spans[:0], 0
	clear(ib.iov[:])
}

// pending reports whether target-bound bytes are left.
func (ib *inBuf) pending() bool { return ib.first < len(ib.spans) }

// add appends b[s:e], which follows the last span in b.
func (ib *inBuf) add(s, e int) {
	if k := len(ib.spans); k > 0 {
		last := &ib.spans[k-1]
		switch {
		case last.b == s:
			last.b = e
			return
		case e-s <= gatherMax:
			last.b += copy(ib.b[last.b:], ib.b[s:e])
			return
		case last.b-last.a <= gatherMax && k-1 >= ib.first:
			n := last.b - last.a
			last.a = s - copy(ib.b[s-n:s], ib.b[last.a:last.b])
			last.b = e
			return
		}
	}
	ib.spans = append(ib.spans, span{s, e})
}

// writeTo writes the pending spans to fd with one writev and drops what
// was written.
func (ib *inBuf) writeTo(fd int) (int, error) {
	k := 0
	for _, sp := range ib.spans[ib.first:] {
		if k == maxIovecs {
			break
		}
		ib.iov[k].Base = &ib.b[sp.a]
		ib.iov[k].SetLen(sp.b - sp.a)
		k++
	}
	n, err := epoll.Writev(fd, ib.iov[:k])
	if err != nil {
		return 0, err
	}
	for left := n; left > 0; {
		sp := &ib.spans[ib.first]
		if m := sp.b - sp.a; m <= left {
			left -= m
			ib.first++
		} else {
			sp.a += left
			left = 0
		}
	}
	return n, nil
}
