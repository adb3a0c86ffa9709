package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// recObserver records what a Server tells its Observer.
type recObserver struct {
	mu       sync.Mutex
	refused  []string
	upgrades int
	tlsFails int
	dials    []error
	ends     []SessionEnd
	ended    chan struct{}
}

func newRecObserver() *recObserver { return &recObserver{ended: make(chan struct{}, 16)} }

func (o *recObserver) HandshakeRefused(r string) {
	o.mu.Lock()
	o.refused = append(o.refused, r)
	o.mu.Unlock()
}
func (o *recObserver) Upgraded(time.Duration) { o.mu.Lock(); o.upgrades++; o.mu.Unlock() }
func (o *recObserver) TLSHandshakeFailed()    { o.mu.Lock(); o.tlsFails++; o.mu.Unlock() }
func (o *recObserver) TargetDialed(_ time.Duration, err error) {
	o.mu.Lock()
	o.dials = append(o.dials, err)
	o.mu.Unlock()
}
func (o *recObserver) SessionEnded(e *SessionEnd) {
	o.mu.Lock()
	o.ends = append(o.ends, *e)
	o.mu.Unlock()
	o.ended <- struct{}{}
}

func (o *recObserver) waitEnd(t *testing.T) SessionEnd {
	t.Helper()
	select {
	case <-o.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("no session end reported")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ends[len(o.ends)-1]
}

// TestObserverSessionEnd: each driver reports the session's end once, with
// its cause, close code and payload bytes each way, and Totals counts the
// bytes of open and ended sessions.
func TestObserverSessionEnd(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		o := newRecObserver()
		srv := &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, Observer: o}
		addr := startServer(t, srv)
		c, br, resp := dial(t, addr, "")
		if resp.StatusCode != 101 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		msg := bytes.Repeat([]byte("x"), 100000)
		c.Write(clientFrame(true, ws.OpBinary, msg))
		var got int
		for got < len(msg) {
			got += len(readFrame(t, br).Payload)
		}
		tot := srv.Totals()
		if tot.FromClient != 100000 || tot.ToClient != 100000 {
			t.Errorf("Totals while open: %+v; want 100000 each way", tot)
		}
		want := map[Relay]string{RelayEpoll: DriverEpoll, RelayGoroutines: DriverGoroutines}[r]
		if tot.Open[want] != 1 {
			t.Errorf("Totals.Open %v; want one %s session", tot.Open, want)
		}
		c.Write(clientFrame(true, ws.OpClose, ws.NewCloseFrameBody(1000, "bye")))
		readFrame(t, br)
		e := o.waitEnd(t)
		if e.Cause != "client_close" || e.Code != 1000 || e.FromClient != 100000 || e.ToClient != 100000 || e.Driver != want {
			t.Errorf("end %+v; want client_close 1000, 100000 bytes each way on %s", e, want)
		}
		if e.Target != srv.Target.String() || e.Client == "" || e.ID == 0 {
			t.Errorf("end names %q %q %d", e.Target, e.Client, e.ID)
		}
		// The end is reported just before the session leaves the server.
		for deadline := time.Now().Add(10 * time.Second); srv.ActiveSessions() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		tot = srv.Totals()
		if tot.FromClient != 100000 || tot.ToClient != 100000 || tot.Open[want] != 0 {
			t.Errorf("Totals after the end: %+v", tot)
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.upgrades != 1 || len(o.dials) != 1 || o.dials[0] != nil {
			t.Errorf("upgrades %d, dials %v", o.upgrades, o.dials)
		}
	})
}

// TestObserverTargetUnreachable: a session whose target refuses reports a
// failed dial and ends as target_unreachable with 1011.
func TestObserverTargetUnreachable(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		ln := newLocalListener(t)
		dead := ln.Addr().String()
		ln.Close()
		o := newRecObserver()
		addr := startServer(t, &Server{Relay: r, Target: Endpoint{Address: dead}, Observer: o})
		_, br, _ := dial(t, addr, "")
		readFrame(t, br)
		e := o.waitEnd(t)
		if e.Cause != "target_unreachable" || e.Code != 1011 || e.Driver != DriverNone {
			t.Errorf("end %+v", e)
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if len(o.dials) != 1 || o.dials[0] == nil {
			t.Errorf("dials %v; want one failure", o.dials)
		}
	})
}

// TestObserverRefusals: every refused handshake is reported once, with
// its reason.
func TestObserverRefusals(t *testing.T) {
	o := newRecObserver()
	srv := &Server{Target: Endpoint{Address: startEcho(t)}, Observer: o, MaxHeaderBytes: 2048,
		Route: func(r *http.Request) (Endpoint, error) {
			switch r.URL.Query().Get("t") {
			case "unknown":
				return Endpoint{}, &HTTPError{Status: 404}
			case "backend":
				return Endpoint{}, &HTTPError{Status: 503, Reason: RefusedTokenBackend}
			case "plain":
				return Endpoint{}, errors.New("no")
			}
			return Endpoint{Address: startEcho(t)}, nil
		}}
	addr := startServer(t, srv)
	for i, tc := range []struct{ req, want string }{
		{strings.Replace(handshake, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1) + "\r\n", RefusedBadRequest},
		{handshake + "Sec-WebSocket-Protocol: chat\r\n\r\n", RefusedBadRequest},
		{"\x00\x01\x02 nonsense\r\n\r\n", RefusedBadRequest},
		{handshake + "X: " + strings.Repeat("a", 4096) + "\r\n\r\n", RefusedTooLarge},
		{strings.Replace(handshake, "GET /x", "GET /?t=unknown", 1) + "\r\n", RefusedTokenUnknown},
		{strings.Replace(handshake, "GET /x", "GET /?t=backend", 1) + "\r\n", RefusedTokenBackend},
		{strings.Replace(handshake, "GET /x", "GET /?t=plain", 1) + "\r\n", RefusedAuth},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, tc.req)
		http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		// Some refusals are counted just after their answer is written.
		var got []string
		for deadline := time.Now().Add(5 * time.Second); len(got) < i+1 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			o.mu.Lock()
			got = append([]string(nil), o.refused...)
			o.mu.Unlock()
		}
		if len(got) != i+1 || got[i] != tc.want {
			t.Errorf("%q: refusals %q; want %d, the last %q", tc.req[:20], got, i+1, tc.want)
		}
	}
}

// TestObserverStopCauses: Shutdown ends open sessions as "shutdown" with
// 1001, StopSessions with the cause given, on each driver.
func TestObserverStopCauses(t *testing.T) {
	eachRelay(t, func(t *testing.T, r Relay) {
		for _, tc := range []struct {
			stop func(*Server)
			want string
		}{
			{func(s *Server) { go s.Shutdown(context.Background()) }, "shutdown"},
			{func(s *Server) { s.StopSessions(CauseDrained, ws.StatusGoingAway, "Server shutting down") }, "drain"},
			{func(s *Server) { s.StopSessions(CauseKilled, ws.StatusPolicyViolation, "Killed") }, "killed"},
		} {
			o := newRecObserver()
			srv := &Server{Relay: r, Target: Endpoint{Address: startEcho(t)}, Observer: o}
			addr := startServer(t, srv)
			c, br, _ := dial(t, addr, "")
			c.Write(clientFrame(true, ws.OpBinary, []byte("hi")))
			readFrame(t, br)
			tc.stop(srv)
			f := readFrame(t, br)
			c.Write(clientFrame(true, ws.OpClose, f.Payload))
			if e := o.waitEnd(t); e.Cause != tc.want {
				t.Errorf("end %+v; want cause %s", e, tc.want)
			}
		}
	})
}
