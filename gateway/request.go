package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
)

// A request head is read strictly (RFC 9112 §2–5, RFC 6455 §4.2.1) before
// net/http parses it: nothing is forwarded as HTTP, but a server that
// accepts what its peers might read differently is not predictable. Each
// refusal is a *requestError, answered 400.

// requestError is a malformed request head.
type requestError struct{ msg string }

func (e *requestError) Error() string { return "malformed request: " + e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{msg: fmt.Sprintf(format, args...)}
}

// maxLeadingEmptyLines is how many empty lines before a request line are
// skipped (RFC 9112 §2.2: at least one; clients send one after a body).
const maxLeadingEmptyLines = 4

var headPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readRequest reads one request from br: the head strictly, byte for byte
// up to its empty line (whatever follows stays in br), then its body, if
// any, straight from br. req.Host is the Host header (empty without one),
// also for an absolute-form request target.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	head := headPool.Get().(*bytes.Buffer)
	head.Reset()
	defer headPool.Put(head)
	host, err := readHead(br, head)
	if err != nil {
		return nil, err
	}
	hr := readerPool.Get().(*bufio.Reader)
	hr.Reset(bytes.NewReader(head.Bytes()))
	req, err := http.ReadRequest(hr)
	hr.Reset(nil)
	readerPool.Put(hr)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	req.Host = host
	switch {
	case len(req.TransferEncoding) > 0:
		if len(req.TransferEncoding) != 1 || req.TransferEncoding[0] != "chunked" {
			return nil, badRequest("unsupported Transfer-Encoding %q", req.TransferEncoding)
		}
		req.Body = io.NopCloser(httputil.NewChunkedReader(br))
	case req.ContentLength > 0:
		req.Body = io.NopCloser(io.LimitReader(br, req.ContentLength))
	default:
		req.Body = http.NoBody
	}
	return req, nil
}

// readHead copies the request line and header lines from br into head,
// through the empty line that ends them, refusing what RFC 9112 does not
// allow a server to accept: a request line that is not "method SP target
// SP HTTP/1.x", a bare CR, obs-fold (a line starting with white space),
// white space or any non-token byte in a field name (also before the
// colon), control characters in a field value. It returns the Host header.
func readHead(br *bufio.Reader, head *bytes.Buffer) (host string, err error) {
	var line []byte
	for skipped := 0; ; skipped++ {
		if line, err = readLine(br, head); err != nil {
			return "", err
		}
		if len(line) > 0 {
			break
		}
		if skipped >= maxLeadingEmptyLines {
			return "", badRequest("empty lines instead of a request line")
		}
		head.Reset()
	}
	if err := checkRequestLine(line); err != nil {
		return "", err
	}
	hosts := 0
	for {
		if line, err = readLine(br, head); err != nil {
			return "", err
		}
		if len(line) == 0 {
			return host, nil
		}
		name, value, err := splitField(line)
		if err != nil {
			return "", err
		}
		if strings.EqualFold(name, "Host") {
			if hosts++; hosts > 1 {
				return "", badRequest("more than one Host header")
			}
			host = value
		}
	}
}

// readLine appends the next line of br to head and returns it without its
// line ending (CRLF, or a bare LF as RFC 9112 §2.2 allows). A CR anywhere
// else is an error.
func readLine(br *bufio.Reader, head *bytes.Buffer) ([]byte, error) {
	start := head.Len()
	for {
		frag, err := br.ReadSlice('\n')
		head.Write(frag)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && head.Len() > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	line := head.Bytes()[start : head.Len()-1]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, badRequest("bare CR in the request head")
	}
	return line, nil
}

// checkRequestLine accepts "method SP request-target SP HTTP/1.x" with
// single spaces, a token method and a target without white space or
// control characters.
func checkRequestLine(line []byte) error {
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, version, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 {
		return badRequest("request line %q is not method, target and version separated by single spaces", clip(line))
	}
	if !isToken(method) {
		return badRequest("invalid method %q", clip(method))
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return badRequest("invalid byte %#x in the request target", c)
		}
	}
	if len(version) != 8 || !bytes.HasPrefix(version, []byte("HTTP/1.")) || version[7] < '0' || version[7] > '9' {
		return badRequest("unsupported protocol version %q (HTTP/1.x only)", clip(version))
	}
	return nil
}

// splitField splits a header line into its name and its value without
// surrounding white space.
func splitField(line []byte) (name, value string, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return "", "", badRequest("folded header line (obs-fold) or white space before a field name")
	}
	n, v, ok := bytes.Cut(line, []byte{':'})
	if !ok {
		return "", "", badRequest("header line without a colon: %q", clip(line))
	}
	if !isToken(n) {
		return "", "", badRequest("invalid header field name %q", clip(n))
	}
	v = bytes.Trim(v, " \t")
	for _, c := range v {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return "", "", badRequest("control character %#x in header %s", c, n)
		}
	}
	return string(n), string(v), nil
}

// isToken reports whether b is an RFC 9110 token (tchar+).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !tchar[c] {
			return false
		}
	}
	return true
}

var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// checkUpgrade applies RFC 6455 §4.2.1 to a WebSocket request beyond what
// the upgrader checks: exactly one Sec-WebSocket-Key, which is the base64
// encoding of 16 bytes, and at most one Sec-WebSocket-Version. It then
// leaves Upgrade as the single token "websocket", which the upgrader
// expects, as isUpgrade found it in the list.
func checkUpgrade(req *http.Request) error {
	keys := req.Header.Values("Sec-WebSocket-Key")
	if len(keys) > 1 {
		return badRequest("repeated Sec-WebSocket-Key")
	}
	// A missing key is the upgrader's to refuse, after the version.
	if len(keys) == 1 {
		if k, err := base64.StdEncoding.Strict().DecodeString(keys[0]); err != nil || len(k) != 16 {
			return badRequest("Sec-WebSocket-Key %q is not the base64 encoding of 16 bytes", clip([]byte(keys[0])))
		}
	}
	if len(req.Header.Values("Sec-WebSocket-Version")) > 1 {
		return badRequest("repeated Sec-WebSocket-Version")
	}
	req.Header.Set("Upgrade", "websocket")
	return nil
}

// isUpgrade reports whether r asks for a WebSocket: a GET whose Upgrade
// header lists "websocket" (in any letter case) among its protocols, as
// RFC 9110 §7.8 allows a list ("websocket, h2c").
func isUpgrade(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, v := range r.Header.Values("Upgrade") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "websocket") {
				return true
			}
		}
	}
	return false
}

// checkHandshake refuses, before anything else looks at the request
// (limits, token lookup, authorization, dial), what the upgrader would
// refuse after them: a request without a Host, without "upgrade" in
// Connection, without a valid key, or with a version other than 13 (426
// Upgrade Required naming version 13, as RFC 6455 §4.4 asks; 400 when the
// version is missing). Its statuses are the upgrader's.
func checkHandshake(req *http.Request) *HTTPError {
	if err := checkUpgrade(req); err != nil {
		return &HTTPError{Status: http.StatusBadRequest, Err: err}
	}
	bad := func(format string, args ...any) *HTTPError {
		return &HTTPError{Status: http.StatusBadRequest, Err: badRequest(format, args...)}
	}
	if req.Host == "" {
		return bad("no Host header")
	}
	if !headerHasToken(req.Header.Values("Connection"), "upgrade") {
		return bad("Connection does not list upgrade")
	}
	if req.Header.Get("Sec-WebSocket-Key") == "" {
		return bad("no Sec-WebSocket-Key")
	}
	switch v := req.Header.Get("Sec-WebSocket-Version"); v {
	case "13":
		return nil
	case "":
		return bad("no Sec-WebSocket-Version")
	default:
		return &HTTPError{Status: http.StatusUpgradeRequired,
			Header: http.Header{"Sec-Websocket-Version": {"13"}},
			Err:    fmt.Errorf("unsupported Sec-WebSocket-Version %q", clip([]byte(v)))}
	}
}

// headerHasToken reports whether a comma-separated list header holds
// token, in any letter case.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), token) {
				return true
			}
		}
	}
	return false
}
