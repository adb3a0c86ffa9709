package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Syslog facilities used by websockify.
const (
	FacilityUser   = 1 // LOG_USER, in the foreground
	FacilityDaemon = 3 // LOG_DAEMON, with -D
)

// maxSyslogMessage caps the message part of one syslog packet; longer
// messages are cut (rsyslog's default limit is 8 KiB).
const maxSyslogMessage = 8 << 10

// syslogWriteTimeout bounds one write to the syslog socket.
const syslogWriteTimeout = time.Second

// SyslogOptions configures a syslog destination (--syslog).
type SyslogOptions struct {
	// Address is a Unix socket path such as /dev/log (datagram, or stream
	// when the socket is one), or "host:port" for UDP. See
	// ParseSyslogAddress.
	Address string

	Legacy   bool   // "<PRI>tag[pid]: msg" instead of RFC 5424
	Facility int    // zero means FacilityUser
	Hostname string // empty means os.Hostname()
	Tag      string // empty means "websockify"
	PID      int    // zero means os.Getpid()
}

// ParseSyslogAddress splits an --syslog value as the reference does: with
// a ':' it is a UDP "host:port" (split at the last ':'; brackets around an
// IPv6 host are dropped; an empty host means localhost), otherwise a Unix
// socket path. A bad port is an error.
func ParseSyslogAddress(s string) (network, address string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		if s == "" {
			return "", "", errors.New("empty syslog address")
		}
		return "unix", s, nil
	}
	host, port := strings.Trim(s[:i], "[]"), s[i+1:]
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("bad syslog port %q", port)
	}
	if host == "" {
		host = "localhost"
	}
	return "udp", net.JoinHostPort(host, port), nil
}

// Syslog is a slog.Handler sending each record as one syslog message. The
// message text is what the plain (or JSON) handler would print, on one
// line. It is safe for concurrent use.
type Syslog struct {
	out   *syslogOut
	inner slog.Handler // formats into out
}

// syslogOut is shared by a Syslog and the handlers derived from it.
type syslogOut struct {
	mu      sync.Mutex
	network string // "udp" or "unix" (datagram first, then stream)
	address string
	conn    net.Conn // nil after a failed reconnect, or after Close
	closed  bool
	stream  bool
	header  string // RFC 5424: " host tag pid - - "; legacy: "tag[pid]: "
	legacy  bool
	fac     int

	// Set by Handle for the Write that follows, under mu.
	pri  int
	when time.Time
	err  error
}

// NewSyslog connects to o.Address and returns a handler for the records at
// or above level. With json, messages are slog's JSON objects.
func NewSyslog(o SyslogOptions, level slog.Leveler, json bool) (*Syslog, error) {
	network, address, err := ParseSyslogAddress(o.Address)
	if err != nil {
		return nil, err
	}
	if o.Facility == 0 {
		o.Facility = FacilityUser
	}
	if o.Tag == "" {
		o.Tag = "websockify"
	}
	if len(o.Tag) > 24 {
		o.Tag = o.Tag[:24]
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if len(o.Hostname) > 255 {
		o.Hostname = o.Hostname[:255]
	}
	if o.Hostname == "" {
		o.Hostname = "-"
	}
	out := &syslogOut{network: network, address: address, legacy: o.Legacy, fac: o.Facility}
	if o.Legacy {
		out.header = fmt.Sprintf("%s[%d]: ", o.Tag, o.PID)
	} else {
		out.header = fmt.Sprintf(" %s %s %d - - ", o.Hostname, o.Tag, o.PID)
	}
	if err := out.dial(); err != nil {
		return nil, err
	}
	var inner slog.Handler
	if json {
		inner = NewJSON(out, level)
	} else {
		inner = NewPlain(out, level, false)
	}
	return &Syslog{out: out, inner: inner}, nil
}

// dial connects; out.mu is held or out is not shared yet.
func (o *syslogOut) dial() error {
	if o.network == "udp" {
		c, err := net.Dial("udp", o.address)
		if err != nil {
			return fmt.Errorf("connect to syslog: %w", err)
		}
		o.conn = c
		return nil
	}
	c, err := net.Dial("unixgram", o.address)
	if err == nil {
		o.conn, o.stream = c, false
		return nil
	}
	c, err2 := net.Dial("unix", o.address)
	if err2 != nil {
		return fmt.Errorf("connect to syslog: %w", errors.Join(err, err2))
	}
	o.conn, o.stream = c, true
	return nil
}

// severity maps a slog level to a syslog severity.
func severity(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // info
	}
	return 7 // debug
}

// Enabled implements slog.Handler.
func (s *Syslog) Enabled(ctx context.Context, l slog.Level) bool { return s.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (s *Syslog) Handle(ctx context.Context, r slog.Record) error {
	o := s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pri = o.fac*8 + severity(r.Level)
	o.when, o.err = r.Time, nil
	if o.when.IsZero() {
		o.when = time.Now()
	}
	if err := s.inner.Handle(ctx, r); err != nil {
		return err
	}
	return o.err
}

// WithAttrs implements slog.Handler.
func (s *Syslog) WithAttrs(as []slog.Attr) slog.Handler {
	return &Syslog{out: s.out, inner: s.inner.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (s *Syslog) WithGroup(name string) slog.Handler {
	return &Syslog{out: s.out, inner: s.inner.WithGroup(name)}
}

// Close closes the connection to the syslog server.
func (s *Syslog) Close() error {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	s.out.closed = true
	if s.out.conn == nil {
		return nil
	}
	err := s.out.conn.Close()
	s.out.conn = nil
	return err
}

// Write receives one formatted record from the inner handler, under mu.
func (o *syslogOut) Write(p []byte) (int, error) {
	o.err = o.send(o.packet(string(p)))
	return len(p), nil
}

func (o *syslogOut) packet(msg string) []byte {
	msg = strings.TrimRight(msg, "\r\n")
	msg = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
	if len(msg) > maxSyslogMessage {
		msg = msg[:maxSyslogMessage]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	b := make([]byte, 0, len(msg)+len(o.header)+40)
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(o.pri), 10)
	b = append(b, '>')
	if !o.legacy {
		b = append(b, '1', ' ')
		b = o.when.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	}
	b = append(b, o.header...)
	if !o.legacy && !isASCII(msg) {
		b = append(b, "\ufeff"...)
	}
	b = append(b, msg...)
	if o.stream {
		b = append(b, '\n')
	}
	return b
}

// send writes one packet, reconnecting once if the socket went away (a
// restarted syslog daemon). A stuck stream socket is given up after
// syslogWriteTimeout rather than blocking every log call.
func (o *syslogOut) send(pkt []byte) error {
	if o.closed {
		return errors.New("syslog: closed")
	}
	if o.conn != nil {
		o.conn.SetWriteDeadline(time.Now().Add(syslogWriteTimeout))
		if _, err := o.conn.Write(pkt); err == nil {
			return nil
		}
		o.conn.Close()
		o.conn = nil
	}
	if err := o.dial(); err != nil {
		return err
	}
	if o.stream && pkt[len(pkt)-1] != '\n' {
		pkt = append(pkt, '\n')
	}
	o.conn.SetWriteDeadline(time.Now().Add(syslogWriteTimeout))
	_, err := o.conn.Write(pkt)
	return err
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// multiCloser closes several things and joins their errors.
type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
