package web

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Contains reports whether the file at path would be reachable under dir:
// it is dir itself or lies below it, after both are made absolute and their
// symbolic links resolved (for a path that does not exist yet, its parent
// is resolved). Use it to refuse serving a directory that holds the TLS
// key, token files or recordings.
func Contains(dir, path string) (bool, error) {
	d, err := resolve(dir)
	if err != nil {
		return false, fmt.Errorf("web root: %w", err)
	}
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil
	}
	return rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)), nil
}

func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	r, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		parent, perr := resolve(filepath.Dir(abs))
		if perr != nil || filepath.Dir(abs) == abs {
			return abs, nil
		}
		return filepath.Join(parent, filepath.Base(abs)), nil
	}
	return r, err
}
