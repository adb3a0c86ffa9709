package tests

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadBalancerHAProxyDrain: one instance of a fleet behind HAProxy is
// drained with SIGTERM and --drain-timeout while sessions run: new
// sessions go to the others and none is refused, its own sessions go on
// until they end, and it exits 0 once they have.
func TestLoadBalancerHAProxyDrain(t *testing.T) {
	f := startFleet(t, "--drain-timeout", "60")
	type session struct {
		rc   *rawConn
		src  string
		inst int
	}
	// which is the instance that logged the client src.
	which := func(src string) int {
		t.Helper()
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(src) + `:\d+: Plain non-SSL \(ws://\) WebSocket connection via=`)
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			for i, p := range f.inst {
				if re.MatchString(p.stderr.String()) {
					return i
				}
			}
		}
		t.Fatalf("no instance logged client %s", src)
		return -1
	}
	open := func(src string) session {
		t.Helper()
		rc, resp, body := wsOn(t, dialFrom(t, src, f.front), tq(f.tok), "ws.example")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("client %s refused: %d %s", src, resp.StatusCode, errMessage(body))
		}
		if got := string(rc.readData(4, 10*time.Second)); got != "vnc\n" {
			t.Fatalf("client %s reached %q", src, got)
		}
		return session{rc: rc, src: src, inst: which(src)}
	}
	var before []session
	for i := range 6 {
		before = append(before, open(fmt.Sprintf("127.0.0.%d", 60+i)))
	}
	drained := before[0].inst
	f.inst[drained].signal(syscall.SIGTERM)
	f.inst[drained].stderr.waitFor(t, reMust(`Draining`), 10*time.Second)

	// New sessions: none refused, none on the draining instance.
	var after []session
	for i := range 6 {
		s := open(fmt.Sprintf("127.0.0.%d", 80+i))
		if s.inst == drained {
			t.Fatalf("client %s went to the draining instance %d", s.src, drained+1)
		}
		after = append(after, s)
	}
	// Every session runs on, the draining instance's too.
	for _, s := range append(before, after...) {
		s.rc.echoOnce([]byte("still relayed for " + s.src))
	}
	for _, s := range after {
		s.rc.closeHandshake()
	}
	// Once its last session ends, the drained instance exits 0.
	for _, s := range before {
		s.rc.closeHandshake()
	}
	if st := f.inst[drained].wait(20 * time.Second); st != 0 {
		t.Fatalf("drained instance exited %d", st)
	}
	if strings.Contains(f.inst[drained].stderr.String(), "Drain timeout") {
		t.Fatalf("sessions were cut by the drain timeout:\n%s", f.inst[drained].stderr.String())
	}
}
