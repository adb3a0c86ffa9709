// Command wsbench measures WebSocket-to-TCP proxies side by side: the Go
// websockify, the reference Python websockify and a plain TCP relay. It
// starts each proxy with a real backend on loopback, drives the workloads of
// issue #6 through it, reads the proxy's CPU time and proportional set size
// (PSS) from /proc (summed over its process tree: the reference forks a
// process per connection) and prints a table of medians with ratios to the
// plain relay.
//
// Besides those workloads it runs three suites with tables of their own
// (issue #20): "mix", a noVNC-shaped mix of streaming and interactive
// sessions with N stepped up (mix.go); "many", as many idle sessions as one
// proxy process holds, with clients and backend in worker processes
// (many.go, idleworkers.go); and "nginx", wss:// against nginx terminating
// TLS in front of ws://, and TLS handshakes per second (nginx.go).
//
// Usage:
//
//	wsbench [-reps 3] [-scale 1] [-bench-scale quick|full] [-only t2c,echo,mix]
//	        [-ours bin/websockify] [-reference /usr/bin/websockify] [-proxy name=path]...
//	        [-plain name='socat TCP-LISTEN:{port},reuseaddr,fork TCP:{target}']...
//	wsbench relay LISTEN TARGET   (the plain relay, run by wsbench itself)
//	wsbench idle-backend          (worker processes of the many suite)
//	wsbench idle-clients ADDR ws|raw N SRC,SRC...
//
// WSBENCH_SCALE, if set, is the default of -scale; BENCH_SCALE, of
// -bench-scale.
package main

import (
	"cmp"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "relay" {
		if err := runRelay(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "wsbench relay:", err)
			os.Exit(1)
		}
		return
	}
	var err error
	switch {
	case len(os.Args) == 2 && os.Args[1] == cmdIdleBackend:
		err = runIdleBackend()
	case len(os.Args) == 6 && os.Args[1] == cmdIdleClients:
		err = runIdleClients(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	default:
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(1)
	}
}

// proxyFlags collects -proxy and -plain values; plain is set for -plain.
type proxyFlags struct {
	specs *[]proxySpec
	plain bool
}

func (p proxyFlags) String() string { return "" }
func (p proxyFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want name=command, got %q", v)
	}
	*p.specs = append(*p.specs, proxySpec{name: name, path: path, plain: p.plain})
	return nil
}

func run() error {
	scale := 1.0
	if v := os.Getenv("WSBENCH_SCALE"); v != "" {
		var err error
		if scale, err = strconv.ParseFloat(v, 64); err != nil || scale <= 0 {
			return fmt.Errorf("WSBENCH_SCALE=%q: want a positive number", v)
		}
	}
	var extra []proxySpec
	reps := flag.Int("reps", 3, "runs of each workload against each proxy; the table shows medians")
	flag.Float64Var(&scale, "scale", scale, "multiplies the sizes and durations of the workloads")
	only := flag.String("only", "", "comma-separated workloads to run (default all: "+workloadKeys()+")")
	ours := flag.String("ours", "bin/websockify", "the Go websockify binary (empty to leave out)")
	ref := flag.String("reference", "/usr/bin/websockify", "the reference websockify (empty to leave out)")
	verbose := flag.Bool("v", false, "print every run")
	scaleName := flag.String("bench-scale", cmp.Or(os.Getenv("BENCH_SCALE"), "quick"),
		"quick or full: the size of the mix, many-idle-sessions and nginx suites (full: 9,500 idle sessions, N up to 3,200); BENCH_SCALE sets the default")
	mixN := flag.String("mix-n", "", "the mix suite's session counts, comma-separated, the first being the baseline (default: by -bench-scale)")
	flag.Var(proxyFlags{specs: &extra}, "proxy", "another websockify-compatible proxy as name=path, or name='cmd {listen} {target}' (repeatable)")
	flag.Var(proxyFlags{specs: &extra, plain: true}, "plain",
		"another plain TCP relay as name='cmd …' with {listen}, {port}, {target}, e.g. socat='socat TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork TCP:{target}' (repeatable)")
	flag.Parse()

	specs := []proxySpec{{name: "relay"}}
	if *ref != "" {
		if _, err := exec.LookPath(*ref); err != nil {
			return fmt.Errorf("reference websockify: %w (install Debian's websockify, or pass -reference '')", err)
		}
		specs = append(specs, proxySpec{name: refName, path: *ref, forks: true})
	}
	specs = append(specs, extra...)
	if *ours != "" {
		if _, err := os.Stat(*ours); err != nil {
			return fmt.Errorf("our websockify: %w (run make build)", err)
		}
		specs = append(specs, proxySpec{name: "ours", path: *ours})
	}
	wls := workloads
	suites := map[string]bool{"mix": true, "many": true, "nginx": true}
	if *only != "" {
		wls, suites = nil, map[string]bool{}
		for _, k := range strings.Split(*only, ",") {
			if _, ok := suiteKeys[k]; ok {
				suites[k] = true
				continue
			}
			w, ok := findWorkload(k)
			if !ok {
				return fmt.Errorf("unknown workload %q (have %s)", k, workloadKeys())
			}
			wls = append(wls, w)
		}
	}
	switch *scaleName {
	case "quick", "full":
	default:
		return fmt.Errorf("-bench-scale %q: want quick or full", *scaleName)
	}
	full := *scaleName == "full"

	raiseFileLimit()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		killAll()
		fmt.Fprintln(os.Stderr, "wsbench:", sig)
		os.Exit(1)
	}()
	be, err := startBackends()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "wsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cert, err := writeCert(dir)
	if err != nil {
		return err
	}
	e := &env{be: be, scale: scale, tls: &tls.Config{InsecureSkipVerify: true}}

	start, load0 := time.Now(), loadAvg()
	res := newResults()
	// Repetitions are the outer loop so that noise from other load on the
	// machine spreads over every proxy alike.
	wss := slices.ContainsFunc(wls, func(w workload) bool { return w.wss })
	for rep := 1; rep <= *reps && len(wls) > 0; rep++ {
		if wss {
			v, err := sealCost(e.bytes(256 << 20))
			res.add(aesKey, aesKey, measure{value: v}, err)
		}
		for _, w := range wls {
			for _, s := range specs {
				if w.wss && s.raw() {
					continue
				}
				var c *certFiles
				if w.wss {
					c = cert
				}
				m, err := runOne(e, w, s, c)
				res.add(w.key, s.name, m, err)
				if *verbose {
					if err != nil {
						fmt.Fprintf(os.Stderr, "run %d %-8s %-14s error: %v\n", rep, w.key, s.name, err)
					} else {
						fmt.Fprintf(os.Stderr, "run %d %-8s %-14s %10.3f %s %v\n", rep, w.key, s.name, m.value, w.unit, m.extra)
					}
				}
			}
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("wsbench: %d runs each, median shown; scale %g; %s; %d CPUs; %s; %s; %s; took %v; load average at start %s, at end %s\n\n",
		*reps, scale, cpuModel(), runtime.NumCPU(), kernel(), host, start.UTC().Format(time.RFC3339),
		time.Since(start).Round(time.Second), load0, loadAvg())
	if len(wls) > 0 {
		res.print(os.Stdout, wls, specs)
	}
	if suites["mix"] {
		mc := mixSizes(full, *reps)
		if *mixN != "" {
			mc.steps = nil
			for _, f := range strings.Split(*mixN, ",") {
				n, err := strconv.Atoi(f)
				if err != nil || n < 1 {
					return fmt.Errorf("-mix-n: %q is not a session count", f)
				}
				mc.steps = append(mc.steps, n)
			}
		}
		if err := mixSuite(os.Stdout, mc, specs, *verbose); err != nil {
			return fmt.Errorf("mix: %w", err)
		}
	}
	if suites["nginx"] {
		i := slices.IndexFunc(specs, func(s proxySpec) bool { return s.name == "ours" })
		if i < 0 {
			return errors.New("nginx: needs ours (-ours)")
		}
		if err := nginxSuite(os.Stdout, e, specs[i], cert, dir, full, *reps, *verbose); err != nil {
			return fmt.Errorf("nginx: %w", err)
		}
	}
	if suites["many"] {
		if err := manySuite(os.Stdout, manySizes(full), specs, *verbose); err != nil {
			return fmt.Errorf("many: %w", err)
		}
	}
	return nil
}

// suiteKeys are the workloads with tables of their own, selected with -only
// like the others.
var suiteKeys = map[string]string{
	"mix":   "noVNC-shaped mix: input round trips while some sessions stream, N stepped up",
	"many":  "as many idle sessions as one process holds, clients and backends in worker processes",
	"nginx": "wss:// against nginx terminating TLS in front of ws://, and TLS handshakes per second",
}

// raiseFileLimit lifts the open-file limit of wsbench and of the proxies it
// starts to 65536 when it may (CAP_SYS_RESOURCE), else to the hard limit:
// 5,000 idle sessions take 10,000 sockets in wsbench and as many in the
// proxy. Setting the limit also stops Go from restoring the original soft
// limit in child processes.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return
	}
	want := max(lim.Max, 65536)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}) != nil {
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max})
	}
}

func runOne(e *env, w workload, s proxySpec, cert *certFiles) (measure, error) {
	p, err := s.start(w.target(e.be), cert)
	if err != nil {
		return measure{}, err
	}
	defer p.stop()
	if cert != nil {
		p.tls = e.tls
	}
	m, err := w.run(e, p)
	if err != nil {
		return m, fmt.Errorf("%w (proxy output: %.200q)", err, p.out.String())
	}
	if m.extra == nil {
		m.extra = map[string]string{}
	}
	m.extra["load"] = loadAvg()
	return m, nil
}

func findWorkload(key string) (workload, bool) {
	for _, w := range workloads {
		if w.key == key {
			return w, true
		}
	}
	return workload{}, false
}

func workloadKeys() string {
	var k []string
	for _, w := range workloads {
		k = append(k, w.key)
	}
	k = append(k, "mix", "many", "nginx")
	return strings.Join(k, ",")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(b))
}

// loadAvg is the 1-, 5- and 15-minute load averages from /proc/loadavg: the
// machine is shared, and the tables say how busy it was.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
