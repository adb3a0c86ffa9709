package tests

import (
	"context"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// TestHardeningPendingCap (D-9): one client holding 300 idle connections
// (re-opened when dropped) against a 256-descriptor limit does not make a
// legitimate client wait for the 10 s handshake deadline: each of its
// handshakes completes within a fraction of it, and the shedding is
// logged.
func TestHardeningPendingCap(t *testing.T) {
	requireProgram(t, "prlimit")
	be := startBackend(t, nil)
	p := startProxyCmd(t, func(c *exec.Cmd) {
		c.Args = append([]string{"prlimit", "--nofile=256:256", wsBinary}, c.Args[1:]...)
		c.Path, _ = exec.LookPath("prlimit")
	}, "127.0.0.1:0", be.addr())
	p.addr = p.stderr.waitFor(t, listenRE, 10*time.Second)[1]

	// The attacker, from 127.0.0.2: 300 connections that send nothing,
	// each re-opened as soon as it is dropped.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", p.addr)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				go func() { <-ctx.Done(); c.Close() }()
				buf := make([]byte, 1)
				c.Read(buf) // until the server drops it
				c.Close()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second) // the attack is in place

	for i := range 10 {
		start := time.Now()
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("legitimate"))
		rc.closeHandshake()
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("legitimate session %d took %v under the attack (handshake deadline 10 s)", i, took)
		}
	}
	p.stderr.waitFor(t, reMust(`too many connections before their handshake`), 10*time.Second)
}
