package admin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testToken = "0123456789abcdef-secret"

func tokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// start serves an admin listener with a public /public and a private
// /private until the test ends.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	s.Handle("/public", hello)
	s.HandlePrivate("/private", hello)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func client(s *Server) *http.Client {
	if !s.Unix() {
		return http.DefaultClient
	}
	path := s.Addr().String()
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

func get(t *testing.T, s *Server, path, auth string) (int, string) {
	t.Helper()
	host := s.Addr().String()
	if s.Unix() {
		host = "admin"
	}
	req, _ := http.NewRequest("GET", "http://"+host+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client(s).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTCPWithToken(t *testing.T) {
	s := start(t, Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, testToken+"\n")})
	tests := []struct {
		path, auth string
		code       int
	}{
		{"/public", "", 200},
		{"/private", "", 401},
		{"/private", "Bearer wrong-token-of-some-length", 401},
		{"/private", "Bearer " + testToken[:len(testToken)-1], 401},
		{"/private", "Basic " + testToken, 401},
		{"/private", "Bearer " + testToken, 200},
		{"/private", "bearer " + testToken, 200},
		{"/", "", 404},
		{"/metrics", "", 404},
		{"/private/more", "Bearer " + testToken, 404},
	}
	for _, tt := range tests {
		if code, body := get(t, s, tt.path, tt.auth); code != tt.code {
			t.Errorf("GET %s (%q): %d %q; want %d", tt.path, tt.auth, code, body, tt.code)
		}
	}
}

func TestTCPWithoutTokenRefusesPrivate(t *testing.T) {
	s := start(t, Config{Addr: "127.0.0.1:0"})
	code, body := get(t, s, "/private", "Bearer "+testToken)
	if code != 403 || !strings.Contains(body, "--admin-token-file") {
		t.Errorf("private without a token file: %d %q; want 403 naming --admin-token-file", code, body)
	}
	if code, _ := get(t, s, "/public", ""); code != 200 {
		t.Errorf("public: %d", code)
	}
}

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	s := start(t, Config{Addr: "unix:" + path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v; want a socket with 0600", fi.Mode())
	}
	if code, body := get(t, s, "/private", ""); code != 200 || body != "hello" {
		t.Errorf("private on a unix socket: %d %q", code, body)
	}
	if code, _ := get(t, s, "/nothing", ""); code != 404 {
		t.Errorf("unknown path: %d; want 404", code)
	}
	s.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: ""}, "want host:port"},
		{Config{Addr: "8080"}, "want host:port"},
		{Config{Addr: "localhost:"}, "no port"},
		{Config{Addr: "localhost:http-nope"}, "bad port"},
		{Config{Addr: "unix:"}, "no socket path"},
		{Config{Addr: busy.Addr().String()}, "address already in use"},
		{Config{Addr: "unix:/nonexistent-dir/admin.sock"}, "no such file"},
		{Config{Addr: "127.0.0.1:0", TokenFile: "/nonexistent/token"}, "admin token file"},
		{Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, "\n")}, "empty"},
		{Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, "short")}, "at least 16"},
		{Config{Addr: "127.0.0.1:0", TokenFile: tokenFile(t, "0123456789abcdef\n0123456789abcdef")}, "whitespace"},
		{Config{Addr: "127.0.0.1:0", TokenFile: t.TempDir()}, "not a regular file"},
	}
	for _, tt := range tests {
		s, err := New(tt.cfg, nil)
		if err == nil {
			s.Close()
			t.Errorf("New(%+v): no error; want %q", tt.cfg, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v): %v; want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestListenHook(t *testing.T) {
	var asked string
	s, err := New(Config{Addr: "127.0.0.1:0", Listen: func(network, addr string) (net.Listener, error) {
		asked = network + " " + addr
		return net.Listen(network, addr)
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if asked != "tcp 127.0.0.1:0" {
		t.Errorf("Listen called with %q", asked)
	}
}

// TestServeReturnsAfterClose: Serve returns only once the socket file is
// removed, even while a keep-alive connection is open (whose close
// Shutdown waits for).
func TestServeReturnsAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	s, err := New(Config{Addr: "unix:" + path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("/public", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	if code, _ := get(t, s, "/public", ""); code != 200 { // leaves an idle keep-alive connection
		t.Fatalf("status %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Serve returned before the socket file was removed: %v", err)
	}
}
