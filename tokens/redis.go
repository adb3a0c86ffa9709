package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables read by TokenRedis, so that the password need not
// appear in --token-source (and so in ps). At most one of the source's
// password field, EnvRedisPassword and EnvRedisPasswordFile may be set.
const (
	EnvRedisPassword     = "WEBSOCKIFY_REDIS_PASSWORD"      // the password itself
	EnvRedisPasswordFile = "WEBSOCKIFY_REDIS_PASSWORD_FILE" // a file holding it (trailing newline ignored)
	EnvRedisUsername     = "WEBSOCKIFY_REDIS_USERNAME"      // an ACL user name (Redis 6+); default none
)

// Timeouts and pool limits of the Redis client.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 2 * time.Second
	redisPoolTimeout = 3 * time.Second
	maxRedisValue    = 4 << 10
)

// tokenRedis is TokenRedis: GET namespace+token from one pooled client.
type tokenRedis struct {
	client    *redis.Client
	namespace string
	log       *slog.Logger
}

func newTokenRedis(source string, o Options) (Plugin, error) {
	s, err := parseRedisSource(source)
	if err != nil {
		return nil, err
	}
	password, err := redisPassword(s.password, o)
	if err != nil {
		return nil, err
	}
	log := o.logger()
	// go-redis logs through a process-wide logger of its own (plain lines
	// on stderr); route it through ours, so that --log-format json and
	// syslog get every line.
	redis.SetLogger(redisLogger{log})
	addr := net.JoinHostPort(strings.Trim(s.host, "[]"), strconv.Itoa(s.port))
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		DB:                    s.db,
		Username:              o.getenv(EnvRedisUsername),
		Password:              password,
		Protocol:              2, // plain AUTH/SELECT: works with every server version
		DialTimeout:           redisDialTimeout,
		ReadTimeout:           redisIOTimeout,
		WriteTimeout:          redisIOTimeout,
		PoolTimeout:           redisPoolTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            1,
		DisableIdentity:       true,
	})
	log.Info(fmt.Sprintf("TokenRedis backend initialized (%s:%d)", s.host, s.port))
	if s.namespace == "" {
		log.Warn("TokenRedis has no namespace: every key of the database can be used as a token")
	}
	return &tokenRedis{client: c, namespace: s.namespace, log: log}, nil
}

// redisPassword picks the one password given, from the source, the
// environment or a file.
func redisPassword(fromSource string, o Options) (string, error) {
	env, file := o.getenv(EnvRedisPassword), o.getenv(EnvRedisPasswordFile)
	n := 0
	for _, v := range []string{fromSource, env, file} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return "", fmt.Errorf("the Redis password is given more than once (--token-source, %s, %s): use one", EnvRedisPassword, EnvRedisPasswordFile)
	}
	if file == "" {
		return fromSource + env, nil
	}
	data, err := readCapped(file, maxSmallFileLength)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvRedisPasswordFile, err)
	}
	p := strings.TrimRight(string(data), "\r\n")
	if p == "" {
		return "", fmt.Errorf("%s: %s is empty", EnvRedisPasswordFile, file)
	}
	return p, nil
}

func (p *tokenRedis) Lookup(ctx context.Context, token string) (Target, error) {
	if len(token) > MaxTokenLength {
		return Target{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLength)
	}
	p.log.Debug("resolving token", "token", Redact(token))
	// Never more than maxRedisValue+1 bytes of a value: GETRANGE bounds
	// the read on the server (a GET of a 100 MB value would be read whole
	// before any cap), EXISTS tells a missing key from an empty value.
	key := p.namespace + token
	var exists *redis.IntCmd
	var val *redis.StringCmd
	_, err := p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		exists = pipe.Exists(ctx, key)
		val = pipe.GetRange(ctx, key, 0, maxRedisValue)
		return nil
	})
	if err != nil {
		return Target{}, fmt.Errorf("redis: %w", err)
	}
	if exists.Val() == 0 {
		return Target{}, ErrNotFound
	}
	t, err := parseRedisValue(val.Val())
	if err != nil {
		return Target{}, fmt.Errorf("redis value of token %s: %w", Redact(token), err)
	}
	return t, nil
}

// redisLogger is go-redis's logger, writing to a slog.Logger.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	l.log.WarnContext(ctx, "redis: "+strings.TrimPrefix(msg, "redis: "))
}

// Close closes the connection pool.
func (p *tokenRedis) Close() error { return p.client.Close() }

// RedisBacked is implemented by TokenRedis: its client and key namespace,
// which revocation (keyspace notifications) and the fleet's session
// registry use.
type RedisBacked interface {
	RedisClient() *redis.Client
	RedisNamespace() string
}

func (p *tokenRedis) RedisClient() *redis.Client { return p.client }
func (p *tokenRedis) RedisNamespace() string     { return p.namespace }

var plainRedisValue = regexp.MustCompile(`^\S+:\S+`)

// parseRedisValue reads a stored target as the reference does: JSON
// {"host": "host:port"} (as an extension also {"host": "h", "port": p}),
// or plain host:port; surrounding whitespace is ignored. IPv6 hosts work
// as in token files.
func parseRedisValue(v string) (Target, error) {
	if len(v) > maxRedisValue {
		return Target{}, fmt.Errorf("value longer than %d bytes", maxRedisValue)
	}
	v = strings.TrimFunc(v, pyIsSpace)
	switch {
	case strings.HasPrefix(v, "{"):
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return Target{}, fmt.Errorf("unable to decode JSON token: %w", err)
		}
		raw, ok := obj["host"]
		if !ok {
			return Target{}, errors.New("unable to find 'host' key in JSON token")
		}
		pp := ProxyDefault
		if rawPP, ok := obj["proxy_protocol"]; ok {
			var v string
			if err := json.Unmarshal(rawPP, &v); err != nil {
				return Target{}, fmt.Errorf("'proxy_protocol' in JSON token: %w", err)
			}
			var err error
			if pp, err = ParseProxyProtocol(v); err != nil {
				return Target{}, err
			}
		}
		t, err := jsonHostTarget(obj, raw)
		t.ProxyProtocol = pp
		return t, err
	case plainRedisValue.MatchString(v):
		return ParseTargetOptions(v)
	}
	return Target{}, errors.New("unable to parse token value")
}

// jsonHostTarget is the target of a JSON value's "host" (raw) and "port".
func jsonHostTarget(obj map[string]json.RawMessage, raw json.RawMessage) (Target, error) {
	var host string
	if err := json.Unmarshal(raw, &host); err != nil {
		return Target{}, fmt.Errorf("'host' in JSON token: %w", err)
	}
	if rawPort, ok := obj["port"]; ok {
		port, err := jsonPort(rawPort)
		if err != nil {
			return Target{}, err
		}
		return hostPortTarget(host, port)
	}
	return ParseTarget(host)
}

// jsonPort reads a port given as a JSON number or string.
func jsonPort(raw json.RawMessage) (string, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("'port' must be a number or a string")
	}
	return s, nil
}
