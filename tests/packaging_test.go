package tests

// The packaging, tested as users meet it: the man page against --help, the
// completions in real shells, the .deb installed over Debian's websockify
// and novnc (TestDebInstall), the arm64 build under qemu (arm64_test.go).

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestManPageListsTheOptionsOfHelp: the generated man page, as man renders
// it, has an entry for every option of bin/websockify --help and no other.
func TestManPageListsTheOptionsOfHelp(t *testing.T) {
	requireProgram(t, "man")
	makeOut(t, 5*time.Minute, "docs")
	man := manText(t, "-l", filepath.Join(repoRoot(t), "dist", "docs", "websockify.1"))
	checkManListsHelp(t, man, helpOptionNames(t, wsBinary))
	for _, want := range []string{"WRAPPING A PROGRAM", "EXIT STATUS", "SIGNALS", "FILES", "TokenFile", "BasicHTTPAuth"} {
		if !strings.Contains(man, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
}

// TestMakeInstallDocs: make install puts the man page and the completions
// under PREFIX/share, where man and the shells look.
func TestMakeInstallDocs(t *testing.T) {
	requireProgram(t, "man")
	stage := t.TempDir()
	makeOut(t, 5*time.Minute, "install", "DESTDIR="+stage, "PREFIX=/opt/ws")
	share := filepath.Join(stage, "opt", "ws", "share")
	for _, f := range []string{"bash-completion/completions/websockify", "zsh/site-functions/_websockify",
		"fish/vendor_completions.d/websockify.fish"} {
		if readFileString(filepath.Join(share, f)) == "" {
			t.Errorf("make install: %s missing or empty", f)
		}
	}
	man := manText(t, "-l", filepath.Join(share, "man", "man1", "websockify.1"))
	checkManListsHelp(t, man, helpOptionNames(t, wsBinary))
}

// readFileString returns a file's content, or "" when it cannot be read.
func readFileString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// TestVersionFromGit: --version prints make's version (git describe), the
// commit and the Go version.
func TestVersionFromGit(t *testing.T) {
	v := buildVersion(t)
	commit := strings.TrimSpace(runOK(t, "git", "-C", repoRoot(t), "rev-parse", "HEAD"))
	out := runOK(t, wsBinary, "--version")
	for _, want := range []string{"websockify version " + v + " ", "commit " + commit, " go1."} {
		if !strings.Contains(out, want) {
			t.Errorf("--version printed %q; want it to contain %q", out, want)
		}
	}
}

// completionCases are command lines and what completing their last word
// must offer (zsh: zshWant when set; zsh leaves the "--opt=" prefix out).
var completionCases = []struct{ line, want, zshWant string }{
	{"websockify --wrap-mode ", "exit ignore respawn", ""},
	{"websockify --token-plugin ", "BaseTokenAPI JSONTokenApi JWTTokenApi ReadOnlyTokenFile TokenFile TokenFileName TokenRedis UnixDomainSocketDirectory", ""},
	{"websockify --token-plugin=Token", "--token-plugin=TokenFile --token-plugin=TokenFileName --token-plugin=TokenRedis", "TokenFile TokenFileName TokenRedis"},
	{"websockify --web-a", "--web-auth", ""},
	{"websockify --auth-plugin ", "BasicHTTPAuth ClientCertCNAuth ExpectOrigin", ""},
	{"websockify --ssl-vers", "--ssl-version", ""},
	{"websockify --log-format ", "json plain", ""},
	{"websockify pro", "probe", ""},
}

// checkZshCompletion types every case into an interactive zsh (with
// fpathDir first in its fpath, when not empty) and checks the candidates.
func checkZshCompletion(t *testing.T, fpathDir string) {
	t.Helper()
	args := []string{filepath.Join(repoRoot(t), "tests", "testdata", "zsh-complete.zsh"), fpathDir}
	for _, c := range completionCases {
		args = append(args, c.line)
	}
	cmd := exec.Command("zsh", args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no ~/.zcompdump or .zshrc of the user
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh completion: %v\n%s", err, out)
	}
	cases := strings.Split(string(out), "CASE\n")[1:]
	if len(cases) != len(completionCases) {
		t.Fatalf("zsh completion: %d results for %d cases:\n%s", len(cases), len(completionCases), out)
	}
	for i, c := range completionCases {
		var hits []string
		for _, l := range strings.Fields(cases[i]) {
			hits = append(hits, strings.TrimPrefix(l, "HIT:"))
		}
		slices.Sort(hits)
		want := c.want
		if c.zshWant != "" {
			want = c.zshWant
		}
		if got := strings.Join(hits, " "); got != want {
			t.Errorf("zsh: %q completes to %q; want %q", c.line, got, want)
		}
	}
}

// bashComplete runs the completion function of script for line in bash and
// returns the candidates, sorted.
func bashComplete(t *testing.T, load, line string) string {
	t.Helper()
	script := load + `
line=$1
read -ra COMP_WORDS <<<"$line"
[[ $line == *" " ]] && COMP_WORDS+=("")
COMP_LINE=$line COMP_POINT=${#line} COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
complete -p websockify >/dev/null || exit 1
$(complete -p websockify | sed -n 's/.*-F \([^ ]*\) .*/\1/p') websockify "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' '
`
	out, err := exec.Command("bash", "-c", script, "bash", line).CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", line, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCompletionScriptsInShells: the generated scripts complete option
// names, --wrap-mode values and plugin classes in bash, fish and zsh.
func TestCompletionScriptsInShells(t *testing.T) {
	for _, p := range []string{"bash", "fish", "zsh"} {
		requireProgram(t, p)
	}
	makeOut(t, 5*time.Minute, "docs")
	docs := filepath.Join(repoRoot(t), "dist", "docs")
	t.Run("bash", func(t *testing.T) {
		for _, c := range completionCases {
			got := bashComplete(t, ". "+filepath.Join(docs, "websockify.bash"), c.line)
			if got != c.want {
				t.Errorf("bash: %q completes to %q; want %q", c.line, got, c.want)
			}
		}
		// Bash splits "--opt=value" at "=" (COMP_WORDBREAKS) and replaces
		// the value alone.
		line, want := "websockify --wrap-mode = re", "respawn"
		if got := bashComplete(t, ". "+filepath.Join(docs, "websockify.bash"), line); got != want {
			t.Errorf("bash: %q completes to %q; want %q", line, got, want)
		}
	})
	t.Run("fish", func(t *testing.T) {
		for _, c := range completionCases {
			got := fishComplete(t, "source "+filepath.Join(docs, "websockify.fish")+";", c.line)
			if got != c.want {
				t.Errorf("fish: %q completes to %q; want %q", c.line, got, c.want)
			}
		}
	})
	t.Run("zsh", func(t *testing.T) { checkZshCompletion(t, docs) })
}

// fishComplete asks fish for the completions of line; each is "value\tdescription".
func fishComplete(t *testing.T, load, line string) string {
	t.Helper()
	out := runOK(t, "fish", "-c", load+" complete -C $argv[1]", line)
	var vals []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		v, _, _ := strings.Cut(l, "\t")
		vals = append(vals, v)
	}
	slices.Sort(vals)
	return strings.Join(vals, " ")
}
