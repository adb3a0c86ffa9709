package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// manyConfig sizes the many-idle-sessions workload.
type manyConfig struct {
	sessions  int           // per proxy (the plain relay gets what fits)
	perWorker int           // sessions per client worker process
	hold      time.Duration // kept open, with a 30 s heartbeat
	reps      int
	sources   []string // client source addresses, so that ports do not run out
}

func manySizes(full bool) manyConfig {
	c := manyConfig{sessions: 1000, perWorker: 2500, hold: 31 * time.Second, reps: 1}
	if full {
		c.sessions, c.reps = 9500, 3
	}
	for i := 2; i <= 9; i++ {
		c.sources = append(c.sources, fmt.Sprintf("127.0.0.%d", i))
	}
	return c
}

// manyRun is one run of the workload against one proxy.
type manyRun struct {
	sessions, alive int
	pings           int64
	pss             float64 // proxy PSS per session, bytes (after − before)
	slab            float64 // /proc/meminfo Slab per session, bytes (the whole machine)
	sockMem         float64 // /proc/net/sockstat TCP mem per session, bytes
	cpuPct          float64 // proxy CPU while idle, % of one core
	cpuPerPing      float64 // µs of proxy CPU per heartbeat ping answered
	quietPct        float64 // proxy CPU % of one core before the first ping was due (-1: no such window)
	pingCost        float64 // µs per ping beyond the quiet rate
	pssTotal        float64 // proxy PSS with every session open, bytes
	load            string
}

// sessionsFor is how many sessions p gets: the plain relay keeps two
// splice pipes (four descriptors) per idle session besides its two
// sockets, so a process capped at the hard limit holds a third as many.
func (c manyConfig) sessionsFor(s proxySpec) int {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return c.sessions
	}
	per := uint64(2)
	if s.raw() {
		per = 6
	}
	return min(c.sessions, int((lim.Max-200)/per))
}

func runMany(c manyConfig, s proxySpec, target string) (manyRun, error) {
	n := c.sessionsFor(s)
	p, err := s.start(target, nil)
	if err != nil {
		return manyRun{}, err
	}
	defer p.stop()
	time.Sleep(time.Second)
	slab0, sock0, pss0 := meminfo("Slab"), sockstatTCPMem(), treePSS(p.pid())
	mode := "ws"
	if s.raw() {
		mode = "raw"
	}
	opened := time.Now() // no session was opened before: no ping is due before opened+30 s
	var workers []*worker
	defer func() {
		for _, w := range workers {
			w.stop()
		}
	}()
	for left, i := n, 0; left > 0; i++ {
		k := min(left, c.perWorker)
		left -= k
		// Each worker takes the sources in a different order.
		srcs := append(append([]string(nil), c.sources[i%len(c.sources):]...), c.sources[:i%len(c.sources)]...)
		w, err := startWorker(cmdIdleClients, p.addr, mode, strconv.Itoa(k), strings.Join(srcs, ","))
		if err != nil {
			return manyRun{}, err
		}
		workers = append(workers, w)
	}
	for _, w := range workers {
		l, err := w.line(3 * time.Minute)
		if err != nil {
			return manyRun{}, fmt.Errorf("%w (proxy output: %.300q)", err, p.out.String())
		}
		if !strings.HasPrefix(l, "ready ") {
			return manyRun{}, fmt.Errorf("client worker: %q", l)
		}
	}
	time.Sleep(2 * time.Second)
	slab1, sock1, pss1 := meminfo("Slab"), sockstatTCPMem(), treePSS(p.pid())
	cpu0, t0 := treeCPU(p.pid()), time.Now()
	// Until the first ping is due, the proxy's CPU is that of idle sessions
	// alone; after, it adds the heartbeats'.
	quietEnd := opened.Add(29 * time.Second)
	quiet, quietCPU := time.Duration(0), time.Duration(0)
	if s.raw() || quietEnd.Sub(t0) < 5*time.Second {
		time.Sleep(c.hold)
	} else {
		time.Sleep(time.Until(quietEnd))
		quiet, quietCPU = time.Since(t0), treeCPU(p.pid())-cpu0
		time.Sleep(time.Until(t0.Add(c.hold)))
	}
	cpu := treeCPU(p.pid()) - cpu0
	load := loadAvg()
	r := manyRun{sessions: n, load: load,
		pss:      float64(pss1-pss0) / float64(n),
		slab:     float64(slab1-slab0) / float64(n),
		sockMem:  float64(sock1-sock0) / float64(n),
		cpuPct:   100 * cpu.Seconds() / c.hold.Seconds(),
		pssTotal: float64(max(pss1, treePSS(p.pid()))),
	}
	for _, w := range workers {
		fmt.Fprintln(w.in, "report")
		l, err := w.line(30 * time.Second)
		if err != nil {
			return manyRun{}, err
		}
		var alive int
		var pings int64
		if _, err := fmt.Sscanf(l, "alive %d pings %d", &alive, &pings); err != nil {
			return manyRun{}, fmt.Errorf("client worker: %q", l)
		}
		r.alive += alive
		r.pings += pings
	}
	r.quietPct = -1
	if quiet > 0 {
		r.quietPct = 100 * quietCPU.Seconds() / quiet.Seconds()
	}
	if r.pings > 0 {
		r.cpuPerPing = float64(cpu.Microseconds()) / float64(r.pings)
		if quiet > 0 {
			rest := cpu - quietCPU - time.Duration(float64(c.hold-quiet)*quietCPU.Seconds()/quiet.Seconds())
			r.pingCost = float64(rest.Microseconds()) / float64(r.pings)
		}
	}
	return r, nil
}

// meminfo is the /proc/meminfo field name in bytes.
func meminfo(name string) int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(l, []byte(name+":")); ok {
			f := bytes.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// sockstatTCPMem is the memory of every TCP socket's buffers, in bytes:
// "mem" of the TCP line of /proc/net/sockstat, in pages.
func sockstatTCPMem() int64 {
	b, _ := os.ReadFile("/proc/net/sockstat")
	for _, l := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(l, []byte("TCP:")); ok {
			f := strings.Fields(string(rest))
			for i := 0; i+1 < len(f); i += 2 {
				if f[i] == "mem" {
					pages, _ := strconv.ParseInt(f[i+1], 10, 64)
					return pages * int64(os.Getpagesize())
				}
			}
		}
	}
	return 0
}

// manySuite runs the workload against the plain relay and our proxy (not
// the reference: it forks a Python process per session) and prints the
// table and the projection to 100,000 sessions.
func manySuite(out io.Writer, c manyConfig, specs []proxySpec, verbose bool) error {
	be, err := startWorker(cmdIdleBackend)
	if err != nil {
		return err
	}
	defer be.stop()
	l, err := be.line(10 * time.Second)
	if err != nil {
		return err
	}
	target, ok := strings.CutPrefix(l, "listen ")
	if !ok {
		return fmt.Errorf("backend worker: %q", l)
	}
	var ps []proxySpec
	for _, s := range specs {
		if s.forks {
			continue
		}
		if !s.raw() {
			s = s.withArgs("--heartbeat", "30")
		}
		ps = append(ps, s)
	}
	runs := map[string][]manyRun{}
	errs := map[string][]string{}
	for rep := 0; rep < c.reps; rep++ {
		for _, s := range ps {
			r, err := runMany(c, s, target)
			if err != nil {
				errs[s.name] = append(errs[s.name], err.Error())
			} else {
				runs[s.name] = append(runs[s.name], r)
			}
			if verbose {
				fmt.Fprintf(out, "many rep %d %s: %+v err=%v\n", rep+1, s.name, r, err)
			}
			time.Sleep(2 * time.Second) // let the closed sockets go
		}
	}

	fmt.Fprintf(out, "\n### Many idle sessions: clients in worker processes of %d sessions each from %s–%s, the backend in another; one 64-byte round trip each, then %v of rest (heartbeat 30 s for ours); median of %d runs\n\n",
		c.perWorker, c.sources[0], c.sources[len(c.sources)-1], c.hold, c.reps)
	head := []string{"proxy", "sessions", "alive at the end", "pings answered", "proxy PSS per session", "Slab per session (machine)", "TCP buffers per session (sockstat)", "user + kernel per session", "idle CPU % of a core", "of which before any ping", "CPU per ping (all ÷ pings)", "CPU per ping beyond the quiet rate", "proxy PSS total", "load (1 min)"}
	fmt.Fprintf(out, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	med := func(name string, f func(manyRun) float64) float64 { return medianOf(runs[name], f) }
	// A negative sockstat delta is the other jobs' sockets closing: it
	// counts as nothing rather than as a saving.
	total := func(r manyRun) float64 { return r.pss + r.slab + max(r.sockMem, 0) }
	for _, s := range ps {
		rs := runs[s.name]
		if len(rs) == 0 {
			if e := errs[s.name]; len(e) > 0 {
				fmt.Fprintf(out, "| %s | error: %.200s |\n", s.name, e[0])
			}
			continue
		}
		var loads []string
		for _, r := range rs {
			loads = append(loads, strings.Fields(r.load)[0])
		}
		quiet := "—"
		if q := med(s.name, func(r manyRun) float64 { return r.quietPct }); q >= 0 {
			quiet = fmt.Sprintf("%.2f", q)
		}
		fmt.Fprintf(out, "| %s | %d | %d | %d | %.2f KB | %.2f KB | %.2f KB | %.2f KB | %.2f | %s | %.0f µs | %.0f µs | %.1f MB | %s |\n",
			s.name, rs[0].sessions, rs[len(rs)-1].alive, rs[len(rs)-1].pings,
			med(s.name, func(r manyRun) float64 { return r.pss })/1e3,
			med(s.name, func(r manyRun) float64 { return r.slab })/1e3,
			med(s.name, func(r manyRun) float64 { return r.sockMem })/1e3,
			med(s.name, total)/1e3,
			med(s.name, func(r manyRun) float64 { return r.cpuPct }),
			quiet,
			med(s.name, func(r manyRun) float64 { return r.cpuPerPing }),
			med(s.name, func(r manyRun) float64 { return r.pingCost }),
			med(s.name, func(r manyRun) float64 { return r.pssTotal })/1e6,
			strings.Join(loads, ", "))
	}
	for name, e := range errs {
		for _, x := range e {
			fmt.Fprintf(out, "\n%s: error: %s\n", name, x)
		}
	}
	if len(runs["ours"]) > 0 && len(runs["relay"]) > 0 {
		fmt.Fprintf(out, "\nours ÷ relay, user + kernel memory per session: %.2f×; proxy PSS alone: %.2f×\n",
			med("ours", total)/med("relay", total),
			med("ours", func(r manyRun) float64 { return r.pss })/med("relay", func(r manyRun) float64 { return r.pss }))
	}
	if rs := runs["ours"]; len(rs) > 0 {
		const target = 100000
		pss := med("ours", func(r manyRun) float64 { return r.pss })
		kern := med("ours", func(r manyRun) float64 { return r.slab + max(r.sockMem, 0) })
		perPing := med("ours", func(r manyRun) float64 { return r.cpuPerPing })
		quiet := med("ours", func(r manyRun) float64 { return r.quietPct })
		idle := ""
		if quiet >= 0 {
			perPing = med("ours", func(r manyRun) float64 { return r.pingCost })
			idle = fmt.Sprintf(" plus %.2f%% of one core for idle sessions without pings (× %.1f)", quiet, float64(target)/float64(rs[0].sessions))
		}
		fmt.Fprintf(out, "\nProjection to %d sessions of ours (linear in the per-session figures above): proxy user memory %.0f MB, kernel memory of all four sockets of a session (client, proxy ×2, backend: the proxy's own share is about half) %.0f MB; heartbeats every 30 s: %.0f pings/s × %.0f µs = %.1f%% of one core%s; %d descriptors (the process limit must be raised beyond 200,000, which this machine does not allow), and, to one backend address, more than one source address for the proxy's outgoing connections (28,232 ephemeral ports per source and destination by default).\n",
			target, pss*target/1e6, kern*target/1e6, float64(target)/30, perPing, float64(target)/30*perPing/1e4, idle, 2*target+20)
	}
	return nil
}
