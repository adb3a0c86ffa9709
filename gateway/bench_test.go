package gateway

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Benchmarks of the relay through a real server on loopback, for both
// drivers: the event loops and the goroutine relay, ws:// and wss://. Every benchmark reports
// allocations; the client and backend side allocate nothing per frame, so
// allocs/op is the server's. Run with:
//
//	go test -run='^$' -bench=. -benchmem ./gateway

const benchChunk = 64 << 10

// engines are the relay implementations compared by the benchmarks.
var engines = []struct {
	name  string
	loops Relay
	tls   bool
}{
	{"loop", RelayEpoll, false},
	{"goroutines", RelayGoroutines, false},
	{"wss", RelayEpoll, true},
	{"wss-goroutines", RelayGoroutines, true},
}

// benchDial starts a server for target and upgrades one connection to it.
func benchDial(b *testing.B, target string, loops Relay, useTLS bool) (net.Conn, *bufio.Reader) {
	b.Helper()
	s := &Server{Target: Endpoint{Address: target}, Relay: loops}
	if useTLS {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(b)}}
	}
	addr := startServer(b, s)
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	io.WriteString(c, handshake+"\r\n")
	br := bufio.NewReaderSize(c, 256<<10)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if line == "\r\n" {
			return c, br
		}
	}
}

// readPayload reads frames until n payload bytes have arrived, without
// allocating.
func readPayload(br *bufio.Reader, n int64) error {
	for n > 0 {
		h, err := br.Peek(2)
		if err != nil {
			return err
		}
		op, l, hl := ws.OpCode(h[0]&0x0f), int64(h[1]&0x7f), 2
		switch l {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if h, err = br.Peek(hl); err != nil {
			return err
		}
		switch hl {
		case 4:
			l = int64(binary.BigEndian.Uint16(h[2:]))
		case 10:
			l = int64(binary.BigEndian.Uint64(h[2:]))
		}
		if op == ws.OpClose {
			return fmt.Errorf("closed by the server")
		}
		if _, err := br.Discard(hl + int(l)); err != nil {
			return err
		}
		n -= l
	}
	return nil
}

// BenchmarkTargetToClient relays 64 KiB target writes to the client.
func BenchmarkTargetToClient(b *testing.B) {
	chunk := make([]byte, benchChunk)
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			target := startTarget(b, func(c net.Conn) {
				for {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			})
			_, br := benchDial(b, target, e.loops, e.tls)
			b.SetBytes(benchChunk)
			b.ReportAllocs()
			b.ResetTimer()
			if err := readPayload(br, int64(b.N)*benchChunk); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkClientToTarget relays 64 KiB client messages to the target.
func BenchmarkClientToTarget(b *testing.B) {
	msg := clientFrame(true, ws.OpBinary, make([]byte, benchChunk))
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			var got atomic.Int64
			target := startTarget(b, func(c net.Conn) {
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					got.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			c, _ := benchDial(b, target, e.loops, e.tls)
			b.SetBytes(benchChunk)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			for want := int64(b.N) * benchChunk; got.Load() < want; {
				time.Sleep(50 * time.Microsecond)
			}
		})
	}
}

// BenchmarkEcho64 is one 64-byte message to an echo target and back.
func BenchmarkEcho64(b *testing.B) {
	msg := clientFrame(true, ws.OpBinary, make([]byte, 64))
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			c, br := benchDial(b, startEcho(b), e.loops, e.tls)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if err := readPayload(br, 64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSession is a whole session: connect, upgrade, one 64-byte round
// trip, close handshake.
func BenchmarkSession(b *testing.B) {
	msg := clientFrame(true, ws.OpBinary, make([]byte, 64))
	bye := clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, ""))
	for _, e := range engines[:2] {
		b.Run(e.name, func(b *testing.B) {
			addr := startServer(b, &Server{Target: Endpoint{Address: startEcho(b)}, Relay: e.loops})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				io.WriteString(c, handshake+"\r\n")
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if line == "\r\n" {
						break
					}
				}
				c.Write(msg)
				if err := readPayload(br, 64); err != nil {
					b.Fatal(err)
				}
				c.Write(bye)
				io.Copy(io.Discard, br) // the close reply, then the server's FIN
				c.Close()
			}
		})
	}
}
