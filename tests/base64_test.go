package tests

import (
	"bytes"
	"testing"
	"time"
)

// TestBase64Messages: in the base64 subprotocol every text message is
// decoded on its own, a message's end is a quad boundary, an unpadded last
// quad is taken as it is (btoa never sends one, other clients do), and
// whatever is invalid ends the session with a close frame (1003), never a
// dropped connection. The bytes decoded before an invalid character reach
// the target, whatever the framing.
func TestBase64Messages(t *testing.T) {
	be, conns := recordingBackend(t, false)
	p := startProxy(t, "127.0.0.1:0", be.addr())
	text := func(fin bool, op byte, s string) []byte { return frame(fin, 0, op, []byte(s), true) }
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
		close  int // 0: the session goes on (a ping is answered)
	}{
		{"padded", text(true, opText, "aGVsbG8="), "hello", 0},
		{"unpadded two", text(true, opText, "YQ"), "a", 0},
		{"unpadded three", text(true, opText, "aGk"), "hi", 0},
		{"unpadded messages in a row", concat(text(true, opText, "YQ"), text(true, opText, "aGk"), text(true, opText, "Yg")), "ahib", 0},
		{"fragmented", concat(text(false, opText, "aG"), text(false, opCont, "VsbG"), text(true, opCont, "8=")), "hello", 0},
		{"fragmented unpadded", concat(text(false, opText, "aGVs"), text(true, opCont, "bG8")), "hello", 0},
		{"one character left", text(true, opText, "aGVsb"), "hel", 1003},
		{"outside the alphabet", text(true, opText, "aGVs*G8="), "hel", 1003},
		{"data after padding", text(true, opText, "YQ==Yg=="), "a", 1003},
		{"lone padding", text(true, opText, "===="), "", 1003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, p.addr, "Sec-WebSocket-Protocol: base64")
			back := nextConn(t, conns)
			// Byte by byte for the first half, so that quads cross reads.
			half := len(tc.stream) / 2
			for i := range half {
				rc.send(tc.stream[i : i+1])
			}
			rc.send(tc.stream[half:])
			if tc.close == 0 {
				rc.sendFrame(opPing, []byte("p"))
				rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				f, err := rc.readFrame()
				if err != nil || f.op != opPong {
					t.Fatalf("after the message: frame %+v, %v; want the pong", f, err)
				}
				deadline := time.Now().Add(5 * time.Second)
				for string(back.bytes()) != tc.want && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if got := back.bytes(); string(got) != tc.want {
					t.Fatalf("target got %q; want %q", got, tc.want)
				}
				rc.closeHandshake()
				return
			}
			code, _, _ := rc.expectClose(5 * time.Second)
			if code != tc.close {
				t.Fatalf("close %d; want %d", code, tc.close)
			}
			rc.expectTCPClose(5 * time.Second)
			if got := back.waitEnd(t, 10*time.Second); !bytes.Equal(got, []byte(tc.want)) {
				t.Fatalf("target got %q; want %q", got, tc.want)
			}
		})
	}
}
