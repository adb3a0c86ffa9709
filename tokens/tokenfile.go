package tokens

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/websockify-go/websockify/filestamp"
)

// tokenFile is ReadOnlyTokenFile (reload false: loaded once, at startup)
// and TokenFile (reload true: reloaded whenever a file changed).
type tokenFile struct {
	source string // as given, for messages
	path   string // absolute
	reload bool
	log    *slog.Logger

	mu       sync.Mutex
	targets  map[string]Target
	stamps   []fileStamp
	loadedAt time.Time
}

// racyWindow is how close to a file's modification time a load must have
// happened for the cache to be distrusted: a file rewritten twice within
// the file system's timestamp granularity keeps its size and mtime.
const racyWindow = 2 * time.Second

func newReadOnlyTokenFile(source string, o Options) (Plugin, error) {
	return openTokenFile(source, false, o)
}

func newTokenFile(source string, o Options) (Plugin, error) {
	return openTokenFile(source, true, o)
}

func openTokenFile(source string, reload bool, o Options) (*tokenFile, error) {
	if source == "" {
		return nil, fmt.Errorf("a token file or directory is required as the token source")
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("token source %s: %w", source, err)
	}
	f := &tokenFile{source: source, path: abs, reload: reload, log: o.logger()}
	stamps, err := f.stat()
	if err != nil {
		return nil, err
	}
	if err := f.load(stamps); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *tokenFile) Lookup(ctx context.Context, token string) (Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reload {
		stamps, err := f.stat()
		if err == nil && f.changed(stamps) {
			err = f.load(stamps)
		}
		if err != nil {
			return Target{}, err
		}
	}
	t, ok := f.targets[token]
	if !ok {
		return Target{}, ErrNotFound
	}
	return t, nil
}

// fileStamp identifies one version of a token file, or of the source
// directory, whose mtime changes when files come and go.
type fileStamp struct {
	path string
	dir  bool
	filestamp.Stamp
}

// stat lists the token files (the source, or the regular files directly
// in the source directory, by name) with their stamps.
func (f *tokenFile) stat() ([]fileStamp, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, fmt.Errorf("token source: %w", err)
	}
	if !fi.IsDir() {
		return []fileStamp{stampOf(f.path, fi)}, nil
	}
	entries, err := os.ReadDir(f.path)
	if err != nil {
		return nil, fmt.Errorf("token source: %w", err)
	}
	stamps := []fileStamp{stampOf(f.path, fi)}
	for _, e := range entries {
		p := filepath.Join(f.path, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // dangling symlinks, subdirectories, sockets
		}
		stamps = append(stamps, stampOf(p, fi))
	}
	return stamps, nil
}

func stampOf(path string, fi os.FileInfo) fileStamp {
	return fileStamp{path: path, dir: fi.IsDir(), Stamp: filestamp.Of(fi)}
}

// changed reports whether stamps differ from the loaded ones, or the load
// was too close to a modification to trust them.
func (f *tokenFile) changed(stamps []fileStamp) bool {
	if !slices.Equal(stamps, f.stamps) {
		return true
	}
	for _, s := range stamps {
		if f.loadedAt.Sub(s.Modified()) < racyWindow {
			return true
		}
	}
	return false
}

// load parses the files in stamps and replaces the table on success.
func (f *tokenFile) load(stamps []fileStamp) error {
	now := time.Now()
	p := newTokenFileParser(f.source, f.log)
	for _, s := range stamps {
		if s.dir {
			continue
		}
		data, err := readCapped(s.path, MaxTokenFileSize)
		if err != nil {
			f.log.Error("Error loading token file", "file", s.path, "err", err)
			return fmt.Errorf("token source: %w", err)
		}
		p.parse(data)
	}
	f.targets, f.stamps, f.loadedAt = p.targets, stamps, now
	f.log.Debug("token file loaded", "source", f.source, "tokens", len(p.targets))
	return nil
}

// readCapped reads a whole file of at most max bytes.
func readCapped(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, max)
	}
	return data, nil
}
