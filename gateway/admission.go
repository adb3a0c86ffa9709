package gateway

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/websockify-go/websockify/clientaddr"
)

// PendingLimits caps the connections that have not finished their
// handshake yet (accepted, not upgraded: reading the request, a TLS
// handshake, an idle keep-alive connection between requests). Sessions are
// not counted. When a new connection would exceed a cap, the oldest
// pending connection (of the same client for the per-client cap, of anyone
// for the global one) is closed to make room: a client that opens
// connections and sends nothing only ever displaces its own, and a flood
// from many addresses displaces the connections that have waited longest,
// never a client that has just arrived and completes its handshake at once.
type PendingLimits struct {
	// Global caps all pending connections. Zero means a quarter of the
	// descriptor limit (RLIMIT_NOFILE), at least 16; negative means no cap.
	Global int
	// PerClient caps the pending connections of one client address (an
	// IPv6 client's /64). Zero means Global/16, at least 8; negative means
	// no cap. Unix-socket clients have no address and only the global cap.
	PerClient int
}

// admission tracks pending connections in accept order.
type admission struct {
	global, perClient int
	// trusted proxies carry many clients' connections: only the global
	// cap applies to them.
	trusted *clientaddr.Trusted

	mu       sync.Mutex
	order    *list.List // of *pendingConn, oldest first
	byConn   map[net.Conn]*list.Element
	byClient map[string]int

	shed       atomic.Uint64 // connections closed to make room, since start
	lastReport atomic.Int64  // unix nanoseconds of the last log line
}

type pendingConn struct {
	c      net.Conn
	client string
}

// newAdmission resolves the limits' defaults; nil means no caps.
func newAdmission(l PendingLimits) *admission {
	global, per := l.Global, l.PerClient
	if global == 0 {
		global = max(descriptorLimit()/4, 16)
	}
	if per == 0 {
		per = max(global/16, 8)
		if global < 0 {
			per = -1
		}
	}
	if global < 0 && per < 0 {
		return nil
	}
	return &admission{global: global, perClient: per, order: list.New(),
		byConn: make(map[net.Conn]*list.Element), byClient: make(map[string]int)}
}

// descriptorLimit is the soft RLIMIT_NOFILE (Go raises it to the hard
// limit at start on Linux).
func descriptorLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return 1 << 16
	}
	return int(l.Cur)
}

// clientKey is the address a per-client cap counts by: the IP, an IPv6
// address's /64; empty for Unix sockets and for trusted proxies (which
// carry many clients' connections).
func clientKey(c net.Conn, trusted *clientaddr.Trusted) string {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil || trusted.Contains(ap.Addr()) {
		return ""
	}
	return ipKey(ap.Addr())
}

// addrKey is the per-client key of an "ip:port" address: the IP, an IPv6
// address's /64; empty for anything else (a Unix socket's name).
func addrKey(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return ""
	}
	return ipKey(ap.Addr())
}

// ipKey is the per-client key of an IP address: itself, an IPv6
// address's /64.
func ipKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// admit registers c as pending and returns the connections to close to
// keep within the caps (the caller closes them, outside the lock).
func (a *admission) admit(c net.Conn) (victims []net.Conn) {
	if a == nil {
		return nil
	}
	client := clientKey(c, a.trusted)
	a.mu.Lock()
	defer a.mu.Unlock()
	if client != "" && a.perClient >= 0 && a.byClient[client] >= a.perClient {
		for e := a.order.Front(); e != nil; e = e.Next() {
			if p := e.Value.(*pendingConn); p.client == client {
				victims = append(victims, a.removeLocked(e))
				break
			}
		}
	}
	if a.global >= 0 && a.order.Len() >= a.global {
		victims = append(victims, a.removeLocked(a.order.Front()))
	}
	a.byConn[c] = a.order.PushBack(&pendingConn{c: c, client: client})
	if client != "" {
		a.byClient[client]++
	}
	a.shed.Add(uint64(len(victims)))
	return victims
}

// done ends c's pending state (upgraded, or closed); repeated calls are
// harmless.
func (a *admission) done(c net.Conn) {
	if a == nil {
		return
	}
	a.mu.Lock()
	if e, ok := a.byConn[c]; ok {
		a.removeLocked(e)
	}
	a.mu.Unlock()
}

// removeLocked forgets the pending connection at e and returns it.
func (a *admission) removeLocked(e *list.Element) net.Conn {
	p := a.order.Remove(e).(*pendingConn)
	delete(a.byConn, p.c)
	if p.client != "" {
		if a.byClient[p.client]--; a.byClient[p.client] <= 0 {
			delete(a.byClient, p.client)
		}
	}
	return p.c
}

// admitPending registers a newly accepted connection and closes the
// pending connections it displaces, logging (at most every 10 s) how many
// were closed so far.
func (s *Server) admitPending(c net.Conn) {
	s.admissionOnce.Do(func() {
		s.admission = newAdmission(s.PendingLimits)
		if s.admission != nil {
			s.admission.trusted = s.TrustedProxies
		}
	})
	a := s.admission
	victims := a.admit(c)
	if len(victims) == 0 {
		return
	}
	for _, v := range victims {
		v.Close() // its serveConn sees the error, ends and untracks it
	}
	now := time.Now().UnixNano()
	last := a.lastReport.Load()
	if now-last >= int64(10*time.Second) && a.lastReport.CompareAndSwap(last, now) {
		s.logger().Warn("too many connections before their handshake: closed the oldest",
			"shed_total", a.shed.Load(), "limit", a.global, "per_client_limit", a.perClient)
	}
}

// pendingDone ends c's pending state.
func (s *Server) pendingDone(c net.Conn) {
	if s.admission != nil {
		s.admission.done(c)
	}
}

// PendingShed is the number of pending connections closed to keep within
// PendingLimits since the server started.
func (s *Server) PendingShed() uint64 {
	if s.admission == nil {
		return 0
	}
	return s.admission.shed.Load()
}
