package main

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Opcodes of the frames wsbench sends and reads (RFC 6455 §5.2).
const (
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

// client is one connection to a proxy under test: a WebSocket client with
// its own minimal RFC 6455 framing, or a plain TCP stream when the proxy is
// the plain relay. It shares no code with the gateway.
type client struct {
	c    net.Conn
	raw  bool // plain relay: bytes go as they are, no frames
	buf  []byte
	r, w int // unread bytes are buf[r:w]
	out  []byte
}

const upgradeRequest = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Protocol: binary\r\n\r\n"

// dialClient connects to addr and, unless raw, upgrades to WebSocket.
func dialClient(addr string, raw bool, tc *tls.Config, bufSize int) (*client, error) {
	return dialClientWith(&net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}, addr, raw, tc, bufSize)
}

// dialClientWith is dialClient with the dialer d.
func dialClientWith(d *net.Dialer, addr string, raw bool, tc *tls.Config, bufSize int) (*client, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		t := tls.Client(c, tc)
		t.SetDeadline(time.Now().Add(5 * time.Second))
		if err := t.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		t.SetDeadline(time.Time{})
		c = t
	}
	cl := &client{c: c, raw: raw, buf: make([]byte, bufSize)}
	if raw {
		return cl, nil
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, upgradeRequest); err != nil {
		c.Close()
		return nil, err
	}
	for {
		if i := bytes.Index(cl.buf[:cl.w], []byte("\r\n\r\n")); i >= 0 {
			if !bytes.HasPrefix(cl.buf, []byte("HTTP/1.1 101 ")) {
				c.Close()
				return nil, fmt.Errorf("upgrade refused: %q", firstLine(cl.buf[:cl.w]))
			}
			cl.r = i + 4
			return cl, nil
		}
		if cl.w == len(cl.buf) {
			c.Close()
			return nil, errors.New("upgrade response too long")
		}
		n, err := c.Read(cl.buf[cl.w:])
		cl.w += n
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("read upgrade response: %w", err)
		}
	}
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return b[:i]
	}
	return b
}

// appendFrame appends a final, masked client frame.
func appendFrame(dst []byte, op byte, p []byte) []byte {
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	dst = append(dst, 0x80|op)
	switch n := len(p); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, p...)
	for i := range p {
		dst[start+i] ^= mask[i&3]
	}
	return dst
}

// encode returns p as it goes on the wire: one binary message, or the raw
// bytes themselves. Unlike send it allocates, for a message written many
// times.
func (cl *client) encode(p []byte) []byte {
	if cl.raw {
		return p
	}
	return appendFrame(nil, opBinary, p)
}

// echo64 sends the first 64 bytes of pattern and reads the 64 bytes of
// the echo.
func (cl *client) echo64() error {
	if err := cl.send(pattern[:64]); err != nil {
		return err
	}
	return cl.recv(64)
}

// send writes p as one binary message (or as raw bytes).
func (cl *client) send(p []byte) error {
	if cl.raw {
		_, err := cl.c.Write(p)
		return err
	}
	cl.out = appendFrame(cl.out[:0], opBinary, p)
	_, err := cl.c.Write(cl.out)
	return err
}

// fill reads more bytes, keeping the unread ones.
func (cl *client) fill() error {
	if cl.r > 0 && cl.r == cl.w {
		cl.r, cl.w = 0, 0
	}
	if cl.w == len(cl.buf) {
		if cl.r == 0 {
			return errors.New("frame larger than the read buffer")
		}
		cl.w = copy(cl.buf, cl.buf[cl.r:cl.w])
		cl.r = 0
	}
	n, err := cl.c.Read(cl.buf[cl.w:])
	cl.w += n
	if n > 0 {
		return nil
	}
	return err
}

// next returns the next frame's opcode and payload (valid until the next
// call). For a raw connection every read is one "frame".
func (cl *client) next() (byte, []byte, error) {
	if cl.raw {
		if cl.r == cl.w {
			if err := cl.fill(); err != nil {
				return 0, nil, err
			}
		}
		p := cl.buf[cl.r:cl.w]
		cl.r = cl.w
		return opBinary, p, nil
	}
	for {
		b := cl.buf[cl.r:cl.w]
		if len(b) >= 2 {
			hl, n := 2, int(b[1]&0x7f)
			switch n {
			case 126:
				hl = 4
			case 127:
				hl = 10
			}
			if b[1]&0x80 != 0 {
				return 0, nil, errors.New("masked frame from the server")
			}
			if len(b) >= hl {
				switch n {
				case 126:
					n = int(binary.BigEndian.Uint16(b[2:]))
				case 127:
					n = int(binary.BigEndian.Uint64(b[2:]))
				}
				if len(b) >= hl+n {
					cl.r += hl + n
					return b[0] & 0x0f, b[hl : hl+n], nil
				}
				if hl+n > len(cl.buf) {
					return 0, nil, fmt.Errorf("frame of %d bytes larger than the read buffer", n)
				}
			}
		}
		if err := cl.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// recv reads data until n payload bytes have arrived.
func (cl *client) recv(n int64) error {
	for n > 0 {
		op, p, err := cl.next()
		if err != nil {
			return err
		}
		if op == opClose {
			return fmt.Errorf("closed by the proxy: %q", p)
		}
		n -= int64(len(p))
	}
	return nil
}

// close ends the session: a close frame, then the close reply (WebSocket),
// or just the TCP close (raw).
func (cl *client) close() error {
	defer cl.c.Close()
	if cl.raw {
		return nil
	}
	cl.out = appendFrame(cl.out[:0], opClose, []byte{0x03, 0xe8})
	if _, err := cl.c.Write(cl.out); err != nil {
		return err
	}
	cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		op, _, err := cl.next()
		if err != nil {
			return fmt.Errorf("waiting for the close reply: %w", err)
		}
		if op == opClose {
			return nil
		}
	}
}
