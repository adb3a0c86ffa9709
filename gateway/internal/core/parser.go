package core

import (
	"encoding/binary"
	"io"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// parser reads client frames from bytes as they arrive, in pieces of any
// size: the one frame parser of both drivers. It applies the rules of
// gobwas's wsutil.Reader (which needs a blocking reader, and is the oracle
// of its tests): ws.CheckHeader on every header (masking, RSV bits,
// reserved opcodes, control frames final and at most 125 bytes,
// continuation order), MaxFrameSize per frame, a 64-bit length with its
// most significant bit set is refused; and checkOp on the first frame of
// each message. Its errors are those of wsutil.Reader and ws, so
// closeErrorFor maps them to close codes.
//
// Data payloads are unmasked in place and handed out as they come; control
// payloads are gathered and handed out whole. The parser keeps at most a
// partial header and a partial control payload between calls, never the
// caller's buffer.
type parser struct {
	maxSize int64
	checkOp func(ws.OpCode) error // first frame of a message; nil accepts all

	state ws.State // server side, plus fragmented inside a message
	hdr   [ws.MaxHeaderSize]byte
	hdrN  uint8     // bytes of a partial header in hdr
	cur   ws.Header // the frame being read, when in
	left  int64     // payload bytes of cur not read yet
	mpos  int       // payload bytes of cur unmasked so far, for the mask offset
	in    bool      // inside a frame's payload (cur is valid)
	ctlN  uint8
	ctl   [ws.MaxControlFramePayloadSize]byte
}

// parsed is what parser.next found.
type parsed uint8

const (
	parsedNothing parsed = iota // the input was used up (a partial header or control payload is kept)
	parsedData                  // a piece of data payload, unmasked in place; msgEnd when it ends its message
	parsedControl               // a whole control frame: header and payload
)

func newParser(maxSize int64, checkOp func(ws.OpCode) error) parser {
	return parser{maxSize: maxSize, checkOp: checkOp, state: ws.StateServerSide}
}

// next consumes the start of p and reports the first thing found. used is
// how many bytes of p it consumed. For parsedData, data is a subslice of p
// (possibly empty, for an empty frame that ends a message). For
// parsedControl, h is the frame's header and data its payload, valid until
// the next call. An error ends parsing for good.
func (fp *parser) next(p []byte) (what parsed, used int, h ws.Header, data []byte, msgEnd bool, err error) {
	if !fp.in {
		n, ok, err := fp.readHeader(p)
		used = n
		if err != nil || !ok {
			return parsedNothing, used, h, nil, false, err
		}
		if err := fp.startFrame(); err != nil {
			return parsedNothing, used, h, nil, false, err
		}
	}
	m := int(min(fp.left, int64(len(p)-used)))
	chunk := p[used : used+m]
	used += m
	if fp.cur.Masked && m > 0 {
		ws.Cipher(chunk, fp.cur.Mask, fp.mpos)
	}
	fp.mpos += m
	fp.left -= int64(m)
	if fp.cur.OpCode.IsControl() {
		fp.ctlN += uint8(copy(fp.ctl[fp.ctlN:], chunk))
		if fp.left > 0 {
			return parsedNothing, used, h, nil, false, nil
		}
		fp.in = false
		return parsedControl, used, fp.cur, fp.ctl[:fp.ctlN], false, nil
	}
	end := fp.left == 0
	if end {
		fp.in = false
	} else if m == 0 {
		return parsedNothing, used, h, nil, false, nil
	}
	return parsedData, used, fp.cur, chunk, end && fp.cur.Fin, nil
}

// readHeader gathers a frame header from p into fp.hdr. ok reports a whole
// header; n is how many bytes of p it took.
func (fp *parser) readHeader(p []byte) (n int, ok bool, err error) {
	need := 2
	for {
		if int(fp.hdrN) >= 2 {
			need = 2
			if fp.hdr[1]&0x80 != 0 {
				need += 4
			}
			switch fp.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
		}
		if int(fp.hdrN) >= need {
			break
		}
		if n == len(p) {
			return n, false, nil
		}
		c := copy(fp.hdr[fp.hdrN:need], p[n:])
		fp.hdrN += uint8(c)
		n += c
	}
	b := fp.hdr[:fp.hdrN]
	fp.hdrN = 0
	h := ws.Header{
		Fin:    b[0]&0x80 != 0,
		Rsv:    (b[0] & 0x70) >> 4,
		OpCode: ws.OpCode(b[0] & 0x0f),
		Masked: b[1]&0x80 != 0,
	}
	rest := b[2:]
	switch l := b[1] & 0x7f; l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
	case 127:
		if rest[0]&0x80 != 0 {
			return n, false, ws.ErrHeaderLengthMSB
		}
		h.Length = int64(binary.BigEndian.Uint64(rest))
		rest = rest[8:]
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], rest)
	}
	fp.cur = h
	return n, true, nil
}

// startFrame checks the header just read and sets up reading its payload,
// in the order wsutil.Reader.NextFrame and the goroutine relay apply their
// checks.
func (fp *parser) startFrame() error {
	h := fp.cur
	if err := ws.CheckHeader(h, fp.state); err != nil {
		return err
	}
	if fp.maxSize > 0 && h.Length > fp.maxSize {
		return wsutil.ErrFrameTooLarge
	}
	if !h.OpCode.IsControl() {
		if !fp.state.Fragmented() && fp.checkOp != nil {
			if err := fp.checkOp(h.OpCode); err != nil {
				return err
			}
		}
		if h.Fin {
			fp.state = fp.state.Clear(ws.StateFragmented)
		} else {
			fp.state = fp.state.Set(ws.StateFragmented)
		}
	}
	fp.in, fp.left, fp.mpos, fp.ctlN = true, h.Length, 0, 0
	return nil
}

// eof is the error for the client's end of stream, as wsutil.Reader
// reports it: unexpected inside a frame or a fragmented message.
func (fp *parser) eof() error {
	if fp.in || fp.hdrN > 0 || fp.state.Fragmented() {
		return io.ErrUnexpectedEOF
	}
	return io.EOF
}
