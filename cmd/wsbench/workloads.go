package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// env is what every workload gets.
type env struct {
	be    *backends
	scale float64
	tls   *tls.Config // client side of the wss:// workloads, for proxyProc.tls
}

func (e *env) bytes(base int64) int64 {
	n := int64(float64(base) * e.scale)
	return max(n/chunkSize, 1) * chunkSize
}

// measure is the outcome of one workload against one proxy.
type measure struct {
	value float64            // the reported figure
	also  map[string]float64 // figures of the workload's further rows, by row suffix
	extra map[string]string  // secondary figures, for the details
}

// row is a further row of a workload in the table: a second figure of the
// same runs (say, a latency percentile), kept under the key w.key+suffix.
type row struct{ suffix, title string }

// workload is one row of the table. run measures p; the proxy of a wss://
// workload serves TLS, and p.dial connects to it over TLS.
type workload struct {
	key    string
	title  string
	unit   string
	higher bool // higher is better
	wss    bool // runs over wss://, compared with the same proxy's ws:// row
	ws     string
	rows   []row // further figures of the same runs
	target func(*backends) string
	run    func(e *env, p *proxyProc) (measure, error)
}

var workloads = []workload{
	{key: "t2c", title: "target→client, 64 KiB writes: CPU", unit: "s/GB",
		target: func(b *backends) string { return b.source.Addr().String() },
		run:    runT2C},
	{key: "c2t", title: "client→target, 64 KiB messages: CPU", unit: "s/GB",
		target: func(b *backends) string { return b.sink.Addr().String() },
		run:    runC2T},
	{key: "echo", title: "64-byte echo round trip: p50", unit: "µs",
		rows:   []row{{"/p99", "64-byte echo round trip: p99"}, {"/p999", "64-byte echo round trip: p99.9"}},
		target: func(b *backends) string { return b.echo.Addr().String() },
		run:    runEcho64},
	{key: "sessions", title: "sessions/s (connect, upgrade, round trip, close; 4 clients)", unit: "/s", higher: true,
		target: func(b *backends) string { return b.echo.Addr().String() },
		run:    runSessions},
	{key: "session-cpu", title: "CPU per session, one client at a time (connect, upgrade, round trip, close)", unit: "µs",
		target: func(b *backends) string { return b.echo.Addr().String() },
		run:    runSessionCPU},
	{key: "idle", title: "memory per idle session (PSS)", unit: "KB",
		target: func(b *backends) string { return b.echo.Addr().String() },
		run:    runIdle},
	{key: "flood", title: "proxy PSS, one connection flooding both ways, slow readers", unit: "MB",
		target: func(b *backends) string { return b.flood.Addr().String() },
		run:    runFlood},
	{key: "t2c-wss", title: "wss:// target→client: CPU", unit: "s/GB", wss: true, ws: "t2c",
		target: func(b *backends) string { return b.source.Addr().String() },
		run:    runT2C},
	{key: "c2t-wss", title: "wss:// client→target: CPU", unit: "s/GB", wss: true, ws: "c2t",
		target: func(b *backends) string { return b.sink.Addr().String() },
		run:    runC2T},
	{key: "idle-wss", title: "wss:// memory per idle session (PSS)", unit: "KB", wss: true, ws: "idle",
		target: func(b *backends) string { return b.echo.Addr().String() },
		run:    runIdle},
	{key: "flood-wss", title: "wss:// proxy PSS, one connection flooding both ways, slow readers", unit: "MB", wss: true, ws: "flood",
		target: func(b *backends) string { return b.flood.Addr().String() },
		run:    runFlood},
}

func throughput(n int64, d time.Duration) string {
	return fmt.Sprintf("%.0f MB/s", float64(n)/d.Seconds()/1e6)
}

// cpuPerGB is the proxy's CPU time cpu per GB of the n bytes it moved in
// d, with the throughput as a secondary figure.
func cpuPerGB(n int64, cpu, d time.Duration) measure {
	return measure{value: cpu.Seconds() / (float64(n) / 1e9),
		extra: map[string]string{"throughput": throughput(n, d)}}
}

func runT2C(e *env, p *proxyProc) (measure, error) {
	n := e.bytes(512 << 20)
	cl, err := p.dial(256 << 10)
	if err != nil {
		return measure{}, err
	}
	defer cl.c.Close()
	cl.c.SetDeadline(time.Now().Add(5 * time.Minute))
	cpu0, t0 := treeCPU(p.pid()), time.Now()
	if err := cl.recv(n); err != nil {
		return measure{}, err
	}
	cpu, d := treeCPU(p.pid())-cpu0, time.Since(t0)
	return cpuPerGB(n, cpu, d), nil
}

func runC2T(e *env, p *proxyProc) (measure, error) {
	n := e.bytes(512 << 20)
	cl, err := p.dial(64 << 10)
	if err != nil {
		return measure{}, err
	}
	defer cl.c.Close()
	msg := cl.encode(pattern)
	cl.c.SetDeadline(time.Now().Add(5 * time.Minute))
	base := e.be.sinkBytes.Load()
	bad := e.be.corrupted()
	cpu0, t0 := treeCPU(p.pid()), time.Now()
	for sent := int64(0); sent < n; sent += chunkSize {
		if _, err := cl.c.Write(msg); err != nil {
			return measure{}, err
		}
	}
	deadline := time.Now().Add(time.Minute)
	for e.be.sinkBytes.Load()-base < n {
		if time.Now().After(deadline) {
			return measure{}, fmt.Errorf("sink got %d of %d bytes", e.be.sinkBytes.Load()-base, n)
		}
		time.Sleep(200 * time.Microsecond)
	}
	cpu, d := treeCPU(p.pid())-cpu0, time.Since(t0)
	if e.be.corrupted() != bad {
		return measure{}, errors.New("the sink received corrupted data")
	}
	return cpuPerGB(n, cpu, d), nil
}

func percentile(d []time.Duration, q float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(int(q*float64(len(d))), len(d)-1)]
}

func runEcho64(e *env, p *proxyProc) (measure, error) {
	// 2,000 round trips at scale 1: the p99.9 is the second-slowest of them.
	rounds := max(int(2000*e.scale), 1000)
	cl, err := p.dial(64 << 10)
	if err != nil {
		return measure{}, err
	}
	defer cl.close()
	cl.c.SetDeadline(time.Now().Add(5 * time.Minute))
	lat := make([]time.Duration, 0, rounds)
	for i := -100; i < rounds; i++ { // 100 rounds of warm-up
		t0 := time.Now()
		if err := cl.echo64(); err != nil {
			return measure{}, err
		}
		if i >= 0 {
			lat = append(lat, time.Since(t0))
		}
	}
	us := func(q float64) float64 { return float64(percentile(lat, q)) / 1e3 }
	return measure{value: us(0.5), also: map[string]float64{"/p99": us(0.99), "/p999": us(0.999)},
		extra: map[string]string{"rounds": fmt.Sprint(rounds)}}, nil
}

// oneSession is what a browser tab does in a reconnect storm.
func oneSession(p *proxyProc) error {
	cl, err := p.dial(4 << 10)
	if err != nil {
		return err
	}
	cl.c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := cl.echo64(); err != nil {
		cl.c.Close()
		return err
	}
	return cl.close()
}

func runSessions(e *env, p *proxyProc) (measure, error) {
	dur := time.Duration(float64(2*time.Second) * e.scale)
	var ok, failed atomic.Int64
	var firstErr onceError
	cpu0, t0 := treeCPU(p.pid()), time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(t0) < dur {
				if err := oneSession(p); err != nil {
					failed.Add(1)
					firstErr.set(err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	cpu := treeCPU(p.pid()) - cpu0
	if f := failed.Load(); f*100 > ok.Load() {
		return measure{}, fmt.Errorf("%d of %d sessions failed: %v", f, f+ok.Load(), firstErr.get())
	}
	return measure{value: float64(ok.Load()) / d.Seconds(),
		extra: map[string]string{"CPU/session": fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/float64(max(ok.Load(), 1)))}}, nil
}

// runSessionCPU opens sessions one after the other and reports the proxy's
// CPU time per session. With one client the machine is not saturated, so,
// unlike sessions per second, the figure is the proxy's own cost, not
// moved by what the client spends on WebSocket.
func runSessionCPU(e *env, p *proxyProc) (measure, error) {
	n, warm := max(int(3000*e.scale), 100), 100
	if p.spec.forks {
		n, warm = max(int(200*min(e.scale, 1)), 20), 10
	}
	if err := sessionsInARow(p, warm); err != nil {
		return measure{}, err
	}
	cpu0, t0 := treeCPU(p.pid()), time.Now()
	if err := sessionsInARow(p, n); err != nil {
		return measure{}, err
	}
	d := time.Since(t0)
	cpu := treeCPU(p.pid()) - cpu0
	return measure{value: float64(cpu.Microseconds()) / float64(n),
		extra: map[string]string{"sessions": fmt.Sprint(n), "rate": fmt.Sprintf("%.0f/s", float64(n)/d.Seconds())}}, nil
}

// sessionsInARow runs n sessions one after the other.
func sessionsInARow(p *proxyProc, n int) error {
	for range n {
		if err := oneSession(p); err != nil {
			return err
		}
	}
	return nil
}

// idleSessions is how many sessions the idle-memory workload opens: 5,000,
// and 200 for the reference, which forks a process per session. The plain
// relay holds two splice pipes (four descriptors) per idle session besides
// its two sockets, so under the usual limit of 20,000 open files it gets
// what fits.
func idleSessions(e *env, p *proxyProc) int {
	scale := min(e.scale, 1) // the figure is per session at 5,000: bigger runs do not need more
	if p.spec.forks {
		return max(int(200*scale), 20)
	}
	n := max(int(5000*scale), 100)
	var lim syscall.Rlimit
	if p.spec.raw() && syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		n = min(n, int(lim.Cur-100)/6)
	}
	return n
}

func runIdle(e *env, p *proxyProc) (measure, error) {
	n := idleSessions(e, p)
	time.Sleep(500 * time.Millisecond)
	pss0 := treePSS(p.pid())
	conns := make([]*client, n)
	defer func() {
		for _, cl := range conns {
			if cl != nil {
				cl.c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	var firstErr onceError
	next := atomic.Int64{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				cl, err := p.dial(256)
				if err == nil {
					cl.c.SetDeadline(time.Now().Add(30 * time.Second))
					err = cl.echo64()
					cl.c.SetDeadline(time.Time{})
					conns[i] = cl
				}
				if err != nil {
					firstErr.set(fmt.Errorf("session %d: %w", i, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil {
		return measure{}, err
	}
	time.Sleep(2 * time.Second)
	pss1 := treePSS(p.pid())
	return measure{value: float64(pss1-pss0) / float64(n) / 1e3,
		extra: map[string]string{"sessions": fmt.Sprint(n), "PSS idle/loaded": fmt.Sprintf("%.1f/%.1f MB", float64(pss0)/1e6, float64(pss1)/1e6)}}, nil
}

func runFlood(e *env, p *proxyProc) (measure, error) {
	dur := time.Duration(float64(3*time.Second) * e.scale)
	cl, err := p.dial(64 << 10)
	if err != nil {
		return measure{}, err
	}
	defer cl.c.Close()
	msg := cl.encode(pattern)
	go func() {
		for {
			if _, err := cl.c.Write(msg); err != nil {
				return
			}
		}
	}()
	go slowRead(cl.c)
	var peak, third int64
	t0 := time.Now()
	for time.Since(t0) < dur {
		time.Sleep(50 * time.Millisecond)
		pss := treePSS(p.pid())
		peak = max(peak, pss)
		if third == 0 && time.Since(t0) > dur/3 {
			third = pss
		}
	}
	last := treePSS(p.pid())
	return measure{value: float64(peak) / 1e6,
		extra: map[string]string{"growth over the last 2/3": fmt.Sprintf("%+.1f MB", float64(last-third)/1e6)}}, nil
}

// onceError keeps the first error reported from several goroutines.
type onceError struct {
	mu  sync.Mutex
	err error
}

func (o *onceError) set(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = err
	}
}

func (o *onceError) get() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
