package filestamp

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func stampOf(t *testing.T, path string) Stamp {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return Of(fi)
}

// A file replaced by rename with the same size and mtime gets another
// stamp (Linux: inode and ctime); an untouched file keeps its stamp.
func TestStampTellsVersionsApart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	mtime := time.Unix(1_700_000_000, 0)
	for _, p := range []string{path, path + ".new"} {
		if err := os.WriteFile(p, []byte("same size"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	before := stampOf(t, path)
	if again := stampOf(t, path); again != before {
		t.Fatalf("stamp changed for an untouched file: %+v, %+v", before, again)
	}
	if !before.Modified().Equal(mtime) || before.Size != 9 {
		t.Fatalf("stamp %+v: want size 9, mtime %v", before, mtime)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		if after := stampOf(t, path); after == before {
			t.Fatalf("same stamp %+v after a replace by rename", after)
		}
	}
}
