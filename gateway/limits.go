package gateway

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limits caps the WebSocket sessions a server holds and the rate of new
// handshakes. They are checked once the request is a valid WebSocket
// handshake and before anything costly: no token lookup, authorization or
// dial happens for a refused request. Zero values mean no limit.
type Limits struct {
	// MaxConnections caps the sessions open at once (handshakes being
	// admitted count too).
	MaxConnections int
	// PerClient caps the sessions of one client address (ConnInfo.ClientKey:
	// the IP, an IPv6 client's /64).
	PerClient int
	// PerToken caps the sessions of one token (Server.SessionToken).
	PerToken int
	// HandshakeRate caps the WebSocket handshakes per second of one client
	// address, with a burst of HandshakeBurst.
	HandshakeRate float64
	// HandshakeBurst is how many handshakes a client may make at once
	// within HandshakeRate. Zero means max(3, ⌈HandshakeRate⌉).
	HandshakeBurst int
}

// Reasons a handshake is refused by Limits, as passed to
// Observer.HandshakeRefused (RefusedLimit's details).
const (
	RefusedMaxConnections = "max_connections"
	RefusedPerClient      = "max_connections_per_ip"
	RefusedPerToken       = "max_connections_per_token"
	RefusedHandshakeRate  = "handshake_rate"
)

// capRetryAfter is the Retry-After of a refusal by a connection cap.
const capRetryAfter = 5 * time.Second

// maxRateEntries bounds the per-client rate state; beyond it, clients whose
// bucket has refilled (no different from a new one) are forgotten.
const maxRateEntries = 1 << 14

// limiter counts the sessions by client and token, and the handshake rate
// by client.
type limiter struct {
	l     Limits
	burst int

	mu       sync.Mutex
	total    int
	byClient map[string]int
	byToken  map[string]int
	rates    map[string]*rate.Limiter

	refused [4]atomic.Uint64
}

func newLimiter(l Limits) *limiter {
	burst := l.HandshakeBurst
	if burst <= 0 {
		burst = max(3, int(math.Ceil(l.HandshakeRate)))
	}
	return &limiter{l: l, burst: burst, byClient: make(map[string]int),
		byToken: make(map[string]int), rates: make(map[string]*rate.Limiter)}
}

// slot is one admitted session's place in the counts, released once.
type slot struct {
	lim           *limiter
	client, token string
	once          sync.Once
}

// release gives the slot back; a nil slot and repeated calls are harmless.
func (s *slot) release() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		l := s.lim
		l.mu.Lock()
		l.total--
		dec(l.byClient, s.client)
		dec(l.byToken, s.token)
		l.mu.Unlock()
	})
}

func dec(m map[string]int, k string) {
	if k == "" {
		return
	}
	if m[k]--; m[k] <= 0 {
		delete(m, k)
	}
}

// refusal is a handshake refused by a limit.
type refusal struct {
	reason     string
	limit      int
	retryAfter time.Duration
}

// reserve counts a new session of client and token (either may be empty:
// a Unix-socket client, no token routing), or says which limit refuses
// it. elsewhere is how many sessions token holds on other instances.
func (l *limiter) reserve(client, token string, elsewhere int, now time.Time) (*slot, *refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.l.HandshakeRate > 0 && client != "" {
		r := l.rates[client]
		if r == nil {
			if len(l.rates) >= maxRateEntries {
				l.pruneRatesLocked(now)
			}
			r = rate.NewLimiter(rate.Limit(l.l.HandshakeRate), l.burst)
			l.rates[client] = r
		}
		if !r.AllowN(now, 1) {
			wait := time.Duration(float64(time.Second) / l.l.HandshakeRate)
			return nil, l.refuse(RefusedHandshakeRate, 0, wait)
		}
	}
	switch {
	case l.l.MaxConnections > 0 && l.total >= l.l.MaxConnections:
		return nil, l.refuse(RefusedMaxConnections, l.l.MaxConnections, capRetryAfter)
	case l.l.PerClient > 0 && client != "" && l.byClient[client] >= l.l.PerClient:
		return nil, l.refuse(RefusedPerClient, l.l.PerClient, capRetryAfter)
	case l.l.PerToken > 0 && token != "" && l.byToken[token]+elsewhere >= l.l.PerToken:
		return nil, l.refuse(RefusedPerToken, l.l.PerToken, capRetryAfter)
	}
	l.total++
	if client != "" {
		l.byClient[client]++
	}
	if token != "" {
		l.byToken[token]++
	}
	return &slot{lim: l, client: client, token: token}, nil
}

func (l *limiter) refuse(reason string, limit int, retry time.Duration) *refusal {
	l.refused[reasonIndex(reason)].Add(1)
	return &refusal{reason: reason, limit: limit, retryAfter: retry}
}

func reasonIndex(reason string) int {
	switch reason {
	case RefusedMaxConnections:
		return 0
	case RefusedPerClient:
		return 1
	case RefusedPerToken:
		return 2
	}
	return 3
}

// pruneRatesLocked forgets the clients whose bucket is full again.
func (l *limiter) pruneRatesLocked(now time.Time) {
	for k, r := range l.rates {
		if r.TokensAt(now) >= float64(l.burst) {
			delete(l.rates, k)
		}
	}
}

// status is the HTTP answer to a refusal: 429 for the rate, else 503,
// with Retry-After in whole seconds (at least 1).
func (r *refusal) status() (int, http.Header) {
	code := http.StatusServiceUnavailable
	if r.reason == RefusedHandshakeRate {
		code = http.StatusTooManyRequests
	}
	secs := max(1, int(math.Ceil(r.retryAfter.Seconds())))
	return code, http.Header{"Retry-After": {strconv.Itoa(secs)}}
}

// ClientKey is the address limits count a client by: the IP of Client
// (as trusted proxies name it), an IPv6 address's /64; empty for a
// Unix-socket client.
func (ci *ConnInfo) ClientKey() string {
	if ci.Client.IsValid() {
		return ipKey(ci.Client.Addr())
	}
	return addrKey(ci.ClientAddr())
}

// ClientAddr is the client's address ("ip:port", a bare IP when a
// forwarded-for header named it): the one place that says who the client
// is, for limits, the session registry and logs. See also Client and Via.
func (ci *ConnInfo) ClientAddr() string { return ci.RemoteAddr }

// Refused reports how many handshakes each limit has refused since the
// server started, by reason (the Refused* constants).
func (s *Server) Refused() map[string]uint64 {
	out := make(map[string]uint64, 4)
	l := s.limiter()
	for _, r := range []string{RefusedMaxConnections, RefusedPerClient, RefusedPerToken, RefusedHandshakeRate} {
		out[r] = l.refused[reasonIndex(r)].Load()
	}
	return out
}

func (s *Server) limiter() *limiter {
	s.limiterOnce.Do(func() { s.limits = newLimiter(s.Limits) })
	return s.limits
}
