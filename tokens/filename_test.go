package tokens

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// traversalTokens must never resolve, whatever is on disk.
var traversalTokens = []string{
	"..", ".", "", "../x", "../secret", "../../etc/passwd", "a/b", "/etc/passwd", `a\b`, `..\x`,
	"x/..", "a\x00b", "\x00", "a\nb", "..%2fx", strings.Repeat("a", 256), strings.Repeat("b", 4096),
	"ok\xff", "x/../x",
}

// traversalSetup makes root/dir with a valid entry "good" (made by mk), a
// secret outside the directory and symlinks to it.
func traversalSetup(t testing.TB, mk func(path string)) (dir, outside string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "dir")
	outside = filepath.Join(root, "secret")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mk(filepath.Join(dir, "good"))
	mk(outside)
	mk(filepath.Join(root, "x"))
	for name, to := range map[string]string{
		"abs-link": outside,
		"rel-link": "../secret",
		"in-link":  "good",
	} {
		if err := os.Symlink(to, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, outside
}

func TestCheckName(t *testing.T) {
	for _, tok := range traversalTokens {
		if CheckName(tok) == nil {
			t.Errorf("CheckName(%q) accepted", tok)
		}
	}
	for _, tok := range []string{"good", "a.b", ".hidden", "%2e%2e%2f", "vm-1_2", "ünïcode", strings.Repeat("a", 255)} {
		if err := CheckName(tok); err != nil {
			t.Errorf("CheckName(%q): %v", tok, err)
		}
	}
}

func TestTokenFileNameTraversal(t *testing.T) {
	dir, _ := traversalSetup(t, func(p string) { writeFile(t, p, "h:1\n") })
	writeFile(t, filepath.Join(dir, "v6"), " ::1:5900 \n")
	writeFile(t, filepath.Join(dir, "bad"), "nope\n")
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, "TokenFileName", dir, Options{})
	lookupOK(t, p, "good", tcp("h:1"))
	lookupOK(t, p, "in-link", tcp("h:1"))
	lookupOK(t, p, "v6", tcp("[::1]:5900"))
	for _, tok := range traversalTokens {
		lookupErr(t, p, tok, ErrInvalidToken)
	}
	if err := lookupErr(t, p, "abs-link", ErrInvalidToken); strings.Contains(err.Error(), "abs-link") {
		t.Errorf("error %q reveals the token", err)
	}
	lookupErr(t, p, "rel-link", ErrInvalidToken)
	lookupErr(t, p, "%2e%2e%2fx", ErrNotFound) // a literal name
	lookupErr(t, p, "missing", ErrNotFound)
	lookupErr(t, p, "subdir", ErrNotFound)
	lookupErr(t, p, "bad", nil)
}

func TestUnixDomainSocketDirectoryTraversal(t *testing.T) {
	var lns []net.Listener
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
	})
	dir, _ := traversalSetup(t, func(p string) {
		ln, err := net.Listen("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
	})
	writeFile(t, filepath.Join(dir, "plain"), "not a socket")
	p := mustNew(t, "UnixDomainSocketDirectory", dir, Options{})
	lookupOK(t, p, "good", Target{Network: "unix", Address: filepath.Join(dir, "good")})
	lookupOK(t, p, "in-link", Target{Network: "unix", Address: filepath.Join(dir, "in-link")})
	for _, tok := range traversalTokens {
		lookupErr(t, p, tok, ErrInvalidToken)
	}
	lookupErr(t, p, "abs-link", ErrInvalidToken)
	lookupErr(t, p, "rel-link", ErrInvalidToken)
	lookupErr(t, p, "plain", ErrNotFound)
	lookupErr(t, p, "missing", ErrNotFound)

	// The target really is the socket.
	c, err := net.Dial("unix", filepath.Join(dir, "good"))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestTokenDirRequiresDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	writeFile(t, file, "")
	for _, name := range []string{"TokenFileName", "UnixDomainSocketDirectory"} {
		if _, err := New(name, file, Options{}); err == nil || !strings.Contains(err.Error(), "requires a directory") {
			t.Errorf("%s on a file: %v", name, err)
		}
	}
}
