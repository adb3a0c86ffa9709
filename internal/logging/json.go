package logging

import (
	"io"
	"log/slog"
)

// Log formats for Options.Format.
const (
	FormatPlain = "plain" // the reference's one message per line (default)
	FormatJSON  = "json"  // one slog JSON object per line
)

// NewJSON writes records at or above level to w as JSON objects, one per
// line, with "time", "level", "msg" and the attributes as keys. JSON
// escaping keeps client-supplied strings from forging lines.
func NewJSON(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
}

// handler makes the handler of the chosen format for one destination.
func (o Options) handler(w io.Writer, level slog.Leveler, timestamp bool) slog.Handler {
	if o.Format == FormatJSON {
		return NewJSON(w, level)
	}
	return NewPlain(w, level, timestamp)
}
