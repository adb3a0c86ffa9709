package tokens

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenAPIServer answers /plain/<token>, /json/<token> and ?token= from a
// table and records the request URIs it saw.
type tokenAPIServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newTokenAPIServer(t *testing.T, bodies map[string]string) *tokenAPIServer {
	s := &tokenAPIServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.RequestURI)
		s.mu.Unlock()
		key := r.URL.Query().Get("token")
		if key == "" {
			key = r.URL.Path
		}
		switch {
		case key == "/slow" || key == "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case key == "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case key == "/huge":
			fmt.Fprint(w, strings.Repeat("x", MaxAPIResponse+1))
			return
		}
		body, ok := bodies[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenAPIServer) lastURI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return ""
	}
	return s.seen[len(s.seen)-1]
}

func TestBaseTokenAPI(t *testing.T) {
	s := newTokenAPIServer(t, map[string]string{
		"/t/a":       "remote_host:5900",
		"/t/nl":      "10.0.0.2:5901\n",
		"/t/v6":      "::1:5902\r\n",
		"/t/v6b":     "[::1]:5903",
		"/t/bad":     "no port here",
		"/t/a b?#&/": "weird:1",
	})
	p := mustNew(t, "BaseTokenAPI", s.URL+"/t/%s", Options{})
	lookupOK(t, p, "a", tcp("remote_host:5900"))
	lookupOK(t, p, "nl", tcp("10.0.0.2:5901"))
	lookupOK(t, p, "v6", tcp("[::1]:5902"))
	lookupOK(t, p, "v6b", tcp("[::1]:5903"))
	lookupOK(t, p, "a b?#&/", tcp("weird:1"))
	if got, want := s.lastURI(), "/t/a%20b%3F%23&%2F"; got != want {
		t.Errorf("API saw %q; want %q", got, want)
	}
	lookupErr(t, p, "missing", ErrNotFound)
	lookupErr(t, p, "bad", nil)
	lookupErr(t, p, "..", ErrInvalidToken)
	lookupErr(t, p, ".", ErrInvalidToken)
	lookupErr(t, p, strings.Repeat("x", MaxTokenLength+1), ErrInvalidToken)
}

// TestTokenAPIEscaping checks that the API sees exactly one escaped path
// segment or query value, whatever the token holds.
func TestTokenAPIEscaping(t *testing.T) {
	s := newTokenAPIServer(t, nil)
	path := mustNew(t, "BaseTokenAPI", s.URL+"/api/%s/target?fmt=plain", Options{})
	query := mustNew(t, "JSONTokenApi", s.URL+"/api?x=1&token=%s&y=%%41", Options{})
	for _, tok := range []string{"../admin", "a/b", "x?y=1", "x#frag", "a&token=evil", "%2e%2e", "sp ace", "ü", "a+b", "@host"} {
		t.Run(tok, func(t *testing.T) {
			lookupErr(t, path, tok, ErrNotFound)
			u := s.lastURI()
			seg := strings.TrimSuffix(strings.TrimPrefix(u, "/api/"), "/target?fmt=plain")
			if strings.ContainsAny(seg, "/?#") || seg == u {
				t.Errorf("path URI %q: token not one segment", u)
			}
			lookupErr(t, query, tok, ErrNotFound)
			u = s.lastURI()
			r, _ := http.NewRequest("GET", "http://h"+u, nil)
			q := r.URL.Query()
			if got := q["token"]; len(got) != 1 || got[0] != tok {
				t.Errorf("query URI %q: token values %q; want [%q]", u, got, tok)
			}
			if q.Get("y") != "A" || q.Get("x") != "1" {
				t.Errorf("query URI %q: template values changed", u)
			}
		})
	}
}

func TestJSONTokenApi(t *testing.T) {
	s := newTokenAPIServer(t, map[string]string{
		"/j/num":    `{"host": "remote_host", "port": 5900}`,
		"/j/str":    `{"host": "remote_host", "port": "5901"}`,
		"/j/v6":     `{"host": "::1", "port": 5902}`,
		"/j/unix":   `{"host": "unix_socket", "port": "/run/x.sock"}`,
		"/j/noport": `{"host": "h"}`,
		"/j/bad":    `{"host": `,
		"/j/float":  `{"host": "h", "port": 1.5}`,
	})
	p := mustNew(t, "JSONTokenApi", s.URL+"/j/%s", Options{})
	lookupOK(t, p, "num", tcp("remote_host:5900"))
	lookupOK(t, p, "str", tcp("remote_host:5901"))
	lookupOK(t, p, "v6", tcp("[::1]:5902"))
	lookupOK(t, p, "unix", Target{Network: "unix", Address: "/run/x.sock"})
	for _, tok := range []string{"noport", "bad", "float"} {
		lookupErr(t, p, tok, nil)
	}
}

func TestTokenAPIFailures(t *testing.T) {
	s := newTokenAPIServer(t, nil)
	p := mustNew(t, "BaseTokenAPI", s.URL+"/%s", Options{HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
	lookupErr(t, p, "fail", nil)
	lookupErr(t, p, "huge", nil)
	start := time.Now()
	if err := lookupErr(t, p, "slow", nil); strings.Contains(err.Error(), "slow") {
		t.Errorf("error %q reveals the token", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	// The context bounds the request too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	slow := mustNew(t, "BaseTokenAPI", s.URL+"/%s", Options{})
	if _, err := slow.Lookup(ctx, "slow"); err == nil {
		t.Error("no error after the context ended")
	}
	// Unreachable API.
	s.Close()
	lookupErr(t, p, "x", nil)

	def := mustNew(t, "BaseTokenAPI", "http://h/%s", Options{}).(*tokenAPI)
	if def.client.Timeout != DefaultAPITimeout {
		t.Errorf("default timeout %v", def.client.Timeout)
	}
}

func TestURLTemplate(t *testing.T) {
	for _, tc := range []struct {
		src     string
		inQuery bool
		pre     string
	}{
		{"http://api/t/%s", false, "http://api/t/"},
		{"https://api/t/%s.json", false, "https://api/t/"},
		{"http://api/?token=%s", true, "http://api/?token="},
		{"http://api/%%41/%s", false, "http://api/%41/"},
	} {
		got, err := parseURLTemplate(tc.src)
		if err != nil || got.inQuery != tc.inQuery || got.prefix != tc.pre {
			t.Errorf("parseURLTemplate(%q) = %+v, %v", tc.src, got, err)
		}
	}
	for _, src := range []string{
		"", "http://api/", "http://api/%s/%s", "http://%s/", "http://api%s/", "http://api/#%s",
		"ftp://api/%s", "/relative/%s", "http://api/%d/%s", "http://api/%2F/%s", "http://api/%s%",
	} {
		if got, err := parseURLTemplate(src); err == nil {
			t.Errorf("parseURLTemplate(%q) = %+v; want an error", src, got)
		}
	}
}
