package tokens

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func writeFile(t *testing.T, path, data string) { writeFileTB(t, path, data) }

func writeFileTB(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustNew(t *testing.T, name, source string, o Options) Plugin {
	t.Helper()
	p, err := New(name, source, o)
	if err != nil {
		t.Fatalf("New(%s, %q): %v", name, source, err)
	}
	return p
}

// lookupOK looks token up and checks the target.
func lookupOK(t *testing.T, p Plugin, token string, want Target) {
	t.Helper()
	got, err := p.Lookup(context.Background(), token)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", token, err)
	}
	if got.Network != want.Network || got.Address != want.Address {
		t.Fatalf("Lookup(%q) = %+v; want %+v", token, got, want)
	}
}

// lookupErr looks token up and checks the error class.
func lookupErr(t *testing.T, p Plugin, token string, want error) error {
	t.Helper()
	got, err := p.Lookup(context.Background(), token)
	if err == nil {
		t.Fatalf("Lookup(%q) = %+v; want error %v", token, got, want)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("Lookup(%q) error %v; want %v", token, err, want)
	}
	t.Logf("Lookup(%.20q): %v", token, err)
	if want == nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidToken)) {
		t.Fatalf("Lookup(%q) error %v; want a backend failure", token, err)
	}
	return err
}

func tcp(addr string) Target { return Target{Network: "tcp", Address: addr} }
