// Package logging builds websockify's loggers: the reference's plain
// one-message-per-line output on stderr, optionally copied to a log file.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
)

// Plain is a slog.Handler that writes lines the way the reference does:
// "<client>: <message>" followed by the other attributes as key=value.
// Values are quoted when they hold spaces or control characters, so that a
// client cannot forge log lines.
type Plain struct {
	mu        *sync.Mutex
	w         io.Writer
	level     slog.Leveler
	timestamp bool
	attrs     []prefixed
	groups    string // open groups, as a "a.b." key prefix
}

type prefixed struct {
	prefix string
	attr   slog.Attr
}

// NewPlain writes to w the records at or above level. With timestamp, each
// line starts with the local time.
func NewPlain(w io.Writer, level slog.Leveler, timestamp bool) *Plain {
	return &Plain{mu: new(sync.Mutex), w: w, level: level, timestamp: timestamp}
}

// Enabled implements slog.Handler.
func (h *Plain) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// bufPool holds the line buffers of Plain.Handle.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Handle implements slog.Handler.
func (h *Plain) Handle(_ context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	b := bytes.NewBuffer((*bp)[:0])
	if h.timestamp {
		t := r.Time
		if t.IsZero() {
			t = time.Now()
		}
		b.Write(t.AppendFormat(b.AvailableBuffer(), "2006-01-02 15:04:05.000 "))
	}
	if r.Level >= slog.LevelWarn {
		b.WriteString(r.Level.String())
		b.WriteString(": ")
	}
	// The client's address leads the line; the other attributes follow the
	// message.
	client := ""
	for _, p := range h.attrs {
		if p.attr.Key == "client" && p.prefix == "" {
			client = p.attr.Value.String()
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "client" && h.groups == "" {
			client = a.Value.String()
		}
		return true
	})
	if client != "" {
		b.WriteString(sanitize(client))
		b.WriteString(": ")
	}
	b.WriteString(sanitize(r.Message))
	for _, p := range h.attrs {
		if p.attr.Key != "client" || p.prefix != "" {
			writeAttr(b, p.prefix, p.attr)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "client" || h.groups != "" {
			writeAttr(b, h.groups, a)
		}
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	_, err := h.w.Write(b.Bytes())
	h.mu.Unlock()
	if b.Cap() <= 64<<10 {
		*bp = b.Bytes()[:0]
		bufPool.Put(bp)
	}
	return err
}

func writeAttr(b *bytes.Buffer, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix + a.Key + "."
		if a.Key == "" {
			p = prefix
		}
		for _, g := range a.Value.Group() {
			writeAttr(b, p, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	var v string
	switch a.Value.Kind() {
	case slog.KindDuration:
		v = a.Value.Duration().String()
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			v = err.Error()
		} else {
			v = fmt.Sprint(a.Value.Any())
		}
	default:
		v = a.Value.String()
	}
	if needsQuote(v) {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// sanitize escapes control characters in free text.
func sanitize(s string) string {
	for _, r := range s {
		if r != '\t' && !unicode.IsPrint(r) && r != ' ' {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// WithAttrs implements slog.Handler.
func (h *Plain) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]prefixed(nil), h.attrs...)
	for _, a := range as {
		h2.attrs = append(h2.attrs, prefixed{h.groups, a})
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *Plain) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = h.groups + name + "."
	return &h2
}
