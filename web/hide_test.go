package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHiddenFiles: a file of Options.Hide (a certificate with its key, in
// the web root as noVNC's launcher puts it) is 404 under every spelling of
// its path, through a symbolic or hard link, and is not listed; other
// files are served as before, and a replaced certificate stays hidden.
func TestHiddenFiles(t *testing.T) {
	root := tree(t)
	cert := filepath.Join(root, "self.pem")
	const pem = "-----BEGIN PRIVATE KEY-----\nsecret\n"
	if err := os.WriteFile(cert, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("self.pem", filepath.Join(root, "dir", "link.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../self.pem", filepath.Join(root, "dir", "up.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(cert, filepath.Join(root, "hard.pem")); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, root, Options{Hide: []string{cert}})
	for _, target := range []string{
		"/self.pem", "/./self.pem", "//self.pem", "/%73elf.pem", "/self%2Epem", "/dir/../self.pem",
		"/dir/%2E%2E/self.pem", "/hard.pem", "/dir/up.pem", "/self.pem?x=1", "/SELF.PEM",
	} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			w := do(t, h, m, target)
			if w.code == http.StatusOK || strings.Contains(w.body.String(), "PRIVATE KEY") {
				t.Errorf("%s %s: %d %q", m, target, w.code, w.body.String())
			}
		}
	}
	for _, dir := range []string{"/", "/dir/"} {
		w := do(t, h, http.MethodGet, dir)
		if w.code != http.StatusOK {
			t.Fatalf("GET %s: %d", dir, w.code)
		}
		for _, name := range []string{"self.pem", "hard.pem", "up.pem"} {
			if strings.Contains(w.body.String(), name) {
				t.Errorf("listing of %s shows %s:\n%s", dir, name, w.body.String())
			}
		}
	}
	if w := do(t, h, http.MethodGet, "/hello.txt"); w.code != http.StatusOK || w.body.String() != "hello\n" {
		t.Errorf("GET /hello.txt: %d %q", w.code, w.body.String())
	}
	// A certificate replaced on disk (a renewal: a new inode) stays hidden.
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := do(t, h, http.MethodGet, "/self.pem"); w.code == http.StatusOK {
		t.Errorf("renewed certificate served: %q", w.body.String())
	}
}
