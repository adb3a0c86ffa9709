package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Endpoint is where a session's bytes go: a TCP address or a Unix socket,
// optionally spoken to over TLS.
type Endpoint struct {
	// Network is "tcp" (also "tcp4", "tcp6") or "unix". Empty means "tcp".
	Network string
	// Address is host:port for TCP, a path for Unix sockets.
	Address string
	// TLS, if set, wraps the target connection in a TLS client.
	TLS *tls.Config
	// Label, if set, names the endpoint in logs instead of the address
	// (e.g. the wrapped command).
	Label string
	// ProxyProtocol, if 1 or 2, sends the target a PROXY protocol header
	// of that version first, naming the client (before TLS, with TLS).
	ProxyProtocol int
	// LogToken, if set, is the redacted token that chose this endpoint,
	// for the session's end-of-session log line.
	LogToken string
}

func (e Endpoint) network() string {
	if e.Network == "" {
		return "tcp"
	}
	return e.Network
}

// String names the endpoint for logs.
func (e Endpoint) String() string {
	s := e.Address
	if e.Label != "" {
		s = e.Label
	} else if e.network() == "unix" {
		s = "unix socket " + e.Address
	}
	if e.TLS != nil {
		s += " (using SSL)"
	}
	return s
}

// dial connects to the endpoint and sends it header (a PROXY protocol
// header, or nothing) first.
func (e Endpoint) dial(ctx context.Context, timeout time.Duration, header []byte) (net.Conn, error) {
	// A probe after 15 s of silence; the interval and count are the
	// system's, which saves two system calls per connection.
	d := net.Dialer{Timeout: timeout, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 15 * time.Second, Interval: -1, Count: -1}}
	c, err := d.DialContext(ctx, e.network(), e.Address)
	if err != nil {
		return nil, err
	}
	if len(header) > 0 {
		dl, _ := ctx.Deadline()
		c.SetWriteDeadline(dl)
		if _, err := c.Write(header); err != nil {
			c.Close()
			return nil, fmt.Errorf("send the PROXY protocol header: %w", err)
		}
		c.SetWriteDeadline(time.Time{})
	}
	if e.TLS == nil {
		return c, nil
	}
	tc := tls.Client(c, e.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", e.Address, err)
	}
	return tc, nil
}
