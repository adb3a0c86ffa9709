package tlsconfig

import (
	"crypto/tls"
	"net"
	"strings"
)

// ClientOptions configures the TLS client used towards the target
// (--ssl-target).
type ClientOptions struct {
	// CAFile holds the CAs trusted for the target's certificate. Empty
	// means the system's CAs (which honour SSL_CERT_FILE and SSL_CERT_DIR).
	CAFile string

	// Insecure skips the verification of the target's certificate and
	// name. It must come from an explicit option.
	Insecure bool

	MinVersion string // as ServerOptions.MinVersion
}

// Client returns the base configuration for TLS connections to targets.
// It verifies certificates; use ForTarget for each connection to set the
// name that is verified and sent as SNI.
func Client(o ClientOptions) (*tls.Config, error) {
	v, err := ParseVersion(o.MinVersion)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: v, InsecureSkipVerify: o.Insecure}
	if o.CAFile != "" {
		if cfg.RootCAs, err = LoadCAs(o.CAFile); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// ForTarget returns a copy of base for a connection to addr ("host:port",
// "[v6]:port" or a bare host): ServerName is set to the host, so the
// certificate is checked against it and, unless it is an IP address, the
// host is sent as SNI.
func ForTarget(base *tls.Config, addr string) *tls.Config {
	cfg := base.Clone()
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	cfg.ServerName = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return cfg
}
