package core

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

func TestHeaderLen(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		buf := make([]byte, Headroom+n)
		PutHeader(buf[Headroom-HeaderLen(n):Headroom], ws.OpBinary, n)
		h, err := ws.ReadHeader(bytes.NewReader(buf[Headroom-HeaderLen(n):]))
		if err != nil || h.Length != int64(n) || !h.Fin || h.OpCode != ws.OpBinary {
			t.Fatalf("n=%d: header %+v, %v", n, h, err)
		}
	}
}

// BenchmarkParser parses and unmasks 64 KiB client frames.
func BenchmarkParser(b *testing.B) {
	const chunk = 64 << 10
	frame := clientFrame(true, ws.OpBinary, make([]byte, chunk))
	buf := make([]byte, len(frame))
	b.SetBytes(chunk)
	b.ReportAllocs()
	fp := newParser(16<<20, nil)
	for range b.N {
		copy(buf, frame)
		for p := buf; len(p) > 0; {
			_, used, _, _, _, err := fp.next(p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[used:]
		}
	}
}
