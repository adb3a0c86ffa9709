package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the size of the backend's writes and of the client's
// messages in the throughput workloads.
const chunkSize = 64 << 10

// pattern is the payload of every throughput write and message; the sink
// checks the first chunk of each connection against it.
var pattern = func() []byte {
	p := make([]byte, chunkSize)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}()

// backends are the targets the proxies under test relay to, all in this
// process on loopback: a source that writes 64 KiB chunks as fast as it can,
// a sink that reads and counts, and an echo server.
type backends struct {
	source, sink, echo, flood net.Listener

	sinkBytes atomic.Int64 // bytes received by the sink, all connections

	mu      sync.Mutex
	corrupt int // sink connections whose first chunk differed from pattern
}

// noKeepAlive listens without setting keep-alive on accepted connections:
// loopback peers that live for seconds need no probes, and the system
// calls would count against every proxy alike.
var noKeepAlive = net.ListenConfig{KeepAlive: -1}

func startBackends() (*backends, error) {
	b := &backends{}
	var err error
	for _, ln := range []*net.Listener{&b.source, &b.sink, &b.echo, &b.flood} {
		if *ln, err = noKeepAlive.Listen(context.Background(), "tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	go serve(b.source, b.runSource)
	go serve(b.sink, b.runSink)
	go serve(b.echo, runEcho)
	go serve(b.flood, runFloodTarget)
	return b, nil
}

func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of descriptors, say: try again
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

func (b *backends) runSource(c net.Conn) {
	for {
		if _, err := c.Write(pattern); err != nil {
			return
		}
	}
}

func (b *backends) runSink(c net.Conn) {
	buf := make([]byte, 256<<10)
	first := make([]byte, 0, chunkSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if len(first) < chunkSize {
				first = append(first, buf[:min(n, chunkSize-len(first))]...)
				if len(first) == chunkSize && !bytes.Equal(first, pattern) {
					b.mu.Lock()
					b.corrupt++
					b.mu.Unlock()
				}
			}
			b.sinkBytes.Add(int64(n))
		}
		if err != nil {
			return
		}
	}
}

func runEcho(c net.Conn) {
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 16<<10))
}

// runFloodTarget writes as fast as the connection takes and reads slowly: a
// target flooding a slow client while the client floods it.
func runFloodTarget(c net.Conn) {
	go func() {
		for {
			if _, err := c.Write(pattern); err != nil {
				return
			}
		}
	}()
	slowRead(c)
}

// slowChunk is what the slow side of the flood workload reads per
// millisecond: at most about 16 MB/s.
const slowChunk = 16 << 10

func slowRead(r io.Reader) {
	buf := make([]byte, slowChunk)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (b *backends) corrupted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.corrupt
}
