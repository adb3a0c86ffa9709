package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Options chooses where logs go.
type Options struct {
	Verbose bool      // debug records too
	Stderr  io.Writer // nil means os.Stderr
	File    string    // also append to this file, with timestamps

	Format string         // FormatPlain (or empty) or FormatJSON
	Syslog *SyslogOptions // also send to syslog, if set
}

// New builds the logger. The returned closer closes the log file and the
// syslog connection, if any.
func New(o Options) (*slog.Logger, io.Closer, error) {
	level := slog.LevelInfo
	if o.Verbose {
		level = slog.LevelDebug
	}
	w := o.Stderr
	if w == nil {
		w = os.Stderr
	}
	hs := fanout{o.handler(w, level, false)}
	var closer io.Closer = nopCloser{}
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		hs = append(hs, o.handler(f, slog.LevelDebug, true))
		closer = f
	}
	if o.Syslog != nil {
		s, err := NewSyslog(*o.Syslog, level, o.Format == FormatJSON)
		if err != nil {
			closer.Close()
			return nil, nil, err
		}
		hs = append(hs, s)
		closer = multiCloser{closer, s}
	}
	if len(hs) == 1 {
		return slog.New(hs[0]), closer, nil // no fan-out to pay for
	}
	return slog.New(hs), closer, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
