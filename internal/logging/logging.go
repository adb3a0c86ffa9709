package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
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
	// Every sink is written by its own goroutine behind a bounded queue
	// (queue.go): a slow one drops records, it never blocks a caller.
	var hs fanout
	var queues multiCloser
	var qs []*queue
	add := func(h slog.Handler) {
		qh, q := newQueue(h, queueSize)
		hs = append(hs, qh)
		queues = append(queues, q)
		qs = append(qs, q)
	}
	add(o.handler(w, level, false))
	var sinks multiCloser
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			queues.Close()
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		add(o.handler(f, slog.LevelDebug, true))
		sinks = append(sinks, f)
	}
	if o.Syslog != nil {
		s, err := NewSyslog(*o.Syslog, level, o.Format == FormatJSON)
		if err != nil {
			queues.Close()
			sinks.Close()
			return nil, nil, err
		}
		add(s)
		sinks = append(sinks, s)
	}
	// Closing drains the queues first, then closes the sinks.
	closer := Closer{queues: qs, closer: multiCloser{queues, sinks}}
	if len(hs) == 1 {
		return slog.New(hs[0]), closer, nil // no fan-out to pay for
	}
	return slog.New(hs), closer, nil
}

// Closer ends logging: Close drains the queues, then closes the sinks.
type Closer struct {
	queues []*queue
	closer multiCloser
}

// Close drains the queues (each for at most drainTimeout) and closes the
// sinks.
func (c Closer) Close() error { return c.closer.Close() }

// Flush waits, at most timeout per sink, until what was logged before it
// has been written: a daemon child flushes before it tells the parent it
// serves, so that the parent has printed every line by then.
func (c Closer) Flush(timeout time.Duration) {
	for _, q := range c.queues {
		q.flush(timeout)
	}
}
