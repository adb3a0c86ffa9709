package sessions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyspaceWatcher returns a Watcher of the token keys under namespace
// through Redis keyspace notifications, when the server sends them for
// generic and string commands and expirations (notify-keyspace-events
// holding K, and A or g, $ and x); otherwise nil and the reason, and the
// caller falls back to rechecking. The server's configuration is read,
// never changed.
func KeyspaceWatcher(ctx context.Context, c *redis.Client, namespace string) (Watcher, string) {
	cfg, err := c.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err != nil {
		return nil, fmt.Sprintf("cannot read notify-keyspace-events (%v)", err)
	}
	flags := cfg["notify-keyspace-events"]
	if !keyspaceEnough(flags) {
		return nil, fmt.Sprintf("notify-keyspace-events is %q (needs K and A, or K, g, $ and x)", flags)
	}
	prefix := fmt.Sprintf("__keyspace@%d__:", c.Options().DB)
	pattern := prefix + globEscape(namespace) + "*"
	return func(ctx context.Context, changed func(string)) error {
		ps := c.PSubscribe(ctx, pattern)
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
			return err
		}
		ch := ps.Channel()
		// A restarted Redis may no longer send notifications (the setting
		// was not in its configuration file): checked now and then, so
		// that the caller falls back to rechecking.
		check := time.NewTicker(keyspaceRecheck)
		defer check.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-check.C:
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				cfg, err := c.ConfigGet(cctx, "notify-keyspace-events").Result()
				cancel()
				if err == nil && !keyspaceEnough(cfg["notify-keyspace-events"]) {
					return fmt.Errorf("notify-keyspace-events is now %q", cfg["notify-keyspace-events"])
				}
			case m, ok := <-ch:
				if !ok {
					return nil
				}
				key := strings.TrimPrefix(m.Channel, prefix)
				if tok, ok := strings.CutPrefix(key, namespace); ok && tok != "" {
					changed(tok)
				}
			}
		}
	}, ""
}

// keyspaceRecheck is how often the watcher checks that Redis still sends
// keyspace notifications.
const keyspaceRecheck = 5 * time.Second

// keyspaceEnough reports whether notify-keyspace-events flags cover
// deletions, writes and expirations of keys, by key.
func keyspaceEnough(flags string) bool {
	if !strings.Contains(flags, "K") {
		return false
	}
	if strings.Contains(flags, "A") {
		return true
	}
	return strings.Contains(flags, "g") && strings.Contains(flags, "$") && strings.Contains(flags, "x")
}

// globEscape escapes the glob characters of a PSUBSCRIBE pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
