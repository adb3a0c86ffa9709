package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// tokenAPI is BaseTokenAPI (plain "host:port" body) and JSONTokenApi
// (JSON {"host": ..., "port": ...} body): GET the source URL with the token
// put in place of its %s.
type tokenAPI struct {
	tpl    urlTemplate
	json   bool
	client *http.Client
}

func newBaseTokenAPI(source string, o Options) (Plugin, error) {
	return newTokenAPI(source, false, o)
}

func newJSONTokenAPI(source string, o Options) (Plugin, error) {
	return newTokenAPI(source, true, o)
}

func newTokenAPI(source string, isJSON bool, o Options) (*tokenAPI, error) {
	tpl, err := parseURLTemplate(source)
	if err != nil {
		return nil, err
	}
	c := o.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: DefaultAPITimeout}
	}
	if c.CheckRedirect == nil && !o.APIRedirectAnyHost {
		cc := *c
		cc.CheckRedirect = sameOriginRedirects
		c = &cc
	}
	return &tokenAPI{tpl: tpl, json: isJSON, client: c}, nil
}

// maxAPIRedirects bounds the redirects of one lookup.
const maxAPIRedirects = 10

// sameOriginRedirects follows a token API's redirects only to the scheme,
// host and port of the original request: a token API that can be made to
// redirect (an open redirect, a compromised reverse proxy) must not turn
// websockify into a client of any host it names. The error names neither
// URL: both may hold the token.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxAPIRedirects {
		return fmt.Errorf("stopped after %d redirects", maxAPIRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(originHostPort(req.URL), originHostPort(first)) {
		return fmt.Errorf("redirect to another origin (%s://%s) refused", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// originHostPort is u's host and port, the port made explicit.
func originHostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// urlTemplate is a URL with one %s: the token goes between prefix and
// suffix, escaped for where it stands.
type urlTemplate struct {
	prefix, suffix string
	inQuery        bool // after '?': url.QueryEscape; else url.PathEscape
}

// parseURLTemplate reads the reference's "%s" template: exactly one %s,
// "%%" for a literal percent sign, no other % directive (so percent escapes
// in the template are written %%2F). The %s must stand in the path or the
// query of an http or https URL.
func parseURLTemplate(src string) (urlTemplate, error) {
	var parts [2]strings.Builder
	n := 0
	for i := 0; i < len(src); i++ {
		if src[i] != '%' {
			parts[min(n, 1)].WriteByte(src[i])
			continue
		}
		if i+1 >= len(src) {
			return urlTemplate{}, errors.New("URL template ends with a lone %")
		}
		i++
		switch src[i] {
		case '%':
			parts[min(n, 1)].WriteByte('%')
		case 's':
			n++
		default:
			return urlTemplate{}, fmt.Errorf("URL template has %%%c; only %%s (the token) and %%%% are allowed", src[i])
		}
	}
	if n != 1 {
		return urlTemplate{}, fmt.Errorf("URL template must contain %%s exactly once, not %d times", n)
	}
	t := urlTemplate{prefix: parts[0].String(), suffix: parts[1].String()}
	u, err := url.Parse(t.prefix + "TOKEN" + t.suffix)
	if err != nil {
		return urlTemplate{}, fmt.Errorf("URL template: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return urlTemplate{}, errors.New("URL template must be an http:// or https:// URL")
	}
	rest, _ := strings.CutPrefix(t.prefix, u.Scheme+"://")
	switch {
	case strings.Contains(t.prefix, "#"):
		return urlTemplate{}, errors.New("URL template has %s in the fragment")
	case strings.Contains(t.prefix, "?"):
		t.inQuery = true
	case !strings.Contains(rest, "/"):
		return urlTemplate{}, errors.New("URL template must have %s in the path or the query, not in the host")
	}
	return t, nil
}

// expand puts the escaped token into the template.
func (t urlTemplate) expand(token string) (string, error) {
	if t.inQuery {
		return t.prefix + url.QueryEscape(token) + t.suffix, nil
	}
	if token == "." || token == ".." {
		return "", fmt.Errorf("%w: a dot segment in a URL path", ErrInvalidToken)
	}
	return t.prefix + url.PathEscape(token) + t.suffix, nil
}

func (p *tokenAPI) Lookup(ctx context.Context, token string) (Target, error) {
	if len(token) > MaxTokenLength {
		return Target{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLength)
	}
	u, err := p.tpl.expand(token)
	if err != nil {
		return Target{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Target{}, fmt.Errorf("token API request: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// The URL holds the token: keep it out of the error (and the log).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Target{}, fmt.Errorf("token API %s: %w", p.tpl.prefix, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return Target{}, ErrNotFound
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return Target{}, fmt.Errorf("token API: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAPIResponse+1))
	if err != nil {
		return Target{}, fmt.Errorf("token API: read response: %w", err)
	}
	if len(body) > MaxAPIResponse {
		return Target{}, fmt.Errorf("token API: response larger than %d bytes", MaxAPIResponse)
	}
	var t Target
	if p.json {
		t, err = parseJSONTarget(body)
	} else {
		t, err = ParseTarget(string(body))
	}
	if err != nil {
		return Target{}, fmt.Errorf("token API response: %w", err)
	}
	return t, nil
}

// parseJSONTarget reads {"host": "h", "port": p} with p a number or a
// string.
func parseJSONTarget(body []byte) (Target, error) {
	var obj struct {
		Host *string         `json:"host"`
		Port json.RawMessage `json:"port"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return Target{}, fmt.Errorf("decode JSON: %w", err)
	}
	if obj.Host == nil || obj.Port == nil {
		return Target{}, errors.New(`JSON needs "host" and "port"`)
	}
	port, err := jsonPort(obj.Port)
	if err != nil {
		return Target{}, err
	}
	return hostPortTarget(*obj.Host, port)
}
