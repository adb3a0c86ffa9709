package cmdline

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/websockify-go/websockify/clientaddr"
)

func TestLoadBalancerFlags(t *testing.T) {
	cfg, _, err := parse("--trusted-proxies", "10.0.0.0/8,::1", "--proxy-protocol", "--forwarded-header", "forwarded",
		"--target-proxy-protocol", "v2", "6080", "h:1")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TrustedProxies.Contains(netip.MustParseAddr("10.9.9.9")) || cfg.TrustedProxies.Contains(netip.MustParseAddr("11.0.0.1")) ||
		!cfg.ProxyProtocol || cfg.ForwardedHeader != clientaddr.Forwarded || cfg.TargetProxyProtocol != 2 {
		t.Errorf("parsed %v %v %q %d", cfg.TrustedProxies, cfg.ProxyProtocol, cfg.ForwardedHeader, cfg.TargetProxyProtocol)
	}
	cfg, _, err = parse("--trusted-proxies=127.0.0.1", "6080", "h:1")
	if err != nil || cfg.ForwardedHeader != clientaddr.XForwardedFor || cfg.ProxyProtocol {
		t.Errorf("defaults with trust: %v %q %v", err, cfg.ForwardedHeader, cfg.ProxyProtocol)
	}
	cfg, _, err = parse("--trusted-proxies=127.0.0.1", "--forwarded-header=none", "6080", "h:1")
	if err != nil || cfg.ForwardedHeader != "" {
		t.Errorf("--forwarded-header=none: %v %q", err, cfg.ForwardedHeader)
	}
	cfg, _, err = parse("6080", "h:1")
	if err != nil || cfg.TrustedProxies != nil || cfg.ForwardedHeader != "" || cfg.TargetProxyProtocol != 0 {
		t.Errorf("defaults: %v %v %q %d; want nobody trusted", err, cfg.TrustedProxies, cfg.ForwardedHeader, cfg.TargetProxyProtocol)
	}
	cfg, _, err = parse("--token-plugin=TokenFile", "--token-source=/x", "--token-subprotocol=base64url.bearer.authorization.k8s.io", "6080")
	if err != nil || cfg.TokenSubprotocol != "base64url.bearer.authorization.k8s.io" {
		t.Errorf("--token-subprotocol: %v %q", err, cfg.TokenSubprotocol)
	}
}

func TestLoadBalancerFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--proxy-protocol", "6080", "h:1"}, "needs --trusted-proxies"},
		{[]string{"--forwarded-header=X-Real-IP", "6080", "h:1"}, "needs --trusted-proxies"},
		{[]string{"--trusted-proxies=10.0.0.1/8", "6080", "h:1"}, "host bits"},
		{[]string{"--trusted-proxies=10.0.0.0/8,", "6080", "h:1"}, "empty item"},
		{[]string{"--trusted-proxies=example.com", "6080", "h:1"}, "bad address"},
		{[]string{"--trusted-proxies=10.0.0.1", "--forwarded-header=X-Client-IP", "6080", "h:1"}, "choose from"},
		{[]string{"--trusted-proxies=10.0.0.1", "--unix-listen=/tmp/x.sock", "h:1"}, "needs a TCP listener"},
		{[]string{"--target-proxy-protocol=v3", "6080", "h:1"}, "choose from 'v1', 'v2'"},
		{[]string{"--token-subprotocol=p", "6080", "h:1"}, "--token-plugin"},
		{[]string{"--token-plugin=TokenFile", "--token-source=/x", "--token-subprotocol=bad prefix", "6080"}, "HTTP token"},
		{[]string{"--token-plugin=TokenFile", "--token-source=/x", "--token-subprotocol=p.", "6080"}, "HTTP token"},
	} {
		_, _, err := parse(tc.args...)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want a usage error with %q", tc.args, err, tc.want)
		}
	}
}
