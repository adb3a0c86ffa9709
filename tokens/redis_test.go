package tokens

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseRedisSource(t *testing.T) {
	// The reference's cases (tests/test_token_plugins.py), plus quoting.
	for _, tc := range []struct {
		src  string
		want redisSource
	}{
		{"127.0.0.1", redisSource{"127.0.0.1", 6379, 0, "", ""}},
		{"127.0.0.1:1234", redisSource{"127.0.0.1", 1234, 0, "", ""}},
		{"127.0.0.1:1234:2", redisSource{"127.0.0.1", 1234, 2, "", ""}},
		{"127.0.0.1:1234:2:verysecret", redisSource{"127.0.0.1", 1234, 2, "verysecret", ""}},
		{"127.0.0.1:1234:2:verysecret:namespace", redisSource{"127.0.0.1", 1234, 2, "verysecret", "namespace:"}},
		{"127.0.0.1:::verysecret", redisSource{"127.0.0.1", 6379, 0, "verysecret", ""}},
		{"127.0.0.1::::", redisSource{"127.0.0.1", 6379, 0, "", ""}},
		{"127.0.0.1:::", redisSource{"127.0.0.1", 6379, 0, "", ""}},
		{"127.0.0.1::", redisSource{"127.0.0.1", 6379, 0, "", ""}},
		{"127.0.0.1:", redisSource{"127.0.0.1", 6379, 0, "", ""}},
		{"127.0.0.1::::namespace", redisSource{"127.0.0.1", 6379, 0, "", "namespace:"}},
		{`127.0.0.1::::"ns1:ns2"`, redisSource{"127.0.0.1", 6379, 0, "", "ns1:ns2:"}},
		{"127.0.0.1::2", redisSource{"127.0.0.1", 6379, 2, "", ""}},
		{"127.0.0.1:1234::verysecret", redisSource{"127.0.0.1", 1234, 0, "verysecret", ""}},
		{"127.0.0.1::2:verysecret", redisSource{"127.0.0.1", 6379, 2, "verysecret", ""}},
		{"127.0.0.1::2:", redisSource{"127.0.0.1", 6379, 2, "", ""}},
		{"my-redis-host", redisSource{"my-redis-host", 6379, 0, "", ""}},
		{"my-redis-host:::verysecretpass", redisSource{"my-redis-host", 6379, 0, "verysecretpass", ""}},
		{"my-redis-host::::my-app-namespace", redisSource{"my-redis-host", 6379, 0, "", "my-app-namespace:"}},
		{`my-redis-host::::"first-ns:second-ns"`, redisSource{"my-redis-host", 6379, 0, "", "first-ns:second-ns:"}},
		{"my-redis-host:6380:1:verysecretpass:my-app-namespace", redisSource{"my-redis-host", 6380, 1, "verysecretpass", "my-app-namespace:"}},
		{`h:6379:0:"pa:ss"`, redisSource{"h", 6379, 0, "pa:ss", ""}},
		{`"::1":6379`, redisSource{"::1", 6379, 0, "", ""}},
		{"h: 6380 :+1", redisSource{"h", 6380, 1, "", ""}},
		{"", redisSource{"localhost", 6379, 0, "", ""}},
	} {
		got, err := parseRedisSource(tc.src)
		if err != nil || got != tc.want {
			t.Errorf("parseRedisSource(%q) = %+v, %v; want %+v", tc.src, got, err, tc.want)
		}
	}
	for _, src := range []string{"h:1:2:3:4:5", "h:port", "h:6379:db", "h:0", "h:70000", "h:6379:-1", "h/x", "h:1_0"} {
		_, err := parseRedisSource(src)
		want := fmt.Sprintf("the provided --token-source='%s' is not in the expected format <host>[:<port>[:<db>[:<password>[:<namespace>]]]]", src)
		if err == nil || err.Error() != want {
			t.Errorf("parseRedisSource(%q) error %v", src, err)
		}
	}
}

func newRedis(t *testing.T, source string, o Options) Plugin {
	t.Helper()
	if o.Logger == nil {
		o.Logger, _ = testLogger()
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	p := mustNew(t, "TokenRedis", source, o)
	t.Cleanup(func() { p.(io.Closer).Close() })
	return p
}

func TestTokenRedisValues(t *testing.T) {
	s := startRedis(t, "")
	for k, v := range map[string]string{
		"json":        `{"host": "remote_host:5900"}`,
		"json-spaces": ` {"host": "remote_host:5900"} `,
		"plain":       "remote_host:5900",
		"plain-space": " remote_host:5900 \n",
		"json-port":   `{"host": "remote_host", "port": 5901}`,
		"v6":          "::1:5902",
		"v6-json":     `{"host": "[::1]:5903"}`,
		"unix":        "unix_socket:/run/vnc.sock",
		"broken-json": `{"host": "remote_host:5900"   `,
		"no-host":     `{"target": "remote_host:5900"}`,
		"garbage":     "garbage",
		"bad-port":    "h:port",
		"huge":        "h:1" + strings.Repeat(" ", maxRedisValue),
	} {
		s.set(t, 0, k, v)
	}
	p := newRedis(t, s.source(""), Options{})
	want := tcp("remote_host:5900")
	for _, tok := range []string{"json", "json-spaces", "plain", "plain-space"} {
		lookupOK(t, p, tok, want)
	}
	lookupOK(t, p, "json-port", tcp("remote_host:5901"))
	lookupOK(t, p, "v6", tcp("[::1]:5902"))
	lookupOK(t, p, "v6-json", tcp("[::1]:5903"))
	lookupOK(t, p, "unix", Target{Network: "unix", Address: "/run/vnc.sock"})
	lookupErr(t, p, "missing", ErrNotFound)
	for _, tok := range []string{"broken-json", "no-host", "garbage", "bad-port", "huge"} {
		lookupErr(t, p, tok, nil)
	}
	lookupErr(t, p, strings.Repeat("t", MaxTokenLength+1), ErrInvalidToken)
}

func TestTokenRedisNamespaceAndDB(t *testing.T) {
	s := startRedis(t, "")
	s.set(t, 0, "tok", "plain:1")
	s.set(t, 0, "namespace:tok", "ns:2")
	s.set(t, 0, "ns1:ns2:tok", "nested:3")
	s.set(t, 2, "tok", "db2:4")
	log, buf := testLogger()
	lookupOK(t, newRedis(t, s.source(""), Options{Logger: log}), "tok", tcp("plain:1"))
	if !strings.Contains(buf.String(), "has no namespace") {
		t.Errorf("no namespace warning:\n%s", buf)
	}
	if !strings.Contains(buf.String(), fmt.Sprintf("TokenRedis backend initialized (127.0.0.1:%d)", s.port)) {
		t.Errorf("no startup line:\n%s", buf)
	}
	lookupOK(t, newRedis(t, s.source(":::namespace"), Options{}), "tok", tcp("ns:2"))
	lookupOK(t, newRedis(t, s.source(`:::"ns1:ns2"`), Options{}), "tok", tcp("nested:3"))
	lookupOK(t, newRedis(t, s.source(":2"), Options{}), "tok", tcp("db2:4"))
	lookupErr(t, newRedis(t, s.source(":3"), Options{}), "tok", ErrNotFound)
}

func TestTokenRedisPassword(t *testing.T) {
	const pw = "very:secret pass"
	s := startRedis(t, pw)
	s.set(t, 0, "tok", "h:1")
	pwFile := filepath.Join(t.TempDir(), "pw")
	writeFile(t, pwFile, pw+"\n")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	lookupOK(t, newRedis(t, s.source(`::"`+pw+`"`), Options{}), "tok", tcp("h:1"))
	lookupOK(t, newRedis(t, s.source(""), Options{Getenv: env(map[string]string{EnvRedisPassword: pw})}), "tok", tcp("h:1"))
	lookupOK(t, newRedis(t, s.source(""), Options{Getenv: env(map[string]string{EnvRedisPasswordFile: pwFile})}), "tok", tcp("h:1"))
	lookupErr(t, newRedis(t, s.source(""), Options{}), "tok", nil)
	lookupErr(t, newRedis(t, s.source("::wrong"), Options{}), "tok", nil)

	for name, o := range map[string]Options{
		"source and env":  {Getenv: env(map[string]string{EnvRedisPassword: pw})},
		"source and file": {Getenv: env(map[string]string{EnvRedisPasswordFile: pwFile})},
	} {
		if _, err := New("TokenRedis", s.source("::x"), o); err == nil || !strings.Contains(err.Error(), "more than once") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New("TokenRedis", s.source(""), Options{Getenv: env(map[string]string{EnvRedisPasswordFile: pwFile + ".missing"})}); err == nil {
		t.Error("missing password file accepted")
	}
}

// TestTokenRedisSharedByInstances shows what TokenRedis is for: several
// gateway instances resolve tokens from one table.
func TestTokenRedisSharedByInstances(t *testing.T) {
	s := startRedis(t, "")
	a := newRedis(t, s.source(":::websockify"), Options{})
	b := newRedis(t, s.source(":::websockify"), Options{})
	lookupErr(t, a, "vm1", ErrNotFound)
	s.set(t, 0, "websockify:vm1", `{"host": "10.0.0.1:5901"}`)
	lookupOK(t, a, "vm1", tcp("10.0.0.1:5901"))
	lookupOK(t, b, "vm1", tcp("10.0.0.1:5901"))
	s.set(t, 0, "websockify:vm1", "10.0.0.2:5902")
	lookupOK(t, b, "vm1", tcp("10.0.0.2:5902"))
	lookupOK(t, a, "vm1", tcp("10.0.0.2:5902"))

	var wg sync.WaitGroup
	for _, p := range []Plugin{a, b} {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					if _, err := p.Lookup(context.Background(), "vm1"); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	s.del(t, "websockify:vm1")
	lookupErr(t, a, "vm1", ErrNotFound)
	lookupErr(t, b, "vm1", ErrNotFound)
}

func TestTokenRedisDown(t *testing.T) {
	s := startRedis(t, "")
	s.set(t, 0, "tok", "h:1")
	log, buf := testLogger()
	p := newRedis(t, s.source(""), Options{Logger: log})
	lookupOK(t, p, "tok", tcp("h:1"))
	s.stop()
	start := time.Now()
	lookupErr(t, p, "tok", nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("lookup against a stopped server took %v", d)
	}
	if strings.Contains(buf.String(), "tok\"") || strings.Contains(buf.String(), "=tok ") {
		t.Errorf("token logged:\n%s", buf)
	}
}
