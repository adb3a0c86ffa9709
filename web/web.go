package web

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options configures a Handler. The zero value serves files and listings.
type Options struct {
	// FileOnly answers 404 instead of listing a directory without an
	// index file (--file-only).
	FileOnly bool

	// Hide names files that are never served nor listed, whatever the
	// spelling of the request (a link, a hard link, percent-encoding): the
	// TLS certificate and key when they lie under the root. A file is
	// recognised by its identity (device and inode), looked up again at
	// every request, so a certificate replaced on disk stays hidden.
	Hide []string

	// Logger receives errors met while serving. Nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves the files under one directory. It is safe for concurrent
// use. Close releases the directory.
type Handler struct {
	root *os.Root
	dir  string
	real string // dir with its symbolic links resolved
	o    Options
	log  *slog.Logger
}

// New opens dir and returns a Handler serving it.
func New(dir string, o Options) (*Handler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open web root: %w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("open web root: %w", err)
	}
	h := &Handler{root: root, dir: dir, real: real, o: o, log: o.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// Dir is the directory served.
func (h *Handler) Dir() string { return h.dir }

// Close releases the directory; later requests get 404.
func (h *Handler) Close() error { return h.root.Close() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		w.Header().Set("Allow", "GET, HEAD")
		Error(w, r, http.StatusMethodNotAllowed, "")
		return
	default:
		Error(w, r, http.StatusNotImplemented, fmt.Sprintf("Unsupported method ('%s')", r.Method))
		return
	}
	elems, ok := splitPath(r.URL.Path)
	if !ok {
		Error(w, r, http.StatusNotFound, "File not found")
		return
	}
	name := "."
	if len(elems) > 0 {
		name = strings.Join(elems, "/")
	}
	f, fi, err := h.open(name)
	if err != nil {
		Error(w, r, http.StatusNotFound, "File not found")
		return
	}
	defer f.Close()
	trailing := strings.HasSuffix(r.URL.Path, "/")
	switch {
	case fi.IsDir() && !trailing:
		redirectToDir(w, r, elems)
	case fi.IsDir():
		h.serveDir(w, r, name, elems, f)
	case trailing || !fi.Mode().IsRegular():
		Error(w, r, http.StatusNotFound, "File not found")
	default:
		h.serveFile(w, r, name, f, fi)
	}
}

// splitPath turns a request path into names under the root. Empty
// elements are dropped; ".", ".." and other names starting with a dot, and
// names holding NUL, make the path unservable.
func splitPath(p string) ([]string, bool) {
	var elems []string
	for _, e := range strings.Split(p, "/") {
		switch {
		case e == "":
		case e[0] == '.' || strings.ContainsRune(e, 0):
			return nil, false
		default:
			elems = append(elems, e)
		}
	}
	return elems, true
}

// open opens name under the root without blocking on a FIFO and without
// following a symbolic link out of the root.
func (h *Handler) open(name string) (*os.File, fs.FileInfo, error) {
	if h.reachesDotfile(name) {
		return nil, nil, fs.ErrNotExist
	}
	f, err := h.root.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if h.hidden(fi) {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, fi, nil
}

// hidden reports whether fi is one of the files of Options.Hide.
func (h *Handler) hidden(fi fs.FileInfo) bool {
	if !fi.Mode().IsRegular() {
		return false
	}
	for _, p := range h.o.Hide {
		if hfi, err := os.Stat(p); err == nil && os.SameFile(fi, hfi) {
			return true
		}
	}
	return false
}

// reachesDotfile reports whether name, once its symbolic links are
// resolved, names or passes through a dotfile (a link "ref" to
// "../.secret" must not serve the secret). The root itself already keeps
// every link inside it.
func (h *Handler) reachesDotfile(name string) bool {
	real, err := filepath.EvalSymlinks(filepath.Join(h.dir, name))
	if err != nil {
		return false // missing: the open fails on its own
	}
	rel, err := filepath.Rel(h.real, real)
	if err != nil {
		return true
	}
	for _, e := range strings.Split(rel, string(filepath.Separator)) {
		if e != "." && e != "" && e[0] == '.' {
			return true
		}
	}
	return false
}

// redirectToDir answers 301 to the directory's path with a slash, keeping
// the query. The Location is rebuilt from the cleaned elements, so it
// starts with exactly one "/" and never names another host.
func redirectToDir(w http.ResponseWriter, r *http.Request, elems []string) {
	loc := "/" + escapePath(strings.Join(elems, "/"))
	if len(elems) > 0 {
		loc += "/"
	}
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	hd := w.Header()
	hd.Set("Location", loc)
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusMovedPermanently)
}

func (h *Handler) serveDir(w http.ResponseWriter, r *http.Request, name string, elems []string, dir *os.File) {
	for _, index := range []string{"index.html", "index.htm"} {
		f, fi, err := h.open(name + "/" + index)
		if err != nil {
			continue
		}
		defer f.Close()
		if fi.Mode().IsRegular() {
			h.serveFile(w, r, index, f, fi)
			return
		}
	}
	if h.o.FileOnly {
		Error(w, r, http.StatusNotFound, "")
		return
	}
	h.list(w, r, name, elems, dir)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string, f *os.File, fi fs.FileInfo) {
	mtime := fi.ModTime().UTC().Truncate(time.Second)
	hd := w.Header()
	hd.Set("Last-Modified", mtime.Format(http.TimeFormat))
	hd.Set("X-Content-Type-Options", "nosniff")
	if notModified(r, mtime) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", contentType(name))
	hd.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// Send exactly the announced length, even if the file changes meanwhile.
	n, err := io.CopyN(w, f, fi.Size())
	if err != nil && !errors.Is(err, io.EOF) {
		h.log.Debug("web: sending file failed", "file", name, "sent", n, "err", err)
	} else if n < fi.Size() {
		h.log.Warn("web: file shrank while being sent", "file", name, "sent", n, "size", fi.Size())
	}
}

// notModified applies If-Modified-Since, unless If-None-Match is present,
// as the reference does.
func notModified(r *http.Request, mtime time.Time) bool {
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || r.Header.Get("If-None-Match") != "" {
		return false
	}
	t, err := http.ParseTime(ims)
	return err == nil && !mtime.After(t)
}

// Error writes a small HTML error page with code and msg (the status text
// when empty).
func Error(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if msg == "" {
		msg = http.StatusText(code)
	}
	body := fmt.Sprintf("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Error response</title></head>\n"+
		"<body>\n<h1>Error response</h1>\n<p>Error code: %d</p>\n<p>Message: %s.</p>\n</body>\n</html>\n",
		code, html.EscapeString(msg))
	hd := w.Header()
	hd.Set("Content-Type", "text/html;charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}
