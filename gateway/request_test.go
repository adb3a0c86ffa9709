package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadRequestStrict(t *testing.T) {
	const ok = "GET /p?q=1 HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		bad       bool
	}{
		{"well-formed", ok, false},
		{"bare LF", strings.ReplaceAll(ok, "\r\n", "\n"), false},
		{"leading empty line", "\r\n" + ok, false},
		{"HTTP/1.0", strings.Replace(ok, "HTTP/1.1", "HTTP/1.0", 1), false},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", true},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", true},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", true},
		{"white space before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", true},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", true},
		{"HTTP/1.1 lowercase", "GET / http/1.1\r\nHost: h\r\n\r\n", true},
		{"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", true},
		{"no version", "GET /\r\nHost: h\r\n\r\n", true},
		{"bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", true},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n", true},
		{"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", true},
		{"empty name", "GET / HTTP/1.1\r\n: h\r\n\r\n", true},
		{"two Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", true},
		{"too many empty lines", "\r\n\r\n\r\n\r\n\r\n\r\n" + ok, true},
		{"gzip transfer coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readRequest(bufio.NewReader(strings.NewReader(tc.req)))
			var re *requestError
			if tc.bad != errors.As(err, &re) {
				t.Fatalf("readRequest(%q) = %v; want a request error: %v", tc.req, err, tc.bad)
			}
			if !tc.bad && err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadRequestKeepsWhatFollows: the head and body are consumed exactly,
// the bytes after them stay in the reader (the first frames of a session,
// the next request on a keep-alive connection).
func TestReadRequestKeepsWhatFollows(t *testing.T) {
	const next = "\x82\x85abcdefghi"
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	} {
		br := bufio.NewReader(strings.NewReader(req + next))
		r, err := readRequest(br)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatalf("%q: body: %v", req, err)
		}
		if r.Method == http.MethodPost && string(body) != "hello" {
			t.Fatalf("%q: body %q", req, body)
		}
		rest, _ := io.ReadAll(br)
		rest = bytes.TrimPrefix(rest, []byte("\r\n")) // a chunked body's empty trailer
		if string(rest) != next {
			t.Fatalf("%q: left %q; want %q", req, rest, next)
		}
	}
}

// TestReadRequestHostHeader: req.Host is the Host header, never the
// authority of an absolute-form target.
func TestReadRequestHostHeader(t *testing.T) {
	r, err := readRequest(bufio.NewReader(strings.NewReader("GET http://secret/ HTTP/1.1\r\nHost: good\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if r.Host != "good" {
		t.Fatalf("Host %q; want good", r.Host)
	}
}

func TestCheckUpgrade(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, tc := range []struct {
		name   string
		header http.Header
		bad    bool
	}{
		{"good", http.Header{"Sec-Websocket-Key": {key}}, false},
		{"missing: the upgrader's", http.Header{}, false},
		{"repeated", http.Header{"Sec-Websocket-Key": {key, key}}, true},
		{"not base64", http.Header{"Sec-Websocket-Key": {"!!!!!!!!!!!!!!!!!!!!!!!!"}}, true},
		{"URL-safe alphabet", http.Header{"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ__"}}, true},
		{"17 bytes", http.Header{"Sec-Websocket-Key": {"AAAAAAAAAAAAAAAAAAAAAAA="}}, true},
		{"unpadded", http.Header{"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ"}}, true},
		{"two versions", http.Header{"Sec-Websocket-Key": {key}, "Sec-Websocket-Version": {"13", "13"}}, true},
	} {
		err := checkUpgrade(&http.Request{Header: tc.header})
		if (err != nil) != tc.bad {
			t.Errorf("%s: %v; want error: %v", tc.name, err, tc.bad)
		}
	}
}

func TestIsUpgradeList(t *testing.T) {
	for v, want := range map[string]bool{
		"websocket": true, "WebSocket": true, "websocket, h2c": true, "h2c,websocket": true,
		"h2c": false, "websockets": false, "": false, "web socket": false,
	} {
		r := &http.Request{Method: http.MethodGet, Header: http.Header{"Upgrade": {v}}}
		if got := isUpgrade(r); got != want {
			t.Errorf("Upgrade %q: %v; want %v", v, got, want)
		}
	}
	if isUpgrade(&http.Request{Method: http.MethodPost, Header: http.Header{"Upgrade": {"websocket"}}}) {
		t.Error("POST counted as an upgrade")
	}
}

// FuzzRequestHead runs arbitrary bytes through the upgrade path's request
// reader. What it accepts, net/http accepts too and reads the same way;
// it consumes the head exactly; it never accepts obs-fold or a version
// other than HTTP/1.x.
func FuzzRequestHead(f *testing.F) {
	f.Add([]byte(handshake + "\r\n"))
	f.Add([]byte("GET http://a/ HTTP/1.0\nHost: b\n\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab"))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 64) // small: lines span buffer refills
		req, err := readRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		ref, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			t.Fatalf("accepted %q, which net/http refuses: %v", in, err)
		}
		if ref.Method != req.Method || ref.RequestURI != req.RequestURI || ref.Proto != req.Proto {
			t.Fatalf("read %q as %s %s %s; net/http: %s %s %s", in, req.Method, req.RequestURI, req.Proto, ref.Method, ref.RequestURI, ref.Proto)
		}
		for k, v := range req.Header {
			if strings.ContainsAny(k, " \t") {
				t.Fatalf("accepted field name %q", k)
			}
			for _, s := range v {
				if strings.ContainsAny(s, "\r\n") {
					t.Fatalf("accepted a value with a line break: %q", s)
				}
			}
		}
		if req.ProtoMajor != 1 {
			t.Fatalf("accepted %s", req.Proto)
		}
	})
}
