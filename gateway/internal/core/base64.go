package core

import (
	"encoding/base64"

	"github.com/gobwas/ws"
)

// The base64 subprotocol: every text message carries base64, which is
// decoded per message, as the reference decodes each message whole. Within
// a message, pieces of any size decode as they arrive (a quad may span
// frames and reads); the message's end is a quad boundary. A message whose
// last quad is short ("YQ", "aGk": what btoa never sends, but other clients
// do) is taken as unpadded; a single character left over, a character
// outside the alphabet, or data after padding is invalid: the session
// closes with 1003.

// decodeTable maps base64 characters to their values; 0xff marks
// characters outside the alphabet and 0xfe the line breaks that are
// skipped, as encoding/base64 skips them.
var decodeTable = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	t['\r'], t['\n'] = 0xfe, 0xfe
	return t
}()

var errBase64 = &CloseError{ws.StatusUnsupportedData, "Invalid base64 data", nil}

// b64Decoder decodes a message's base64 in place. Between pieces it keeps
// the characters of an unfinished quad as values (at most 3) and whether
// the message's padding has been seen.
type b64Decoder struct {
	acc    uint32 // values of the unfinished quad, 6 bits each
	n      int    // characters in acc
	pad    int    // '=' seen at the end of the current quad
	padded bool   // the message's last quad is done: nothing may follow
}

// decode decodes buf[start:end] in place, with the unfinished quad of the
// piece before, and returns the bytes decoded: buf[from:to], where from is
// start less the characters carried over, so buf must have that many free
// bytes before start (a frame header or a driver's headroom, see
// ClientHeadroom). Output never overtakes input: every 3 bytes written
// follow 4 characters read. With last, the piece ends its message: a short
// quad is decoded as unpadded. On an error, buf[from:to] holds the quads
// decoded before it, so that what reaches the target does not depend on how
// the message was cut into pieces.
func (d *b64Decoder) decode(buf []byte, start, end int, last bool) (from, to int, err error) {
	from = start - d.n
	w := from
	for r := start; r < end; r++ {
		c := buf[r]
		v := decodeTable[c]
		switch {
		case v == 0xfe:
			continue
		case d.padded:
			return from, w, errBase64
		case c == '=':
			if d.n < 2 {
				return from, w, errBase64
			}
			d.pad++
			if d.n+d.pad == 4 {
				w += d.flush(buf[w:])
			}
			continue
		case v == 0xff, d.pad > 0:
			return from, w, errBase64
		}
		d.acc = d.acc<<6 | uint32(v)
		if d.n++; d.n == 4 {
			w += d.flush(buf[w:])
		}
	}
	if last {
		if d.pad > 0 || d.n == 1 {
			return from, w, errBase64 // a quad cut short
		}
		if d.n > 0 {
			w += d.flush(buf[w:])
		}
		*d = b64Decoder{}
	}
	return from, w, nil
}

// flush writes the bytes of the quad in acc (4 characters, or 2 or 3 when
// padded or at a message's end) to dst and starts the next quad.
func (d *b64Decoder) flush(dst []byte) int {
	k := d.n - 1 // bytes the characters make
	v := d.acc << (6 * uint(4-d.n))
	dst[0] = byte(v >> 16)
	if k > 1 {
		dst[1] = byte(v >> 8)
	}
	if k > 2 {
		dst[2] = byte(v)
	}
	d.padded = d.pad > 0
	d.acc, d.n, d.pad = 0, 0, 0
	return k
}

// EncodedLen is the size of n target bytes in a base64 frame.
func EncodedLen(n int) int { return base64.StdEncoding.EncodedLen(n) }

func encodeBase64(dst, src []byte) { base64.StdEncoding.Encode(dst, src) }
