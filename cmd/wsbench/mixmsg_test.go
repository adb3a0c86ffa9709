package main

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestMixBackendRaw reads the mix backend directly, as through the plain
// relay: the echo of an input event comes back whole, and a streamer gets
// its update pieces.
func TestMixBackendRaw(t *testing.T) {
	be, err := startMixBackend(2*updatePiece, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer be.ln.Close()
	cl, err := dialClient(be.addr(), true, nil, 4<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	cl.c.SetDeadline(time.Now().Add(10 * time.Second))
	ev := make([]byte, inputSize)
	ev[0] = kindStreamer
	putLeUint64(ev[1:], 0x0102030405060708)
	if err := cl.send(ev); err != nil {
		t.Fatal(err)
	}
	m := &msgReader{cl: cl}
	got := make([]byte, inputSize)
	var echoes, updates int
	for echoes == 0 || updates < 4*updatePiece {
		typ, n, err := m.next(got)
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case msgEcho:
			if n != inputSize || !bytes.Equal(got, ev) || leUint64(got[1:]) != 0x0102030405060708 {
				t.Fatalf("echo %d bytes %x, want %x", n, got, ev)
			}
			echoes++
		case msgUpdate:
			if n != updatePiece {
				t.Fatalf("update piece of %d bytes", n)
			}
			updates += n
		default:
			t.Fatalf("message type %q", typ)
		}
	}
}

// TestMsgReaderFrames reassembles messages split across WebSocket frames
// in odd places, with a ping in between.
func TestMsgReaderFrames(t *testing.T) {
	var stream []byte
	for i := range 3 {
		m := make([]byte, msgHeader+inputSize)
		putHeader(m, msgEcho, inputSize)
		m[msgHeader] = byte(i)
		stream = append(stream, m...)
	}
	var wire []byte
	frame := func(op byte, p []byte) {
		wire = append(wire, 0x80|op, byte(len(p)))
		wire = append(wire, p...)
	}
	frame(opBinary, stream[:3])
	frame(opPing, []byte("hb"))
	frame(opBinary, stream[3:30])
	frame(0x0, stream[30:31])
	frame(opBinary, stream[31:])
	a, b := net.Pipe()
	defer a.Close()
	go func() { b.Write(wire); b.Close() }()
	m := &msgReader{cl: &client{c: a, buf: make([]byte, 256)}}
	got := make([]byte, inputSize)
	for i := range 3 {
		typ, n, err := m.next(got)
		if err != nil {
			t.Fatal(err)
		}
		if typ != msgEcho || n != inputSize || got[0] != byte(i) {
			t.Fatalf("message %d: type %q, %d bytes, first %d", i, typ, n, got[0])
		}
	}
}

func TestProcFigures(t *testing.T) {
	if meminfo("Slab") <= 0 {
		t.Error("no Slab in /proc/meminfo")
	}
	if sockstatTCPMem() < 0 {
		t.Error("negative TCP mem in /proc/net/sockstat")
	}
	if loadAvg() == "unknown" {
		t.Error("no /proc/loadavg")
	}
}
