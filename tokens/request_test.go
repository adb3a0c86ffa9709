package tokens

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	return r
}

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // request target
		header string // extra header lines
		src    Sources
		want   string // "" means no token
	}{
		{"reference example", "/websockify?token=blah", "", Sources{}, "blah"},
		{"first value", "/?token=a&token=b", "", Sources{}, "a"},
		{"blank values skipped", "/?token=&token=b", "", Sources{}, "b"},
		{"only blank", "/?token=", "", Sources{}, ""},
		{"no equals sign", "/?token&token=c", "", Sources{}, "c"},
		{"trailing newlines stripped", "/?token=abc%0A%0A", "", Sources{}, "abc"},
		{"only newline", "/?token=%0A", "", Sources{}, ""},
		{"leading newline kept", "/?token=%0Aabc", "", Sources{}, "\nabc"},
		{"plus is space", "/?token=a+b", "", Sources{}, "a b"},
		{"percent decoded", "/?token=%2e%2e%2fx", "", Sources{}, "../x"},
		{"bad escape literal", "/?token=%zz%4", "", Sources{}, "%zz%4"},
		{"encoded name", "/?%74oken=x", "", Sources{}, "x"},
		{"semicolon not a separator", "/?a=1;token=x", "", Sources{}, ""},
		{"other keys", "/?path=websockify&token=t1&x=y", "", Sources{}, "t1"},
		{"any path", "/x/y/z?token=t", "", Sources{}, "t"},
		{"absolute form", "http://h/p?token=abs", "", Sources{}, "abs"},
		{"no token", "/websockify", "", Sources{}, ""},
		{"cookie ignored by default", "/", "Cookie: token=c1\r\n", Sources{}, ""},
		{"path ignored by default", "/x/tok1", "", Sources{}, ""},
		{"cookie opt-in", "/", "Cookie: a=b; token=c1\r\n", Sources{Cookie: true}, "c1"},
		{"query before cookie", "/?token=q", "Cookie: token=c1\r\n", Sources{Cookie: true}, "q"},
		{"empty cookie", "/", "Cookie: token=\r\n", Sources{Cookie: true}, ""},
		{"path opt-in", "/x/tok1", "", Sources{Path: true}, "tok1"},
		{"path decoded", "/x/a%20b", "", Sources{Path: true}, "a b"},
		{"path encoded slash", "/x/..%2Fy", "", Sources{Path: true}, "../y"},
		{"path trailing slash", "/x/", "", Sources{Path: true}, ""},
		{"cookie before path", "/x/p", "Cookie: token=c\r\n", Sources{Cookie: true, Path: true}, "c"},
		{"query before path", "/x/p?token=q", "", Sources{Path: true}, "q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readRequest(t, "GET "+tc.target+" HTTP/1.1\r\nHost: h\r\n"+tc.header+"\r\n")
			got, ok := FromRequest(r, tc.src)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("FromRequest = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestFromRequestHost(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"vm1.example.com:6080", "vm1.example.com"},
		{"VM1.Example.com", "VM1.Example.com"},
		{"[::1]:6080", "::1"},
		{"[::1]", "::1"},
		{"10.0.0.1:80", "10.0.0.1"},
		{":6080", ""},
		{"vm1:", "vm1"},
		// Malformed: no token (400).
		{"secret:80:90", ""},
		{"good:abc", ""},
		{"good:99999", ""},
		{"good:000080", ""},
		{"[good]", ""},
		{"[::1]x", ""},
		{"[10.0.0.1]", ""},
		{"a b", ""},
		{"a/b", ""},
		{"a@b", ""},
		{"pct%41", "pct%41"},
		{"bad%4", ""},
	} {
		r := readRequest(t, "GET /?token=q HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		got, ok := FromRequest(r, Sources{Host: true, Cookie: true, Path: true})
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Host %q: got %q, %v; want %q", tc.host, got, ok, tc.want)
		}
	}
	r := readRequest(t, "GET /?token=q HTTP/1.0\r\n\r\n")
	if got, ok := FromRequest(r, Sources{Host: true}); ok {
		t.Errorf("no Host: got %q", got)
	}
}

func FuzzParseHost(f *testing.F) {
	for _, h := range []string{"a:1", "[::1]:80", "secret:80:90", "[good]", "x%41"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		host, ok := ParseHost(h)
		if !ok {
			return
		}
		if !strings.HasPrefix(h, "[") && !strings.HasPrefix(h, host) {
			t.Fatalf("ParseHost(%q) = %q: not a prefix", h, host)
		}
		if strings.ContainsAny(host, " /@?#[]\r\n") && !strings.HasPrefix(h, "[") {
			t.Fatalf("ParseHost(%q) = %q: invalid characters", h, host)
		}
	})
}

func TestSubprotocolToken(t *testing.T) {
	for _, tt := range []struct {
		values []string
		tok    string
		ok     bool
	}{
		{[]string{"binary, base64url.bearer.k8s.io.c2VjcmV0LXRvaw"}, "secret-tok", true},
		{[]string{"binary", "base64url.bearer.k8s.io.c2VjcmV0LXRvaw=="}, "secret-tok", true},
		{[]string{"base64url.bearer.k8s.io.***"}, "", false},
		{[]string{"base64url.bearer.k8s.io."}, "", false},
		{[]string{"base64url.bearer.k8s.iox.c2Vj"}, "", false},
		{[]string{"binary"}, "", false},
	} {
		tok, ok := SubprotocolToken(tt.values, "base64url.bearer.k8s.io")
		if tok != tt.tok || ok != tt.ok {
			t.Errorf("%q: %q %v; want %q %v", tt.values, tok, ok, tt.tok, tt.ok)
		}
	}
	r := httptest.NewRequest("GET", "/?token=fromquery", nil)
	r.Header.Set("Sec-WebSocket-Protocol", "binary, p.c3Vi")
	if tok, _ := FromRequest(r, Sources{Subprotocol: "p"}); tok != "sub" {
		t.Errorf("subprotocol token does not come first: %q", tok)
	}
	if tok, _ := FromRequest(r, Sources{}); tok != "fromquery" {
		t.Errorf("without --token-subprotocol: %q", tok)
	}
}

func FuzzSubprotocolToken(f *testing.F) {
	f.Add("binary, p.c3Vi", "p")
	f.Add("p.=,p.", "p")
	f.Fuzz(func(t *testing.T, v, prefix string) {
		tok, ok := SubprotocolToken([]string{v}, prefix)
		if ok && (tok == "" || prefix == "") {
			t.Fatalf("%q %q: token %q", v, prefix, tok)
		}
	})
}
