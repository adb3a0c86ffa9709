// Package clientaddr learns a connection's client address from the proxies
// in front of the gateway: the networks trusted to tell it
// (--trusted-proxies), and the X-Forwarded-For, Forwarded (RFC 7239) and
// X-Real-IP request headers such a proxy adds. The PROXY protocol header
// is read by package gateway, which holds the connection; the trust
// decision is made here for both.
package clientaddr

import (
	"fmt"
	"net/netip"
	"strings"
)

// Trusted is a set of networks whose connections may say who the client
// is. The zero value (and nil) trusts nobody.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParseTrusted parses a comma-separated list of CIDR prefixes or single
// addresses ("10.0.0.0/8,192.0.2.7,::1"). Empty items are errors, so that
// a stray comma in a configuration is not silently read as "nobody".
func ParseTrusted(list string) (*Trusted, error) {
	t := &Trusted{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty item in %q: want CIDR[,CIDR...]", list)
		}
		var p netip.Prefix
		var err error
		if strings.Contains(item, "/") {
			p, err = netip.ParsePrefix(item)
			if err == nil && p.Masked() != p {
				return nil, fmt.Errorf("%q has host bits set: did you mean %s?", item, p.Masked())
			}
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(item)
			if err == nil && a.Zone() != "" {
				err = fmt.Errorf("zones are not supported")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			return nil, fmt.Errorf("bad address or CIDR %q: %v", item, err)
		}
		t.prefixes = append(t.prefixes, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)))
	}
	return t, nil
}

// unmappedBits is p's length for its unmapped address: ::ffff:10.0.0.0/104
// is 10.0.0.0/8.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// Contains reports whether a is in a trusted network. IPv4-mapped IPv6
// addresses count as their IPv4 address.
func (t *Trusted) Contains(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Empty reports whether nobody is trusted.
func (t *Trusted) Empty() bool { return t == nil || len(t.prefixes) == 0 }

// String lists the networks, as ParseTrusted reads them.
func (t *Trusted) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
