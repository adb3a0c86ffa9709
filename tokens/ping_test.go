package tokens

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPingRedis(t *testing.T) {
	s := startRedis(t, "")
	p, err := New("TokenRedis", s.source(""), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.(interface{ Close() error }).Close()
	pi, ok := p.(Pinger)
	if !ok {
		t.Fatal("TokenRedis is not a Pinger")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pi.Ping(ctx); err != nil {
		t.Fatalf("Ping of a live Redis: %v", err)
	}
	s.stop()
	if err := pi.Ping(ctx); err == nil {
		t.Fatal("Ping of a stopped Redis: no error")
	}
}

func TestPingTokenAPI(t *testing.T) {
	var method, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path = r.Method, r.URL.Path
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
	}))
	p, err := New("JSONTokenApi", srv.URL+"/api/%s", Options{})
	if err != nil {
		t.Fatal(err)
	}
	pi := p.(Pinger)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pi.Ping(ctx); err != nil {
		t.Fatalf("Ping of a live API: %v", err)
	}
	if method != http.MethodHead || path != "/" {
		t.Errorf("Ping sent %s %s; want HEAD /", method, path)
	}
	srv.Close()
	if err := pi.Ping(ctx); err == nil {
		t.Fatal("Ping of a closed API: no error")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ln.Close()
	p, _ = New("BaseTokenAPI", "http://"+ln.Addr().String()+"/t/%s", Options{})
	if err := p.(Pinger).Ping(ctx); err == nil {
		t.Fatal("Ping of a refused port: no error")
	}
}
