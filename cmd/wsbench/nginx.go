package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// nginxConf terminates TLS 1.3 with AES-128-GCM and X25519, the choices Go
// makes with AES hardware, in front of a ws:// proxy, as an operator does
// with the stream module. {cert} and {key} are filled in by nginxSpec.
const nginxConf = `load_module {stream};
daemon off;
master_process on;
worker_processes auto;
pid {dir}/nginx-{port}.pid;
error_log {dir}/nginx-{port}.log warn;
events { worker_connections 4096; }
stream {
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
        ssl_ecdh_curve X25519;
        ssl_session_tickets off;
        proxy_pass {target};
    }
}
`

// nginxStream is Debian's dynamic stream module (libnginx-mod-stream).
const nginxStream = "/usr/lib/nginx/modules/ngx_stream_module.so"

// nginxSpec is nginx (Debian's) with nginxConf, run in the foreground as a
// process of wsbench's.
func nginxSpec(dir string, cert *certFiles) (proxySpec, error) {
	path, err := exec.LookPath("nginx")
	if err != nil {
		return proxySpec{}, fmt.Errorf("nginx: %w (apt-get install nginx libnginx-mod-stream, or leave out -only nginx)", err)
	}
	if _, err := os.Stat(nginxStream); err != nil {
		return proxySpec{}, fmt.Errorf("nginx's stream module: %w (apt-get install libnginx-mod-stream)", err)
	}
	conf := strings.NewReplacer("{stream}", nginxStream, "{dir}", dir, "{cert}", cert.cert, "{key}", cert.key).Replace(nginxConf)
	return proxySpec{name: "nginx", path: path + " -e " + dir + "/nginx-error.log -c {conf}", plain: true, conf: conf}, nil
}

// tls13Client is the client side of every TLS run: TLS 1.3, X25519, no
// session resumption (a full handshake every time).
var tls13Client = &tls.Config{
	InsecureSkipVerify: true,
	MinVersion:         tls.VersionTLS13,
	CurvePreferences:   []tls.CurveID{tls.X25519},
}

// tlsRun is one run of the nginx suite: CPU seconds per GB each way, and
// TLS handshakes, for one of the setups.
type tlsRun struct {
	t2c, c2t float64 // s/GB, the CPU of every process of the setup
	hsRate   float64 // handshakes per second, 4 clients
	hsCPU    float64 // µs of the setup's CPU per handshake
	hsFront  float64 // µs of the TLS terminator's own CPU per handshake (nginx without ours)
	load     string
	tput     string
}

// setup is a running arrangement under test: where clients connect, how,
// and the CPU of every process in it.
type setup struct {
	addr  string
	tls   *tls.Config
	cpu   func() time.Duration
	front func() time.Duration // the CPU of the process that terminates TLS
}

func (s setup) dial(buf int) (*client, error) { return dialClient(s.addr, false, s.tls, buf) }

func (s setup) t2c(n int64) (float64, string, error) {
	cl, err := s.dial(256 << 10)
	if err != nil {
		return 0, "", err
	}
	defer cl.c.Close()
	cl.c.SetDeadline(time.Now().Add(5 * time.Minute))
	cpu0, t0 := s.cpu(), time.Now()
	if err := cl.recv(n); err != nil {
		return 0, "", err
	}
	cpu, d := s.cpu()-cpu0, time.Since(t0)
	return cpu.Seconds() / (float64(n) / 1e9), throughput(n, d), nil
}

func (s setup) c2t(be *backends, n int64) (float64, error) {
	cl, err := s.dial(64 << 10)
	if err != nil {
		return 0, err
	}
	defer cl.c.Close()
	msg := cl.encode(pattern)
	cl.c.SetDeadline(time.Now().Add(5 * time.Minute))
	base := be.sinkBytes.Load()
	cpu0 := s.cpu()
	for sent := int64(0); sent < n; sent += chunkSize {
		if _, err := cl.c.Write(msg); err != nil {
			return 0, err
		}
	}
	deadline := time.Now().Add(time.Minute)
	for be.sinkBytes.Load()-base < n {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("sink got %d of %d bytes", be.sinkBytes.Load()-base, n)
		}
		time.Sleep(200 * time.Microsecond)
	}
	cpu := s.cpu() - cpu0
	return cpu.Seconds() / (float64(n) / 1e9), nil
}

// handshakes runs 4 clients for d, each connecting, completing a full
// TLS 1.3 handshake and closing, one after the other.
func (s setup) handshakes(d time.Duration) (rate, cpuPer, frontPer float64, err error) {
	var ok atomic.Int64
	var firstErr onceError
	front0, cpu0, t0 := s.front(), s.cpu(), time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(t0) < d {
				c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
				if err != nil {
					firstErr.set(err)
					return
				}
				t := tls.Client(c, s.tls)
				t.SetDeadline(time.Now().Add(5 * time.Second))
				err = t.Handshake()
				if err == nil {
					err = checkTLS(t.ConnectionState())
				}
				c.Close()
				if err != nil {
					firstErr.set(fmt.Errorf("handshake: %w", err))
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	cpu, front := s.cpu()-cpu0, s.front()-front0
	if err := firstErr.get(); err != nil {
		return 0, 0, 0, err
	}
	n := max(float64(ok.Load()), 1)
	return float64(ok.Load()) / el.Seconds(), float64(cpu.Microseconds()) / n, float64(front.Microseconds()) / n, nil
}

// checkTLS makes sure that a handshake got what the comparison is about:
// TLS 1.3, AES-128-GCM, X25519 and the ECDSA P-256 certificate.
func checkTLS(st tls.ConnectionState) error {
	if st.Version != tls.VersionTLS13 || st.CipherSuite != tls.TLS_AES_128_GCM_SHA256 || st.CurveID != tls.X25519 {
		return fmt.Errorf("negotiated %s, %s, %s; want TLS 1.3, TLS_AES_128_GCM_SHA256, X25519",
			tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID)
	}
	if len(st.PeerCertificates) == 0 || st.PeerCertificates[0].PublicKeyAlgorithm != x509.ECDSA {
		return errors.New("the server's certificate is not ECDSA")
	}
	return nil
}

// tlsSetups are the arrangements compared, by name.
const (
	setupWS    = "ours ws://"
	setupWSS   = "ours wss://"
	setupNginx = "nginx TLS → ours ws://"
)

// nginxSuite compares, in the same run, our ws://, our wss:// and nginx
// terminating TLS in front of our ws://, with AES-128-GCM alone.
func nginxSuite(out io.Writer, e *env, ours proxySpec, cert *certFiles, dir string, full bool, reps int, verbose bool) error {
	ngx, err := nginxSpec(dir, cert)
	if err != nil {
		return err
	}
	n := e.bytes(512 << 20)
	hsDur := 2 * time.Second
	if full {
		n, hsDur = e.bytes(1<<30), 5*time.Second
	}
	runs := map[string][]tlsRun{}
	var seal, open []float64
	var errs []string
	for rep := 0; rep < reps; rep++ {
		sc, err := sealCost(n)
		if err != nil {
			return err
		}
		oc, err := openCost(n)
		if err != nil {
			return err
		}
		seal, open = append(seal, sc), append(open, oc)
		for _, name := range []string{setupWS, setupWSS, setupNginx} {
			r, err := runTLSSetup(e, name, ours, ngx, cert, n, hsDur)
			if err != nil {
				errs = append(errs, name+": "+err.Error())
			} else {
				runs[name] = append(runs[name], r)
			}
			if verbose {
				fmt.Fprintf(out, "nginx rep %d %s: %+v err=%v\n", rep+1, name, r, err)
			}
		}
	}
	med := func(name string, f func(tlsRun) float64) float64 { return medianOf(runs[name], f) }
	t2c := func(r tlsRun) float64 { return r.t2c }
	c2t := func(r tlsRun) float64 { return r.c2t }
	id := func(v float64) float64 { return v }
	sealM, openM := medianOf(seal, id), medianOf(open, id)

	fmt.Fprintf(out, "\n### wss:// against nginx terminating TLS: TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, the same ECDSA P-256 certificate; %d MB each way per run; CPU of every process of the setup (nginx's master and workers + ours); median of %d runs\n\n", n>>20, reps)
	fmt.Fprintln(out, "| figure | ours ws:// | ours wss:// | nginx TLS → ours ws:// | AES-128-GCM alone | wss ÷ (ws + AES) | wss ÷ nginx+ours |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	for _, d := range []struct {
		name string
		f    func(tlsRun) float64
		aes  float64
	}{{"target→client CPU s/GB (AES: seal)", t2c, sealM}, {"client→target CPU s/GB (AES: open)", c2t, openM}} {
		ws, wss, ng := med(setupWS, d.f), med(setupWSS, d.f), med(setupNginx, d.f)
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %.2f× | %.2f× |\n", d.name, format(ws), format(wss), format(ng), format(d.aes),
			wss/(ws+d.aes), wss/ng)
	}
	hs := func(r tlsRun) float64 { return r.hsRate }
	hsc := func(r tlsRun) float64 { return r.hsCPU }
	fmt.Fprintf(out, "| TLS handshakes/s (4 clients, full handshakes) | — | %s | %s | — | — | %.2f× |\n",
		format(med(setupWSS, hs)), format(med(setupNginx, hs)), med(setupWSS, hs)/med(setupNginx, hs))
	hsf := func(r tlsRun) float64 { return r.hsFront }
	fmt.Fprintf(out, "| server CPU per handshake µs (nginx + ours) | — | %s | %s | — | — | %.2f× |\n",
		format(med(setupWSS, hsc)), format(med(setupNginx, hsc)), med(setupWSS, hsc)/med(setupNginx, hsc))
	fmt.Fprintf(out, "| TLS terminator's own CPU per handshake µs (nginx alone) | — | %s | %s | — | — | %.2f× |\n",
		format(med(setupWSS, hsf)), format(med(setupNginx, hsf)), med(setupWSS, hsf)/med(setupNginx, hsf))
	var loads []string
	for _, r := range runs[setupWSS] {
		loads = append(loads, strings.Fields(r.load)[0])
	}
	fmt.Fprintf(out, "\nLoad average (1 min) per run: %s. The handshake clients (Go, on the same two cores) are part of the bound of handshakes/s; CPU per handshake is the server side's alone (nginx's includes its connection to ours, which it opens for each).\n", strings.Join(loads, ", "))
	for _, x := range errs {
		fmt.Fprintf(out, "\nerror: %s\n", x)
	}
	return nil
}

func runTLSSetup(e *env, name string, ours, ngx proxySpec, cert *certFiles, n int64, hsDur time.Duration) (tlsRun, error) {
	var r tlsRun
	// Each direction and the handshakes get a fresh setup, on the source,
	// the sink and the echo backend.
	for _, part := range []string{"t2c", "c2t", "hs"} {
		target := map[string]string{"t2c": e.be.source.Addr().String(), "c2t": e.be.sink.Addr().String(), "hs": e.be.echo.Addr().String()}[part]
		s, stop, err := startSetup(name, ours, ngx, cert, target)
		if err != nil {
			return r, err
		}
		switch part {
		case "t2c":
			r.t2c, r.tput, err = s.t2c(n)
		case "c2t":
			r.c2t, err = s.c2t(e.be, n)
		case "hs":
			if s.tls != nil {
				r.hsRate, r.hsCPU, r.hsFront, err = s.handshakes(hsDur)
			}
		}
		stop()
		if err != nil {
			return r, fmt.Errorf("%s: %w", part, err)
		}
	}
	r.load = loadAvg()
	return r, nil
}

func startSetup(name string, ours, ngx proxySpec, cert *certFiles, target string) (setup, func(), error) {
	switch name {
	case setupWS, setupWSS:
		var c *certFiles
		var tc *tls.Config
		if name == setupWSS {
			c, tc = cert, tls13Client
		}
		p, err := ours.start(target, c)
		if err != nil {
			return setup{}, nil, err
		}
		cpu := func() time.Duration { return treeCPU(p.pid()) }
		return setup{addr: p.addr, tls: tc, cpu: cpu, front: cpu}, p.stop, nil
	case setupNginx:
		p, err := ours.start(target, nil)
		if err != nil {
			return setup{}, nil, err
		}
		g, err := ngx.start(p.addr, nil)
		if err != nil {
			p.stop()
			return setup{}, nil, err
		}
		return setup{addr: g.addr, tls: tls13Client,
				cpu:   func() time.Duration { return treeCPU(p.pid()) + treeCPU(g.pid()) },
				front: func() time.Duration { return treeCPU(g.pid()) }},
			func() { g.stop(); p.stop() }, nil
	}
	return setup{}, nil, errors.New("unknown setup " + name)
}
