package tokens

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a real redis-server (Debian's package) on a loopback
// port, with persistence off, in a temporary directory.
type redisServer struct {
	port     int
	password string
	client   *redis.Client // for test setup, on db 0 unless chosen
	cmd      *exec.Cmd
	done     chan error
	stopOnce sync.Once
}

// startRedis starts a redis-server and stops it when the test ends. The
// tests fail (never skip) without redis-server: tests/install-deps.sh
// installs it.
func startRedis(t *testing.T, password string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is required (apt-get install redis-server, or tests/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	var lastErr error
	for range 5 {
		s, err := tryStartRedis(bin, dir, password)
		if err == nil {
			t.Cleanup(s.stop)
			return s
		}
		lastErr = err // most likely the probed port was taken meanwhile
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func tryStartRedis(bin, dir, password string) (*redisServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", "", "--databases", "4"}
	if password != "" {
		args = append(args, "--requirepass", password)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &redisServer{port: port, password: password, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	s.client = redis.NewClient(&redis.Options{Addr: s.addr(), Password: password, Protocol: 2, MaxRetries: -1})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			s.client.Close()
			return nil, fmt.Errorf("redis-server exited: %v\n%s", err, out.String())
		default:
		}
		// Readiness must prove it is our server: its directory.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := s.client.ConfigGet(ctx, "dir").Result()
		cancel()
		if err == nil && got["dir"] == dir {
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("redis-server not ready on port %d:\n%s", port, out.String())
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// source is a TokenRedis --token-source for this server.
func (s *redisServer) source(rest string) string { return "127.0.0.1:" + strconv.Itoa(s.port) + rest }

func (s *redisServer) set(t *testing.T, db int, key, value string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr(), Password: s.password, DB: db, Protocol: 2})
	defer c.Close()
	if err := c.Set(context.Background(), key, value, 0).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

func (s *redisServer) del(t *testing.T, key string) {
	t.Helper()
	if err := s.client.Del(context.Background(), key).Err(); err != nil {
		t.Fatalf("DEL %s: %v", key, err)
	}
}

// stop ends the server and waits for it.
func (s *redisServer) stop() {
	s.stopOnce.Do(func() {
		s.client.Close()
		s.cmd.Process.Kill()
		<-s.done
	})
}
