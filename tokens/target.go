package tokens

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// unixSocketHost is the reference's marker host: a result (unix_socket,
// PATH) is a Unix socket target.
const unixSocketHost = "unix_socket"

// ParseTarget reads a target written as the reference's plugins return it:
// "host:port" split at the last colon, so an IPv6 host may be written
// without brackets ("::1:5900") or, as an improvement, with them
// ("[::1]:5900"); "unix_socket:PATH" is a Unix socket. Surrounding
// whitespace is ignored.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if path, ok := strings.CutPrefix(s, unixSocketHost+":"); ok {
		return hostPortTarget(unixSocketHost, path)
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Target{}, fmt.Errorf("target %q: missing port", s)
	}
	return hostPortTarget(s[:i], s[i+1:])
}

// proxyOption is the option a target may be followed by in a token file
// line or a plain Redis value: "host:5900 proxy_protocol=v2".
const proxyOption = "proxy_protocol="

// ParseTargetOptions reads a target as ParseTarget does, followed by
// options separated by whitespace: proxy_protocol=v1|v2|none. A line of
// the reference's format has none, and is read as before.
func ParseTargetOptions(s string) (Target, error) {
	s = strings.TrimFunc(s, pyIsSpace)
	pp := ProxyDefault
	for {
		i := strings.LastIndexFunc(s, pyIsSpace)
		if i < 0 || !strings.HasPrefix(s[i+1:], proxyOption) {
			break
		}
		if pp != ProxyDefault {
			return Target{}, errors.New("proxy_protocol given twice")
		}
		v, err := ParseProxyProtocol(strings.TrimPrefix(s[i+1:], proxyOption))
		if err != nil {
			return Target{}, err
		}
		pp = v
		s = strings.TrimRightFunc(s[:i], pyIsSpace)
	}
	t, err := ParseTarget(s)
	t.ProxyProtocol = pp
	return t, err
}

// hostPortTarget builds a target from the reference's (host, port) pair.
func hostPortTarget(host, port string) (Target, error) {
	if host == unixSocketHost {
		if port == "" || strings.ContainsRune(port, 0) {
			return Target{}, errors.New("unix socket target: empty or invalid path")
		}
		return Target{Network: "unix", Address: port}, nil
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if err := checkHost(host); err != nil {
		return Target{}, err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' {
		return Target{}, fmt.Errorf("target %s: invalid port %q", host, port)
	}
	return Target{Network: "tcp", Address: net.JoinHostPort(host, strconv.Itoa(n))}, nil
}

// checkHost refuses hosts that cannot be a name or an address: empty, or
// with whitespace, control characters, brackets or slashes.
func checkHost(host string) error {
	if host == "" {
		return errors.New("target: empty host")
	}
	if len(host) > 255 {
		return errors.New("target: host too long")
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("[]/\\@?#", r) {
			return fmt.Errorf("target: invalid host %q", host)
		}
	}
	return nil
}
