package cmdline

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var testChoices = Choices{TokenPlugins: []string{"TokenFile", "TokenRedis"}, AuthPlugins: []string{"BasicHTTPAuth"}}

// helpOptions are the option names --help lists, in its order.
func helpOptions(t *testing.T) []string {
	t.Helper()
	var out bytes.Buffer
	if _, _, err := Parse([]string{"websockify", "--help"}, "1.0", &out); !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	_, opts, ok := strings.Cut(out.String(), "OPTIONS:\n")
	if !ok {
		t.Fatalf("no OPTIONS in --help:\n%s", out.String())
	}
	opts, _, _ = strings.Cut(opts, "\nEXAMPLES:")
	var names []string
	for _, line := range strings.Split(opts, "\n") {
		// "   --verbose, -v    verbose messages"; category headings have no dash.
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-") {
			continue
		}
		for _, n := range regexp.MustCompile(`^(-{1,2}[a-zA-Z0-9-]+)(?:, (-{1,2}[a-zA-Z0-9-]+))*`).FindStringSubmatch(line)[1:] {
			if n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) < 40 {
		t.Fatalf("only %d options found in --help:\n%s", len(names), out.String())
	}
	return names
}

// manOptions are the option names of the man page's OPTIONS section: the
// first words of each .TP term.
func manOptions(t *testing.T, roff string) []string {
	t.Helper()
	_, sect, ok := strings.Cut(roff, "\n.SH OPTIONS\n")
	if !ok {
		t.Fatal("no OPTIONS section in the man page")
	}
	sect, _, _ = strings.Cut(sect, "\n.SH ")
	var names []string
	lines := strings.Split(sect, "\n")
	for i, l := range lines {
		if l != ".TP" || i+1 == len(lines) {
			continue
		}
		for _, m := range regexp.MustCompile(`\\fB(-{1,2}[a-zA-Z0-9-]+)\\fP`).FindAllStringSubmatch(lines[i+1], -1) {
			names = append(names, m[1])
		}
	}
	return names
}

func TestManPageListsTheOptionsOfHelp(t *testing.T) {
	help := helpOptions(t)
	roff := string(ManPage(ManInfo{Version: "1.2.3", Date: "2026-01-02", Choices: testChoices}))
	man := manOptions(t, roff)
	hs, ms := slices.Sorted(slices.Values(help)), slices.Sorted(slices.Values(man))
	if !slices.Equal(hs, ms) {
		t.Errorf("--help and the man page list different options:\n--help: %v\nman:    %v", hs, ms)
	}
	for _, want := range []string{
		`.TH websockify 1 "2026-01-02" "websockify 1.2.3"`,
		".SH WRAPPING A PROGRAM", ".SH EXIT STATUS", ".SH SIGNALS", ".SH FILES", ".SH ENVIRONMENT",
		"TokenFile, TokenRedis", "BasicHTTPAuth", "WEBSOCKIFY_KEY_PASSWORD", "SIGHUP",
	} {
		if !strings.Contains(roff, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
}

func TestValueChoicesAreWhatParseAccepts(t *testing.T) {
	for name, vals := range valueChoices {
		for _, v := range vals {
			if _, _, err := parse("--"+name+"="+v, "6080", "h:1"); err != nil {
				t.Errorf("--%s=%s refused: %v", name, v, err)
			}
		}
		var ue *UsageError
		if _, _, err := parse("--"+name+"=bogus", "6080", "h:1"); !errors.As(err, &ue) {
			t.Errorf("--%s=bogus: %v, want a usage error", name, err)
		}
	}
}

func TestCompletionsNameEveryOption(t *testing.T) {
	help := helpOptions(t)
	for _, sh := range Shells {
		s, err := Completion(sh, testChoices)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range help {
			word := n
			if sh == "fish" { // "-l verbose", "-s v"
				word = "-l " + strings.TrimPrefix(n, "--")
				if len(n) == 2 {
					word = "-s " + n[1:]
				}
			}
			if !regexp.MustCompile(regexp.QuoteMeta(word) + `\b`).MatchString(s) {
				t.Errorf("%s completion lacks %s", sh, n)
			}
		}
		for _, v := range []string{"exit ignore respawn", "TokenFile TokenRedis", "BasicHTTPAuth", "tlsv1_3", "rebind"} {
			if !strings.Contains(s, v) {
				t.Errorf("%s completion lacks %q", sh, v)
			}
		}
	}
	if _, err := Completion("csh", testChoices); err == nil {
		t.Error("csh completion: no error")
	}
}

func TestSplitPlaceholder(t *testing.T) {
	for _, tc := range []struct{ in, text, name string }{
		{"stop after `TIMEOUT` seconds", "stop after TIMEOUT seconds", "TIMEOUT"},
		{"no marker", "no marker", ""},
		{"one `tick", "one `tick", ""},
	} {
		text, name := splitPlaceholder(tc.in)
		if text != tc.text || name != tc.name {
			t.Errorf("splitPlaceholder(%q) = %q, %q", tc.in, text, name)
		}
	}
}
