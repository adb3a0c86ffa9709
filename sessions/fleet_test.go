package sessions

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/websockify-go/websockify/gateway"
)

// startRedis runs a redis-server on a free loopback port until the test
// ends. It fails (never skips) without redis-server: tests/install-deps.sh
// installs it.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is required (tests/install-deps.sh): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	t.Cleanup(func() { c.Close() })
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return c
		}
		if i == 200 {
			t.Fatal("redis-server does not answer")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

type fakeReady struct{ set map[string]string }

func (r *fakeReady) Set(name, reason string) { r.set[name] = reason }
func (r *fakeReady) Clear(name string)       { delete(r.set, name) }

func TestRegistry(t *testing.T) {
	c := startRedis(t)
	ctx := context.Background()
	la, lb := newFake(), newFake()
	lb.list = lb.list[1:2] // id 7, secret-token-two
	ra := NewRegistry(c, la, "a", nil, nil)
	ready := &fakeReady{set: map[string]string{}}
	rb := NewRegistry(c, lb, "b", ready, nil)
	ra.refresh(ctx)
	rb.refresh(ctx)
	ra.refresh(ctx)
	if got := ra.Elsewhere("secret-token-two"); got != 1 {
		t.Fatalf("a sees %d sessions of token two elsewhere", got)
	}
	if got := rb.Elsewhere("secret-token-two"); got != 2 {
		t.Fatalf("b sees %d sessions of token two elsewhere", got)
	}
	list, err := rb.List(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("fleet list: %v %v", list, err)
	}

	// A kill marker ends the matching sessions that started before it,
	// on the next refresh, even without the message.
	lb.list[0].Started = time.Now().Add(-time.Minute)
	if err := ra.StopToken(ctx, "secret-token-two", "bye"); err != nil {
		t.Fatal(err)
	}
	la.list = append(la.list, gateway.SessionInfo{ID: 20, Token: "secret-token-two", Started: time.Now().Add(time.Minute)})
	ra.refresh(ctx)
	rb.refresh(ctx)
	if lb.stopped[7] != "bye" || la.stopped[7] != "bye" || la.stopped[9] != "bye" {
		t.Fatalf("kill marker: a %v, b %v", la.stopped, lb.stopped)
	}
	if _, ok := la.stopped[20]; ok {
		t.Fatal("a session opened after the kill was ended")
	}

	// Redis gone: the local view, and readiness says so; back: cleared.
	down := NewRegistry(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), lb, "b", ready, nil)
	down.refresh(ctx)
	if _, ok := ready.set[readyName]; !ok || down.Elsewhere("secret-token-two") != 0 {
		t.Fatalf("down: ready %v", ready.set)
	}
	down.client = c
	down.refresh(ctx)
	if _, ok := ready.set[readyName]; ok {
		t.Fatalf("up again: ready %v", ready.set)
	}
}
