package sessions

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websockify-go/websockify/gateway"
)

// fakeLocal is a session registry in memory.
type fakeLocal struct {
	mu      sync.Mutex
	list    []gateway.SessionInfo
	stopped map[uint64]string
}

func (f *fakeLocal) Sessions() []gateway.SessionInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gateway.SessionInfo(nil), f.list...)
}

func (f *fakeLocal) Session(id uint64) (gateway.SessionInfo, bool) {
	for _, si := range f.Sessions() {
		if si.ID == id {
			return si, true
		}
	}
	return gateway.SessionInfo{}, false
}

func (f *fakeLocal) StopSession(id uint64, _ gateway.Cause, reason string) bool {
	return f.StopMatching(func(si gateway.SessionInfo) bool { return si.ID == id }, 0, reason) == 1
}

func (f *fakeLocal) StopMatching(match func(gateway.SessionInfo) bool, _ gateway.Cause, reason string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	kept := f.list[:0]
	for _, si := range f.list {
		if match(si) {
			f.stopped[si.ID] = reason
			n++
		} else {
			kept = append(kept, si)
		}
	}
	f.list = kept
	return n
}

func newFake() *fakeLocal {
	now := time.Now()
	return &fakeLocal{stopped: map[uint64]string{}, list: []gateway.SessionInfo{
		{ID: 3, Client: "127.0.0.1:5000", Target: "127.0.0.1:5900", Token: "secret-token-one", Driver: "epoll", Started: now},
		{ID: 7, Client: "127.0.0.1:5001", Target: "127.0.0.1:5901", Token: "secret-token-two", Driver: "goroutines", Started: now, FromClient: 10, ToClient: 20},
		{ID: 9, Client: "127.0.0.1:5002", Target: "127.0.0.1:5901", Token: "secret-token-two", Driver: "goroutines", Started: now},
	}}
}

func do(t *testing.T, h http.Handler, method, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Body.String()
}

func TestAPIListAndOne(t *testing.T) {
	f := newFake()
	api := &API{Local: f}
	code, body := do(t, api, "GET", "/sessions")
	var l List
	if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil || len(l.Sessions) != 3 {
		t.Fatalf("GET /sessions: %d %v %s", code, err, body)
	}
	if strings.Contains(body, "secret-token") || !strings.Contains(body, `"token": "#`) {
		t.Fatalf("tokens not redacted: %s", body)
	}
	code, body = do(t, api, "GET", "/sessions/7")
	var e Entry
	if err := json.Unmarshal([]byte(body), &e); code != 200 || err != nil || e.ID != 7 || e.BytesToClient != 20 {
		t.Fatalf("GET /sessions/7: %d %s", code, body)
	}
}

func TestAPIStop(t *testing.T) {
	f := newFake()
	api := &API{Local: f}
	if code, body := do(t, api, "DELETE", "/sessions/3?reason=maintenance"); code != 200 || f.stopped[3] != "maintenance" {
		t.Fatalf("DELETE /sessions/3: %d %s %v", code, body, f.stopped)
	}
	code, body := do(t, api, "DELETE", "/sessions?token=secret-token-two")
	if code != 200 || !strings.Contains(body, `"ended": 2`) || f.stopped[7] != DefaultKillReason {
		t.Fatalf("DELETE by token: %d %s", code, body)
	}
	if code, _ := do(t, api, "DELETE", "/sessions/3"); code != 404 {
		t.Fatalf("second DELETE: %d", code)
	}
}

func TestAPIBadInput(t *testing.T) {
	f := newFake()
	api := &API{Local: f}
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/sessions/99", 404},
		{"DELETE", "/sessions/99", 404},
		{"GET", "/sessions/abc", 400},
		{"GET", "/sessions/0", 400},
		{"GET", "/sessions/-1", 400},
		{"GET", "/sessions/99999999999999999999999", 400},
		{"GET", "/sessions/3/extra", 400},
		{"GET", "/sessionsx", 404},
		{"DELETE", "/sessions", 400},
		{"DELETE", "/sessions?token=", 400},
		{"DELETE", "/sessions?token=a&token=b", 400},
		{"DELETE", "/sessions?token=" + strings.Repeat("a", 5000), 400},
		{"DELETE", "/sessions?token=a&reason=" + strings.Repeat("r", 200), 400},
		{"DELETE", "/sessions?token=a&reason=%00", 400},
		{"DELETE", "/sessions?token=a&bogus=1", 400},
		{"DELETE", "/sessions?token=%zz", 400},
		{"GET", "/sessions?all=1", 400}, // no fleet registry
		{"GET", "/sessions?all=maybe", 400},
		{"GET", "/sessions?" + strings.Repeat("x=1&", 3000), 414},
		{"POST", "/sessions", 405},
		{"PUT", "/sessions/3", 405},
		{"PATCH", "/sessions/3", 405},
	} {
		code, body := do(t, api, tc.method, tc.target)
		if code != tc.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s %.60s: %d %s; want %d", tc.method, tc.target, code, body, tc.status)
		}
	}
	if len(f.stopped) != 0 || len(f.Sessions()) != 3 {
		t.Fatalf("bad requests touched sessions: %v", f.stopped)
	}
}
