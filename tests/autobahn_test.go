package tests

// Autobahn|Testsuite groups 2, 3, 4, 5 and 7 ported to raw-frame table
// tests against the real binary (threats-and-tests.md §3.1, plan rows
// 10–14). Case numbers in names follow Autobahn's where one maps directly.
// Every violation is checked three ways: the close code, the server ending
// TCP, and a recording backend that must not receive anything sent after
// the violating frame.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// abProxy is a proxy in front of a recording echo backend.
type abProxy struct {
	p     *proxy
	conns <-chan *recConn
}

func startABProxy(t *testing.T, args ...string) *abProxy {
	be, conns := recordingBackend(t, true)
	return &abProxy{p: startProxy(t, append(args, "127.0.0.1:0", be.addr())...), conns: conns}
}

// session opens a WebSocket session and returns it with its backend
// connection, after a probe message made the round trip, so that the
// backend's record starts with exactly the probe.
func (ab *abProxy) session(t *testing.T) (*rawConn, *recConn, []byte) {
	rc := dialRaw(t, ab.p.addr)
	bc := nextConn(t, ab.conns)
	probe := []byte("before-" + t.Name())
	rc.echoOnce(probe)
	return rc, bc, probe
}

// violation sends bad (one write), expects a close frame with wantCode
// (and, if set, wantReason), the server's TCP close, and a backend that got
// only the probe.
func (ab *abProxy) violation(t *testing.T, bad []byte, wantCode int, wantReason string) {
	t.Helper()
	rc, bc, probe := ab.session(t)
	after := frame(true, 0, opBinary, []byte("after-violation"), true)
	rc.send(concat(bad, after))
	payload, data := rc.closeFrame(5 * time.Second)
	if len(data) > 0 {
		t.Errorf("data frames before the close: %q", trunc(data))
	}
	if len(payload) < 2 {
		t.Fatalf("close payload %x; want code %d", payload, wantCode)
	}
	code, reason := int(binary.BigEndian.Uint16(payload)), string(payload[2:])
	if code != wantCode || (wantReason != "" && reason != wantReason) {
		t.Fatalf("close %d %q; want %d %q", code, reason, wantCode, wantReason)
	}
	// No reply from us: the server must end TCP on its own.
	rc.expectTCPClose(5 * time.Second)
	if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, probe) {
		t.Fatalf("backend received %q; want only the probe %q", trunc(got), probe)
	}
}

// pingPong sends pings with payloads in one write (or chopped into writes of
// chop bytes) and expects one pong per ping, in order, same payload.
func pingPong(t *testing.T, rc *rawConn, chop int, payloads ...[]byte) {
	t.Helper()
	var out []byte
	for _, p := range payloads {
		out = append(out, frame(true, 0, opPing, p, true)...)
	}
	if chop <= 0 {
		chop = len(out)
	}
	for i := 0; i < len(out); i += chop {
		rc.send(out[i:min(i+chop, len(out))])
	}
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, p := range payloads {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("pong %d: %v", i, err)
		}
		if f.op != opPong || !f.fin || f.rsv != 0 || !bytes.Equal(f.payload, p) {
			t.Fatalf("frame %d: op=%#x fin=%v rsv=%d payload %q; want pong %q", i, f.op, f.fin, f.rsv, trunc(f.payload), trunc(p))
		}
	}
}

// closeNormally ends a healthy session and checks the backend got want.
func closeNormally(t *testing.T, rc *rawConn, bc *recConn, want []byte) {
	t.Helper()
	rc.send(frame(true, 0, opClose, closePayload(1000, ""), true))
	payload, data := rc.closeFrame(5 * time.Second)
	if !bytes.Equal(payload, closePayload(1000, "")) {
		t.Fatalf("close reply %x; want 1000", payload)
	}
	_ = data
	rc.expectTCPClose(5 * time.Second)
	if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, want) {
		t.Fatalf("backend received %q; want %q", trunc(got), trunc(want))
	}
}

// TestAutobahn2PingPong ports Autobahn group 2.
func TestAutobahn2PingPong(t *testing.T) {
	ab := startABProxy(t)
	bin := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	p125 := bytes.Repeat([]byte{0xfe}, 125)
	for _, tc := range []struct {
		name     string
		chop     int
		payloads [][]byte
	}{
		{"2.1 empty", 0, [][]byte{{}}},
		{"2.2 text payload", 0, [][]byte{[]byte("Hello, world!")}},
		{"2.3 binary payload", 0, [][]byte{bin}},
		{"2.4 125 bytes", 0, [][]byte{p125}},
		{"2.6 125 bytes chopped", 1, [][]byte{p125}},
		{"2.10 ten pings", 0, tenPayloads()},
		{"2.11 ten pings chopped", 7, tenPayloads()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, bc, probe := ab.session(t)
			pingPong(t, rc, tc.chop, tc.payloads...)
			closeNormally(t, rc, bc, probe)
		})
	}

	t.Run("2.7-2.9 unsolicited pong ignored", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(concat(
			frame(true, 0, opPong, nil, true),
			frame(true, 0, opPong, []byte("unsolicited pong payload"), true),
			frame(true, 0, opPing, []byte("ping payload"), true),
		))
		// Only the pong for the ping comes back.
		rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := rc.readFrame()
		if err != nil || f.op != opPong || string(f.payload) != "ping payload" {
			t.Fatalf("got op=%#x %q %v; want the pong for the ping only", f.op, f.payload, err)
		}
		rc.echoOnce([]byte("still alive"))
		closeNormally(t, rc, bc, append(probe, "still alive"...))
	})

	t.Run("2.5 ping of 126 bytes", func(t *testing.T) {
		ab.violation(t, frame(true, 0, opPing, bytes.Repeat([]byte{0xfe}, 126), true), 1002, "")
	})
	t.Run("fragmented ping", func(t *testing.T) {
		ab.violation(t, concat(
			frame(false, 0, opPing, []byte("frag1"), true),
			frame(true, 0, opCont, []byte("frag2"), true),
		), 1002, "")
	})
}

func tenPayloads() [][]byte {
	var ps [][]byte
	for i := 0; i < 10; i++ {
		ps = append(ps, []byte(fmt.Sprintf("payload-%d", i)))
	}
	return ps
}

// TestAutobahn3ReservedBits ports Autobahn group 3: any RSV bit set without
// a negotiated extension fails the connection.
func TestAutobahn3ReservedBits(t *testing.T) {
	ab := startABProxy(t)
	for rsv := byte(1); rsv <= 7; rsv++ {
		for _, op := range []struct {
			name    string
			op      byte
			payload []byte
		}{
			{"binary", opBinary, []byte("rsv payload")},
			{"empty binary", opBinary, nil},
			{"ping", opPing, []byte("rsv ping")},
			{"close", opClose, closePayload(1000, "")},
		} {
			t.Run(fmt.Sprintf("rsv=%d/%s", rsv, op.name), func(t *testing.T) {
				ab.violation(t, frame(true, rsv, op.op, op.payload, true), 1002, "")
			})
		}
	}
	t.Run("rsv on continuation", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(concat(
			frame(false, 0, opBinary, []byte("first"), true),
			frame(true, 4, opCont, []byte("second"), true),
			frame(true, 0, opBinary, []byte("after"), true),
		))
		code, _, _ := rc.expectClose(5 * time.Second)
		if code != 1002 {
			t.Fatalf("close %d; want 1002", code)
		}
		rc.expectTCPClose(5 * time.Second)
		// The first fragment is streamed as it arrives; nothing after.
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, append(probe, "first"...)) {
			t.Fatalf("backend received %q", got)
		}
	})
}

// TestAutobahn4Opcodes ports Autobahn group 4: reserved opcodes.
func TestAutobahn4Opcodes(t *testing.T) {
	ab := startABProxy(t)
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		for _, payload := range [][]byte{nil, []byte("reserved opcode payload")} {
			t.Run(fmt.Sprintf("op=%#x/len=%d", op, len(payload)), func(t *testing.T) {
				ab.violation(t, frame(true, 0, op, payload, true), 1002, "")
			})
		}
	}
}

// TestAutobahn5Fragmentation ports Autobahn group 5.
func TestAutobahn5Fragmentation(t *testing.T) {
	ab := startABProxy(t)

	t.Run("5.3-5.5 fragmented binary arrives whole", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		msg := randBytes(3000)
		rc.send(concat(
			frame(false, 0, opBinary, msg[:1000], true),
			frame(false, 0, opCont, nil, true),
			frame(false, 0, opCont, msg[1000:2000], true),
			frame(true, 0, opCont, msg[2000:], true),
		))
		if got := rc.readData(len(msg), 10*time.Second); !bytes.Equal(got, msg) {
			t.Fatal("echo differs")
		}
		closeNormally(t, rc, bc, append(probe, msg...))
	})

	t.Run("5.6-5.8 pings inside a fragmented message", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		// Each fragment goes with a ping; its pong must come back while the
		// message is still open.
		rc.send(concat(frame(false, 0, opBinary, []byte("frag1-"), true), frame(true, 0, opPing, []byte("ping1"), true)))
		expectPongAmongData(t, rc, "ping1")
		rc.send(concat(frame(false, 0, opCont, []byte("frag2-"), true), frame(true, 0, opPing, []byte("ping2"), true)))
		expectPongAmongData(t, rc, "ping2")
		rc.send(frame(true, 0, opCont, []byte("frag3"), true))
		// A pong inside a fragmented message is ignored too.
		rc.send(concat(
			frame(false, 0, opBinary, []byte("m2a-"), true),
			frame(true, 0, opPong, []byte("unsolicited"), true),
			frame(true, 0, opCont, []byte("m2b"), true),
		))
		want := append(append([]byte(nil), probe...), "frag1-frag2-frag3m2a-m2b"...)
		rc.send(frame(true, 0, opClose, closePayload(1000, ""), true))
		payload, _ := rc.closeFrame(5 * time.Second)
		if !bytes.Equal(payload, closePayload(1000, "")) {
			t.Fatalf("close reply %x", payload)
		}
		rc.expectTCPClose(5 * time.Second)
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, want) {
			t.Fatalf("backend received %q; want %q", got, want)
		}
	})

	t.Run("5.19 ping flood inside fragments", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		var out []byte
		var want []byte
		for i := 0; i < 20; i++ {
			op := byte(opCont)
			if i == 0 {
				op = opBinary
			}
			part := []byte(fmt.Sprintf("part%02d;", i))
			want = append(want, part...)
			out = append(out, frame(i == 19, 0, op, part, true)...)
			if i < 19 {
				out = append(out, frame(true, 0, opPing, []byte(fmt.Sprint("p", i)), true)...)
			}
		}
		rc.send(out)
		rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var pongs []string
		var data []byte
		for len(pongs) < 19 || len(data) < len(want) {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatalf("after %d pongs, %d bytes: %v", len(pongs), len(data), err)
			}
			switch f.op {
			case opPong:
				pongs = append(pongs, string(f.payload))
			case opBinary:
				data = append(data, f.payload...)
			default:
				t.Fatalf("unexpected op %#x", f.op)
			}
		}
		for i, p := range pongs {
			if p != fmt.Sprint("p", i) {
				t.Fatalf("pong %d = %q", i, p)
			}
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("echo %q; want %q", data, want)
		}
		closeNormally(t, rc, bc, append(probe, want...))
	})

	for _, tc := range []struct {
		name  string
		bad   []byte
		extra string // bytes the backend may get before the violation
	}{
		{"5.1 fragmented ping", concat(frame(false, 0, opPing, []byte("a"), true), frame(true, 0, opCont, []byte("b"), true)), ""},
		{"5.2 fragmented pong", concat(frame(false, 0, opPong, []byte("a"), true), frame(true, 0, opCont, []byte("b"), true)), ""},
		{"fragmented close", concat(frame(false, 0, opClose, closePayload(1000, ""), true), frame(true, 0, opCont, nil, true)), ""},
		{"5.9 continuation without start, fin", frame(true, 0, opCont, []byte("lone"), true), ""},
		{"5.12 continuation without start, no fin", frame(false, 0, opCont, []byte("lone"), true), ""},
		{"5.15 continuation after the final fragment", concat(
			frame(false, 0, opBinary, []byte("f1"), true), frame(true, 0, opCont, []byte("f2"), true),
			frame(true, 0, opCont, []byte("f3"), true)), "f1f2"},
		{"5.18 new binary frame inside a fragmented message", concat(
			frame(false, 0, opBinary, []byte("f1"), true), frame(true, 0, opBinary, []byte("new"), true)), "f1"},
		{"new text frame inside a fragmented message", concat(
			frame(false, 0, opBinary, []byte("f1"), true), frame(true, 0, opText, []byte("new"), true)), "f1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.extra == "" {
				ab.violation(t, tc.bad, 1002, "")
				return
			}
			rc, bc, probe := ab.session(t)
			rc.send(concat(tc.bad, frame(true, 0, opBinary, []byte("after"), true)))
			payload, _ := rc.closeFrame(5 * time.Second)
			if len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1002 {
				t.Fatalf("close payload %x; want 1002", payload)
			}
			rc.expectTCPClose(5 * time.Second)
			if got, want := bc.waitEnd(t, 10*time.Second), append(probe, tc.extra...); !bytes.Equal(got, want) {
				t.Fatalf("backend received %q; want %q", got, want)
			}
		})
	}
}

// expectPongAmongData reads until the pong for payload, skipping echoed
// data.
func expectPongAmongData(t *testing.T, rc *rawConn, payload string) {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("waiting for pong %q: %v", payload, err)
		}
		if f.op == opBinary {
			continue
		}
		if f.op != opPong || string(f.payload) != payload {
			t.Fatalf("got op=%#x %q; want pong %q", f.op, f.payload, payload)
		}
		return
	}
}

// TestAutobahn7Close ports Autobahn group 7.
func TestAutobahn7Close(t *testing.T) {
	ab := startABProxy(t)

	echoCase := func(t *testing.T, sent, want []byte) {
		rc, bc, probe := ab.session(t)
		rc.send(frame(true, 0, opClose, sent, true))
		payload, _ := rc.closeFrame(5 * time.Second)
		if !bytes.Equal(payload, want) {
			t.Fatalf("close reply %x; want %x", payload, want)
		}
		if fs := rc.framesUntilEOF(5 * time.Second); len(fs) > 0 {
			t.Fatalf("%d frames after the close reply", len(fs))
		}
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, probe) {
			t.Fatalf("backend received %q", got)
		}
	}

	t.Run("7.3.1 empty close gets an empty reply", func(t *testing.T) { echoCase(t, nil, []byte{}) })
	t.Run("7.3.3 code only", func(t *testing.T) { echoCase(t, closePayload(1000, ""), closePayload(1000, "")) })
	t.Run("7.3.4 123-byte reason", func(t *testing.T) {
		r := strings.Repeat("*", 123)
		echoCase(t, closePayload(1000, r), closePayload(1000, r))
	})
	t.Run("7.3.4 UTF-8 reason", func(t *testing.T) {
		r := "Ελληνικά ✓ 日本語"
		echoCase(t, closePayload(4001, r), closePayload(4001, r))
	})
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		t.Run(fmt.Sprintf("7.7 valid code %d", code), func(t *testing.T) {
			echoCase(t, closePayload(code, "Hello"), closePayload(code, "Hello"))
		})
	}

	t.Run("7.3.2 one-byte payload", func(t *testing.T) {
		ab.violation(t, frame(true, 0, opClose, []byte{0x03}, true), 1002, "")
	})
	t.Run("7.3.5 124-byte reason (payload over 125)", func(t *testing.T) {
		ab.violation(t, frame(true, 0, opClose, closePayload(1000, strings.Repeat("*", 124)), true), 1002, "")
	})
	t.Run("7.5.1 invalid UTF-8 reason", func(t *testing.T) {
		bad := append(closePayload(1000, ""), 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64)
		ab.violation(t, frame(true, 0, opClose, bad, true), 1002, "")
	})
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535} {
		t.Run(fmt.Sprintf("7.9 invalid code %d", code), func(t *testing.T) {
			ab.violation(t, frame(true, 0, opClose, closePayload(code, "Hello"), true), 1002, "")
		})
	}

	t.Run("7.1.1 data then close", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(concat(frame(true, 0, opBinary, []byte("last words"), true), frame(true, 0, opClose, closePayload(1000, ""), true)))
		payload, _ := rc.closeFrame(5 * time.Second)
		if !bytes.Equal(payload, closePayload(1000, "")) {
			t.Fatalf("close reply %x", payload)
		}
		rc.expectTCPClose(5 * time.Second)
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, append(probe, "last words"...)) {
			t.Fatalf("backend received %q", got)
		}
	})

	t.Run("7.1.2-7.1.4 frames after the client's close are ignored", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(concat(
			frame(true, 0, opClose, closePayload(1000, "bye"), true),
			frame(true, 0, opClose, closePayload(1000, "again"), true),
			frame(true, 0, opPing, []byte("ping after close"), true),
			frame(true, 0, opBinary, []byte("data after close"), true),
		))
		payload, _ := rc.closeFrame(5 * time.Second)
		if !bytes.Equal(payload, closePayload(1000, "bye")) {
			t.Fatalf("close reply %x", payload)
		}
		for _, f := range rc.framesUntilEOF(5 * time.Second) {
			t.Errorf("frame after the close reply: op=%#x %q", f.op, f.payload)
		}
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, probe) {
			t.Fatalf("backend received %q; want only the probe", got)
		}
	})

	t.Run("7.1.5 close inside a fragmented message", func(t *testing.T) {
		rc, bc, probe := ab.session(t)
		rc.send(concat(
			frame(false, 0, opBinary, []byte("frag1"), true),
			frame(true, 0, opClose, closePayload(1000, ""), true),
			frame(true, 0, opCont, []byte("frag2"), true),
		))
		payload, _ := rc.closeFrame(5 * time.Second)
		if !bytes.Equal(payload, closePayload(1000, "")) {
			t.Fatalf("close reply %x", payload)
		}
		rc.expectTCPClose(5 * time.Second)
		if got := bc.waitEnd(t, 10*time.Second); !bytes.Equal(got, append(probe, "frag1"...)) {
			t.Fatalf("backend received %q", got)
		}
	})
}

// TestTextFrameRejected: without the base64 subprotocol, text frames close
// the session with 1003 and are not forwarded.
func TestTextFrameRejected(t *testing.T) {
	ab := startABProxy(t)
	for _, tc := range []struct {
		name string
		bad  []byte
	}{
		{"text", frame(true, 0, opText, []byte("hello"), true)},
		{"empty text", frame(true, 0, opText, nil, true)},
		{"fragmented text", concat(frame(false, 0, opText, []byte("hel"), true), frame(true, 0, opCont, []byte("lo"), true))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ab.violation(t, tc.bad, 1003, "Unsupported: Text frames are not supported")
		})
	}
}

// TestUnmaskedFrameRejected: a client frame without a mask fails the
// connection with 1002.
func TestUnmaskedFrameRejected(t *testing.T) {
	ab := startABProxy(t)
	for _, tc := range []struct {
		name string
		bad  []byte
	}{
		{"binary", frame(true, 0, opBinary, []byte("unmasked"), false)},
		{"empty binary", frame(true, 0, opBinary, nil, false)},
		{"ping", frame(true, 0, opPing, []byte("unmasked"), false)},
		{"close", frame(true, 0, opClose, closePayload(1000, ""), false)},
	} {
		t.Run(tc.name, func(t *testing.T) { ab.violation(t, tc.bad, 1002, "") })
	}
}

// TestNoDataAfterClose: while the target keeps sending, nothing follows the
// server's close frame (RFC 6455 §5.5.1), whichever side closed first, and
// the server still ends TCP.
func TestNoDataAfterClose(t *testing.T) {
	flood := bytes.Repeat([]byte("flood "), 2730)
	stopped := make(chan struct{}, 10)
	be := startBackend(t, func(c net.Conn) {
		defer func() { stopped <- struct{}{} }()
		for {
			if _, err := c.Write(flood); err != nil {
				return
			}
		}
	})
	p := startProxy(t, "127.0.0.1:0", be.addr())
	for _, tc := range []struct {
		name  string
		bad   []byte
		code  int
		reply bool
	}{
		{"client closes", frame(true, 0, opClose, closePayload(4000, "enough"), true), 4000, false},
		{"protocol error", frame(true, 0, 0x3, nil, true), 1002, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, p.addr)
			rc.readData(100000, 10*time.Second)
			rc.send(tc.bad)
			payload, _ := rc.closeFrame(10 * time.Second)
			if len(payload) < 2 || int(binary.BigEndian.Uint16(payload)) != tc.code {
				t.Fatalf("close %x; want %d", payload, tc.code)
			}
			if tc.reply {
				rc.send(frame(true, 0, opClose, payload[:2], true))
			}
			// The server first gives the target CloseTimeout (5 s) to end.
			for _, f := range rc.framesUntilEOF(15 * time.Second) {
				t.Fatalf("frame op=%#x (%d bytes) after the close frame", f.op, len(f.payload))
			}
			rc.c.Close()
			select {
			case <-stopped:
			case <-time.After(15 * time.Second):
				t.Fatal("the target connection was never closed")
			}
		})
	}
}
