package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// parseOutcome is what a client byte stream does to a session: the bytes
// that reach the target, the control frames answered, and how reading ends.
type parseOutcome struct {
	data  []byte
	ctl   []string
	close ws.StatusCode // 0: input ended without an error
}

func (o parseOutcome) String() string {
	return fmt.Sprintf("data %d bytes, control %q, close %d", len(o.data), o.ctl, o.close)
}

func binaryOnly(op ws.OpCode) error {
	if op == ws.OpBinary {
		return nil
	}
	return &CloseError{ws.StatusUnsupportedData, "unsupported", nil}
}

// referenceParse runs stream through wsutil.Reader the way copyToTarget
// does.
func referenceParse(stream []byte, maxSize int64) parseOutcome {
	var out parseOutcome
	ctl := func(h ws.Header, r io.Reader) error {
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			return err // as handleControl: a cut control frame is not answered
		}
		out.ctl = append(out.ctl, fmt.Sprintf("%v:%q", h.OpCode, p))
		if h.OpCode == ws.OpClose {
			if _, _, err := parseClose(p); err != nil {
				return err
			}
			return errClientClosed
		}
		return nil
	}
	rd := &wsutil.Reader{Source: bytes.NewReader(stream), State: ws.StateServerSide, MaxFrameSize: maxSize, OnIntermediate: ctl}
	end := func(err error) parseOutcome {
		if ce := closeErrorFor(err); ce != nil {
			out.close = ce.Code
		}
		return out
	}
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			return end(err)
		}
		if hdr.OpCode.IsControl() {
			if err := ctl(hdr, rd); err != nil {
				return end(err)
			}
			if err := rd.Discard(); err != nil {
				return end(err)
			}
			continue
		}
		if err := binaryOnly(hdr.OpCode); err != nil {
			return end(err)
		}
		b, err := io.ReadAll(rd)
		out.data = append(out.data, b...)
		if err != nil {
			return end(err)
		}
	}
}

// chunkedParse feeds stream to a parser in pieces of random sizes.
func chunkedParse(stream []byte, maxSize int64, rng *rand.Rand) parseOutcome {
	var out parseOutcome
	fp := newParser(maxSize, binaryOnly)
	buf := append([]byte(nil), stream...)
	for len(buf) > 0 {
		piece := buf[:min(len(buf), 1+rng.Intn(40))]
		buf = buf[len(piece):]
		for len(piece) > 0 {
			what, used, h, data, _, err := fp.next(piece)
			piece = piece[used:]
			if err != nil {
				if ce := closeErrorFor(err); ce != nil {
					out.close = ce.Code
				}
				return out
			}
			switch what {
			case parsedData:
				out.data = append(out.data, data...)
			case parsedControl:
				out.ctl = append(out.ctl, fmt.Sprintf("%v:%q", h.OpCode, data))
				if h.OpCode == ws.OpClose {
					if _, _, err := parseClose(data); err != nil {
						out.close = closeErrorFor(err).Code
					}
					return out
				}
			}
		}
	}
	return out
}

// randomStream builds a client stream of mostly valid frames with some
// violations mixed in.
func randomStream(rng *rand.Rand) []byte {
	var s []byte
	frag := false
	for i := rng.Intn(8); i >= 0; i-- {
		op := ws.OpBinary
		fin := rng.Intn(3) > 0
		n := rng.Intn(300)
		switch rng.Intn(12) {
		case 0:
			op, fin, n = ws.OpPing, true, rng.Intn(126)
		case 1:
			op, fin, n = ws.OpPong, true, rng.Intn(126)
		case 2:
			op = ws.OpText
		case 3:
			op = ws.OpCode(3 + rng.Intn(4)) // reserved
		case 4:
			op, fin, n = ws.OpPing, rng.Intn(2) == 0, rng.Intn(200) // maybe invalid
		case 5:
			if rng.Intn(4) == 0 {
				op = ws.OpClose
				body := ws.NewCloseFrameBody(ws.StatusCode(1000+rng.Intn(4100)), "bye")
				f := ws.NewFrame(op, true, body)
				s = append(s, ws.MustCompileFrame(ws.MaskFrameInPlace(f))...)
				continue
			}
		}
		if frag && !op.IsControl() && rng.Intn(4) > 0 {
			op = ws.OpContinuation
		}
		f := ws.NewFrame(op, fin, bytes.Repeat([]byte{byte(i)}, n))
		if rng.Intn(20) > 0 {
			f = ws.MaskFrameInPlace(f)
		}
		if rng.Intn(30) == 0 {
			f.Header.Rsv = 1
		}
		s = append(s, ws.MustCompileFrame(f)...)
		if !op.IsControl() {
			frag = !fin
		}
	}
	return s
}

func TestFrameParserMatchesWsutil(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		stream := randomStream(rng)
		maxSize := int64(0)
		if rng.Intn(4) == 0 {
			maxSize = int64(rng.Intn(300))
		}
		want := referenceParse(stream, maxSize)
		got := chunkedParse(stream, maxSize, rng)
		if !bytes.Equal(got.data, want.data) || fmt.Sprint(got.ctl) != fmt.Sprint(want.ctl) || got.close != want.close {
			t.Fatalf("stream %x (max %d):\n got %v\nwant %v", stream, maxSize, got, want)
		}
	}
}

func TestFrameParserHugeLength(t *testing.T) {
	fp := newParser(1<<20, nil)
	_, _, _, _, _, err := fp.next([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	if !errors.Is(err, ws.ErrHeaderLengthMSB) {
		t.Fatalf("err %v; want ErrHeaderLengthMSB", err)
	}
	fp = newParser(1<<20, nil)
	_, _, _, _, _, err = fp.next([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	if !errors.Is(err, wsutil.ErrFrameTooLarge) {
		t.Fatalf("err %v; want ErrFrameTooLarge", err)
	}
}

func FuzzFrameParser(f *testing.F) {
	f.Add(clientFrame(true, ws.OpBinary, []byte("hello")), int64(7))
	f.Add(append(clientFrame(false, ws.OpBinary, []byte("a")), clientFrame(true, ws.OpPing, []byte("p"))...), int64(1))
	f.Fuzz(func(t *testing.T, stream []byte, seed int64) {
		want := referenceParse(stream, 1000)
		got := chunkedParse(stream, 1000, rand.New(rand.NewSource(seed)))
		if !bytes.Equal(got.data, want.data) || fmt.Sprint(got.ctl) != fmt.Sprint(want.ctl) || got.close != want.close {
			t.Fatalf("got %v\nwant %v", got, want)
		}
	})
}

// errClientClosed ends referenceParse after a valid close frame.
var errClientClosed = errors.New("client closed")

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op ws.OpCode, p []byte) []byte {
	f := ws.NewFrame(op, fin, append([]byte(nil), p...))
	return ws.MustCompileFrame(ws.MaskFrameInPlace(f))
}
