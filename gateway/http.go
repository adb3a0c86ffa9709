package gateway

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// serveHTTP answers a request that is not a WebSocket upgrade, with s.HTTP or
// the reference's 405/501. It reports whether the connection may carry
// another request (HTTP/1.1 keep-alive with a delimited response).
func (s *Server) serveHTTP(c net.Conn, req *http.Request, log *slog.Logger) bool {
	h := s.HTTP
	if h == nil {
		h = http.HandlerFunc(methodNotAllowed)
	}
	rw := newResponseWriter(c, req)
	// A response (a large file, say) is bounded per write, not by the
	// handshake deadline.
	rw.bw.Reset(deadlineWriter{c, s.writeTimeout()})
	rw.mayKeepAlive = !s.RunOnce && req.ProtoAtLeast(1, 1) && !req.Close
	h.ServeHTTP(rw, req)
	if err := rw.finish(); err != nil {
		log.Debug("writing HTTP response failed", "err", err)
	}
	// With token routing the path itself may be a token (--token-path).
	path := req.URL.Path
	if s.Route != nil && !s.RouteIgnoresPath {
		path = "(not logged)"
	}
	if rw.status >= 400 {
		log.Info("HTTP error", "method", req.Method, "path", path, "status", rw.status)
	} else {
		log.Debug("HTTP request", "method", req.Method, "path", path, "status", rw.status)
	}
	// Drain what is left of the body, so that closing does not reset the
	// connection under the response, and so that a next request can follow.
	n, _ := io.CopyN(io.Discard, req.Body, maxDrain+1)
	if n > maxDrain || !rw.keepAlive || rw.err != nil {
		closeWrite(c)
		c.SetReadDeadline(time.Now().Add(time.Second))
		io.CopyN(io.Discard, c, maxDrain)
		return false
	}
	return true
}

// deadlineWriter gives every write its own deadline.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// maxDrain bounds the request body bytes read and discarded after a
// response.
const maxDrain = 256 << 10

// methodNotAllowed is the reference's answer to plain HTTP without --web:
// 405 for the methods it knows, 501 for the rest.
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		w.Header().Set("Allow", "GET")
		ErrorPage(w, r, http.StatusMethodNotAllowed, "")
	default:
		ErrorPage(w, r, http.StatusNotImplemented, fmt.Sprintf("Unsupported method (%q)", r.Method))
	}
}

// ErrorPage writes a small HTML error response with status code and an
// optional message (the status text when empty).
func ErrorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	body := errorBody(code, msg)
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(code)
	if r == nil || r.Method != http.MethodHead {
		w.Write([]byte(body))
	}
}

func errorBody(code int, msg string) string {
	if msg == "" {
		msg = http.StatusText(code)
	}
	return fmt.Sprintf("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Error response</title></head>\n"+
		"<body>\n<h1>Error response</h1>\n<p>Error code: %d</p>\n<p>Message: %s.</p>\n</body>\n</html>\n",
		code, html.EscapeString(msg))
}

// writeHTTPError writes a complete error response straight to c, for
// failures before or instead of a handler.
func writeHTTPError(c net.Conn, method string, code int, msg string, extra http.Header) {
	rw := newResponseWriter(c, nil)
	for k, vs := range extra {
		rw.Header()[k] = vs
	}
	var r *http.Request
	if method != "" {
		r = &http.Request{Method: method}
	}
	rw.reason = reasonPhrase(msg)
	ErrorPage(rw, r, code, msg)
	rw.finish()
}

// reasonPhrase returns msg as an HTTP reason phrase, as the reference sends
// its error messages ("403 Invalid Origin"), or "" (the standard text) when
// msg is empty, long or holds anything but printable ASCII.
func reasonPhrase(msg string) string {
	if len(msg) > 128 {
		return ""
	}
	for i := 0; i < len(msg); i++ {
		if msg[i] < 0x20 || msg[i] > 0x7e {
			return ""
		}
	}
	return msg
}

// responseWriter is a minimal HTTP/1.1 response writer over a raw
// connection. A response without a Content-Length (and with a body) runs
// until the connection closes; a delimited one may be followed by another
// request when the client allows it.
type responseWriter struct {
	conn         net.Conn
	bw           *bufio.Writer
	header       http.Header
	status       int
	written      bool
	head         bool
	err          error
	mayKeepAlive bool   // the request allows another one after this response
	keepAlive    bool   // decided at WriteHeader: the response is delimited
	reason       string // the status line's reason phrase; "" means the standard text
}

func newResponseWriter(c net.Conn, r *http.Request) *responseWriter {
	return &responseWriter{
		conn:   c,
		bw:     bufio.NewWriterSize(c, 4096),
		header: make(http.Header),
		head:   r != nil && r.Method == http.MethodHead,
	}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.written {
		return
	}
	w.written = true
	w.status = code
	text := w.reason
	if text == "" {
		text = http.StatusText(code)
	}
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	fmt.Fprintf(w.bw, "HTTP/1.1 %03d %s\r\n", code, text)
	if w.header.Get("Date") == "" {
		w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	w.header.Set("Server", "websockify")
	delimited := w.header.Get("Content-Length") != "" || w.head ||
		code == http.StatusNotModified || code == http.StatusNoContent
	w.keepAlive = w.mayKeepAlive && delimited && w.header.Get("Connection") != "close"
	if !w.keepAlive {
		w.header.Set("Connection", "close")
	}
	if w.header.Get("Content-Type") == "" && code != http.StatusNotModified && code >= 200 {
		w.header.Set("Content-Type", "text/html;charset=utf-8")
	}
	if err := w.header.Write(w.bw); err != nil {
		w.err = err
	}
	w.bw.WriteString("\r\n")
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if w.head || w.err != nil {
		return len(p), w.err
	}
	n, err := w.bw.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

func (w *responseWriter) Flush() {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *responseWriter) finish() error {
	w.Flush()
	return w.err
}
