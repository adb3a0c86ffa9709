package tokens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// maxNameLength is the longest file name most file systems allow.
const maxNameLength = 255

// CheckName reports whether token can name a file directly inside a
// directory: one clean path component of at most 255 bytes of valid UTF-8,
// without '/', '\', NUL or other control characters, and without "..".
// Percent escapes are not decoded here (the query already was), so "%2e"
// is three literal characters. The error wraps ErrInvalidToken.
func CheckName(token string) error {
	switch {
	case token == "" || token == ".":
		return fmt.Errorf("%w: empty file name", ErrInvalidToken)
	case len(token) > maxNameLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxNameLength)
	case strings.Contains(token, ".."):
		return fmt.Errorf("%w: contains \"..\"", ErrInvalidToken)
	case strings.ContainsAny(token, `/\`):
		return fmt.Errorf("%w: contains a path separator", ErrInvalidToken)
	case !utf8.ValidString(token):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidToken)
	}
	for _, r := range token {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: contains a control character", ErrInvalidToken)
		}
	}
	return nil
}

// tokenDir is a directory in which tokens name entries. Every lookup opens
// it as an os.Root, so no name, symlink included, resolves outside it.
type tokenDir struct {
	source string
	path   string // absolute
}

func openTokenDir(source, plugin string) (tokenDir, error) {
	abs, err := filepath.Abs(source)
	if err != nil || source == "" {
		return tokenDir{}, fmt.Errorf("%s plugin requires a directory", plugin)
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return tokenDir{}, fmt.Errorf("%s plugin requires a directory: %q is not one", plugin, source)
	}
	return tokenDir{source: source, path: abs}, nil
}

// open runs fn on the root for a checked name and maps the errors: a
// missing entry is ErrNotFound, one that leads outside the directory is
// ErrInvalidToken, anything else is a backend failure.
func (d tokenDir) open(token string, fn func(*os.Root) error) error {
	if err := CheckName(token); err != nil {
		return err
	}
	root, err := os.OpenRoot(d.path)
	if err != nil {
		return fmt.Errorf("token directory: %w", err)
	}
	defer root.Close()
	err = fn(root)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // its path is the token: keep it out of errors and logs
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("token directory: %w", err)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidToken):
		return err
	}
	return fmt.Errorf("%w: %v", ErrInvalidToken, err)
}

// tokenFileName is TokenFileName: the file DIR/TOKEN holds "host:port".
type tokenFileName struct{ dir tokenDir }

func newTokenFileName(source string, o Options) (Plugin, error) {
	d, err := openTokenDir(source, "TokenFileName")
	if err != nil {
		return nil, err
	}
	return &tokenFileName{dir: d}, nil
}

func (p *tokenFileName) Lookup(ctx context.Context, token string) (Target, error) {
	var data []byte
	err := p.dir.open(token, func(root *os.Root) error {
		f, err := root.Open(token)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return ErrNotFound
		}
		data, err = io.ReadAll(io.LimitReader(f, maxSmallFileLength+1))
		if err == nil && len(data) > maxSmallFileLength {
			err = fmt.Errorf("larger than %d bytes", maxSmallFileLength)
		}
		return err
	})
	if err != nil {
		return Target{}, err
	}
	t, err := ParseTarget(string(data))
	if err != nil {
		return Target{}, fmt.Errorf("token file in %s: %w", p.dir.source, err)
	}
	return t, nil
}

// unixSocketDir is UnixDomainSocketDirectory: DIR/TOKEN is a Unix socket.
type unixSocketDir struct{ dir tokenDir }

func newUnixDomainSocketDirectory(source string, o Options) (Plugin, error) {
	d, err := openTokenDir(source, "UnixDomainSocketDirectory")
	if err != nil {
		return nil, err
	}
	return &unixSocketDir{dir: d}, nil
}

func (p *unixSocketDir) Lookup(ctx context.Context, token string) (Target, error) {
	err := p.dir.open(token, func(root *os.Root) error {
		fi, err := root.Stat(token)
		if err != nil {
			return err
		}
		if fi.Mode().Type() != fs.ModeSocket {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return Target{}, err
	}
	return Target{Network: "unix", Address: filepath.Join(p.dir.path, token)}, nil
}
