// Package metrics is websockify's Prometheus instrumentation, with the
// official client library and a registry of its own (never the global
// default): sessions, bytes, refused handshakes, handshake and dial
// latency, TLS failures, token lookups, the wrapped program, build info,
// and the Go runtime and process collectors.
//
// Labels take values from small fixed sets (drivers, causes, close codes,
// refusal reasons, plugin names, states): never a token, an address or a
// path. What the relay feeds in is a counter increment or a histogram
// observation, lock-free in the client library; the open sessions and the
// byte counts are read from the gateway at scrape time, so a scrape, slow
// or failing, never touches a session's path.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/websockify-go/websockify/gateway"
)

const namespace = "websockify"

// Buckets of the latency histograms, in seconds: from 100 µs (a loopback
// dial) to 10 s (the default handshake and dial timeouts).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// durationBuckets are for session lengths: from a second to a day.
var durationBuckets = []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600}

// Metrics holds websockify's metrics and their registry. Its methods are
// safe for concurrent use; a nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry

	sessionsStarted prometheus.Counter
	sessionsClosed  *prometheus.CounterVec
	sessionSeconds  *prometheus.HistogramVec
	refused         *prometheus.CounterVec
	handshake       prometheus.Histogram
	dial            *prometheus.HistogramVec
	tlsFailures     prometheus.Counter
	lookups         *prometheus.CounterVec
	lookupSeconds   *prometheus.HistogramVec

	wrappedState    *prometheus.GaugeVec
	wrappedRestarts prometheus.Counter
	wrappedExit     prometheus.Gauge
	wrappedExits    prometheus.Counter
}

var _ gateway.Observer = (*Metrics)(nil)

// Options say which metrics New creates.
type Options struct {
	Version string // websockify's version, for websockify_build_info
	Wrapped bool   // a wrapped program runs: the wrapped_program_* metrics
}

// New creates the metrics, registered with a new registry along with the
// Go runtime, process and build-info collectors.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.sessionsStarted = f.counter("sessions_started_total", "WebSocket sessions upgraded.")
	m.sessionsClosed = f.counterVec("sessions_closed_total",
		"WebSocket sessions ended, by driver, close cause and close code (none: no close code).",
		"driver", "cause", "code")
	m.sessionSeconds = f.histogramVec("session_duration_seconds", "How long sessions lasted, by driver.",
		durationBuckets, "driver")
	m.refused = f.counterVec("handshakes_refused_total", "WebSocket handshakes refused, by reason.", "reason")
	m.handshake = f.histogram("handshake_duration_seconds",
		"Time from accepting a connection to the 101 answer of its WebSocket handshake (TLS included).", latencyBuckets)
	m.dial = f.histogramVec("target_dial_duration_seconds", "Time to connect to a session's target, by result (ok, error).",
		latencyBuckets, "result")
	m.tlsFailures = f.counter("tls_handshake_failures_total", "Client TLS handshakes that failed.")
	m.lookups = f.counterVec("token_lookups_total", "Token lookups, by plugin and result (ok, unknown, invalid, error).",
		"plugin", "result")
	m.lookupSeconds = f.histogramVec("token_lookup_duration_seconds", "Time of token lookups, by plugin.",
		latencyBuckets, "plugin")
	if o.Wrapped {
		m.newWrapped(f)
	}

	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help: "websockify's version and the Go version it was built with; always 1."}, []string{"version", "goversion"})
	build.WithLabelValues(o.Version, runtime.Version()).Set(1)
	m.reg.MustRegister(build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// newWrapped creates the wrapped program's metrics.
func (m *Metrics) newWrapped(f factory) {
	m.wrappedState = f.gaugeVec("wrapped_program_state",
		"The wrapped program's state: 1 for the current one of starting, listening, exited.", "state")
	m.wrappedRestarts = f.counter("wrapped_program_restarts_total", "Restarts of the wrapped program (--wrap-mode=respawn).")
	m.wrappedExits = f.counter("wrapped_program_exits_total", "Exits of the wrapped program.")
	m.wrappedExit = f.gauge("wrapped_program_last_exit_status",
		"The wrapped program's last exit status (128+N after signal N); -1 before it first exits.")
	m.wrappedExit.Set(-1)
	m.WrappedState(WrappedStarting)
}

// Registry is the registry of the metrics (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format. A few scrapes at once at most, each bounded in time: a stuck
// scraper costs a goroutine of the admin listener, nothing else.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
		ErrorHandling:       promhttp.ContinueOnError,
		EnableOpenMetrics:   true,
	})
}

// HandshakeRefused implements gateway.Observer.
func (m *Metrics) HandshakeRefused(reason string) {
	if m != nil {
		m.refused.WithLabelValues(reason).Inc()
	}
}

// Upgraded implements gateway.Observer.
func (m *Metrics) Upgraded(d time.Duration) {
	if m != nil {
		m.sessionsStarted.Inc()
		m.handshake.Observe(d.Seconds())
	}
}

// TLSHandshakeFailed implements gateway.Observer.
func (m *Metrics) TLSHandshakeFailed() {
	if m != nil {
		m.tlsFailures.Inc()
	}
}

// TargetDialed implements gateway.Observer.
func (m *Metrics) TargetDialed(d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.dial.WithLabelValues(result).Observe(d.Seconds())
}

// SessionEnded implements gateway.Observer.
func (m *Metrics) SessionEnded(e *gateway.SessionEnd) {
	if m == nil {
		return
	}
	m.sessionsClosed.WithLabelValues(e.Driver, e.Cause, codeLabel(e.Code)).Inc()
	m.sessionSeconds.WithLabelValues(e.Driver).Observe(e.Duration.Seconds())
}

// TokenLookup counts a token lookup of plugin, which took d and ended with
// result (ok, unknown, invalid or error).
func (m *Metrics) TokenLookup(plugin string, d time.Duration, result string) {
	if m == nil {
		return
	}
	m.lookups.WithLabelValues(plugin, result).Inc()
	m.lookupSeconds.WithLabelValues(plugin).Observe(d.Seconds())
}

// The wrapped program's states.
const (
	WrappedStarting  = "starting"
	WrappedListening = "listening"
	WrappedExited    = "exited"
)

var wrappedStates = [...]string{WrappedStarting, WrappedListening, WrappedExited}

// WrappedState sets the wrapped program's state (one of the Wrapped*
// constants).
func (m *Metrics) WrappedState(state string) {
	if m == nil || m.wrappedState == nil {
		return
	}
	for _, s := range wrappedStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.wrappedState.WithLabelValues(s).Set(v)
	}
}

// WrappedExit records an exit of the wrapped program with status, and
// whether it is restarted.
func (m *Metrics) WrappedExit(status int, restarted bool) {
	if m == nil || m.wrappedState == nil {
		return
	}
	m.wrappedExits.Inc()
	m.wrappedExit.Set(float64(status))
	if restarted {
		m.wrappedRestarts.Inc()
		m.WrappedState(WrappedStarting)
	} else {
		m.WrappedState(WrappedExited)
	}
}

// codeLabel bounds the close code label: the codes of RFC 6455 and the
// IANA registry below 3000 as numbers, application codes as "3xxx" and
// "4xxx", none as "none".
func codeLabel(code int) string {
	switch {
	case code == 0:
		return "none"
	case code >= 1000 && code <= 1015:
		return strconv.Itoa(code)
	case code >= 3000 && code <= 3999:
		return "3xxx"
	case code >= 4000 && code <= 4999:
		return "4xxx"
	}
	return "other"
}
