package cmdline

import (
	"errors"
	"io"
	"slices"
	"testing"
)

func TestParseSessions(t *testing.T) {
	sc, err := ParseSessions([]string{"--admin", "unix:/run/a.sock", "kill", "--reason", "bye", "3", "4"}, io.Discard)
	if err != nil || sc.Action != "kill" || sc.Admin != "unix:/run/a.sock" || sc.Reason != "bye" || !slices.Equal(sc.IDs, []uint64{3, 4}) {
		t.Fatalf("%+v %v", sc, err)
	}
	sc, err = ParseSessions([]string{"--admin", "h:1", "kill", "--all", "--token", "T"}, io.Discard)
	if err != nil || !sc.All || sc.Token != "T" {
		t.Fatalf("%+v %v", sc, err)
	}
	sc, err = ParseSessions([]string{"--admin", "h:1", "list", "--all", "--json"}, io.Discard)
	if err != nil || sc.Action != "list" || !sc.All || !sc.JSON {
		t.Fatalf("%+v %v", sc, err)
	}
	if _, err := ParseSessions(nil, io.Discard); !errors.Is(err, ErrHelp) {
		t.Fatalf("no arguments: %v", err)
	}
	for _, args := range [][]string{
		{"list"}, // no --admin
		{"--admin", "h:1", "bogus"},
		{"--admin", "h:1", "kill"},
		{"--admin", "h:1", "kill", "x"},
		{"--admin", "h:1", "kill", "0"},
		{"--admin", "h:1", "kill", "--token", "T", "3"},
		{"--admin", "h:1", "kill", "--all", "3"},
		{"--admin", "h:1", "show"},
		{"--admin", "h:1", "show", "1", "2"},
		{"--admin", "h:1", "list", "extra"},
		{"--admin", "h:1", "list", "--bogus"},
	} {
		var ue *UsageError
		if _, err := ParseSessions(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%q: %v; want a usage error", args, err)
		}
	}
}
