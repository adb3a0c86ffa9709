package gateway

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// FuzzHandshake feeds arbitrary request bytes to a connection and checks
// the server always answers with an HTTP status line (or nothing) and ends
// the connection, never panicking.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte(handshake + "\r\n"))
	f.Add([]byte(handshake + "Sec-WebSocket-Protocol: base64, binary\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("\x16\x03\x01\x00"))
	f.Fuzz(func(t *testing.T, req []byte) {
		s := &Server{
			Target:           Endpoint{Network: "unix", Address: "/nonexistent/fuzz.sock"},
			Logger:           quietLogger(),
			HandshakeTimeout: time.Second,
			CloseTimeout:     100 * time.Millisecond,
			MaxHeaderBytes:   4096,
		}
		s.conns = map[net.Conn]struct{}{}
		s.sessions = map[*session]struct{}{}
		client, server := net.Pipe()
		s.wg.Add(1)
		s.conns[server] = struct{}{}
		done := make(chan struct{})
		go func() { s.serveConn(server, 1); close(done) }()
		client.SetDeadline(time.Now().Add(5 * time.Second))
		go func() { client.Write(req); client.Write([]byte("\r\n\r\n")) }()
		resp, _ := io.ReadAll(io.LimitReader(client, 1<<20))
		client.Close()
		<-done
		if len(resp) > 0 && !bytes.HasPrefix(resp, []byte("HTTP/1.1 ")) {
			t.Fatalf("response does not start with a status line: %q", resp[:min(len(resp), 64)])
		}
	})
}

// FuzzClientFrames runs arbitrary bytes as the frame stream of an upgraded
// session and checks that the session ends without panicking and that
// whatever the server sends back is a valid frame sequence.
func FuzzClientFrames(f *testing.F) {
	f.Add(clientFrame(true, ws.OpBinary, []byte("hello")))
	f.Add(append(clientFrame(false, ws.OpBinary, []byte("a")), clientFrame(true, ws.OpPing, []byte("p"))...))
	f.Add(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "")))
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, stream []byte) {
		targetSide, targetPeer := net.Pipe()
		go io.Copy(io.Discard, targetPeer)
		defer targetPeer.Close()
		s := &Server{Logger: quietLogger(), MaxFrameSize: 1 << 16, CloseTimeout: 50 * time.Millisecond}
		client, server := net.Pipe()
		ss := newSession(s, server, bufioReader(server), "", Endpoint{}, s.Logger)
		done := make(chan struct{})
		go func() {
			relayGoroutines(ss, targetSide)
			server.Close()
			close(done)
		}()
		go func() { client.Write(stream); client.Close() }()
		out, _ := io.ReadAll(client)
		<-done
		targetSide.Close()
		r := bytes.NewReader(out)
		for r.Len() > 0 {
			h, err := ws.ReadHeader(r)
			if err != nil || h.Masked || !h.Fin || h.Length > int64(r.Len()) {
				t.Fatalf("invalid server frame %+v: %v", h, err)
			}
			r.Seek(h.Length, io.SeekCurrent)
		}
	})
}
