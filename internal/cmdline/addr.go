package cmdline

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// HostPort is a parsed "[host:]port" as the reference reads it: split at
// the last colon, brackets stripped from the host, so "[::1]:5900",
// "::1:5900" and "localhost:5900" all work.
type HostPort struct {
	Host string // empty means all interfaces (listen) — never empty for a target
	Port int
}

// String joins host and port, bracketing IPv6 literals.
func (h HostPort) String() string {
	return net.JoinHostPort(h.Host, strconv.Itoa(h.Port))
}

// parseListen parses the listen positional: "PORT" or "HOST:PORT".
func parseListen(s string) (HostPort, error) {
	host, port := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = stripBrackets(s[:i]), s[i+1:]
	}
	p, err := parsePort(port)
	if port == "0" {
		p, err = 0, nil // any free port; the banner shows which
	}
	if err != nil {
		return HostPort{}, usageErrorf("Error parsing listen port: %v (in %q; want [HOST:]PORT)", err, s)
	}
	if strings.ContainsAny(host, "[]/ ") {
		return HostPort{}, usageErrorf("Error parsing listen address: %q (want [HOST:]PORT, IPv6 as [::1]:PORT)", s)
	}
	return HostPort{Host: host, Port: p}, nil
}

// parseTarget parses the target positional: "HOST:PORT".
func parseTarget(s string) (HostPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return HostPort{}, usageErrorf("Error parsing target: %q has no port (want HOST:PORT; a program to wrap goes after --)", s)
	}
	host := stripBrackets(s[:i])
	p, err := parsePort(s[i+1:])
	if err != nil {
		return HostPort{}, usageErrorf("Error parsing target port: %v (in %q; want HOST:PORT)", err, s)
	}
	if host == "" || strings.ContainsAny(host, "[]/ ") {
		return HostPort{}, usageErrorf("Error parsing target: %q (want HOST:PORT, IPv6 as [::1]:PORT)", s)
	}
	return HostPort{Host: host, Port: p}, nil
}

func stripBrackets(h string) string {
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// parsePort accepts a decimal port 1–65535; its error names the value
// and why it is not one.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil {
		if s == "" {
			return 0, fmt.Errorf("the port is empty")
		}
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %d is out of range 1-65535", p)
	}
	return p, nil
}
