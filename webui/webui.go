package webui

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/websockify-go/websockify/web"
)

//go:embed static
var files embed.FS

// FS returns the pages, rooted at the directory that holds index.html.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".png":  "image/png",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
}

// Handler serves the pages: GET and HEAD, "/" and any directory path ending
// in "/" give its index.html; anything else that is not a file is 404.
// POST, PUT, PATCH, DELETE and OPTIONS get 405, other methods 501, as with
// --web. It only sets headers, calls WriteHeader and writes a body of the
// announced length, so it works with the gateway's response writer.
func Handler() http.Handler {
	root := FS()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
			w.Header().Set("Allow", "GET, HEAD")
			web.Error(w, r, http.StatusMethodNotAllowed, "")
			return
		default:
			web.Error(w, r, http.StatusNotImplemented, fmt.Sprintf("Unsupported method ('%s')", r.Method))
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if strings.HasSuffix(r.URL.Path, "/") {
			name = path.Join(name, "index.html")
		}
		if name == "" || strings.HasPrefix(path.Base(name), ".") {
			name = "index.html"
		}
		data, err := fs.ReadFile(root, name)
		if err != nil {
			web.Error(w, r, http.StatusNotFound, "File not found")
			return
		}
		ct := types[path.Ext(name)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Length", strconv.Itoa(len(data)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(data)
		}
	})
}
