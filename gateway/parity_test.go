package gateway

import (
	"bytes"
	"io"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// The two drivers are one implementation of the protocol (core) moved by
// different I/O: for the same client stream, the target must receive the
// same bytes and the client the same frames, whichever driver relays.

// parityStream builds a client stream of frames: data (fragmented or not),
// pings and pongs, and now and then a violation or a close.
func parityStream(rng *rand.Rand) []byte {
	var s []byte
	frag := false
	for i := 2 + rng.Intn(10); i > 0; i-- {
		op, fin, n := ws.OpBinary, rng.Intn(3) > 0, rng.Intn(3000)
		switch rng.Intn(14) {
		case 0, 1:
			op, fin, n = ws.OpPing, true, rng.Intn(126)
		case 2:
			op, fin, n = ws.OpPong, true, rng.Intn(126)
		case 3:
			if rng.Intn(3) == 0 {
				op = ws.OpText // refused with 1003
			}
		case 4:
			if rng.Intn(3) == 0 {
				n = 5000 // over MaxFrameSize: 1009
			}
		case 5:
			if rng.Intn(3) == 0 {
				code := []ws.StatusCode{1000, 1001, 1005, 3000, 999}[rng.Intn(5)]
				s = append(s, clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(code, "bye"))...)
				continue
			}
		}
		if frag && !op.IsControl() {
			op = ws.OpContinuation
		}
		p := make([]byte, n)
		rng.Read(p)
		s = append(s, clientFrame(fin, op, p)...)
		if !op.IsControl() {
			frag = !fin
		}
	}
	return s
}

// parityRun sends stream on a new session through addr, whose target is
// sink, and returns what the client got back and what the target got.
func parityRun(t *testing.T, addr string, sink chan []byte, stream []byte, rng *rand.Rand) (client, target []byte) {
	t.Helper()
	c, br, _ := dial(t, addr, "")
	go func() {
		// In pieces of random sizes, so that frames cross reads.
		for p := stream; len(p) > 0; {
			n := min(len(p), 1+rng.Intn(700))
			if _, err := c.Write(p[:n]); err != nil {
				return
			}
			p = p[n:]
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	client, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading the session: %v", err)
	}
	select {
	case target = <-sink:
	case <-time.After(10 * time.Second):
		t.Fatal("the target did not finish")
	}
	return client, target
}

func TestDriversAgree(t *testing.T) {
	if len(testRelays) < 2 {
		t.Skip("one driver on this system")
	}
	type server struct {
		addr string
		sink chan []byte
	}
	var servers []server
	for _, r := range testRelays {
		sink := make(chan []byte, 1)
		target := startTarget(t, func(c net.Conn) {
			b, _ := io.ReadAll(c)
			sink <- b
		})
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: target},
			MaxFrameSize: 4096, CloseTimeout: 200 * time.Millisecond})
		servers = append(servers, server{addr, sink})
	}
	rng := rand.New(rand.NewSource(1))
	for i := range 150 {
		stream := parityStream(rng)
		seed := rng.Int63()
		var clients, targets [][]byte
		for _, s := range servers {
			c, tg := parityRun(t, s.addr, s.sink, stream, rand.New(rand.NewSource(seed)))
			clients, targets = append(clients, c), append(targets, tg)
		}
		for j := 1; j < len(servers); j++ {
			if !bytes.Equal(clients[0], clients[j]) || !bytes.Equal(targets[0], targets[j]) {
				t.Fatalf("stream %d (%d bytes): %v sent the client %x and the target %d bytes; %v sent %x and %d bytes",
					i, len(stream), testRelays[0], clients[0], len(targets[0]), testRelays[j], clients[j], len(targets[j]))
			}
		}
	}
}
