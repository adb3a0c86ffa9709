package web

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContains(t *testing.T) {
	base := t.TempDir()
	www := filepath.Join(base, "www")
	for _, d := range []string{www + "/sub", base + "/etc"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{www + "/self.pem", base + "/etc/key.pem", base + "/www2"} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(www, "self.pem"), filepath.Join(base, "etc", "link.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(www, filepath.Join(base, "wwwlink")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, path string
		want      bool
	}{
		{www, www + "/self.pem", true},
		{www, www + "/sub/../self.pem", true},
		{www, www + "/sub/recording", true}, // does not exist yet
		{www, www, true},
		{www, base + "/etc/key.pem", false},
		{www, base + "/etc/link.pem", true}, // a link into the root
		{base + "/wwwlink", www + "/self.pem", true},
		{www, base + "/www2", false},
		{www, base + "/missing/dir/file", false},
	}
	for _, tc := range tests {
		got, err := Contains(tc.dir, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Contains(%s, %s) = %v, %v; want %v", tc.dir, tc.path, got, err, tc.want)
		}
	}
	// Relative paths are taken from the working directory.
	t.Chdir(base)
	if got, err := Contains("www", "www/self.pem"); err != nil || !got {
		t.Errorf("relative: %v %v", got, err)
	}
}
