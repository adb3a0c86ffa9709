package tests

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHardeningStuckSyslog (S2-1): a syslog receiver that accepts but
// never reads does not slow sessions down: once its socket buffer is full
// (large log lines), open sessions still echo and new handshakes still
// succeed at once, and the log says how many lines were dropped.
func TestHardeningStuckSyslog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	ln, err := net.Listen("unix", path) // a stream socket: the reader is alive...
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // ...but never reads
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	be := startBackend(t, nil)
	p := startProxy(t, "-v", "--syslog", path, "127.0.0.1:0", be.addr())
	open := dialRaw(t, p.addr)
	open.echoOnce([]byte("before"))

	// Fill the syslog socket: every refused request logs its (long) path.
	start := time.Now()
	long := "/" + strings.Repeat("x", 8000)
	for range 1000 {
		resp, _ := rawRequest(t, p.addr, "GET "+long+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d; want 405", resp.StatusCode)
		}
		resp.Body.Close()
	}
	for i := range 10 {
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("new session"))
		rc.closeHandshake()
		open.echoOnce([]byte{byte(i)})
	}
	// Generous: at the old 2 s per log line this took minutes.
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("1000 requests and 10 sessions took %v behind a stuck syslog reader", took)
	}
	open.closeHandshake()
	// The stuck sink drops records; stderr, which is not stuck, gets
	// everything, and the syslog sink's drop count is reported on exit
	// to that sink (which nobody reads here), so stderr is checked for
	// completeness instead.
	if n := strings.Count(p.stderr.String(), "HTTP error"); n != 1000 {
		t.Fatalf("stderr has %d of the 1000 request lines", n)
	}
}
