package tests

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawConn is a deliberately small WebSocket client written from RFC 6455,
// sharing nothing with gobwas/ws, so it can send malformed frames.
type rawConn struct {
	t    testing.TB
	c    net.Conn
	br   *bufio.Reader
	resp *http.Response
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// rawHandshake dials addr and sends a handshake request for path with
// extra header lines; it returns the connection and the response, whatever
// its status.
func rawHandshake(t testing.TB, addr, path string, extra ...string) (*rawConn, *http.Response) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return handshakeOn(t, c, path, addr, extra...)
}

// rawHandshakeOn performs a client handshake over an existing connection
// (for Unix sockets and inherited listeners) and returns the raw client.
func rawHandshakeOn(t testing.TB, c net.Conn, extra ...string) (*rawConn, *http.Response) {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return handshakeOn(t, c, "/", "localhost", extra...)
}

// handshakeOn sends a handshake request for path over c, with the given
// Host header (none when empty) and extra header lines, and reads the
// response, whatever its status. A 101 must carry the right
// Sec-WebSocket-Accept. c is closed when the test ends.
func handshakeOn(t testing.TB, c net.Conn, path, host string, extra ...string) (*rawConn, *http.Response) {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	if host != "" {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	fmt.Fprintf(&b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", k)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	rc := &rawConn{t: t, c: c, br: bufio.NewReader(c)}
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("GET %s: read handshake response: %v", trunc([]byte(path)), err)
	}
	rc.resp = resp
	if resp.StatusCode == http.StatusSwitchingProtocols {
		sum := sha1.Sum([]byte(k + wsGUID))
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Fatalf("Sec-WebSocket-Accept = %q; want %q", got, want)
		}
	}
	return rc, resp
}

// dialRaw performs a successful handshake or fails the test.
func dialRaw(t testing.TB, addr string, extra ...string) *rawConn {
	t.Helper()
	rc, resp := rawHandshake(t, addr, "/", extra...)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d; want 101", resp.StatusCode)
	}
	return rc
}

// frame encodes a frame. Masking uses a random key unless unmasked.
func frame(fin bool, rsv, op byte, payload []byte, masked bool) []byte {
	b0 := op & 0x0f
	if fin {
		b0 |= 0x80
	}
	b0 |= (rsv & 7) << 4
	out := []byte{b0, 0}
	n := len(payload)
	switch {
	case n <= 125:
		out[1] = byte(n)
	case n <= 0xffff:
		out[1] = 126
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out[1] = 127
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	out[1] |= 0x80
	var key [4]byte
	rand.Read(key[:])
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// sendFrame sends a masked final frame.
func (rc *rawConn) sendFrame(op byte, payload []byte) {
	rc.t.Helper()
	rc.send(frame(true, 0, op, payload, true))
}

type rawFrame struct {
	fin     bool
	rsv     byte
	op      byte
	masked  bool
	payload []byte
}

// readFrame reads one frame from the server.
func (rc *rawConn) readFrame() (rawFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.br, h[:]); err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{fin: h[0]&0x80 != 0, rsv: (h[0] >> 4) & 7, op: h[0] & 0x0f, masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(rc.br, e[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(rc.br, e[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if f.masked {
		return f, errors.New("server sent a masked frame")
	}
	if n > 64<<20 {
		return f, fmt.Errorf("frame of %d bytes", n)
	}
	f.payload = make([]byte, n)
	_, err := io.ReadFull(rc.br, f.payload)
	return f, err
}

// expectClose reads frames until a close frame and returns its code and
// reason; data frames before it are returned concatenated. It then checks
// that the server ends the TCP connection.
func (rc *rawConn) expectClose(timeout time.Duration) (code int, reason string, data []byte) {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	for {
		f, err := rc.readFrame()
		if err != nil {
			rc.t.Fatalf("waiting for close frame: %v (data so far %d bytes)", err, len(data))
		}
		switch f.op {
		case 0x8:
			code = 1005
			if len(f.payload) >= 2 {
				code = int(binary.BigEndian.Uint16(f.payload))
				reason = string(f.payload[2:])
			}
			return code, reason, data
		case 0x1, 0x2, 0x0:
			data = append(data, f.payload...)
		}
	}
}

// expectTCPClose checks that the server closes the connection (EOF or
// reset) within timeout, replying to nothing more.
func (rc *rawConn) expectTCPClose(timeout time.Duration) {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := rc.br.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			rc.t.Fatalf("server did not close the TCP connection within %v", timeout)
		}
		return
	}
}

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func reMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
