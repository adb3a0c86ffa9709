package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// mixConfig sizes the noVNC-shaped workload.
type mixConfig struct {
	steps    []int         // session counts, in order; the first is the baseline (10)
	refMax   int           // the reference stops here: it forks a process per session
	dur      time.Duration // measured time per run, after warmUp
	warmUp   time.Duration
	reps     int
	burst    int           // bytes per framebuffer burst
	period   time.Duration // between bursts
	inputGap time.Duration // between input events (20 per second)
}

func mixSizes(full bool, reps int) mixConfig {
	c := mixConfig{
		steps: []int{10, 50, 100, 200}, refMax: 50,
		dur: 3 * time.Second, warmUp: time.Second, reps: min(reps, 3),
		burst: 256 << 10, period: 100 * time.Millisecond, inputGap: 50 * time.Millisecond,
	}
	if full {
		c.steps = []int{10, 100, 200, 400, 800, 1600, 3200}
		c.refMax, c.dur, c.reps = 200, 6*time.Second, reps
	}
	return c
}

// mixRun is one run of the mixed workload against one proxy at one N.
type mixRun struct {
	cpuPct float64 // proxy CPU, % of one core
	// Input round trips in µs of the interactive sessions (the 90 % that
	// receive no updates: "input latency while others stream"), and the p99
	// of the streaming sessions', whose replies queue behind their updates
	// in the same TCP stream.
	p50, p99, p999 float64
	streamP99      float64
	events         int     // round trips measured
	delivered      float64 // framebuffer bytes received ÷ bytes the backend meant to send
	load           string
}

// runMix drives n sessions through p for c.dur: every session sends an
// input event every c.inputGap and reads the replies; one in ten also
// receives a c.burst-byte update every c.period.
func runMix(c mixConfig, be *mixBackend, p *proxyProc, n int) (mixRun, error) {
	streamers := max(n/10, 1) // sessions 0..streamers-1; the rest are interactive
	sessions := make([]*client, n)
	defer func() {
		for _, cl := range sessions {
			if cl != nil {
				cl.c.Close()
			}
		}
	}()
	var firstErr onceError
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				cl, err := p.dial(256 << 10) // a whole burst in one frame fits
				if err != nil {
					firstErr.set(fmt.Errorf("session %d: %w", i, err))
					return
				}
				sessions[i] = cl
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil {
		return mixRun{}, err
	}

	base := time.Now()
	start := base.Add(c.warmUp)
	end := start.Add(c.dur)
	stop := make(chan struct{})
	var updates atomic.Int64 // update bytes received in [start, end)
	lats := make([][]time.Duration, n)
	var readers sync.WaitGroup
	for i, cl := range sessions {
		kind := byte(kindInput)
		if i < streamers {
			kind = kindStreamer
		}
		cl.c.SetDeadline(end.Add(30 * time.Second))
		readers.Add(2)
		go func() { // the reader
			defer readers.Done()
			m := &msgReader{cl: cl}
			ev := make([]byte, inputSize)
			for {
				typ, k, err := m.next(ev)
				if err != nil {
					select {
					case <-stop:
					default:
						firstErr.set(fmt.Errorf("session %d: %w", i, err))
					}
					return
				}
				now := time.Now()
				if now.Before(start) || !now.Before(end) {
					continue
				}
				switch typ {
				case msgEcho:
					sent := base.Add(time.Duration(int64(leUint64(ev[1:]))))
					lats[i] = append(lats[i], now.Sub(sent))
				case msgUpdate:
					updates.Add(int64(k))
				}
			}
		}()
		go func() { // the writer: 20 input events a second, from a random phase
			defer readers.Done()
			ev := make([]byte, inputSize)
			ev[0] = kind
			time.Sleep(rand.N(c.inputGap))
			t := time.NewTicker(c.inputGap)
			defer t.Stop()
			for {
				putLeUint64(ev[1:], uint64(time.Since(base)))
				if err := cl.send(ev); err != nil {
					select {
					case <-stop:
					default:
						firstErr.set(fmt.Errorf("session %d: send: %w", i, err))
					}
					return
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	}
	time.Sleep(time.Until(start))
	cpu0 := treeCPU(p.pid())
	time.Sleep(time.Until(end))
	cpu := treeCPU(p.pid()) - cpu0
	load := loadAvg()
	close(stop)
	for _, cl := range sessions {
		cl.c.Close()
	}
	readers.Wait()
	if err := firstErr.get(); err != nil {
		return mixRun{}, err
	}
	var inter, stream []time.Duration
	for i, l := range lats {
		if i < streamers {
			stream = append(stream, l...)
		} else {
			inter = append(inter, l...)
		}
	}
	if len(inter) == 0 || len(stream) == 0 {
		return mixRun{}, fmt.Errorf("no input event came back")
	}
	us := func(d []time.Duration, q float64) float64 { return float64(percentile(d, q)) / 1e3 }
	want := float64(streamers) * float64(c.burst) * (float64(c.dur) / float64(c.period))
	return mixRun{
		cpuPct: 100 * cpu.Seconds() / c.dur.Seconds(),
		p50:    us(inter, 0.5), p99: us(inter, 0.99), p999: us(inter, 0.999), streamP99: us(stream, 0.99),
		events: len(inter) + len(stream), delivered: float64(updates.Load()) / want, load: load,
	}, nil
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func putLeUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// mixSuite runs the mixed workload for every proxy at every N of c.steps,
// repetitions interleaved, and stops stepping a proxy once the median p99
// of its runs at an N exceeds twice its value at the first N (or its runs
// fail, or N passes its limit).
func mixSuite(out io.Writer, c mixConfig, specs []proxySpec, verbose bool) error {
	be, err := startMixBackend(c.burst, c.period)
	if err != nil {
		return err
	}
	defer be.ln.Close()
	// Our proxies run with the heartbeat of a production setup.
	var ps []proxySpec
	for _, s := range specs {
		if !s.raw() {
			s = s.withArgs("--heartbeat", "30")
		}
		ps = append(ps, s)
	}
	type key struct {
		proxy string
		n     int
	}
	runs := map[key][]mixRun{}
	errs := map[key][]string{}
	largest := map[string]int{}
	why := map[string]string{}
	baseP99 := map[string]float64{}
	active := map[string]bool{}
	for _, s := range ps {
		active[s.name] = true
	}
	for _, n := range c.steps {
		for rep := 0; rep < c.reps; rep++ {
			for _, s := range ps {
				if !active[s.name] {
					continue
				}
				if s.forks && n > c.refMax {
					active[s.name] = false
					why[s.name] = fmt.Sprintf("not run beyond N=%d: it forks a Python process per session", c.refMax)
					continue
				}
				p, err := s.start(be.addr(), nil)
				var r mixRun
				if err == nil {
					r, err = runMix(c, be, p, n)
					p.stop()
				}
				k := key{s.name, n}
				if err != nil {
					errs[k] = append(errs[k], err.Error())
				} else {
					runs[k] = append(runs[k], r)
				}
				if verbose {
					fmt.Fprintf(out, "mix N=%d rep %d %s: %+v err=%v\n", n, rep+1, s.name, r, err)
				}
			}
		}
		for _, s := range ps {
			if !active[s.name] {
				continue
			}
			k := key{s.name, n}
			if len(errs[k]) > 0 {
				active[s.name] = false
				why[s.name] = fmt.Sprintf("runs failed at N=%d: %s", n, errs[k][0])
				continue
			}
			p99 := medianOf(runs[k], func(r mixRun) float64 { return r.p99 })
			if n == c.steps[0] {
				baseP99[s.name] = p99
			}
			if p99 > 2*baseP99[s.name] {
				active[s.name] = false
				why[s.name] = fmt.Sprintf("p99 %.0f µs at N=%d > 2 × %.0f µs", p99, n, baseP99[s.name])
				continue
			}
			largest[s.name] = n
		}
	}
	for _, s := range ps {
		if active[s.name] {
			why[s.name] = fmt.Sprintf("still within 2× at the largest N tried (%d)", c.steps[len(c.steps)-1])
		}
	}

	fmt.Fprintf(out, "\n### noVNC-shaped mix: %d%% of sessions get %d KiB every %v; every session sends %d-byte input events every %v and reads the echo; heartbeat 30 s for the WebSocket proxies; %v measured per run after %v of warm-up; median of %d runs\n\n",
		10, c.burst>>10, c.period, inputSize, c.inputGap, c.dur, c.warmUp, c.reps)
	head := []string{"N", "proxy", "CPU % of a core", "input RTT p50 µs", "p99 µs", "p99.9 µs", "streaming sessions' p99 µs", "updates delivered", "load (1 min) per run"}
	fmt.Fprintf(out, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, n := range c.steps {
		for _, s := range ps {
			k := key{s.name, n}
			rs := runs[k]
			if len(rs) == 0 && len(errs[k]) == 0 {
				continue
			}
			if len(rs) == 0 {
				fmt.Fprintf(out, "| %d | %s | error: %.120s ||||||\n", n, s.name, errs[k][0])
				continue
			}
			var loads []string
			for _, r := range rs {
				loads = append(loads, strings.Fields(r.load)[0])
			}
			fmt.Fprintf(out, "| %d | %s | %s | %s | %s | %s | %s | %.0f%% | %s |\n", n, s.name,
				format(medianOf(rs, func(r mixRun) float64 { return r.cpuPct })),
				format(medianOf(rs, func(r mixRun) float64 { return r.p50 })),
				format(medianOf(rs, func(r mixRun) float64 { return r.p99 })),
				format(medianOf(rs, func(r mixRun) float64 { return r.p999 })),
				format(medianOf(rs, func(r mixRun) float64 { return r.streamP99 })),
				100*medianOf(rs, func(r mixRun) float64 { return r.delivered }),
				strings.Join(loads, ", "))
		}
	}
	fmt.Fprintln(out, "\nRatios, ours ÷ relay at the same N (medians):")
	fmt.Fprintln(out, "\n| N | CPU | input RTT p50 | p99 | p99.9 | streaming p99 | p99 run by run (interleaved pairs) |\n|---|---|---|---|---|---|---|")
	for _, n := range c.steps {
		o, r := runs[key{"ours", n}], runs[key{"relay", n}]
		if len(o) == 0 || len(r) == 0 {
			continue
		}
		ratio := func(f func(mixRun) float64) string {
			return fmt.Sprintf("%.2f×", medianOf(o, f)/medianOf(r, f))
		}
		var pairs []string
		for i := range min(len(o), len(r)) {
			pairs = append(pairs, fmt.Sprintf("%.2f", o[i].p99/r[i].p99))
		}
		fmt.Fprintf(out, "| %d | %s | %s | %s | %s | %s | %s |\n", n,
			ratio(func(r mixRun) float64 { return r.cpuPct }), ratio(func(r mixRun) float64 { return r.p50 }),
			ratio(func(r mixRun) float64 { return r.p99 }), ratio(func(r mixRun) float64 { return r.p999 }),
			ratio(func(r mixRun) float64 { return r.streamP99 }), strings.Join(pairs, ", "))
	}
	fmt.Fprintln(out, "\nLargest N with the median p99 of the interactive sessions within 2× of its value at N=10:")
	fmt.Fprintln(out)
	for _, s := range ps {
		fmt.Fprintf(out, "- %s: %d (%s)\n", s.name, largest[s.name], why[s.name])
	}
	if r, o := largest["relay"], largest["ours"]; r > 0 {
		fmt.Fprintf(out, "- ours ÷ relay: %.2f×\n", float64(o)/float64(r))
	}
	return nil
}

func medianOf[T any](xs []T, f func(T) float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
