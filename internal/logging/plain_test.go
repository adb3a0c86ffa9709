package logging

import (
	"log/slog"
	"strings"
	"testing"
)

func TestPlainFormat(t *testing.T) {
	var b strings.Builder
	log := slog.New(NewPlain(&b, slog.LevelInfo, false)).With("client", "127.0.0.1:5555")
	log.Info("Plain non-SSL (ws://) WebSocket connection", "path", "/x y")
	log.Debug("hidden")
	log.Warn("bad\nline", "err", "x\x1b[31m")
	want := "127.0.0.1:5555: Plain non-SSL (ws://) WebSocket connection path=\"/x y\"\n" +
		"WARN: 127.0.0.1:5555: bad\\nline err=\"x\\x1b[31m\"\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestPlainGroups(t *testing.T) {
	var b strings.Builder
	log := slog.New(NewPlain(&b, slog.LevelInfo, false)).WithGroup("g").With("a", 1)
	log.Info("m", "b", 2)
	if got, want := b.String(), "m g.a=1 g.b=2\n"; got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}

func TestPlainClientFromRecordAndTimestamp(t *testing.T) {
	var b strings.Builder
	log := slog.New(NewPlain(&b, slog.LevelInfo, true))
	log.Info("m", "k", "v", "client", "c")
	line := b.String()
	// "2006-01-02 15:04:05.000 " then the line.
	if len(line) < 24 || line[4] != '-' || line[10] != ' ' || line[19] != '.' || line[23] != ' ' {
		t.Fatalf("no timestamp in %q", line)
	}
	if got, want := line[24:], "c: m k=v\n"; got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}
