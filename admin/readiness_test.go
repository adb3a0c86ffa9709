package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestReadiness(t *testing.T) {
	var r Readiness
	if ok, reasons := r.Ready(); !ok || reasons != nil {
		t.Fatalf("zero value: %v %v; want ready", ok, reasons)
	}
	r.Set("draining", "SIGTERM received")
	r.Set("wrapped", "the wrapped program is not listening yet")
	r.Set("draining", "SIGTERM received, 3 sessions left")
	ok, reasons := r.Ready()
	want := []string{"draining: SIGTERM received, 3 sessions left", "wrapped: the wrapped program is not listening yet"}
	if ok || !reflect.DeepEqual(reasons, want) {
		t.Errorf("Ready: %v %q; want false %q", ok, reasons, want)
	}
	r.Clear("draining")
	r.Clear("wrapped")
	r.Clear("never set")
	if ok, _ := r.Ready(); !ok {
		t.Error("not ready after every reason was cleared")
	}
}

func serve(h http.Handler, target string) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func TestReadyz(t *testing.T) {
	var r Readiness
	deepErr := errors.New("dial tcp 127.0.0.1:5900: connection refused")
	var deepRan bool
	h := Readyz(&r, func(ctx context.Context) error {
		deepRan = true
		if _, ok := ctx.Deadline(); !ok {
			t.Error("deep check without a deadline")
		}
		return deepErr
	})
	if code, body := serve(h, "/readyz"); code != 200 || body != "ready\n" || deepRan {
		t.Errorf("ready: %d %q (deep ran: %v)", code, body, deepRan)
	}
	if code, body := serve(h, "/readyz?deep=1"); code != 503 || !strings.Contains(body, "deep check: dial tcp") || !deepRan {
		t.Errorf("deep, target down: %d %q", code, body)
	}
	deepErr = nil
	if code, _ := serve(h, "/readyz?deep=1"); code != 200 {
		t.Errorf("deep, target up: %d", code)
	}
	r.Set("draining", "SIGTERM received")
	if code, body := serve(h, "/readyz"); code != 503 || body != "not ready\ndraining: SIGTERM received\n" {
		t.Errorf("draining: %d %q", code, body)
	}
	if code, body := serve(Healthz(), "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
}
