package tests

// The session API of the admin listener, "websockify sessions", and the
// fleet registry in Redis, end to end.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sessAdmin is a client of a proxy's admin listener that holds the bearer
// token of its private endpoints.
type sessAdmin struct {
	*adminClient
	token string
}

func newSessAdmin(t testing.TB, p *proxy, token string) *sessAdmin {
	t.Helper()
	return &sessAdmin{adminClient: adminOf(t, p), token: token}
}

// do sends method path with the bearer token auth ("" for none) and
// returns the status and body.
func (a *sessAdmin) do(method, path, auth string) (int, string) {
	a.t.Helper()
	if auth != "" {
		auth = "Bearer " + auth
	}
	return a.adminClient.do(method, path, auth)
}

type apiEntry struct {
	Instance        string `json:"instance"`
	ID              uint64 `json:"id"`
	Client          string `json:"client"`
	Target          string `json:"target"`
	Token           string `json:"token"`
	Driver          string `json:"driver"`
	TLS             bool   `json:"tls"`
	Started         string `json:"started"`
	BytesFromClient uint64 `json:"bytes_from_client"`
	BytesToClient   uint64 `json:"bytes_to_client"`
}

type apiList struct {
	Sessions []apiEntry `json:"sessions"`
	Partial  string     `json:"partial"`
}

func (a *sessAdmin) list(query string) apiList {
	a.t.Helper()
	code, body := a.do("GET", "/sessions"+query, a.token)
	var l apiList
	if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil {
		a.t.Fatalf("GET /sessions%s: %d %v %s", query, code, err, body)
	}
	return l
}

// waitList polls the list until ok accepts it.
func (a *sessAdmin) waitList(query string, ok func(apiList) bool) apiList {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := a.list(query)
		if ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("GET /sessions%s: %+v", query, l)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func adminTokenFile(t testing.TB) (string, string) {
	tok := "admin-" + distinctToken("ADM")
	file := filepath.Join(t.TempDir(), "admin.token")
	writeFile(t, file, tok+"\n")
	return file, tok
}

// TestSessionAPI: list, show and end sessions over the admin listener and
// with "websockify sessions"; bad requests get clear 4xx answers and
// touch no session.
func TestSessionAPI(t *testing.T) {
	a, b := tcpTarget(t, "alpha"), tcpTarget(t, "bravo")
	tokA, tokB := distinctToken("APIA"), distinctToken("APIB")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tokA+": "+a.addr()+"\n"+tokB+": "+b.addr()+"\n")
	tf, admTok := adminTokenFile(t)
	p := startProxy(t, "--admin-listen", "127.0.0.1:0", "--admin-token-file", tf,
		"--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
	adm := newSessAdmin(t, p, admTok)
	a1 := openSession(t, p.addr, tq(tokA), "alpha")
	a2 := openSession(t, p.addr, tq(tokA), "alpha")
	sb := openSession(t, p.addr, tq(tokB), "bravo")
	stillRelays(t, a1)

	// Access control.
	if code, _ := adm.do("GET", "/sessions", ""); code != 401 {
		t.Fatalf("no bearer token: %d", code)
	}
	if code, _ := adm.do("DELETE", "/sessions?token="+tokA, "wrong-"+admTok); code != 401 {
		t.Fatalf("wrong bearer token: %d", code)
	}

	l := adm.waitList("", func(l apiList) bool { return len(l.Sessions) == 3 })
	code, raw := adm.do("GET", "/sessions", admTok)
	if code != 200 || strings.Contains(raw, tokA) || strings.Contains(raw, tokB) {
		t.Fatalf("the list shows tokens unredacted: %s", raw)
	}
	var idB uint64
	for _, e := range l.Sessions {
		if e.Driver == "" || e.Started == "" || e.TLS || !strings.HasPrefix(e.Client, "127.0.0.1:") || e.Token == "" {
			t.Fatalf("entry %+v", e)
		}
		if e.Target == b.addr() {
			idB = e.ID
		}
	}
	if l.Sessions[0].BytesToClient == 0 || l.Sessions[0].BytesFromClient == 0 {
		t.Fatalf("no bytes counted on the first session: %+v", l.Sessions[0])
	}
	if code, body := adm.do("GET", "/sessions/"+strconv.FormatUint(idB, 10), admTok); code != 200 || !strings.Contains(body, b.addr()) {
		t.Fatalf("GET one: %d %s", code, body)
	}

	// Bad input: clear 4xx, no effect.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/sessions/999999", 404},
		{"DELETE", "/sessions/999999", 404},
		{"GET", "/sessions/abc", 400},
		{"DELETE", "/sessions/-1", 400},
		{"DELETE", "/sessions", 400},
		{"DELETE", "/sessions?token=", 400},
		{"DELETE", "/sessions?token=a&token=b", 400},
		{"DELETE", "/sessions?token=" + tokA + "&evil=%00%ff", 400},
		{"DELETE", "/sessions?token=" + strings.Repeat("x", 5000), 400},
		{"GET", "/sessions?" + strings.Repeat("a=1&", 4000), 414},
		{"GET", "/sessions?all=1", 400}, // no registry
		{"POST", "/sessions", 405},
		{"PUT", "/sessions/1", 405},
	} {
		code, body := adm.do(tc.method, tc.path, admTok)
		if code != tc.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s %.50s: %d %s; want %d", tc.method, tc.path, code, body, tc.status)
		}
	}
	if n := len(adm.list("").Sessions); n != 3 {
		t.Fatalf("%d sessions after the bad requests", n)
	}
	stillRelays(t, a1)

	// The CLI.
	st, out, stderr := runCLI(t, wsBinary, "sessions", "--admin", strings.TrimPrefix(adm.base, "http://"), "--admin-token-file", tf, "list")
	if st != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, b.addr()) || strings.Contains(out, tokA) {
		t.Fatalf("sessions list: %d\n%s%s", st, out, stderr)
	}
	st, _, stderr = runCLI(t, wsBinary, "sessions", "--admin", strings.TrimPrefix(adm.base, "http://"), "list")
	if st != 1 || !strings.Contains(stderr, "401") {
		t.Fatalf("sessions list without the token: %d %s", st, stderr)
	}
	st, out, stderr = runCLI(t, wsBinary, "sessions", "--admin", strings.TrimPrefix(adm.base, "http://"), "--admin-token-file", tf,
		"kill", "--reason", "maintenance", strconv.FormatUint(idB, 10))
	if st != 0 || !strings.Contains(out, "ended session") {
		t.Fatalf("sessions kill: %d %s %s", st, out, stderr)
	}
	endedWith(t, sb, 1008, "maintenance", 5*time.Second)
	st, _, stderr = runCLI(t, wsBinary, "sessions", "--admin", strings.TrimPrefix(adm.base, "http://"), "--admin-token-file", tf, "kill", "999999")
	if st != 1 || !strings.Contains(stderr, "404") {
		t.Fatalf("sessions kill unknown: %d %s", st, stderr)
	}
	stillRelays(t, a1)

	// By token, over the API.
	if code, body := adm.do("DELETE", "/sessions?token="+tokA, admTok); code != 200 || !strings.Contains(body, `"ended": 2`) {
		t.Fatalf("DELETE by token: %d %s", code, body)
	}
	endedWith(t, a1, 1008, "Session ended by the administrator", 5*time.Second)
	endedWith(t, a2, 1008, "Session ended by the administrator", 5*time.Second)
	adm.waitList("", func(l apiList) bool { return len(l.Sessions) == 0 })
	noTokensLogged(t, p, tokA, tokB)
	p.stderr.waitFor(t, reMust(`cause=killed`), 5*time.Second)
}

// TestSessionAPIUnix: on a unix: admin socket, no bearer token is needed
// (the socket's mode is the control).
func TestSessionAPIUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	p := startProxy(t, "--admin-listen", "unix:"+sock, "127.0.0.1:0", tcpTarget(t, "alpha").addr())
	p.stderr.waitFor(t, adminRE, 10*time.Second)
	s := openSession(t, p.addr, "/", "alpha")
	st, out, stderr := runCLI(t, wsBinary, "sessions", "--admin", "unix:"+sock, "list", "--json")
	var l apiList
	if st != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Sessions) != 1 {
		t.Fatalf("list: %d %s %s", st, out, stderr)
	}
	st, _, stderr = runCLI(t, wsBinary, "sessions", "--admin", "unix:"+sock, "kill", strconv.FormatUint(l.Sessions[0].ID, 10))
	if st != 0 {
		t.Fatalf("kill: %d %s", st, stderr)
	}
	endedWith(t, s, 1008, "", 5*time.Second)
}

// restart starts redis-server again on the same port after stop.
func (s *redisServer) restart(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.addr)
	dir := t.TempDir()
	s.cmd = exec.Command(requireProgram(t, "redis-server"), "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", "", "--databases", "4")
	s.out, s.done = newSyncBuffer(), make(chan struct{})
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := s.done
	go func() { s.cmd.Wait(); close(done) }()
	s.stopOnce = sync.Once{}
	if err := s.waitReady(dir); err != nil {
		t.Fatal(err)
	}
}

// TestFleet: three instances sharing a TokenRedis: the fleet's sessions
// listed on any instance, a token's sessions ended from another instance
// within 2 s, the per-token cap across instances, and Redis stopped and
// restarted with every session surviving.
func TestFleet(t *testing.T) {
	r := startRedisServer(t, "")
	a := tcpTarget(t, "alpha")
	tok1, tok2 := distinctToken("FL1"), distinctToken("FL2")
	r.do(t, 1, "SET", "vnc:"+tok1, a.addr())
	r.do(t, 1, "SET", "vnc:"+tok2, a.addr())
	tf, admTok := adminTokenFile(t)
	var ps []*proxy
	var adms []*sessAdmin
	for range 3 {
		p := startProxy(t, append(redisArgs(r, "--admin-listen", "127.0.0.1:0", "--admin-token-file", tf,
			"--max-connections-per-token", "2"), "127.0.0.1:0")...)
		ps = append(ps, p)
		adms = append(adms, newSessAdmin(t, p, admTok))
	}
	s1a := openSession(t, ps[0].addr, tq(tok1), "alpha")
	s1b := openSession(t, ps[1].addr, tq(tok1), "alpha")
	s2 := openSession(t, ps[2].addr, tq(tok2), "alpha")

	// The fleet's sessions, on any instance.
	l := adms[2].waitList("?all=1", func(l apiList) bool { return len(l.Sessions) == 3 })
	instances := map[string]bool{}
	for _, e := range l.Sessions {
		instances[e.Instance] = true
	}
	if len(instances) != 3 {
		t.Fatalf("sessions of %d instances listed: %+v", len(instances), l)
	}
	if n := len(adms[2].list("").Sessions); n != 1 {
		t.Fatalf("the local list has %d sessions", n)
	}

	// The per-token cap holds across instances: tok1 has a session on
	// instances 0 and 1, so instance 2 refuses a third (once it has read
	// the registry: every second).
	time.Sleep(2 * time.Second)
	refused(t, ps[2].addr, tq(tok1), http.StatusServiceUnavailable)
	ps[2].stderr.waitFor(t, reMust(`limit=max_connections_per_token`), 5*time.Second)

	// Kill by token on instance 2: the sessions on 0 and 1 end within 2 s.
	start := time.Now()
	if code, body := adms[2].do("DELETE", "/sessions?token="+tok1+"&all=1", admTok); code != 200 || !strings.Contains(body, `"fleet": true`) {
		t.Fatalf("DELETE all=1: %d %s", code, body)
	}
	endedWith(t, s1a, 1008, "", 3*time.Second)
	endedWith(t, s1b, 1008, "", 3*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fleet kill took %v", d)
	}
	stillRelays(t, s2)

	// Redis goes away: sessions go on, readiness and the log say so, the
	// lists are local; Redis returns and the fleet view with it.
	s3 := openSession(t, ps[0].addr, tq(tok2), "alpha")
	r.stop()
	for _, p := range ps {
		p.stderr.waitFor(t, reMust(`session registry unreachable`), 10*time.Second)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := adms[0].do("GET", "/readyz", "")
		if code == 503 && strings.Contains(body, "session registry") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with Redis down: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if l := adms[0].list("?all=1"); l.Partial == "" || len(l.Sessions) != 1 {
		t.Fatalf("fleet list with Redis down: %+v", l)
	}
	stillRelays(t, s2)
	stillRelays(t, s3)
	r.restart(t)
	for _, p := range ps {
		p.stderr.waitFor(t, reMust(`session registry reachable again`), 15*time.Second)
	}
	adms[1].waitList("?all=1", func(l apiList) bool { return len(l.Sessions) == 2 && l.Partial == "" })
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, body := adms[0].do("GET", "/readyz", "")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after Redis returned: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	stillRelays(t, s2)
	stillRelays(t, s3)
}

// TestFleetSessionRegistry: --session-registry gives a fleet view to
// instances whose tokens come from elsewhere (a TokenFile).
func TestFleetSessionRegistry(t *testing.T) {
	r := startRedisServer(t, "")
	a := tcpTarget(t, "alpha")
	tok := distinctToken("SREG")
	file := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, file, tok+": "+a.addr()+"\n")
	tf, admTok := adminTokenFile(t)
	var ps []*proxy
	var adms []*sessAdmin
	for range 2 {
		p := startProxy(t, "--session-registry", "redis://"+r.addr+"/3", "--admin-listen", "127.0.0.1:0", "--admin-token-file", tf,
			"--token-plugin", "TokenFile", "--token-source", file, "127.0.0.1:0")
		ps = append(ps, p)
		adms = append(adms, newSessAdmin(t, p, admTok))
	}
	s0 := openSession(t, ps[0].addr, tq(tok), "alpha")
	s1 := openSession(t, ps[1].addr, tq(tok), "alpha")
	adms[0].waitList("?all=1", func(l apiList) bool { return len(l.Sessions) == 2 })
	// Nothing of the token itself is stored in Redis.
	keys := r.do(t, 3, "KEYS", "websockify:sessions:*").([]any)
	if len(keys) != 2 {
		t.Fatalf("registry keys %v", keys)
	}
	for _, k := range keys {
		if v := r.do(t, 3, "HGETALL", k.(string)); strings.Contains(fmt.Sprint(v), tok) {
			t.Fatalf("the token is stored in Redis: %v", v)
		}
	}
	st, out, stderr := runCLI(t, wsBinary, "sessions", "--admin", strings.TrimPrefix(adms[1].base, "http://"), "--admin-token-file", tf,
		"list", "--all")
	if st != 0 || strings.Count(out, "\n") != 3 {
		t.Fatalf("sessions list --all: %d\n%s%s", st, out, stderr)
	}
	cmd := exec.Command(wsBinary, "sessions", "--admin", strings.TrimPrefix(adms[1].base, "http://"), "--admin-token-file", tf, "kill", "--all")
	cmd.Env = append(cmd.Environ(), "WEBSOCKIFY_KILL_TOKEN="+tok)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "other instances were asked") {
		t.Fatalf("sessions kill --all: %v %s", err, out)
	}
	endedWith(t, s0, 1008, "Session ended by the administrator", 3*time.Second)
	endedWith(t, s1, 1008, "Session ended by the administrator", 3*time.Second)
	// The kill's marker (for instances that missed the message) spares the
	// sessions opened after it.
	if ttl := r.do(t, 3, "KEYS", "websockify:sessions:kill:*").([]any); len(ttl) != 1 {
		t.Fatalf("kill markers: %v", ttl)
	}
	again := openSession(t, ps[0].addr, tq(tok), "alpha")
	time.Sleep(2 * time.Second) // two refreshes, which read the marker
	stillRelays(t, again)
	for _, p := range ps {
		noTokensLogged(t, p, tok)
	}
}
