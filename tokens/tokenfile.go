package tokens

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/websockify-go/websockify/internal/filestamp"
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
	stamps, escaping, err := f.stat()
	if err != nil {
		return nil, err
	}
	if err := f.load(stamps, escaping); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *tokenFile) Lookup(ctx context.Context, token string) (Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reload {
		stamps, escaping, err := f.stat()
		if err == nil && f.changed(stamps) {
			err = f.load(stamps, escaping)
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
// directory, whose mtime changes when files come and go. name is a file's
// name in the source directory (empty for a source that is a file).
type fileStamp struct {
	path string
	name string
	dir  bool
	filestamp.Stamp
}

// stat lists the token files (the source, or the regular files directly
// in the source directory, by name) with their stamps. A directory is
// read through an os.Root: a link in it counts only when it resolves
// inside the directory, never to /etc/passwd or a file elsewhere. The
// names of the entries refused for that are returned too.
func (f *tokenFile) stat() (stamps []fileStamp, escaping []string, err error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, nil, fmt.Errorf("token source: %w", err)
	}
	if !fi.IsDir() {
		return []fileStamp{stampOf(f.path, "", fi)}, nil, nil
	}
	root, err := os.OpenRoot(f.path)
	if err != nil {
		return nil, nil, fmt.Errorf("token source: %w", err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return nil, nil, fmt.Errorf("token source: %w", err)
	}
	stamps = []fileStamp{stampOf(f.path, "", fi)}
	for _, e := range entries {
		fi, err := root.Stat(e.Name())
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 {
				if _, serr := os.Stat(filepath.Join(f.path, e.Name())); serr == nil {
					escaping = append(escaping, e.Name()) // resolves, but outside
				}
			}
			continue // dangling symlinks
		}
		if !fi.Mode().IsRegular() {
			continue // subdirectories, sockets
		}
		stamps = append(stamps, stampOf(filepath.Join(f.path, e.Name()), e.Name(), fi))
	}
	return stamps, escaping, nil
}

func stampOf(path, name string, fi os.FileInfo) fileStamp {
	return fileStamp{path: path, name: name, dir: fi.IsDir(), Stamp: filestamp.Of(fi)}
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
// Errors name the file (and the parser the line in it). escaping lists
// the links refused for resolving outside the directory, logged here,
// once per change rather than per lookup.
func (f *tokenFile) load(stamps []fileStamp, escaping []string) error {
	now := time.Now()
	for _, name := range escaping {
		f.log.Error("Token file links outside the token directory: ignored", "file", filepath.Join(f.source, name))
	}
	p := newTokenFileParser(f.source, f.log)
	var root *os.Root
	defer func() {
		if root != nil {
			root.Close()
		}
	}()
	for _, s := range stamps {
		if s.dir {
			continue
		}
		var data []byte
		var err error
		if s.name == "" {
			data, err = readCapped(s.path, MaxTokenFileSize)
		} else {
			if root == nil {
				if root, err = os.OpenRoot(f.path); err != nil {
					return fmt.Errorf("token source: %w", err)
				}
			}
			data, err = readCappedIn(root, s.name, MaxTokenFileSize)
			p.file(filepath.Join(f.source, s.name))
		}
		if err != nil {
			f.log.Error("Error loading token file", "file", s.path, "err", err)
			return fmt.Errorf("token file %s: %w", s.path, err)
		}
		p.parse(data)
	}
	f.targets, f.stamps, f.loadedAt = p.targets, stamps, now
	f.log.Debug("token file loaded", "source", f.source, "tokens", len(p.targets))
	return nil
}

// readCappedIn is readCapped for a file opened through root.
func readCappedIn(root *os.Root, name string, max int64) ([]byte, error) {
	fh, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readAllCapped(fh, name, max)
}

// readCapped reads a whole file of at most max bytes.
func readCapped(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readAllCapped(fh, path, max)
}

func readAllCapped(r io.Reader, name string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, max)
	}
	return data, nil
}
