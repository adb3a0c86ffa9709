package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/websockify-go/websockify/gateway"
)

type fakeSource struct{ t gateway.Totals }

func (f *fakeSource) Totals() gateway.Totals { return f.t }
func (f *fakeSource) PendingShed() uint64    { return 7 }

func TestMetricsCount(t *testing.T) {
	m := New(Options{Version: "1.2.3", Wrapped: true})
	m.Watch(&fakeSource{gateway.Totals{Open: map[string]int{gateway.DriverEpoll: 2, gateway.DriverGoroutines: 1}, FromClient: 100, ToClient: 2000}})
	m.Upgraded(3 * time.Millisecond)
	m.Upgraded(time.Millisecond)
	m.HandshakeRefused(gateway.RefusedOrigin)
	m.HandshakeRefused(gateway.RefusedOrigin)
	m.HandshakeRefused(gateway.RefusedTokenUnknown)
	m.TLSHandshakeFailed()
	m.TargetDialed(time.Millisecond, nil)
	m.TargetDialed(time.Millisecond, errors.New("refused"))
	m.SessionEnded(&gateway.SessionEnd{Driver: gateway.DriverEpoll, Cause: "client_close", Code: 1000, Duration: time.Second, Client: "10.1.2.3:4567", Target: "secret-host:5900"})
	m.SessionEnded(&gateway.SessionEnd{Driver: gateway.DriverEpoll, Cause: "protocol_error", Code: 1002})
	m.SessionEnded(&gateway.SessionEnd{Driver: gateway.DriverGoroutines, Cause: "client_close", Code: 4321})
	m.TokenLookup("TokenRedis", time.Millisecond, "ok")
	m.TokenLookup("TokenRedis", time.Millisecond, "error")
	m.WrappedState(WrappedListening)
	m.WrappedExit(3, true)

	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(m.sessionsStarted), 2, "sessions started"},
		{testutil.ToFloat64(m.refused.WithLabelValues("origin")), 2, "refused origin"},
		{testutil.ToFloat64(m.refused.WithLabelValues("token_unknown")), 1, "refused token_unknown"},
		{testutil.ToFloat64(m.tlsFailures), 1, "TLS failures"},
		{testutil.ToFloat64(m.sessionsClosed.WithLabelValues("epoll", "client_close", "1000")), 1, "closed epoll client_close 1000"},
		{testutil.ToFloat64(m.sessionsClosed.WithLabelValues("epoll", "protocol_error", "1002")), 1, "closed protocol_error 1002"},
		{testutil.ToFloat64(m.sessionsClosed.WithLabelValues("goroutines", "client_close", "4xxx")), 1, "closed 4xxx"},
		{testutil.ToFloat64(m.lookups.WithLabelValues("TokenRedis", "error")), 1, "lookup errors"},
		{testutil.ToFloat64(m.wrappedRestarts), 1, "restarts"},
		{testutil.ToFloat64(m.wrappedExit), 3, "last exit status"},
		{testutil.ToFloat64(m.wrappedState.WithLabelValues("starting")), 1, "state starting"},
		{testutil.ToFloat64(m.wrappedState.WithLabelValues("listening")), 0, "state listening"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v; want %v", c.what, c.got, c.want)
		}
	}

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Result().Body)
	text := string(body)
	for _, want := range []string{
		`websockify_sessions_open{driver="epoll"} 2`,
		`websockify_sessions_open{driver="none"} 0`,
		`websockify_bytes_total{direction="from_client"} 100`,
		`websockify_bytes_total{direction="to_client"} 2000`,
		`websockify_handshakes_shed_total 7`,
		`websockify_build_info{goversion="go`,
		`version="1.2.3"`,
		`websockify_target_dial_duration_seconds_count{result="error"} 1`,
		`websockify_handshake_duration_seconds_count 2`,
		`go_goroutines `,
		`process_open_fds `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, never := range []string{"10.1.2.3", "secret-host"} {
		if strings.Contains(text, never) {
			t.Errorf("scrape holds %q", never)
		}
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "websockify_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.Upgraded(time.Second)
	m.HandshakeRefused("x")
	m.TLSHandshakeFailed()
	m.TargetDialed(0, nil)
	m.SessionEnded(&gateway.SessionEnd{})
	m.TokenLookup("p", 0, "ok")
	m.WrappedState(WrappedListening)
	m.WrappedExit(1, false)
}

func TestWrappedMetricsOnlyWhenWrapping(t *testing.T) {
	m := New(Options{})
	m.WrappedState(WrappedListening)
	m.WrappedExit(1, true)
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if body := w.Body.String(); strings.Contains(body, "wrapped_program") {
		t.Errorf("wrapped program metrics without a wrapped program")
	}
}

func TestCodeLabel(t *testing.T) {
	for code, want := range map[int]string{0: "none", 1000: "1000", 1011: "1011", 1015: "1015", 1016: "other", 2999: "other", 3001: "3xxx", 4999: "4xxx", 5000: "other"} {
		if got := codeLabel(code); got != want {
			t.Errorf("codeLabel(%d) = %q; want %q", code, got, want)
		}
	}
}
