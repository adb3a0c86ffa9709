package cmdline

import (
	"math"
	"net/url"
	"time"

	"github.com/urfave/cli/v2"
)

// Session control options: limits, revocation, the fleet registry.
const (
	flagMaxConns         = "max-connections"
	flagMaxConnsPerIP    = "max-connections-per-ip"
	flagMaxConnsPerToken = "max-connections-per-token"
	flagHandshakeRate    = "handshake-rate"
	flagRevokeSessions   = "revoke-sessions"
	flagRevokeInterval   = "revoke-check-interval"
	flagSessionRegistry  = "session-registry"
)

const catSessions = "Session control"

// SessionControl is what the session control options set.
type SessionControl struct {
	MaxConnections int     // --max-connections; 0: no cap
	MaxPerIP       int     // --max-connections-per-ip
	MaxPerToken    int     // --max-connections-per-token
	HandshakeRate  float64 // --handshake-rate, per second per client address; 0: none

	RevokeSessions bool          // --revoke-sessions
	RevokeInterval time.Duration // --revoke-check-interval: token APIs are re-asked this often
	// SessionRegistry is the --session-registry redis:// URL; empty: the
	// token plugin's Redis with TokenRedis, else none.
	SessionRegistry string
}

func sessionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Category: catSessions, Name: flagMaxConns, Usage: "at most `N` sessions open at once; more get 503 before the upgrade"},
		&cli.IntFlag{Category: catSessions, Name: flagMaxConnsPerIP, Usage: "at most `N` sessions per client address (an IPv6 client's /64)"},
		&cli.IntFlag{Category: catSessions, Name: flagMaxConnsPerToken, Usage: "at most `N` sessions per token (across the fleet with a session registry)"},
		&cli.Float64Flag{Category: catSessions, Name: flagHandshakeRate, Usage: "at most `N` WebSocket handshakes per second per client address (a small burst allowed); more get 429"},
		&cli.BoolFlag{Category: catSessions, Name: flagRevokeSessions, Usage: "end a session (close 1008) when its token stops leading to its target: token file edits, Redis key changes, JWT exp, token API answers"},
		&cli.IntFlag{Category: catSessions, Name: flagRevokeInterval, Value: 60, Usage: "--revoke-sessions: re-ask BaseTokenAPI/JSONTokenApi every `SECONDS`"},
		&cli.StringFlag{Category: catSessions, Name: flagSessionRegistry, EnvVars: []string{"WEBSOCKIFY_SESSION_REGISTRY"}, Usage: "register open sessions in the Redis `SERVER` (a URL, redis://[:PASSWORD@]HOST:PORT/DB) so that any instance lists and ends the fleet's; TokenRedis uses its own Redis"},
	}
}

// sessionControl reads and checks the session control options.
func sessionControl(c *cli.Context) (SessionControl, error) {
	sc := SessionControl{
		MaxConnections:  c.Int(flagMaxConns),
		MaxPerIP:        c.Int(flagMaxConnsPerIP),
		MaxPerToken:     c.Int(flagMaxConnsPerToken),
		HandshakeRate:   c.Float64(flagHandshakeRate),
		RevokeSessions:  c.Bool(flagRevokeSessions),
		RevokeInterval:  time.Duration(c.Int(flagRevokeInterval)) * time.Second,
		SessionRegistry: c.String(flagSessionRegistry),
	}
	for name, v := range map[string]int{flagMaxConns: sc.MaxConnections, flagMaxConnsPerIP: sc.MaxPerIP, flagMaxConnsPerToken: sc.MaxPerToken} {
		if v < 0 {
			return sc, usageErrorf("--%s must not be negative (0: no limit)", name)
		}
	}
	if sc.HandshakeRate < 0 || math.IsNaN(sc.HandshakeRate) || math.IsInf(sc.HandshakeRate, 0) {
		return sc, usageErrorf("--%s must be a positive number of handshakes per second", flagHandshakeRate)
	}
	if sc.RevokeInterval <= 0 {
		return sc, usageErrorf("--%s must be positive", flagRevokeInterval)
	}
	if sc.SessionRegistry != "" {
		u, err := url.Parse(sc.SessionRegistry)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return sc, usageErrorf("--%s must be a redis:// or rediss:// URL, not %q", flagSessionRegistry, sc.SessionRegistry)
		}
	}
	return sc, nil
}

// checkSessionControl refuses session control options that would do
// nothing in their combination.
func (cfg *Config) checkSessionControl(isSet func(name string) bool) error {
	sc := cfg.Sessions
	switch {
	case sc.RevokeSessions && cfg.TokenPlugin == "":
		return usageErrorf("--%s needs --token-plugin: sessions without a token cannot be revoked", flagRevokeSessions)
	case isSet(flagRevokeInterval) && !sc.RevokeSessions:
		return usageErrorf("--%s needs --%s", flagRevokeInterval, flagRevokeSessions)
	case sc.MaxPerToken > 0 && cfg.TokenPlugin == "":
		return usageErrorf("--%s needs --token-plugin: without tokens there is nothing to count", flagMaxConnsPerToken)
	}
	return nil
}
