package core

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run feeds stream to a new session in pieces of size piece (0: whole),
// each read with ClientHeadroom in front as a driver leaves it, and
// returns the target-bound bytes and the frames the session queued.
func run(t *testing.T, cfg Config, stream []byte, piece int) (*Session, []byte, []ws.Frame) {
	t.Helper()
	var s Session
	s.Init(cfg, t0)
	var data []byte
	if piece == 0 {
		piece = max(len(stream), 1)
	}
	for len(stream) > 0 && !s.ClientDone() {
		p := stream[:min(piece, len(stream))]
		stream = stream[len(p):]
		buf := append(make([]byte, ClientHeadroom), p...)
		for off := ClientHeadroom; off < len(buf) && !s.ClientDone(); {
			used, d := s.Client(buf, off)
			off += used
			data = append(data, d...)
		}
	}
	return &s, data, frames(t, &s)
}

// frames takes what the session queued for the client.
func frames(t *testing.T, s *Session) []ws.Frame {
	t.Helper()
	r := bytes.NewReader(append([]byte(nil), s.Pending()...))
	s.Sent(len(s.Pending()))
	var fs []ws.Frame
	for r.Len() > 0 {
		f, err := readFrame(r)
		if err != nil {
			t.Fatalf("queued frames: %v", err)
		}
		fs = append(fs, f)
	}
	return fs
}

func closeOf(t *testing.T, fs []ws.Frame) (ws.StatusCode, string) {
	t.Helper()
	for _, f := range fs {
		if f.Header.OpCode == ws.OpClose {
			return ws.ParseCloseFrameData(f.Payload)
		}
	}
	t.Fatalf("no close frame in %d frames", len(fs))
	return 0, ""
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func TestSessionClosePaths(t *testing.T) {
	bin := Config{MaxFrameSize: 100, CloseTimeout: time.Second}
	b64 := Config{Base64: true, MaxFrameSize: 100, CloseTimeout: time.Second}
	tests := []struct {
		name   string
		cfg    Config
		stream []byte
		data   string
		cause  Cause
		code   ws.StatusCode // our close frame; 0: none queued
	}{
		{"client close echoed", bin, cat(clientFrame(true, ws.OpBinary, []byte("hi")), clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "bye"))), "hi", ClientClosed, 1000},
		{"empty close echoed empty", bin, clientFrame(true, ws.OpClose, nil), "", ClientClosed, 0},
		{"close code 1005 refused", bin, clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1005, "")), "", ProtocolError, 1002},
		{"close with bad UTF-8", bin, clientFrame(true, ws.OpClose, append(ws.NewCloseFrameBody(1000, ""), 0xff)), "", ProtocolError, 1002},
		{"one-byte close", bin, clientFrame(true, ws.OpClose, []byte{3}), "", ProtocolError, 1002},
		{"text in binary mode", bin, clientFrame(true, ws.OpText, []byte("x")), "", ProtocolError, 1003},
		{"binary in base64 mode", b64, clientFrame(true, ws.OpBinary, []byte("x")), "", ProtocolError, 1003},
		{"frame too large", bin, clientFrame(true, ws.OpBinary, make([]byte, 101)), "", ProtocolError, 1009},
		{"unmasked", bin, ws.MustCompileFrame(ws.NewFrame(ws.OpBinary, true, []byte("x"))), "", ProtocolError, 1002},
		{"reserved opcode", bin, clientFrame(true, ws.OpCode(3), nil), "", ProtocolError, 1002},
		{"lone continuation", bin, clientFrame(true, ws.OpContinuation, []byte("x")), "", ProtocolError, 1002},
		{"fragmented ping", bin, clientFrame(false, ws.OpPing, nil), "", ProtocolError, 1002},
		{"ping between fragments", bin, cat(clientFrame(false, ws.OpBinary, []byte("a")), clientFrame(true, ws.OpPing, []byte("p")), clientFrame(true, ws.OpContinuation, []byte("b"))), "ab", Running, 0},
		{"base64 padded", b64, clientFrame(true, ws.OpText, []byte("aGVsbG8=")), "hello", Running, 0},
		{"base64 unpadded two", b64, clientFrame(true, ws.OpText, []byte("YQ")), "a", Running, 0},
		{"base64 unpadded three", b64, clientFrame(true, ws.OpText, []byte("aGk")), "hi", Running, 0},
		{"base64 one left over", b64, clientFrame(true, ws.OpText, []byte("aGVsb")), "hel", ProtocolError, 1003},
		{"base64 bad character", b64, clientFrame(true, ws.OpText, []byte("aG*s")), "", ProtocolError, 1003},
		{"base64 data after padding", b64, clientFrame(true, ws.OpText, []byte("YQ==YQ==")), "a", ProtocolError, 1003},
		{"base64 fragmented message", b64, cat(clientFrame(false, ws.OpText, []byte("aG")), clientFrame(false, ws.OpContinuation, []byte("VsbG")), clientFrame(true, ws.OpContinuation, []byte("8"))), "hello", Running, 0},
		{"base64 messages decode apart", b64, cat(clientFrame(true, ws.OpText, []byte("YQ")), clientFrame(true, ws.OpText, []byte("Yg=="))), "ab", Running, 0},
		{"base64 line breaks skipped", b64, clientFrame(true, ws.OpText, []byte("aGVs\r\nbG8=")), "hello", Running, 0},
	}
	for _, tt := range tests {
		for _, piece := range []int{0, 1, 3, 7} {
			s, data, fs := run(t, tt.cfg, tt.stream, piece)
			if string(data) != tt.data {
				t.Errorf("%s (pieces of %d): data %q; want %q", tt.name, piece, data, tt.data)
			}
			if got := s.End().Cause; got != tt.cause {
				t.Errorf("%s (pieces of %d): cause %v; want %v", tt.name, piece, got, tt.cause)
			}
			if tt.code != 0 {
				if code, _ := closeOf(t, fs); code != tt.code {
					t.Errorf("%s (pieces of %d): close %d; want %d", tt.name, piece, code, tt.code)
				}
			}
			if tt.cause != Running && !s.ClientDone() {
				t.Errorf("%s: client input not ended", tt.name)
			}
		}
	}
}

func TestSessionPingPong(t *testing.T) {
	s, _, fs := run(t, Config{}, clientFrame(true, ws.OpPing, []byte("abc")), 0)
	if len(fs) != 1 || fs[0].Header.OpCode != ws.OpPong || string(fs[0].Payload) != "abc" {
		t.Fatalf("frames %+v; want one pong abc", fs)
	}
	if s.ClientDone() {
		t.Fatal("a ping ended client input")
	}
}

func TestSessionTargetFrames(t *testing.T) {
	var s Session
	s.Init(Config{}, t0)
	buf := append(make([]byte, Headroom), "hello"...)
	f, err := readFrame(bytes.NewReader(s.TargetFrame(buf, 5, nil)))
	if err != nil || f.Header.OpCode != ws.OpBinary || string(f.Payload) != "hello" {
		t.Fatalf("frame %+v, %v", f, err)
	}

	s.Init(Config{Base64: true}, t0)
	enc := make([]byte, Headroom+EncodedLen(5))
	f, err = readFrame(bytes.NewReader(s.TargetFrame(buf, 5, enc)))
	if err != nil || f.Header.OpCode != ws.OpText || string(f.Payload) != "aGVsbG8=" {
		t.Fatalf("base64 frame %+v, %v", f, err)
	}

	// After our close, target bytes are dropped and the target's end is
	// not reported.
	s.Close(ws.StatusGoingAway, "Server shutting down", t0)
	if s.TargetFrame(buf, 5, enc) != nil {
		t.Fatal("a data frame after our close")
	}
	if s.TargetEnded(io.EOF, t0) {
		t.Fatal("the end of a dropped target reported")
	}
	if e := s.End(); e.Cause != Closed || e.Code != ws.StatusGoingAway {
		t.Fatalf("end %+v; want closed 1001", e)
	}
}

func TestSessionTargetEnds(t *testing.T) {
	for _, tt := range []struct {
		err   error
		cause Cause
		code  ws.StatusCode
	}{
		{io.EOF, TargetClosed, 1000},
		{errors.New("reset"), TargetFailed, 1011},
	} {
		var s Session
		s.Init(Config{CloseTimeout: time.Second}, t0)
		if !s.TargetEnded(tt.err, t0) {
			t.Fatal("not reported")
		}
		if code, _ := closeOf(t, frames(t, &s)); code != tt.code || s.End().Cause != tt.cause {
			t.Fatalf("%v: close %d, end %+v", tt.err, code, s.End())
		}
		// The client has CloseTimeout to answer.
		if d := s.Deadline(); !d.Equal(t0.Add(time.Second)) {
			t.Fatalf("deadline %v", d)
		}
		s.Tick(t0.Add(time.Second))
		if !s.ClientDone() || s.End().Cause != tt.cause || !errors.Is(s.ClientErr(), ErrTimedOut) {
			t.Fatalf("after the close timeout: done %v, end %+v, err %v", s.ClientDone(), s.End(), s.ClientErr())
		}
	}
}

func TestSessionHeartbeat(t *testing.T) {
	var s Session
	s.Init(Config{Heartbeat: time.Second, CloseTimeout: time.Second}, t0)
	if d := s.Deadline(); !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("first deadline %v; want the first ping", d)
	}
	s.Tick(t0.Add(time.Second))
	if fs := frames(t, &s); len(fs) != 1 || fs[0].Header.OpCode != ws.OpPing {
		t.Fatalf("frames %+v; want a ping", fs)
	}
	s.Received(t0.Add(1500 * time.Millisecond)) // the pong
	s.Tick(t0.Add(2 * time.Second))
	s.Tick(t0.Add(3 * time.Second))
	if s.ClientDone() {
		t.Fatal("a client that answered was dropped")
	}
	s.Tick(t0.Add(3500 * time.Millisecond)) // two intervals of silence
	if !s.ClientDone() || s.End().Cause != HeartbeatTimeout || s.End().Code != ws.StatusGoingAway {
		t.Fatalf("end %+v; want heartbeat timeout", s.End())
	}
	// The close says why, in case the client is alive behind a proxy.
	if fs := frames(t, &s); fs[len(fs)-1].Header.OpCode != ws.OpClose || !bytes.Contains(fs[len(fs)-1].Payload, []byte(HeartbeatReason)) {
		t.Fatalf("frames %+v; want a close with the heartbeat's reason", fs)
	}
}

func TestSessionClientWriteFailed(t *testing.T) {
	var s Session
	s.Init(Config{}, t0)
	s.Client(append(make([]byte, ClientHeadroom), clientFrame(true, ws.OpPing, nil)...), ClientHeadroom)
	s.ClientWriteFailed(errors.New("broken pipe"))
	if len(s.Pending()) != 0 || !s.ClientDead() || !s.Dropping() || s.End().Cause != ClientLost {
		t.Fatalf("after a failed write: pending %d, end %+v", len(s.Pending()), s.End())
	}
}

func TestSessionEOFInsideFrame(t *testing.T) {
	var s Session
	s.Init(Config{}, t0)
	f := clientFrame(true, ws.OpBinary, []byte("hello"))
	s.Client(append(make([]byte, ClientHeadroom), f[:len(f)-2]...), ClientHeadroom)
	s.ClientEnded(io.EOF)
	if !errors.Is(s.ClientErr(), io.ErrUnexpectedEOF) || s.End().Cause != ClientLost {
		t.Fatalf("err %v, end %+v", s.ClientErr(), s.End())
	}
}

func TestSessionRecordsAndTraces(t *testing.T) {
	var rec memRecorder
	var tr strings.Builder
	var s Session
	s.Init(Config{Recorder: &rec, Traffic: tracer{&tr}}, t0)
	stream := cat(clientFrame(false, ws.OpBinary, []byte("ab")), clientFrame(true, ws.OpContinuation, []byte("c")))
	buf := append(make([]byte, ClientHeadroom), stream...)
	for off := ClientHeadroom; off < len(buf); {
		used, _ := s.Client(buf, off)
		off += used
	}
	s.TargetWrote()
	s.TargetFrame(append(make([]byte, Headroom), "xyz"...), 3, nil)
	s.FrameSent()
	if rec.client.String() != "abc" || rec.target.String() != "xyz" || tr.String() != "}>{<" {
		t.Fatalf("recorded %q / %q, traced %q", rec.client.String(), rec.target.String(), tr.String())
	}
}

type memRecorder struct{ client, target bytes.Buffer }

func (m *memRecorder) ClientData(p []byte) { m.client.Write(p) }
func (m *memRecorder) TargetData(p []byte) { m.target.Write(p) }

type tracer struct{ b *strings.Builder }

func (t tracer) Trace(s string) { t.b.WriteString(s) }

// FuzzSessionBase64 checks that a base64 message decodes in pieces of any
// size as it does whole, as encoding/base64 decodes it.
func FuzzSessionBase64(f *testing.F) {
	f.Add([]byte("aGVsbG8="), 1)
	f.Add([]byte("YQ"), 3)
	f.Fuzz(func(t *testing.T, text []byte, piece int) {
		if len(text) > 1000 {
			return
		}
		piece = 1 + int(uint(piece)%17)
		cfg := Config{Base64: true, MaxFrameSize: 4096}
		s, data, _ := run(t, cfg, clientFrame(true, ws.OpText, text), piece)
		whole, wholeData, _ := run(t, cfg, clientFrame(true, ws.OpText, text), 0)
		if !bytes.Equal(data, wholeData) || s.End().Cause != whole.End().Cause {
			t.Fatalf("in pieces of %d: %q %v; whole: %q %v", piece, data, s.End(), wholeData, whole.End())
		}
		if whole.End().Cause == Running {
			want, err := decodeLenient(text)
			if err != nil || !bytes.Equal(wholeData, want) {
				t.Fatalf("decoded %q; encoding/base64 says %q, %v", wholeData, want, err)
			}
		}
	})
}

// decodeLenient decodes as the session promises: line breaks skipped, a
// short last quad taken as unpadded.
func decodeLenient(text []byte) ([]byte, error) {
	t := strings.NewReplacer("\r", "", "\n", "").Replace(string(text))
	if strings.HasSuffix(t, "=") {
		return ioReadAll(t, true)
	}
	return ioReadAll(t, false)
}

// readFrame reads one frame the session built.
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	_, err = io.ReadFull(r, f.Payload)
	return f, err
}

// FuzzSession feeds arbitrary client bytes in pieces of any size: the
// session must decide as it does on the whole stream (same payload, same
// frames for the client, same end), and queue only valid server frames.
func FuzzSession(f *testing.F) {
	f.Add(clientFrame(true, ws.OpBinary, []byte("hello")), 3, false)
	f.Add(cat(clientFrame(false, ws.OpText, []byte("aG")), clientFrame(true, ws.OpPing, []byte("p")), clientFrame(true, ws.OpContinuation, []byte("k"))), 1, true)
	f.Add(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "bye")), 2, false)
	f.Fuzz(func(t *testing.T, stream []byte, piece int, b64 bool) {
		piece = 1 + int(uint(piece)%64)
		cfg := Config{Base64: b64, MaxFrameSize: 1 << 12, CloseTimeout: time.Second}
		s, data, fs := run(t, cfg, stream, piece)
		whole, wholeData, wholeFs := run(t, cfg, stream, 0)
		if !bytes.Equal(data, wholeData) || s.End() != whole.End() && !errors.Is(s.End().Err, whole.End().Err) {
			t.Fatalf("in pieces of %d: %q, %+v; whole: %q, %+v", piece, data, s.End(), wholeData, whole.End())
		}
		if len(fs) != len(wholeFs) {
			t.Fatalf("in pieces of %d: %d frames; whole: %d", piece, len(fs), len(wholeFs))
		}
		for i := range fs {
			if fs[i].Header.OpCode != wholeFs[i].Header.OpCode || !bytes.Equal(fs[i].Payload, wholeFs[i].Payload) {
				t.Fatalf("frame %d differs: %+v / %+v", i, fs[i].Header, wholeFs[i].Header)
			}
		}
	})
}
