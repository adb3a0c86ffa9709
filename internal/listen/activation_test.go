package listen

import (
	"os"
	"strconv"
	"testing"
)

// TestActivatedNone: without LISTEN_FDS, or with LISTEN_PID naming another
// process, there is no passed socket, and the variables are removed.
func TestActivatedNone(t *testing.T) {
	ln, err := Activated()
	if ln != nil || err != nil {
		t.Fatalf("no LISTEN_FDS: %v, %v", ln, err)
	}
	t.Setenv("LISTEN_FDS", "1")
	t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()+1))
	ln, err = Activated()
	if ln != nil || err != nil {
		t.Fatalf("LISTEN_PID of another process: %v, %v", ln, err)
	}
	if os.Getenv("LISTEN_FDS") != "" || os.Getenv("LISTEN_PID") != "" {
		t.Fatal("the variables are still set")
	}
}
