package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Pinger is a plugin with a remote backend (TokenRedis, the token APIs):
// Ping checks, without a token, that the backend answers. Readiness checks
// use it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Ping sends Redis a PING.
func (p *tokenRedis) Ping(ctx context.Context) error {
	if err := p.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Ping sends a HEAD request to the token API's origin (scheme, host and
// port of the URL template, path /): any HTTP answer, even an error
// status, shows that the API is reachable. Redirects are not followed.
func (p *tokenAPI) Ping(ctx context.Context) error {
	u, err := url.Parse(p.tpl.prefix + "TOKEN" + p.tpl.suffix)
	if err != nil {
		return fmt.Errorf("token API: %w", err)
	}
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, origin.String(), nil)
	if err != nil {
		return fmt.Errorf("token API: %w", err)
	}
	c := *p.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("token API %s: %w", origin, err)
	}
	resp.Body.Close()
	return nil
}
