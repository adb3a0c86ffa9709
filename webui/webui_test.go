package webui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", "wstelnet.html"},
		{"GET", "/wstelnet.html", 200, "text/html; charset=utf-8", "<title>wstelnet</title>"},
		{"GET", "/websock.js", 200, "text/javascript; charset=utf-8", "export class Websock"},
		{"GET", "/vendor/xterm/xterm.css", 200, "text/css; charset=utf-8", ".xterm"},
		{"HEAD", "/echo.html", 200, "text/html; charset=utf-8", ""},
		{"GET", "/../webui.go", 404, "", ""},
		{"GET", "/nope.html", 404, "", ""},
		{"GET", "/vendor", 404, "", ""},
		{"POST", "/", 405, "", ""},
		{"BREW", "/", 501, "", ""},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s %s: %d; want %d", tc.method, tc.path, rec.Code, tc.code)
			continue
		}
		if tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s: body lacks %q", tc.method, tc.path, tc.body)
		}
		if tc.method == "HEAD" && (rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0") {
			t.Errorf("HEAD: body %d bytes, Content-Length %q", rec.Body.Len(), rec.Header().Get("Content-Length"))
		}
		if tc.code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("405 without Allow")
		}
	}
}
