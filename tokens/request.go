package tokens

import (
	"net"
	"net/http"
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
}

// FromRequest extracts the token of r as selected by o. It reports false
// when there is none; an empty token counts as none.
func FromRequest(r *http.Request, o Sources) (string, bool) {
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

// hostToken is the --host-token source: the Host header without its port.
func hostToken(r *http.Request) (string, bool) {
	h := r.Host
	if h == "" {
		h = r.Header.Get("Host")
	}
	var tok string
	if host, _, err := net.SplitHostPort(h); err == nil {
		tok = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		tok = h[1 : len(h)-1]
	} else {
		tok, _, _ = strings.Cut(h, ":")
	}
	return tok, tok != ""
}
