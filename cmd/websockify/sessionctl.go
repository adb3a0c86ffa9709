package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/internal/route"
	"github.com/websockify-go/websockify/sessions"
	"github.com/websockify-go/websockify/tokens"
)

// Recheck intervals of --revoke-sessions, by token plugin.
const (
	fileRecheck      = time.Second      // token files and directories: a stat per lookup
	redisRecheck     = time.Second      // Redis without keyspace notifications
	redisSafetyCheck = 30 * time.Second // with them: notifications lost while disconnected
)

// startRevocation runs --revoke-sessions for the sessions of srv until
// ctx ends: how tokens are rechecked depends on the plugin, and is logged.
func startRevocation(ctx context.Context, cfg *cmdline.Config, srv *gateway.Server, rt *route.Router, log *slog.Logger) error {
	if !cfg.Sessions.RevokeSessions {
		return nil
	}
	if rt == nil || rt.Tokens == nil {
		return errors.New("--revoke-sessions needs --token-plugin: sessions without a token cannot be revoked")
	}
	rv := &sessions.Revoker{Local: srv, Resolve: rt.Resolve, Logger: log}
	plugin := strings.TrimPrefix(cfg.TokenPlugin, "websockify.token_plugins.")
	switch plugin {
	case "TokenFile", "TokenFileName", "UnixDomainSocketDirectory":
		rv.Interval = fileRecheck
		log.Info("revocation: token file changes end their sessions (rechecked every second)")
	case "ReadOnlyTokenFile":
		log.Warn("revocation: ReadOnlyTokenFile never reloads its file: only expiries end sessions (use TokenFile to revoke by editing the file)")
	case "JWTTokenApi":
		log.Info("revocation: sessions end at their JWT's exp")
	case "TokenRedis":
		rb, ok := rt.Tokens.(tokens.RedisBacked)
		if !ok {
			return errors.New("TokenRedis without its Redis client")
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		w, why := sessions.KeyspaceWatcher(wctx, rb.RedisClient(), rb.RedisNamespace())
		cancel()
		if w != nil {
			rv.Watch, rv.Interval = w, redisSafetyCheck
			log.Info("revocation: Redis keyspace notifications end the sessions of changed or deleted keys at once")
		} else {
			rv.Interval = redisRecheck
			log.Info("revocation: no Redis keyspace notifications ("+why+"): every session's key is rechecked every second", "interval", redisRecheck)
		}
	default: // BaseTokenAPI, JSONTokenApi
		rv.Interval = cfg.Sessions.RevokeInterval
		log.Info("revocation: the token API is re-asked for every session's token", "interval", rv.Interval)
	}
	go rv.Run(ctx)
	return nil
}
