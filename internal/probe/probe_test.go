package probe

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// echoServer upgrades every connection and echoes binary messages; with
// refuse set it answers 503 instead.
func echoServer(t *testing.T, refuse bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if refuse {
					buf := make([]byte, 4096)
					c.Read(buf)
					body := "<p>Message: Wrapped program is not listening.</p>\n"
					c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body))
					return
				}
				u := ws.Upgrader{Protocol: func(p []byte) bool { return string(p) == "binary" }}
				if _, err := u.Upgrade(c); err != nil {
					return
				}
				for {
					msg, op, err := wsutil.ReadClientData(c)
					if err != nil {
						return
					}
					if err := wsutil.WriteServerMessage(c, op, msg); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRun(t *testing.T) {
	addr := echoServer(t, false)
	res, err := Run(context.Background(), Options{URL: "ws://" + addr + "/", Send: []byte("hi"), Expect: []byte("hi"), Timeout: 5 * time.Second})
	if err != nil || string(res.Received) != "hi" || res.Protocol != "binary" {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	_, err = Run(context.Background(), Options{URL: "ws://" + addr + "/", Send: []byte("hi"), Expect: []byte("ho"), Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), `expected "ho", received "hi": no answer within 300ms`) {
		t.Fatalf("wrong answer: %v", err)
	}
	refused := echoServer(t, true)
	_, err = Run(context.Background(), Options{URL: "ws://" + refused + "/", Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "refused: HTTP 503 Service Unavailable: Wrapped program is not listening") {
		t.Fatalf("refused: %v", err)
	}
	for _, u := range []string{"http://" + addr, "ws://", "::"} {
		if _, err := Run(context.Background(), Options{URL: u}); err == nil {
			t.Errorf("Run(%q) = nil error", u)
		}
	}
}
