package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/websockify-go/websockify/gateway"
)

// The fleet registry's keys and timing. Every instance keeps a hash of its
// open sessions at keyPrefix+instance, rewritten every FleetRefresh with a
// TTL of fleetTTL, so that an instance that dies leaves nothing behind for
// long; ending a token's sessions everywhere is a message on killChannel,
// and a marker at killPrefix+tokenHash for killTTL, which instances that
// missed the message (reconnecting) apply at their next refresh.
const (
	keyPrefix    = "websockify:sessions:"
	killChannel  = "websockify:sessions:kill"
	killPrefix   = keyPrefix + "kill:"
	killTTL      = 10 * time.Second
	FleetRefresh = time.Second
	fleetTTL     = 15 * time.Second
	readyName    = "session_registry"
)

// Readiness is where the registry says it is unreachable (admin.Readiness).
type Readiness interface {
	Set(name, reason string)
	Clear(name string)
}

// Registry is the fleet registry of one instance in Redis.
type Registry struct {
	client   *redis.Client
	local    Local
	instance string
	ready    Readiness // may be nil
	log      *slog.Logger

	// OwnClient makes Run close the client when it returns (a
	// --session-registry of its own, not TokenRedis's).
	OwnClient bool

	mu        sync.Mutex
	elsewhere map[string]int // sessions of other instances by tokenHash
	down      bool           // the last exchange with Redis failed
}

// NewRegistry registers the sessions of local in Redis through client.
// instance names this process in listings; empty means host-pid.
func NewRegistry(client *redis.Client, local Local, instance string, ready Readiness, log *slog.Logger) *Registry {
	if instance == "" {
		host, _ := os.Hostname()
		instance = host + "-" + strconv.Itoa(os.Getpid())
	}
	if log == nil {
		log = slog.Default()
	}
	return &Registry{client: client, local: local, instance: instance, ready: ready, log: log, elsewhere: map[string]int{}}
}

// RegistryClient opens the Redis of a --session-registry URL.
func RegistryClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--session-registry: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	opt.MaxRetries = 1
	return redis.NewClient(opt), nil
}

// Instance is this instance's name in the registry.
func (r *Registry) Instance() string { return r.instance }

// tokenHash names a token in Redis without storing it.
func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte("websockify session token\x00" + tok))
	return hex.EncodeToString(sum[:16])
}

// record is one session as stored in the registry.
type record struct {
	Entry
	TokenHash string `json:"token_hash,omitempty"`
}

// Run keeps the registry current and ends the sessions other instances
// ask to end, until ctx ends; it then removes this instance's entries.
func (r *Registry) Run(ctx context.Context) {
	go r.listen(ctx)
	t := time.NewTicker(FleetRefresh)
	defer t.Stop()
	r.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r.client.Del(cctx, keyPrefix+r.instance)
			cancel()
			if r.OwnClient {
				r.client.Close()
			}
			return
		case <-t.C:
			r.refresh(ctx)
		}
	}
}

// refresh writes this instance's sessions and reads the others' counts.
func (r *Registry) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := r.write(ctx)
	var counts map[string]int
	if err == nil {
		var recs []record
		var kills []killMsg
		recs, kills, err = r.read(ctx, false)
		for _, km := range kills {
			r.apply(km)
		}
		counts = map[string]int{}
		for _, rec := range recs {
			if rec.TokenHash != "" {
				counts[rec.TokenHash]++
			}
		}
	}
	r.mu.Lock()
	wasDown := r.down
	r.down = err != nil
	if err == nil {
		r.elsewhere = counts
	} else {
		r.elsewhere = map[string]int{} // the local view only
	}
	r.mu.Unlock()
	switch {
	case err != nil && !wasDown && ctx.Err() == nil:
		r.log.Warn("session registry unreachable: serving with this instance's view only (fleet lists, kills and per-token caps are local until it returns)", "err", err)
		if r.ready != nil {
			r.ready.Set(readyName, "session registry unreachable: "+err.Error())
		}
	case err == nil && wasDown:
		r.log.Info("session registry reachable again: sessions registered")
		if r.ready != nil {
			r.ready.Clear(readyName)
		}
	}
}

// write replaces this instance's hash with its open sessions.
func (r *Registry) write(ctx context.Context) error {
	key := keyPrefix + r.instance
	fields := []any{}
	for _, si := range r.local.Sessions() {
		rec := record{Entry: entryOf(si, r.instance)}
		if si.Token != "" {
			rec.TokenHash = tokenHash(si.Token)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		fields = append(fields, strconv.FormatUint(si.ID, 10), string(b))
	}
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		if len(fields) > 0 {
			p.HSet(ctx, key, fields...)
			p.Expire(ctx, key, fleetTTL)
		}
		return nil
	})
	return err
}

// read returns the sessions registered by the other instances (and this
// one's, with self), and the kill markers.
func (r *Registry) read(ctx context.Context, self bool) ([]record, []killMsg, error) {
	var keys, markers []string
	iter := r.client.Scan(ctx, 0, keyPrefix+"*", 200).Iterator()
	for iter.Next(ctx) {
		switch k := iter.Val(); {
		case strings.HasPrefix(k, killPrefix):
			markers = append(markers, k)
		case k == killChannel || (!self && k == keyPrefix+r.instance):
		default:
			keys = append(keys, k)
		}
	}
	if err := iter.Err(); err != nil {
		return nil, nil, err
	}
	var kills []killMsg
	for _, k := range markers {
		v, err := r.client.Get(ctx, k).Result()
		if err != nil {
			continue // expired meanwhile
		}
		var km killMsg
		if json.Unmarshal([]byte(v), &km) == nil && km.TokenHash != "" {
			kills = append(kills, km)
		}
	}
	var out []record
	for _, k := range keys {
		m, err := r.client.HGetAll(ctx, k).Result()
		if err != nil {
			if strings.Contains(err.Error(), "WRONGTYPE") {
				continue
			}
			return nil, nil, err
		}
		for _, v := range m {
			var rec record
			if json.Unmarshal([]byte(v), &rec) == nil {
				out = append(out, rec)
			}
		}
	}
	return out, kills, nil
}

// Elsewhere is how many sessions token holds on the other instances, as of
// the last refresh (gateway.Server.TokenElsewhere). With Redis down, 0.
func (r *Registry) Elsewhere(token string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.elsewhere[tokenHash(token)]
}

// List returns the sessions of every instance: this one's as they stand,
// the others' as last registered.
func (r *Registry) List(ctx context.Context) ([]Entry, error) {
	recs, _, err := r.read(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(recs))
	for _, si := range r.local.Sessions() {
		out = append(out, entryOf(si, r.instance))
	}
	for _, rec := range recs {
		out = append(out, rec.Entry)
	}
	return out, nil
}

// killMsg asks every instance to end a token's sessions.
type killMsg struct {
	TokenHash string `json:"token_hash"`
	Reason    string `json:"reason"`
	From      string `json:"from"`
	// At is when the kill was asked: sessions started later are spared.
	At time.Time `json:"at"`
}

// StopToken asks every instance (this one included) to end the sessions
// of token: a message for those listening, a marker for killTTL for those
// that missed it.
func (r *Registry) StopToken(ctx context.Context, token, reason string) error {
	km := killMsg{TokenHash: tokenHash(token), Reason: reason, From: r.instance, At: time.Now()}
	b, _ := json.Marshal(km)
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, killPrefix+km.TokenHash, b, killTTL)
		p.Publish(ctx, killChannel, b)
		return nil
	})
	return err
}

// apply ends the sessions of a kill's token that started before it.
func (r *Registry) apply(km killMsg) {
	if checkReason(km.Reason) != nil {
		km.Reason = DefaultKillReason
	}
	n := r.local.StopMatching(func(si gateway.SessionInfo) bool {
		return si.Token != "" && tokenHash(si.Token) == km.TokenHash && (km.At.IsZero() || !si.Started.After(km.At))
	}, gateway.CauseKilled, km.Reason)
	if n > 0 {
		r.log.Info("session registry: ended sessions at an instance's request", "from", km.From, "sessions", n)
	}
}

// listen ends the sessions that kill messages name, until ctx ends.
func (r *Registry) listen(ctx context.Context) {
	ps := r.client.Subscribe(ctx, killChannel)
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var km killMsg
			if err := json.Unmarshal([]byte(m.Payload), &km); err != nil || km.TokenHash == "" {
				r.log.Warn("session registry: ignoring a malformed kill message", "err", err)
				continue
			}
			r.apply(km)
		}
	}
}
