package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwtTokenAPI is JWTTokenApi: the token is a compact JWS, or a compact JWE
// whose plaintext is such a JWS (decrypted and verified with the same key
// file), carrying the claims host, port and optionally nbf and exp.
type jwtTokenAPI struct {
	source     string
	path       string
	leeway     time.Duration
	requireExp bool
	now        func() time.Time
	log        *slog.Logger

	mu    sync.Mutex
	key   *jwtKey
	stamp fileStamp
	read  time.Time
}

func newJWTTokenAPI(source string, o Options) (Plugin, error) {
	if source == "" {
		return nil, errors.New("a key file is required as the token source")
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", source, err)
	}
	p := &jwtTokenAPI{source: source, path: abs, leeway: o.jwtLeeway(), requireExp: o.JWTRequireExp,
		now: o.now, log: o.logger()}
	k, err := p.loadKey()
	if err != nil {
		return nil, err
	}
	if k.short {
		p.log.Warn("the JWT symmetric key is shorter than the 256 bits RFC 7518 requires", "file", source)
	}
	return p, nil
}

// loadKey returns the key, re-reading the file when it changed.
func (p *jwtTokenAPI) loadKey() (*jwtKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fi, err := os.Stat(p.path)
	if err != nil {
		return nil, fmt.Errorf("error loading key file: %w", err)
	}
	st := stampOf(p.path, "", fi)
	if p.key != nil && st == p.stamp && p.read.Sub(st.Modified()) >= racyWindow {
		return p.key, nil
	}
	read := time.Now()
	data, err := readCapped(p.path, maxSmallFileLength)
	if err != nil {
		return nil, fmt.Errorf("error loading key file: %w", err)
	}
	k, err := parseJWTKey(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", p.source, err)
	}
	p.key, p.stamp, p.read = k, st, read
	return k, nil
}

func (p *jwtTokenAPI) Lookup(ctx context.Context, token string) (Target, error) {
	if len(token) > MaxJWTLength {
		return Target{}, fmt.Errorf("%w: JWT longer than %d bytes", ErrInvalidToken, MaxJWTLength)
	}
	k, err := p.loadKey()
	if err != nil {
		return Target{}, err
	}
	claims, err := p.verify(k, token)
	if err != nil {
		return Target{}, fmt.Errorf("%w: failed to parse token: %v", ErrInvalidToken, err)
	}
	return p.target(claims)
}

// verify returns the payload of a JWS, or of the JWS inside a JWE.
func (p *jwtTokenAPI) verify(k *jwtKey, token string) ([]byte, error) {
	switch strings.Count(token, ".") {
	case 2:
		return verifyJWS(k, token)
	case 4:
		if k.decrypt == nil {
			return nil, fmt.Errorf("a JWE cannot be decrypted with an %s", k.kind)
		}
		jwe, err := jose.ParseEncryptedCompact(token, k.keyAlgs, k.encAlgs)
		if err != nil {
			return nil, err
		}
		inner, err := jwe.Decrypt(k.decrypt)
		if err != nil {
			return nil, err
		}
		if len(inner) > MaxJWTLength || bytes.Count(inner, []byte(".")) != 2 {
			return nil, errors.New("the JWE does not hold a compact JWS")
		}
		return verifyJWS(k, string(inner))
	}
	return nil, errors.New("not a compact JWS or JWE")
}

func verifyJWS(k *jwtKey, token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, k.sigAlgs)
	if err != nil {
		return nil, err
	}
	return jws.Verify(k.verify)
}

// target checks the time claims and reads host and port.
func (p *jwtTokenAPI) target(payload []byte) (Target, error) {
	var c struct {
		Host *string         `json:"host"`
		Port json.RawMessage `json:"port"`
		NBF  *float64        `json:"nbf"`
		EXP  *float64        `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return Target{}, fmt.Errorf("%w: failed to parse token claims: %v", ErrInvalidToken, err)
	}
	now := float64(p.now().UnixNano()) / 1e9
	leeway := p.leeway.Seconds()
	switch {
	case c.NBF != nil && (math.IsNaN(*c.NBF) || now < *c.NBF-leeway):
		return Target{}, fmt.Errorf("%w: token can not be used yet", ErrInvalidToken)
	case c.EXP != nil && (math.IsNaN(*c.EXP) || now > *c.EXP+leeway):
		return Target{}, fmt.Errorf("%w: token has expired", ErrInvalidToken)
	case c.EXP == nil && p.requireExp:
		return Target{}, fmt.Errorf("%w: token has no exp claim", ErrInvalidToken)
	case c.Host == nil || c.Port == nil:
		return Target{}, fmt.Errorf("%w: token lacks host or port", ErrInvalidToken)
	}
	port, err := jsonPort(c.Port)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	t, err := hostPortTarget(*c.Host, port)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.EXP != nil {
		sec, frac := math.Modf(*c.EXP)
		t.Expires = time.Unix(int64(sec), int64(frac*1e9))
	}
	return t, nil
}
