package cmdline

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/websockify-go/websockify/auth"
	"github.com/websockify-go/websockify/tokens"
)

// TestHelp: --help groups the options as the README does, with one set of
// placeholders, the plugin names the plugins really accept, no
// "(default: false)", and examples at the end.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if _, _, err := Parse([]string{"websockify", "--help"}, "test", &out); !errors.Is(err, ErrHelp) {
		t.Fatalf("Parse(--help) = %v", err)
	}
	help := out.String()
	last := -1
	for _, cat := range []string{catGeneral, catAdmin, catSockets, catProxy, catTLS, catTokens, catWeb, catWrap, catDrain, "EXAMPLES:"} {
		i := strings.Index(help, "\n   "+cat+"\n")
		if cat == "EXAMPLES:" {
			i = strings.Index(help, "\nEXAMPLES:\n")
		}
		if i < 0 || i < last {
			t.Errorf("category %q missing or out of order", cat)
		}
		last = i
	}
	if strings.Contains(help, "(default: false)") || strings.Contains(help, " value ") {
		t.Errorf("help has (default: false) or a bare \"value\" placeholder:\n%s", help)
	}
	placeholders := map[string]bool{"FILE": true, "DIR": true, "SECONDS": true, "BYTES": true, "N": true, "MODE": true,
		"NAME": true, "ARG": true, "LIST": true, "ADDR": true, "VERSION": true, "PASSWORD": true, "FORMAT": true, "SERVER": true,
		"CIDR": true, "HEADER": true, "PREFIX": true}
	for _, m := range regexp.MustCompile(`(?m)^   --[a-z0-9-]+(?:, -[A-Za-z0-9]+)? ([A-Z]+) `).FindAllStringSubmatch(help, -1) {
		if !placeholders[m[1]] {
			t.Errorf("placeholder %q is not one of the usual ones", m[1])
		}
	}
	for _, names := range [][2][]string{{tokenPlugins(), tokens.Names()}, {authPlugins(), auth.Names()}} {
		for _, n := range names[0] {
			if !slices.Contains(names[1], n) && !slices.Contains(names[1], "websockify.token_plugins."+n) &&
				!slices.Contains(names[1], "websockify.auth_plugins."+n) {
				t.Errorf("--help lists plugin %s, which the registry does not know (it has %v)", n, names[1])
			}
			if !strings.Contains(help, n) {
				t.Errorf("--help does not list plugin %s", n)
			}
		}
		for _, n := range names[1] {
			n = strings.TrimPrefix(strings.TrimPrefix(n, "websockify.token_plugins."), "websockify.auth_plugins.")
			if !slices.Contains(names[0], n) {
				t.Errorf("plugin %s is missing from --help", n)
			}
		}
	}
}
