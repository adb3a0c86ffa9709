package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// repoRoot is the checkout the tests run in.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// makeOut runs make -s in the checkout and returns its standard output.
func makeOut(t testing.TB, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "-C", repoRoot(t)}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("make %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// buildVersion is the version make stamps into binaries and packages.
func buildVersion(t testing.TB) string {
	t.Helper()
	v := strings.TrimSpace(makeOut(t, time.Minute, "version"))
	if !regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`).MatchString(v) {
		t.Fatalf("make version printed %q, not a Debian version", v)
	}
	return v
}

// run runs a command and returns its combined output, failing the test on
// an error.
func runOK(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// helpOptionNames are the options `bin --help` lists ("--verbose", "-v", ...).
func helpOptionNames(t testing.TB, bin string) []string {
	t.Helper()
	out := runOK(t, bin, "--help")
	_, opts, ok := strings.Cut(out, "OPTIONS:\n")
	if !ok {
		t.Fatalf("%s --help has no OPTIONS:\n%s", bin, out)
	}
	opts, _, _ = strings.Cut(opts, "\nEXAMPLES:")
	re := regexp.MustCompile(`^\s+(-{1,2}[a-zA-Z0-9-]+)(?:, (-{1,2}[a-zA-Z0-9-]+))?`)
	var names []string
	for _, l := range strings.Split(opts, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			for _, n := range m[1:] {
				if n != "" {
					names = append(names, n)
				}
			}
		}
	}
	if len(names) < 40 {
		t.Fatalf("only %d options in %s --help", len(names), bin)
	}
	return names
}

// manText renders a man page (a file with -l, or a page name) as plain text.
func manText(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("man", args...)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=200", "MAN_KEEP_FORMATTING=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man %s: %v", strings.Join(args, " "), err)
	}
	// Drop overstrike formatting, if any.
	return regexp.MustCompile(".\b").ReplaceAllString(string(out), "")
}

// checkManListsHelp fails unless every option of --help has an entry in
// the man page's OPTIONS section and the section has no other option.
func checkManListsHelp(t testing.TB, man string, help []string) {
	t.Helper()
	_, sect, ok := strings.Cut(man, "\nOPTIONS\n")
	if !ok {
		t.Fatalf("man page has no OPTIONS section:\n%s", man)
	}
	if i := regexp.MustCompile(`\n[A-Z][A-Z ]+\n`).FindStringIndex(sect); i != nil {
		sect = sect[:i[0]]
	}
	// Entries are "       --name VALUE, -n" lines at the option indent.
	re := regexp.MustCompile(`(?m)^ {7}(-{1,2}[a-zA-Z0-9-]+)(?: [A-Z_]+)?(?:, (-{1,2}[a-zA-Z0-9-]+))?`)
	inMan := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(sect, -1) {
		for _, n := range m[1:] {
			if n != "" {
				inMan[n] = true
			}
		}
	}
	for _, n := range help {
		if !inMan[n] {
			t.Errorf("--help lists %s; the man page does not", n)
		}
		delete(inMan, n)
	}
	for n := range inMan {
		t.Errorf("the man page lists %s; --help does not", n)
	}
}
