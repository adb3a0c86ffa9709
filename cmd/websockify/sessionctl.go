package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
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

// startSessionControl sets up what acts on open sessions: the fleet
// registry (TokenRedis or --session-registry), --revoke-sessions and the
// session API of the admin listener. stop ends what it started and waits
// for the registry to remove this instance's entries.
func startSessionControl(ctx context.Context, cfg *cmdline.Config, srv *gateway.Server, rt *route.Router, op *operating, log *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop = func() {
		cancel()
		wg.Wait()
	}
	api := &sessions.API{Local: srv, Logger: log}
	reg, err := fleetRegistry(cfg, srv, rt, op, log)
	if err != nil {
		stop()
		return nil, err
	}
	if reg != nil {
		srv.TokenElsewhere = reg.Elsewhere
		api.Fleet, api.Instance = reg, reg.Instance()
		wg.Add(1)
		go func() {
			defer wg.Done()
			reg.Run(ctx)
		}()
	}
	if err := startRevocation(ctx, cfg, srv, rt, log); err != nil {
		stop()
		return nil, err
	}
	op.private = append(op.private, api.Register)
	return stop, nil
}

// fleetRegistry is the fleet's session registry: --session-registry's
// Redis, else TokenRedis's own; nil without either.
func fleetRegistry(cfg *cmdline.Config, srv *gateway.Server, rt *route.Router, op *operating, log *slog.Logger) (*sessions.Registry, error) {
	if cfg.Sessions.SessionRegistry != "" {
		c, err := sessions.RegistryClient(cfg.Sessions.SessionRegistry)
		if err != nil {
			return nil, err
		}
		log.Info("session registry in Redis " + c.Options().Addr)
		reg := sessions.NewRegistry(c, srv, "", op.ready, log)
		reg.OwnClient = true
		return reg, nil
	}
	if rt == nil {
		return nil, nil
	}
	if rb, ok := rt.Tokens.(tokens.RedisBacked); ok {
		log.Info("session registry in TokenRedis's Redis")
		return sessions.NewRegistry(rb.RedisClient(), srv, "", op.ready, log), nil
	}
	return nil, nil
}

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
		rv.Expiries = true
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
			rv.Watch, rv.Interval, rv.Fallback = w, redisSafetyCheck, redisRecheck
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
