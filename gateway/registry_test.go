package gateway

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestStopSession(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		targetEOF := make(chan []byte, 2)
		target := startTarget(t, func(c net.Conn) {
			var got bytes.Buffer
			io.Copy(io.MultiWriter(c, &got), c) // echo until EOF
			targetEOF <- got.Bytes()
		})
		obs := newRecObserver()
		s := &Server{Relay: r, Target: Endpoint{Address: target}, Logger: quietLogger(), Observer: obs,
			SessionToken: func(r *http.Request) (string, bool) {
				tok := r.URL.Query().Get("token")
				return tok, tok != ""
			}}
		addr := startServer(t, s)
		c, br, _ := dialPath(t, addr, "/?token=a", "")
		keep, keepBR, _ := dialPath(t, addr, "/?token=b", "")
		c.Write(clientFrame(true, ws.OpBinary, []byte("hello")))
		if f := readFrame(t, br); string(f.Payload) != "hello" {
			t.Fatalf("echo %q", f.Payload)
		}
		keep.Write(clientFrame(true, ws.OpBinary, []byte("b")))
		readFrame(t, keepBR) // both sessions relay: both are listed
		list := s.Sessions()
		if len(list) != 2 {
			t.Fatalf("%d sessions listed", len(list))
		}
		si := list[0]
		if si.Token != "a" || si.Driver == "" || si.TLS || si.Subprotocol != "" || si.Started.IsZero() || si.Client != c.LocalAddr().String() {
			t.Fatalf("session entry %+v", si)
		}
		if got, ok := s.Session(si.ID); !ok || got.ID != si.ID {
			t.Fatalf("Session(%d): %v", si.ID, ok)
		}
		if s.StopSession(si.ID+1000, CauseKilled, "x") {
			t.Fatal("an unknown id was stopped")
		}
		// A large message in flight when the session is stopped arrives
		// whole, or not at all; never cut.
		big := bytes.Repeat([]byte("0123456789"), 50000)
		c.Write(clientFrame(true, ws.OpBinary, big))
		if !s.StopSession(si.ID, CauseKilled, "ended by the operator") {
			t.Fatal("StopSession: no such session")
		}
		var echoed []byte
		for {
			f := readFrame(t, br)
			if f.Header.OpCode == ws.OpClose {
				code, reason := ws.ParseCloseFrameData(f.Payload)
				if code != ws.StatusPolicyViolation || reason != "ended by the operator" {
					t.Fatalf("close %d %q", code, reason)
				}
				break
			}
			echoed = append(echoed, f.Payload...)
		}
		if !bytes.HasPrefix(big, echoed) {
			t.Fatal("echo after the stop is not a prefix of what was sent")
		}
		c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusPolicyViolation, "")))
		select {
		case got := <-targetEOF:
			if !bytes.HasPrefix(append([]byte("hello"), big...), got) || len(got) < 5 {
				t.Fatalf("target got %d bytes, not a prefix of what was sent", len(got))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the target saw no EOF")
		}
		if e := obs.waitEnd(t); e.Cause != "killed" || e.Code != 1008 {
			t.Fatalf("end reported: %+v", e)
		}
		// The other session goes on.
		keep.Write(clientFrame(true, ws.OpBinary, []byte("still")))
		if f := readFrame(t, keepBR); string(f.Payload) != "still" {
			t.Fatalf("other session: %q", f.Payload)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(s.Sessions()) != 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := s.StopMatching(func(si SessionInfo) bool { return si.Token == "b" }, CauseRevoked, "revoked"); n != 1 {
			t.Fatalf("StopSessions by token: %d", n)
		}
		f := readFrame(t, keepBR)
		if code, reason := ws.ParseCloseFrameData(f.Payload); f.Header.OpCode != ws.OpClose || code != 1008 || reason != "revoked" {
			t.Fatalf("close %v %d %q", f.Header.OpCode, code, reason)
		}
		keep.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusPolicyViolation, "")))
		if e := obs.waitEnd(t); e.Cause != "revoked" {
			t.Fatalf("end reported: %+v", e)
		}
	})
}
