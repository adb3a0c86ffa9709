package sessions

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/tokens"
)

// Resolver looks a token up again: its target and expiry, or the token
// plugin's error.
type Resolver func(ctx context.Context, token string) (gateway.Endpoint, time.Time, error)

// Watcher reports changed tokens (Redis keyspace notifications) until ctx
// ends.
type Watcher func(ctx context.Context, changed func(token string)) error

// Revoker ends the sessions whose token no longer leads to their target
// (--revoke-sessions): the token is gone or refused (close 1008 "Token
// revoked"), leads elsewhere now, or its expiry (a JWT's exp) has passed.
// A token backend that fails ends nothing: sessions are kept until an
// answer says otherwise.
type Revoker struct {
	Local   Local
	Resolve Resolver
	// Interval, if positive, rechecks every session's token this often.
	Interval time.Duration
	// Watch, if set, reports changed tokens, rechecked at once.
	Watch Watcher
	// Fallback is the recheck interval once Watch has failed (Redis no
	// longer sends notifications); zero keeps Interval.
	Fallback time.Duration
	// Expiries ends sessions at their token's expiry (plugins whose
	// tokens expire: JWTTokenApi).
	Expiries bool
	Logger   *slog.Logger

	changed chan string
	failing bool // the last recheck found the backend failing (logged once)
}

// expiryTick is how often expiries are checked: sessions end at most this
// long after their token's exp.
const expiryTick = 200 * time.Millisecond

// recheckTimeout bounds one token's lookup during a recheck.
const recheckTimeout = 5 * time.Second

// Run revokes until ctx ends.
func (r *Revoker) Run(ctx context.Context) {
	r.changed = make(chan string, 1024)
	watchFailed := make(chan struct{})
	if r.Watch != nil {
		go func() {
			err := r.Watch(ctx, func(tok string) {
				select {
				case r.changed <- tok:
				default: // full: the next periodic recheck sees it
				}
			})
			if err != nil && ctx.Err() == nil {
				r.logger().Warn("revocation: change notifications stopped: rechecking every session's token instead", "err", err, "interval", r.Fallback)
				close(watchFailed)
			}
		}()
	}
	var expC <-chan time.Time
	if r.Expiries {
		exp := time.NewTicker(expiryTick)
		defer exp.Stop()
		expC = exp.C
	}
	var tick <-chan time.Time
	var ticker *time.Ticker
	if r.Interval > 0 {
		ticker = time.NewTicker(r.Interval)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-expC:
			r.expire(now)
		case <-tick:
			r.recheck(ctx, nil)
		case <-watchFailed:
			watchFailed = nil
			if r.Fallback > 0 && ticker != nil {
				ticker.Reset(r.Fallback)
			}
			r.recheck(ctx, nil)
		case tok := <-r.changed:
			set := map[string]bool{tok: true}
			for more := true; more; { // drain a burst of changes at once
				select {
				case t := <-r.changed:
					set[t] = true
				default:
					more = false
				}
			}
			r.recheck(ctx, set)
		}
	}
}

// expire ends the sessions whose token has expired.
func (r *Revoker) expire(now time.Time) {
	n := r.Local.StopMatching(func(si gateway.SessionInfo) bool {
		return !si.Expires.IsZero() && !now.Before(si.Expires)
	}, gateway.CauseRevoked, "Token expired")
	if n > 0 {
		r.logger().Info("revocation: ended sessions whose token expired", "sessions", n)
	}
}

// recheck looks up again the tokens of the open sessions (only those in
// only, if not nil) and ends the sessions they no longer lead to.
func (r *Revoker) recheck(ctx context.Context, only map[string]bool) {
	byToken := map[string][]gateway.SessionInfo{}
	for _, si := range r.Local.Sessions() {
		if si.Token != "" && (only == nil || only[si.Token]) {
			byToken[si.Token] = append(byToken[si.Token], si)
		}
	}
	for tok, list := range byToken {
		if ctx.Err() != nil {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, recheckTimeout)
		ep, _, err := r.Resolve(lctx, tok)
		cancel()
		reason := ""
		switch {
		case errors.Is(err, tokens.ErrNotFound), errors.Is(err, tokens.ErrInvalidToken):
			reason = "Token revoked"
		case err != nil:
			if !r.failing {
				r.logger().Warn("revocation: cannot recheck tokens, the token backend fails; sessions are kept", "err", err)
				r.failing = true
			}
			return
		}
		if r.failing {
			r.logger().Info("revocation: the token backend answers again")
			r.failing = false
		}
		ids := map[uint64]bool{}
		for _, si := range list {
			if reason != "" || si.Target != ep.String() {
				ids[si.ID] = true
			}
		}
		if len(ids) == 0 {
			continue
		}
		if reason == "" {
			reason = "Token revoked: it leads elsewhere now"
		}
		n := r.Local.StopMatching(func(si gateway.SessionInfo) bool { return ids[si.ID] }, gateway.CauseRevoked, reason)
		r.logger().Info("revocation: ended the sessions of a token", "token", tokens.Redact(tok), "sessions", n, "why", reason)
	}
}

func (r *Revoker) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
