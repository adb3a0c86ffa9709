package web

import (
	"html"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
)

// list writes the reference's HTML directory listing. Dotfiles, and links
// whose target is outside the root or missing, and hidden files (Options.Hide)
// are left out.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, name string, elems []string, dir *os.File) {
	entries, err := dir.ReadDir(-1)
	if err != nil {
		h.log.Debug("web: reading directory failed", "dir", name, "err", err)
		Error(w, r, http.StatusNotFound, "No permission to list directory")
		return
	}
	slices.SortFunc(entries, func(a, b os.DirEntry) int {
		return strings.Compare(strings.ToLower(a.Name()), strings.ToLower(b.Name()))
	})
	display := "/" + strings.Join(elems, "/")
	if len(elems) > 0 {
		display += "/"
	}
	title := "Directory listing for " + html.EscapeString(display)
	var b strings.Builder
	b.WriteString("<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<title>" + title + "</title>\n</head>\n<body>\n<h1>" + title + "</h1>\n<hr>\n<ul>\n")
	for _, e := range entries {
		n := e.Name()
		if n[0] == '.' {
			continue
		}
		fi, err := h.root.Stat(name + "/" + n) // follows links, inside the root only
		if err != nil || h.hidden(fi) {
			continue
		}
		shown, link := n, n
		if fi.IsDir() {
			shown, link = n+"/", n+"/"
		}
		if e.Type()&os.ModeSymlink != 0 {
			shown = n + "@"
		}
		b.WriteString("<li><a href=\"" + escapePath(link) + "\">" + html.EscapeString(shown) + "</a></li>\n")
	}
	b.WriteString("</ul>\n<hr>\n</body>\n</html>\n")

	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(b.Len()))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, b.String())
	}
}

// escapePath percent-encodes p as Python's urllib.parse.quote does: only
// letters, digits, "_.-~" and "/" stay as they are.
func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}
