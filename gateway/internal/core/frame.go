package core

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Headroom is the room kept in front of a payload so that its frame header
// can be written in place: server frames are never masked.
const Headroom = ws.MaxHeaderSize - 4

// HeaderLen is the size of an unmasked frame header for a payload of n
// bytes.
func HeaderLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// PutHeader encodes an unmasked, final frame header into dst, which is
// exactly HeaderLen(n) bytes long (RFC 6455 §5.2).
func PutHeader(dst []byte, op ws.OpCode, n int) {
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

// frameIn builds the frame of payload buf[Headroom:] in place and returns
// it: its header goes right before the payload.
func frameIn(buf []byte, op ws.OpCode) []byte {
	n := len(buf) - Headroom
	start := Headroom - HeaderLen(n)
	PutHeader(buf[start:Headroom], op, n)
	return buf[start:]
}
