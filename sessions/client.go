package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client talks to the session API of an admin listener.
type Client struct {
	base  string // http://host:port, or http://unix for a Unix socket
	token string
	hc    *http.Client
}

// NewClient connects to addr: "HOST:PORT", "http://HOST:PORT" or
// "unix:/path". tokenFile, if set, holds the bearer token.
func NewClient(addr, tokenFile string) (*Client, error) {
	c := &Client{hc: &http.Client{Timeout: 10 * time.Second}}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		path := strings.TrimPrefix(addr, "unix:")
		if path == "" {
			return nil, errors.New("unix: needs the socket's path")
		}
		c.base = "http://unix"
		c.hc.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
	case strings.HasPrefix(addr, "http://"):
		c.base = strings.TrimSuffix(addr, "/")
	case strings.Contains(addr, "://"):
		return nil, fmt.Errorf("admin address %q: use HOST:PORT, http://HOST:PORT or unix:/path", addr)
	default:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("admin address %q: %w", addr, err)
		}
		c.base = "http://" + addr
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	return c, nil
}

// APIError is an answer other than 200.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}

// do sends a request and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &APIError{Status: resp.StatusCode, Msg: msg}
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = body
		return nil
	}
	return json.Unmarshal(body, out)
}

// List returns the sessions (of the fleet with all).
func (c *Client) List(ctx context.Context, all bool) (*List, json.RawMessage, error) {
	var raw json.RawMessage
	q := url.Values{}
	if all {
		q.Set("all", "1")
	}
	if err := c.do(ctx, http.MethodGet, "/sessions", q, &raw); err != nil {
		return nil, nil, err
	}
	var l List
	return &l, raw, json.Unmarshal(raw, &l)
}

// Show returns one session, as the API's JSON.
func (c *Client) Show(ctx context.Context, id uint64) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/sessions/%d", id), nil, &raw)
	return raw, err
}

// Kill ends session id.
func (c *Client) Kill(ctx context.Context, id uint64, reason string) error {
	q := url.Values{}
	if reason != "" {
		q.Set("reason", reason)
	}
	var e Ended
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/sessions/%d", id), q, &e)
}

// KillToken ends the sessions of token (on every instance with all).
func (c *Client) KillToken(ctx context.Context, token string, all bool, reason string) (*Ended, error) {
	q := url.Values{"token": {token}}
	if all {
		q.Set("all", "1")
	}
	if reason != "" {
		q.Set("reason", reason)
	}
	var e Ended
	return &e, c.do(ctx, http.MethodDelete, "/sessions", q, &e)
}
