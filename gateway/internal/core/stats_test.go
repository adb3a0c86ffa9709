package core

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestStatsCountPayloadBothWays: FromClient counts the payload handed to
// the target (decoded, in base64 mode), ToClient the target bytes framed
// for the client, whichever way the driver frames them; dropped target
// bytes are not counted.
func TestStatsCountPayloadBothWays(t *testing.T) {
	for _, cfg := range []Config{{CloseTimeout: time.Second}, {Base64: true, CloseTimeout: time.Second}} {
		payload := []byte("hello")
		if cfg.Base64 {
			payload = []byte("aGVsbG8=")
		}
		stream := cat(clientFrame(true, cfg.dataOp(), payload), clientFrame(true, ws.OpPing, []byte("ping")), clientFrame(true, cfg.dataOp(), payload))
		for _, piece := range []int{0, 1, 3} {
			s, data, _ := run(t, cfg, stream, piece)
			if st := s.Stats(); st.FromClient != 10 || string(data) != "hellohello" {
				t.Errorf("base64=%v pieces of %d: FromClient %d (data %q); want 10", cfg.Base64, piece, st.FromClient, data)
			}
		}
		var s Session
		s.Init(cfg, t0)
		buf := make([]byte, Headroom+100)
		enc := make([]byte, Headroom+EncodedLen(100))
		if s.TargetFrame(buf, 40, enc) == nil {
			t.Fatal("TargetFrame dropped a frame of a running session")
		}
		var h [Headroom]byte
		if !cfg.Base64 && s.TargetHeader(h[:], 60) == 0 {
			t.Fatal("TargetHeader dropped a frame of a running session")
		}
		want := uint64(100)
		if cfg.Base64 {
			want = 40
		}
		if got := s.Stats().ToClient; got != want {
			t.Errorf("base64=%v: ToClient %d; want %d", cfg.Base64, got, want)
		}
		s.Stop(Shutdown, ws.StatusGoingAway, "bye", t0)
		if s.TargetFrame(buf, 40, enc) != nil {
			t.Fatal("TargetFrame after our close")
		}
		if got := s.Stats().ToClient; got != want {
			t.Errorf("base64=%v: ToClient %d after a dropped frame; want %d", cfg.Base64, got, want)
		}
	}
}

func (c Config) dataOp() ws.OpCode {
	if c.Base64 {
		return ws.OpText
	}
	return ws.OpBinary
}

// TestStatsLastActivity follows the last bytes from either side, and Init
// starts it at the session's start.
func TestStatsLastActivity(t *testing.T) {
	var s Session
	s.Init(Config{}, t0)
	if got := s.Stats().LastActivity; !got.Equal(t0) {
		t.Fatalf("LastActivity %v at start; want %v", got, t0)
	}
	s.Received(t0.Add(time.Second))
	if got := s.Stats().LastActivity; !got.Equal(t0.Add(time.Second)) {
		t.Errorf("LastActivity %v after client bytes; want +1s", got)
	}
	s.TargetReceived(t0.Add(2 * time.Second))
	if got := s.Stats().LastActivity; !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("LastActivity %v after target bytes; want +2s", got)
	}
	s.Init(Config{}, t0)
	if st := s.Stats(); st.FromClient != 0 || st.ToClient != 0 || !st.LastActivity.Equal(t0) {
		t.Errorf("Init did not reset the counters: %+v", st)
	}
}

// TestStatsFromAnotherGoroutine reads Stats while the session relays (the
// race detector checks it).
func TestStatsFromAnotherGoroutine(t *testing.T) {
	var s Session
	s.Init(Config{}, t0)
	stream := clientFrame(true, ws.OpBinary, []byte("x"))
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = s.Stats()
			}
		}
	}()
	buf := make([]byte, Headroom+10)
	for i := 0; i < 1000; i++ {
		in := append(make([]byte, ClientHeadroom), stream...)
		s.Client(in, ClientHeadroom)
		s.Received(t0)
		s.TargetFrame(buf, 1, nil)
	}
	close(done)
	wg.Wait()
	if st := s.Stats(); st.FromClient != 1000 || st.ToClient != 1000 {
		t.Errorf("Stats %+v; want 1000 each way", st)
	}
}

// TestStatsNoAllocation: counting allocates nothing.
func TestStatsNoAllocation(t *testing.T) {
	var s Session
	s.Init(Config{}, t0)
	in := append(make([]byte, ClientHeadroom), clientFrame(true, ws.OpBinary, []byte("x"))...)
	buf := make([]byte, Headroom+10)
	tmp := make([]byte, len(in))
	allocs := testing.AllocsPerRun(100, func() {
		copy(tmp, in)
		s.Client(tmp, ClientHeadroom)
		s.Received(t0)
		s.TargetReceived(t0)
		s.TargetFrame(buf, 1, nil)
		_ = s.Stats()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame each way; want 0", allocs)
	}
}

// TestStopRecordsItsCause: Stop records its cause unless the session had
// already ended, and sends its close frame once.
func TestStopRecordsItsCause(t *testing.T) {
	for _, c := range []Cause{Closed, Drained, Shutdown, Killed, Revoked} {
		var s Session
		s.Init(Config{CloseTimeout: time.Second}, t0)
		s.Stop(c, ws.StatusGoingAway, "Server shutting down", t0)
		s.Stop(Killed, ws.StatusPolicyViolation, "again", t0)
		if e := s.End(); e.Cause != c || e.Code != ws.StatusGoingAway || e.Reason != "Server shutting down" {
			t.Errorf("%v: End %+v", c, e)
		}
		fs := frames(t, &s)
		if len(fs) != 1 {
			t.Fatalf("%v: %d frames queued; want one close", c, len(fs))
		}
		if code, reason := closeOf(t, fs); code != ws.StatusGoingAway || reason != "Server shutting down" {
			t.Errorf("%v: close %d %q", c, code, reason)
		}
		if !s.Deadline().Equal(t0.Add(time.Second)) {
			t.Errorf("%v: deadline %v; want the close timeout", c, s.Deadline())
		}
	}
	var s Session
	s.Init(Config{}, t0)
	s.TargetEnded(io.EOF, t0)
	s.Stop(Drained, ws.StatusGoingAway, "", t0)
	if c := s.End().Cause; c != TargetClosed {
		t.Errorf("Stop after the target closed changed the cause to %v", c)
	}
}

func TestCauseNames(t *testing.T) {
	seen := map[string]bool{}
	for c := Cause(0); int(c) < NumCauses; c++ {
		n := c.String()
		if n == "" || n == "unknown" || seen[n] {
			t.Errorf("cause %d: name %q", c, n)
		}
		seen[n] = true
	}
	if Cause(NumCauses).String() != "unknown" {
		t.Error("a cause out of range has a name")
	}
}
