package tokens

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Sources selects where FromRequest looks for the token. The zero value
// is the reference's default: the first non-blank "token" query value.
type Sources struct {
	// Host takes the token from the Host header instead (--host-token):
	// the host without its port; an IPv6 literal without its brackets.
	Host bool
	// Cookie also accepts a "token" cookie when the query has no token.
	Cookie bool
	// Path also accepts the last segment of the URL path (percent-decoded)
	// when neither the query nor a cookie has a token.
	Path bool
	// Subprotocol, if set, is a prefix: a token offered as the WebSocket
	// subprotocol "PREFIX.<base64url token>" comes first (browsers cannot
	// set headers on a WebSocket; the Kubernetes convention).
	Subprotocol string
}

// FromRequest extracts the token of r as selected by o. It reports false
// when there is none; an empty token counts as none.
func FromRequest(r *http.Request, o Sources) (string, bool) {
	if o.Subprotocol != "" {
		if tok, ok := SubprotocolToken(r.Header.Values("Sec-WebSocket-Protocol"), o.Subprotocol); ok {
			return tok, true
		}
	}
	if o.Host {
		return hostToken(r)
	}
	if r.URL != nil {
		if tok, ok := QueryToken(r.URL.RawQuery); ok {
			return tok, true
		}
	}
	if o.Cookie {
		if c, err := r.Cookie("token"); err == nil && c.Value != "" {
			return c.Value, true
		}
	}
	if o.Path && r.URL != nil {
		p := r.URL.EscapedPath()
		seg := p[strings.LastIndexByte(p, '/')+1:]
		if tok, err := url.PathUnescape(seg); err == nil && tok != "" {
			return tok, true
		}
	}
	return "", false
}

// QueryToken returns the first non-blank "token" value of a raw query as
// Python's parse_qs reads it: pairs split on '&' only, a pair without '='
// or with an empty raw value is skipped, '+' is a space, invalid percent
// escapes stay literal. Trailing newlines are removed, as the reference
// does.
func QueryToken(rawQuery string) (string, bool) {
	rawQuery, _, _ = strings.Cut(rawQuery, "#")
	for pair := range strings.SplitSeq(rawQuery, "&") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || value == "" || unquotePlus(name) != "token" {
			continue
		}
		tok := strings.TrimRight(unquotePlus(value), "\n")
		if tok == "" {
			return "", false
		}
		return tok, true
	}
	return "", false
}

// unquotePlus is Python's urllib.parse.unquote_plus: lenient about bad
// escapes, invalid UTF-8 replaced.
func unquotePlus(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// hostToken is the --host-token source: the Host header (r.Host as the
// gateway sets it: the header, never an absolute-form request target)
// without its port; an IPv6 literal without its brackets. A Host that is
// not uri-host [":" port] (RFC 9110 §7.2, RFC 3986 §3.2.2) has no token.
func hostToken(r *http.Request) (string, bool) {
	host, ok := ParseHost(r.Host)
	return host, ok && host != ""
}

// ParseHost splits a Host header value strictly: an IP literal in brackets
// (IPv6 only), or a registered name or IPv4 address of unreserved,
// percent-encoded and sub-delimiter characters, optionally followed by ":"
// and a port of at most 5 digits (up to 65535). It returns the host without
// brackets or port.
func ParseHost(h string) (string, bool) {
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		host, port = h[1:end], h[end+1:]
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return "", false
		}
		if port != "" && port[0] != ':' {
			return "", false
		}
		port = strings.TrimPrefix(port, ":")
	} else {
		if i := strings.IndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
		}
		if !isRegName(host) {
			return "", false
		}
	}
	if port != "" {
		if len(port) > 5 {
			return "", false
		}
		n := 0
		for _, c := range []byte(port) {
			if c < '0' || c > '9' {
				return "", false
			}
			n = n*10 + int(c-'0')
		}
		if n > 65535 {
			return "", false
		}
	}
	return host, true
}

// isRegName reports whether s is an RFC 3986 reg-name (which includes
// IPv4 addresses).
func isRegName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

// IsTokenSubprotocol reports whether the offered subprotocol p carries a
// token under prefix: "PREFIX." and something.
func IsTokenSubprotocol(p, prefix string) bool {
	return prefix != "" && len(p) > len(prefix)+1 && strings.HasPrefix(p, prefix) && p[len(prefix)] == '.'
}

// SubprotocolToken returns the token of the first offered subprotocol
// "PREFIX.<token>" (values as in Sec-WebSocket-Protocol headers, comma
// separated), the token in unpadded base64url (padding is tolerated). An
// offer that does not decode, or decodes to nothing, is no token.
func SubprotocolToken(values []string, prefix string) (string, bool) {
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			if !IsTokenSubprotocol(p, prefix) {
				continue
			}
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p[len(prefix)+1:], "="))
			if err != nil || len(b) == 0 {
				return "", false
			}
			return string(b), true
		}
	}
	return "", false
}
