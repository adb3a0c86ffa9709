package clientaddr

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Header is the request header a trusted proxy names the client in.
type Header string

// The headers a proxy may name the client in. A proxy appends to (or sets)
// one of them and passes the others on as the client sent them, so only
// the one the operator's proxies write is read: reading another would let
// a client forge it.
const (
	XForwardedFor Header = "X-Forwarded-For" // "client, proxy1, proxy2", appended by each proxy
	Forwarded     Header = "Forwarded"       // RFC 7239: for=client;proto=https, for=proxy1
	XRealIP       Header = "X-Real-IP"       // one address, set by the last proxy
)

// ParseHeader reads a --forwarded-header value, case-insensitively.
func ParseHeader(s string) (Header, error) {
	for _, h := range []Header{XForwardedFor, Forwarded, XRealIP} {
		if strings.EqualFold(s, string(h)) {
			return h, nil
		}
	}
	return "", fmt.Errorf("unknown header %q (choose from X-Forwarded-For, Forwarded, X-Real-IP)", s)
}

// FromHeader returns the client's address as the request header hdr of h
// names it, when the connection's peer is trusted: walking the header's
// list from the right (the hop nearest to us), trusted proxies are passed
// over and the first untrusted address is the client. When every listed
// address is trusted, the leftmost is the client. An entry that is not an
// address ("unknown", an obfuscated name, garbage) ends the walk: the
// client is then the nearest address we could read, or the peer itself.
// The port is zero unless the header gives one (Forwarded may). ok is
// false when the peer is not trusted or the header names nobody: the peer
// is then the client.
func FromHeader(h http.Header, hdr Header, peer netip.Addr, t *Trusted) (client netip.AddrPort, ok bool) {
	if !t.Contains(peer) {
		return netip.AddrPort{}, false
	}
	values := h.Values(string(hdr))
	if len(values) == 0 {
		return netip.AddrPort{}, false
	}
	var hops []string
	switch hdr {
	case XRealIP:
		// One address; a proxy that sets it replaces the client's. Several
		// values mean it was appended to, not set: trust the last.
		hops = []string{strings.TrimSpace(values[len(values)-1])}
	case Forwarded:
		hops = forwardedFor(values)
	default:
		for _, v := range values {
			for _, e := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(e))
			}
		}
	}
	var last netip.AddrPort
	for i := len(hops) - 1; i >= 0; i-- {
		ap, valid := parseNode(hops[i])
		if !valid {
			break
		}
		last = ap
		if !t.Contains(ap.Addr()) {
			return ap, true
		}
	}
	return last, last.IsValid()
}

// parseNode reads one hop: an IP address, "ip:port", "[ipv6]" or
// "[ipv6]:port". ok is false for anything else.
func parseNode(s string) (netip.AddrPort, bool) {
	if s == "" {
		return netip.AddrPort{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a.Unmap(), 0), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() && a.Zone() == "" {
			return netip.AddrPortFrom(a.Unmap(), 0), true
		}
		return netip.AddrPort{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	return netip.AddrPort{}, false
}

// forwardedFor lists the for= nodes of Forwarded header values (RFC 7239
// section 4), one per forwarded-element, in order. An element without a
// for= parameter, or one that does not parse, yields "" (which ends the
// walk: the hop cannot be told).
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, elem := range splitQuoted(v, ',') {
			node := ""
			for _, pair := range splitQuoted(elem, ';') {
				name, val, found := strings.Cut(strings.TrimSpace(pair), "=")
				if !found || !strings.EqualFold(strings.TrimSpace(name), "for") {
					continue
				}
				val, ok := unquote(strings.TrimSpace(val))
				if !ok {
					node = ""
					break
				}
				node = val
				break
			}
			hops = append(hops, node)
		}
	}
	return hops
}

// splitQuoted splits s at sep outside quoted strings.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote reads a token or an RFC 7230 quoted-string.
func unquote(s string) (string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return s, s != "" && !strings.ContainsAny(s, "\" \t")
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' {
			i++
			if i == len(s)-1 {
				return "", false
			}
			c = s[i]
		} else if c == '"' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// Format is a client address as logs show it: "ip:port", or the bare IP
// when the port is not known (0).
func Format(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String()
	}
	return ap.String()
}
