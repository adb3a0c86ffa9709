package clientaddr

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustTrusted(t *testing.T, s string) *Trusted {
	t.Helper()
	tr, err := ParseTrusted(s)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestParseTrusted(t *testing.T) {
	tr := mustTrusted(t, "10.0.0.0/8, 192.0.2.7,::1,::ffff:172.16.0.0/108")
	for a, want := range map[string]bool{
		"10.1.2.3": true, "11.0.0.1": false, "192.0.2.7": true, "192.0.2.8": false,
		"::1": true, "::2": false, "::ffff:10.0.0.1": true, "172.16.5.5": true, "172.32.0.1": false,
	} {
		if got := tr.Contains(netip.MustParseAddr(a)); got != want {
			t.Errorf("Contains(%s) = %v; want %v", a, got, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/8,", "10.0.0.1/8", "nonsense", "10.0.0.0/33", "fe80::1%eth0"} {
		if _, err := ParseTrusted(bad); err == nil {
			t.Errorf("ParseTrusted(%q) accepted", bad)
		}
	}
	var none *Trusted
	if none.Contains(netip.MustParseAddr("127.0.0.1")) || !none.Empty() {
		t.Error("nil Trusted trusts someone")
	}
}

func TestFromHeader(t *testing.T) {
	tr := mustTrusted(t, "10.0.0.0/8,::1")
	proxy := netip.MustParseAddr("10.0.0.1")
	for _, tt := range []struct {
		name   string
		hdr    Header
		values []string
		peer   netip.Addr
		want   string // "" means not ok
	}{
		{"xff one", XForwardedFor, []string{"203.0.113.9"}, proxy, "203.0.113.9:0"},
		{"xff rightmost untrusted wins", XForwardedFor, []string{"198.51.100.1, 203.0.113.9, 10.0.0.5"}, proxy, "203.0.113.9:0"},
		{"xff forged left part ignored", XForwardedFor, []string{"1.2.3.4", "203.0.113.9"}, proxy, "203.0.113.9:0"},
		{"xff all trusted: leftmost", XForwardedFor, []string{"10.0.0.9, 10.0.0.5"}, proxy, "10.0.0.9:0"},
		{"xff untrusted peer ignored", XForwardedFor, []string{"203.0.113.9"}, netip.MustParseAddr("198.51.100.7"), ""},
		{"xff garbage", XForwardedFor, []string{"garbage"}, proxy, ""},
		{"xff garbage before trusted hop", XForwardedFor, []string{"garbage, 10.0.0.5"}, proxy, "10.0.0.5:0"},
		{"xff ipv6 and port", XForwardedFor, []string{"[2001:db8::1]:4711"}, proxy, "[2001:db8::1]:4711"},
		{"xff mapped", XForwardedFor, []string{"::ffff:203.0.113.9"}, proxy, "203.0.113.9:0"},
		{"xff absent", XForwardedFor, nil, proxy, ""},
		{"forwarded", Forwarded, []string{`for=192.0.2.60;proto=http;by=203.0.113.43`}, proxy, "192.0.2.60:0"},
		{"forwarded quoted v6 port", Forwarded, []string{`For="[2001:db8:cafe::17]:4711"`}, proxy, "[2001:db8:cafe::17]:4711"},
		{"forwarded list", Forwarded, []string{`for=198.51.100.1, for=192.0.2.43;proto=https`, `for=10.0.0.4`}, proxy, "192.0.2.43:0"},
		{"forwarded unknown stops", Forwarded, []string{`for=unknown, for=10.0.0.4`}, proxy, "10.0.0.4:0"},
		{"forwarded obfuscated", Forwarded, []string{`for=_hidden`}, proxy, ""},
		{"forwarded comma in quotes", Forwarded, []string{`for="198.51.100.1";x="a,b"`}, proxy, "198.51.100.1:0"},
		{"forwarded no for", Forwarded, []string{`proto=https`}, proxy, ""},
		{"x-real-ip", XRealIP, []string{"203.0.113.9"}, proxy, "203.0.113.9:0"},
		{"x-real-ip last of several", XRealIP, []string{"1.2.3.4", "203.0.113.9"}, proxy, "203.0.113.9:0"},
		{"other header ignored", XRealIP, nil, proxy, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add(string(tt.hdr), v)
			}
			if tt.name == "other header ignored" {
				h.Set("X-Forwarded-For", "203.0.113.9")
			}
			got, ok := FromHeader(h, tt.hdr, tt.peer, tr)
			switch {
			case tt.want == "" && ok:
				t.Fatalf("got %v; want nothing", got)
			case tt.want != "" && (!ok || got.String() != tt.want):
				t.Fatalf("got %v, %v; want %s", got, ok, tt.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	if h, err := ParseHeader("x-forwarded-for"); err != nil || h != XForwardedFor {
		t.Fatalf("%v %v", h, err)
	}
	if _, err := ParseHeader("X-Client-IP"); err == nil || !strings.Contains(err.Error(), "choose from") {
		t.Fatalf("unknown header: %v", err)
	}
}

func TestFormat(t *testing.T) {
	if s := Format(netip.MustParseAddrPort("192.0.2.1:0")); s != "192.0.2.1" {
		t.Error(s)
	}
	if s := Format(netip.MustParseAddrPort("[::1]:80")); s != "[::1]:80" {
		t.Error(s)
	}
}

// FuzzFromHeader: no header value panics, and what it returns is an
// address of the header's own text or nothing.
func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"203.0.113.9, 10.0.0.5", `for="[2001:db8::1]:80";proto=https, for=10.0.0.1`, `for="\"`, "[::1", ",,,", "for=\"a\\"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	tr := &Trusted{prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	f.Fuzz(func(t *testing.T, v string, which uint8) {
		hdr := []Header{XForwardedFor, Forwarded, XRealIP}[which%3]
		h := http.Header{string(hdr): {v}}
		ap, ok := FromHeader(h, hdr, netip.MustParseAddr("10.0.0.1"), tr)
		if ok && !ap.Addr().IsValid() {
			t.Fatalf("ok with an invalid address for %q", v)
		}
		if ok && ap.Addr().Is4In6() {
			t.Fatalf("mapped address %v returned", ap)
		}
	})
}

func FuzzParseTrusted(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8,::1", "1.2.3.4", "::ffff:10.0.0.0/104", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTrusted(s)
		if err != nil {
			return
		}
		again, err := ParseTrusted(tr.String())
		if err != nil || again.String() != tr.String() {
			t.Fatalf("%q → %q does not parse back: %v", s, tr.String(), err)
		}
	})
}
