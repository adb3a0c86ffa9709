package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/websockify-go/websockify/internal/route"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/websockify-go/websockify/auth"
	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/internal/daemon"
	"github.com/websockify-go/websockify/internal/handover"
	"github.com/websockify-go/websockify/internal/listen"
	"github.com/websockify-go/websockify/internal/logging"
	"github.com/websockify-go/websockify/internal/systemd"
	"github.com/websockify-go/websockify/tokens"
	"github.com/websockify-go/websockify/webui"
)

// shutdownGrace is how long open sessions get to answer our 1001 close on
// SIGTERM/SIGINT before their connections are cut.
const shutdownGrace = 3 * time.Second

// daemonWrapWait is how long a -D child waits for the wrapped program to
// listen before it reports failure to the parent (which waits 30 s).
const daemonWrapWait = 25 * time.Second

// serve runs the gateway for cfg until a signal, --timeout, --idle-timeout,
// --run-once or the wrapped program ends it. With -D it returns in the
// parent once the daemon child reports that it serves.
func serve(ctx context.Context, cfg *cmdline.Config) (err error) {
	inherited, notify, child := daemon.Child()
	if child {
		if inherited == nil {
			return errors.New("daemon: the listening socket was not passed")
		}
		// The parent prints what stops us before we serve.
		defer func() { notify(err) }()
	}

	log, logCloser, err := logging.New(logging.Options{
		Verbose: cfg.Verbose,
		File:    cfg.LogFile,
		Format:  cfg.LogFormat,
		Syslog:  syslogOptions(cfg.Syslog, cfg.LegacySyslog, cfg.Daemon),
	})
	if err != nil {
		return err
	}
	defer logCloser.Close()
	// The standard library's log package (anything a library prints with
	// it) goes through the same handler: one format on every sink.
	slog.SetDefault(log)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}

	// Upgrades (SIGUSR2) pass the listener and the pid file to a new
	// process of the binary; this process may be such a new one.
	upg, err := handover.New()
	if err != nil {
		return err
	}
	upgraded := upg.HasParent()
	// Signals are ours from now on: a SIGUSR2 or SIGTERM that arrives
	// while we start is handled once serving, not lost or fatal.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	defer func() {
		if upgraded && err != nil {
			// The previous process serves on; say why this one could not.
			log.Error("upgrade: the new process cannot serve", "err", err)
		}
	}()

	hup := newHangups()
	hctx, stopHangups := context.WithCancel(hup.with(ctx))
	defer stopHangups()

	op := newOperating(cfg, log)
	srv, w, cleanup, err := newServer(hctx, cfg, op, log)
	if err != nil {
		return err
	}
	defer cleanup()

	ln := inherited
	removeSocket := func() error { return nil }
	source := "" // where the listener comes from, when not bound here
	switch {
	case ln != nil:
	case upgraded:
		if ln, err = upg.Listener(); err != nil {
			return err
		}
		if ln == nil {
			return errors.New("upgrade: the previous process passed no listener")
		}
		if cfg.UnixListen != "" {
			removeSocket = listen.RemoveLater(cfg.UnixListen)
		}
		source = "the listener of the previous process (upgrade)"
	default:
		if ln, source, removeSocket, err = openListener(ctx, cfg); err != nil {
			return err
		}
	}
	handedOver := false
	detached := false
	defer func() {
		ln.Close()
		if !detached && !handedOver { // the daemon child, or the new process, serves the socket file now
			removeSocket()
		}
	}()
	if !child && !upgraded {
		banner(log, cfg, ln, srv, source)
	} else if upgraded {
		log.Info("upgrade: new process " + strconv.Itoa(os.Getpid()) + " serving " + ln.Addr().String() + ", passed by the previous process")
		if cfg.Daemon {
			os.Chdir("/") // as the daemon it replaces (its stdio is already /dev/null)
		}
	}
	if cfg.Daemon && !child && !upgraded {
		err := daemon.Detach(ln, daemon.Options{})
		detached = err == nil
		return err
	}
	// The admin listener goes to a new process on upgrades too: it could
	// not bind the port while this one holds it.
	stopAdmin, err := op.serveAdmin(ctx, cfg, upg.ListenWith)
	if err != nil {
		return err
	}
	defer stopAdmin()
	var pidFile *daemon.PIDFile
	if cfg.PIDFile != "" {
		if pidFile, err = openPIDFile(upg, cfg.PIDFile); err != nil {
			return err
		}
		defer func() {
			if handedOver {
				pidFile.Keep()
			} else {
				pidFile.Remove()
			}
		}()
		if !upgraded {
			if err := pidFile.WritePID(); err != nil {
				return err
			}
		}
	}
	switch {
	case w != nil:
		upg.Refuse("upgrades are refused in wrap mode: the wrapped program cannot be handed over (restart instead)")
	case cfg.Inetd:
		upg.Refuse("upgrades are refused with --inetd: the listener belongs to inetd")
	case cfg.RunOnce:
		upg.Refuse("upgrades are refused with --run-once")
	default:
		var pf *os.File
		if pidFile != nil {
			pf = pidFile.File()
		}
		if err := upg.Pass(ln, pf); err != nil {
			upg.Refuse(err.Error())
		}
	}
	defer upg.Stop()

	var ready func(error)
	if child {
		ready = func(err error) {
			// Every line logged so far reaches the parent's terminal
			// before it returns.
			if f, ok := logCloser.(interface{ Flush(time.Duration) }); ok {
				f.Flush(time.Second)
			}
			notify(err)
		}
		if w != nil {
			// The daemon's stdio goes to /dev/null once it is ready: the
			// program's output goes to our log instead.
			closeOut, err := w.logOutput(log)
			if err != nil {
				return err
			}
			defer closeOut()
		}
	}
	lc := &lifecycle{srv: srv, log: log, drain: cfg.DrainTimeout, upg: upg, sigs: sigs,
		ready: op.ready, stopAdmin: stopAdmin,
		sd: systemd.NewNotifier(log), upgrade: make(chan error, 1)}
	wd, err := systemd.WatchdogInterval(upgraded)
	if err != nil {
		log.Warn("systemd watchdog off", "err", err)
	}
	wctx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	lc.stopNotify = stopWatchdog
	serving := func() error {
		if upgraded && pidFile != nil {
			if err := pidFile.WritePID(); err != nil {
				return err
			}
		}
		// systemd learns the new MAINPID before the previous process hears
		// that it may exit (systemd reads notifications before SIGCHLD):
		// its exit is then not the service's.
		lc.sd.Ready(lc.status("serving"))
		if err := upg.Ready(); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		lc.sd.Watchdog(wctx, wd, statusRefresh, func() string { return lc.status("serving") })
		return nil
	}
	hup.run(hctx, log, func() {
		log.Info("SIGHUP: reloading")
		lc.sd.Reloading()
	}, func() { lc.sd.Ready(lc.status("serving")) })
	handedOver, err = runServer(hctx, cfg, srv, w, ln, log, ready, lc, serving)
	return err
}

// statusRefresh is how often systemd's STATUS= (open sessions) is updated
// when no watchdog sets the pace.
const statusRefresh = 5 * time.Second

// openPIDFile locks the pid file, or takes over the one the previous
// process passed in an upgrade.
func openPIDFile(upg *handover.Upgrader, path string) (*daemon.PIDFile, error) {
	if upg.HasParent() {
		f, err := upg.PIDFile()
		if err != nil {
			return nil, err
		}
		if f != nil {
			return daemon.AdoptPIDFile(f, path)
		}
	}
	return daemon.LockPIDFile(path)
}

// newServer builds the gateway from the options: target (or wrapped
// program), TLS, web root, recording. cleanup releases what it opened.
func newServer(ctx context.Context, cfg *cmdline.Config, op *operating, log *slog.Logger) (*gateway.Server, *wrapped, func(), error) {
	srv, w, cleanup, err := buildServer(ctx, cfg, op, log)
	if err != nil {
		cleanup()
		return nil, nil, func() {}, err
	}
	return srv, w, cleanup, nil
}

func buildServer(ctx context.Context, cfg *cmdline.Config, op *operating, log *slog.Logger) (srv *gateway.Server, w *wrapped, cleanup func(), err error) {
	srv = &gateway.Server{
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxHeaderBytes:   cfg.MaxHeaderBytes,
		MaxFrameSize:     cfg.MaxFrameSize,
		Heartbeat:        cfg.Heartbeat,
		Relay:            cfg.Relay,
		RunOnce:          cfg.RunOnce,
		IdleTimeout:      cfg.IdleTimeout,
		FlashPolicy:      cfg.FlashPolicy,
		TrustedProxies:   cfg.TrustedProxies,
		ProxyProtocol:    cfg.ProxyProtocol,
		ForwardedHeader:  cfg.ForwardedHeader,
		TokenSubprotocol: cfg.TokenSubprotocol,
		Logger:           log,
		Limits: gateway.Limits{
			MaxConnections: cfg.Sessions.MaxConnections, PerClient: cfg.Sessions.MaxPerIP,
			PerToken: cfg.Sessions.MaxPerToken, HandshakeRate: cfg.Sessions.HandshakeRate,
		},
	}
	var cleanups []func()
	cleanup = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	if cfg.Traffic {
		srv.Traffic = os.Stdout
	}
	serving, base, err := configureTLS(ctx, srv, cfg, log)
	if err != nil {
		return nil, nil, cleanup, err
	}
	srv.Target = withTargetTLS(base, target(cfg))
	srv.Target.ProxyProtocol = cfg.TargetProxyProtocol
	if _, err := tokens.LoadRedactKey(os.Getenv); err != nil {
		return nil, nil, cleanup, err
	}
	rt, err := route.New(route.Config{
		TokenPlugin: cfg.TokenPlugin, TokenSource: cfg.TokenSource, HostToken: cfg.HostToken,
		TokenCookie: cfg.TokenCookie, TokenPath: cfg.TokenPath, JWTRequireExp: cfg.JWTRequireExp,
		TokenSubprotocol:         cfg.TokenSubprotocol,
		TokenAPIRedirectAnywhere: cfg.TokenAPIRedirectAnywhere,
		AuthPlugin:               cfg.AuthPlugin, AuthSource: cfg.AuthSource,
		VerifyClient:        cfg.VerifyClient && serving,
		TargetTLS:           func(ep gateway.Endpoint) gateway.Endpoint { return withTargetTLS(base, ep) },
		TargetProxyProtocol: cfg.TargetProxyProtocol,
		Logger:              log,
		OnLookup:            op.tokenLookup,
	})
	if err != nil {
		return nil, nil, cleanup, err
	}
	cleanups = append(cleanups, func() { rt.Close() })
	op.observe(srv)
	op.target, op.tokens = srv.Target, rt.Tokens
	if rt.Tokens != nil {
		srv.Route = rt.Route
		srv.SessionToken = rt.Token
		srv.Target = gateway.Endpoint{Label: rt.Label}
	}
	if rt.Auth != nil {
		srv.Authorize = rt.Authorize
	}
	stopSessionControl, err := startSessionControl(ctx, cfg, srv, rt, op, log)
	if err != nil {
		return nil, nil, cleanup, err
	}
	cleanups = append(cleanups, stopSessionControl)
	if len(cfg.Wrap) > 0 {
		if w, err = newWrapped(cfg, log); err != nil {
			return nil, nil, cleanup, err
		}
		cleanups = append(cleanups, w.cleanup)
		op.watchWrapped(w)
		srv.Route = w.route(func(ep gateway.Endpoint) gateway.Endpoint {
			ep = withTargetTLS(base, ep)
			ep.ProxyProtocol = cfg.TargetProxyProtocol
			return ep
		})
		srv.RouteIgnoresPath = true
		srv.Target = gateway.Endpoint{Label: w.label + " (wrapped)"}
	}

	if cfg.Web != "" {
		var webAuth auth.Plugin
		if cfg.WebAuth {
			webAuth = rt.Auth
		}
		h, closeWeb, err := webServer(cfg, serving, webAuth, log)
		if err != nil {
			return nil, nil, cleanup, err
		}
		srv.HTTP = h
		cleanups = append(cleanups, func() { closeWeb() })
	}
	if cfg.WebBuiltin {
		srv.HTTP = webui.Handler()
	}
	if cfg.Record != "" {
		if srv.Recorder, err = recorderFactory(cfg.Record, log); err != nil {
			return nil, nil, cleanup, err
		}
	}
	return srv, w, cleanup, nil
}

// configureTLS sets up wss:// on srv (reloaded on SIGHUP) and returns
// whether it serves TLS, and the TLS settings of targets for --ssl-target.
func configureTLS(ctx context.Context, srv *gateway.Server, cfg *cmdline.Config, log *slog.Logger) (serving bool, targets *tls.Config, err error) {
	ts := tlsSettings{
		Cert: cfg.Cert, CertExplicit: cfg.CertExplicit, Key: cfg.Key,
		KeyPassword: cfg.KeyPassword, KeyPassFile: cfg.KeyPasswordFile,
		SSLOnly: cfg.SSLOnly, VerifyClient: cfg.VerifyClient, CAFile: cfg.CAFile,
		SSLVersion: cfg.SSLVersion, SSLCiphers: cfg.SSLCiphers,
		SSLTarget: cfg.SSLTarget, SSLTargetCAFile: cfg.SSLTargetCAFile, SSLTargetInsecure: cfg.SSLTargetInsecure,
	}
	rl, err := serverTLS(ts, log)
	if err != nil {
		return false, nil, err
	}
	if rl != nil {
		srv.TLS = rl.Config()
		srv.SSLOnly = cfg.SSLOnly
		reloadOnHangup(ctx, rl, log)
	}
	targets, err = targetTLS(ts, log)
	return rl != nil, targets, err
}

// webServer serves --web DIR, never serving the TLS key, certificate or
// key password file that may lie in it, and refusing a root that holds the
// recordings or the token source.
func webServer(cfg *cmdline.Config, servingTLS bool, webAuth auth.Plugin, log *slog.Logger) (http.Handler, func() error, error) {
	secrets := map[string]string{"TLS key": cfg.Key, "key password file": cfg.KeyPasswordFile}
	if servingTLS {
		secrets["TLS certificate"] = cfg.Cert
	}
	hide, err := hiddenInWebRoot(cfg.Web, secrets, log)
	if err != nil {
		return nil, nil, err
	}
	if err := checkWebRoot(cfg.Web, map[string]string{"recordings": cfg.Record, "token source": tokenFile(cfg.TokenSource)}); err != nil {
		return nil, nil, err
	}
	return webHandler(cfg.Web, cfg.FileOnly, hide, webAuth, log)
}

// tokenFile is the token source when it names a file or directory (a
// token file, a JWT key), else empty.
func tokenFile(src string) string {
	if src == "" || !filepath.IsAbs(src) {
		if abs, err := filepath.Abs(src); err == nil && src != "" {
			if _, err := os.Stat(abs); err == nil {
				return abs
			}
		}
		return ""
	}
	return src
}

// runServer serves ln until the server stops by itself, a signal stops it
// or, in --wrap-mode=exit, the wrapped program exits. The wrapped program
// is started here, after the listener is bound (and after -D detached),
// and is always stopped before runServer returns.
//
// ready, if not nil (a -D child), is called once serving has started: at
// once without a wrapped program, else once the program listens, or with
// the reason it does not within daemonWrapWait (runServer then stops).
// serving is called at that same moment in every process (systemd's
// READY=1, the upgrade's hand-over).
//
// SIGTERM drains (--drain-timeout) and stops; SIGINT stops at once;
// SIGUSR2 upgrades (lc.upg), after which this process drains and returns
// with handedOver true.
func runServer(ctx context.Context, cfg *cmdline.Config, srv *gateway.Server, w *wrapped, ln net.Listener, log *slog.Logger, ready func(error), lc *lifecycle, serving func() error) (handedOver bool, err error) {
	if cfg.Timeout > 0 {
		t := time.AfterFunc(cfg.Timeout, func() {
			log.Info("listener exit due to --timeout " + strconv.Itoa(int(cfg.Timeout/time.Second)))
			lc.upg.Stop() // its duplicate of the listener too
			srv.StopAccepting()
		})
		defer t.Stop()
	}

	sigs := lc.sigs

	var wrapDone <-chan error
	stopWrap := func() error { return nil }
	notReady := make(chan error, 1)
	started := make(chan error, 1) // serving's result
	if w != nil {
		// Runs after the program is stopped (stopWrap below): kills what
		// is left in the cgroup, such as daemons it started.
		defer confineWrapped(cfg, log).Leave()
		wctx, cancel := context.WithCancel(ctx)
		done := w.start(wctx, log)
		wrapDone = done
		stopWrap = func() error {
			cancel()
			return <-done
		}
		go func() {
			t := time.NewTimer(daemonWrapWait)
			defer t.Stop()
			select {
			case <-w.first:
				if ready != nil {
					ready(nil)
				}
				started <- serving()
			case <-t.C:
				if ready == nil {
					// In the foreground, clients wait for the program (or
					// get 503): only systemd waits for its readiness.
					select {
					case <-w.first:
						started <- serving()
					case <-wctx.Done():
					}
					return
				}
				why := w.proc.Diagnosis()
				if why == "" {
					why = "it is not listening"
				}
				notReady <- fmt.Errorf("wrapped program %s not ready after %v: %s", w.label, daemonWrapWait, why)
			case <-wctx.Done():
			}
		}()
	} else {
		if ready != nil {
			ready(nil)
		}
		started <- serving()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	upgrading := false
	for {
		select {
		case err := <-served:
			if werr := stopWrap(); err == nil {
				err = ignoreStopped(werr)
			}
			return false, err
		case err := <-started:
			if err != nil {
				// This process was started by an upgrade and cannot take
				// over: the previous one serves on.
				log.Error("upgrade: this new process cannot take over; the previous one serves on", "err", err)
				lc.closeNow(ctx, served)
				stopWrap()
				return false, err
			}
		case sig := <-sigs:
			if sig == syscall.SIGUSR2 {
				lc.startUpgrade(&upgrading)
				continue
			}
			log.Info("In exit", "signal", sig.String())
			if pid, ok := lc.upg.Predecessor(); ok {
				// systemd (KillMode=mixed) signals the main process only:
				// the previous one, still draining, stops with it.
				log.Info(fmt.Sprintf("passing %v to the previous process %d, which still drains", sig, pid))
				syscall.Kill(pid, sig.(syscall.Signal))
			}
			if sig == syscall.SIGINT {
				lc.sd.Stopping(lc.status("stopping"))
				err = lc.closeNow(ctx, served)
			} else {
				err = lc.drainAndStop(ctx, "SIGTERM", true, served, sigs)
			}
			if errors.Is(err, gateway.ErrServerStopped) {
				err = nil // the signal came before Serve started: a clean stop all the same
			}
			if werr := stopWrap(); err == nil {
				err = ignoreStopped(werr)
			}
			return false, err
		case err := <-lc.upgrade:
			upgrading = false
			var refused *handover.RefusedError
			switch {
			case errors.As(err, &refused):
				log.Warn("SIGUSR2: upgrade refused: " + err.Error())
			case err != nil:
				log.Error("upgrade failed; this process serves on", "err", err)
			}
			if err != nil {
				continue
			}
			// (The upgrader's Exit channel also closes when it is merely
			// stopped, as --timeout does: a nil Upgrade is the hand-over.)
			log.Info("upgrade: the new process serves; this one stops accepting")
			lc.stopAdmin() // the new process answers on the admin listener
			lc.stopNotify()
			err = lc.drainAndStop(ctx, "upgraded", false, served, sigs)
			if errors.Is(err, gateway.ErrServerStopped) {
				err = nil
			}
			if werr := stopWrap(); err == nil {
				err = ignoreStopped(werr)
			}
			return true, err
		case err := <-wrapDone:
			// Exit mode: the program ended (its status is our exit status), or
			// it could not be started at all.
			log.Info("Wrapped command exited (or daemon)", "err", err)
			lc.closeNow(ctx, served)
			if d := w.proc.Diagnosis(); d != "" && !w.wasReady() {
				err = &diagnosedError{msg: d, err: err}
			}
			return false, err
		case err := <-notReady:
			log.Error(err.Error())
			lc.closeNow(ctx, served)
			if werr := stopWrap(); werr != nil && !errors.Is(werr, context.Canceled) {
				err = errors.Join(err, werr)
			}
			return false, err
		}
	}
}

// diagnosedError is the wrapped program's status with the explanation of
// why it never listened: what a -D parent prints. Its ExitCode stays the
// program's.
type diagnosedError struct {
	msg string
	err error
}

func (e *diagnosedError) Error() string { return e.msg }
func (e *diagnosedError) Unwrap() error { return e.err }

// ignoreStopped drops the nil-or-context result of a program stopped by us.
func ignoreStopped(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// openListener opens the listening socket: standard input with --inetd,
// the socket systemd passed (socket activation), or a socket bound here.
// source names where a listener not bound here comes from; remove deletes
// a Unix socket's file if it is still ours (a no-op for the others).
func openListener(ctx context.Context, cfg *cmdline.Config) (ln net.Listener, source string, remove func() error, err error) {
	none := func() error { return nil }
	if !cfg.Inetd {
		ln, err := listen.Activated()
		if err != nil {
			return nil, "", nil, err
		}
		if ln != nil {
			return ln, "systemd socket activation", none, nil
		}
	}
	switch {
	case cfg.Inetd:
		ln, err = listen.Inetd()
		return ln, "inetd", none, err
	case cfg.UnixListen != "":
		ul, remove, err := listen.Unix(cfg.UnixListen, cfg.UnixMode)
		if err != nil {
			return nil, "", nil, err
		}
		return ul, "", remove, nil
	default:
		ln, err = listen.TCP(ctx, cfg.Listen.Host, cfg.Listen.Port, cfg.PreferIPv6)
		return ln, "", none, listenHint(err, cfg.Listen)
	}
}

// listenHint rewrites the common bind failures as one short sentence that
// names the address once and says what to do.
func listenHint(err error, at cmdline.HostPort) error {
	if err == nil {
		return nil
	}
	addr := at.String()
	if at.Host == "" {
		addr = "port " + strconv.Itoa(at.Port) + " (all interfaces)"
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("listen on %s: address already in use\nhint: another program listens there (ss -ltnp 'sport = :%d' shows which)", addr, at.Port)
	case errors.Is(err, syscall.EACCES) && at.Port < 1024:
		return fmt.Errorf("listen on %s: permission denied\nhint: ports below 1024 need root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep %s, or AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit)", addr, executable())
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("listen on %s: no interface of this host has that address", addr)
	}
	return err
}

// executable is the path of this binary, for hints.
func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "websockify"
}

func target(cfg *cmdline.Config) gateway.Endpoint {
	if cfg.UnixTarget != "" {
		return gateway.Endpoint{Network: "unix", Address: cfg.UnixTarget}
	}
	return gateway.Endpoint{Network: "tcp", Address: cfg.Target.String()}
}

// banner logs the reference's startup summary. source names where a
// listener not bound here comes from (inetd, systemd).
func banner(log *slog.Logger, cfg *cmdline.Config, ln net.Listener, srv *gateway.Server, source string) {
	log.Info("WebSocket server settings:")
	src := ""
	switch {
	case source == "inetd":
		log.Info("  - Listen for inetd connections")
		src = "inetd"
	case source != "":
		src = ln.Addr().String()
		log.Info("  - Listen on " + src + " (" + source + ")")
	case cfg.UnixListen != "":
		log.Info("  - Listen on unix socket " + cfg.UnixListen)
		src = cfg.UnixListen
	default:
		src = ln.Addr().String()
		log.Info("  - Listen on " + src)
	}
	featureBanner(log, cfg.Web, cfg.FileOnly, srv.TLS != nil, cfg.SSLOnly, cfg.Daemon, cfg.Record)
	log.Info(fmt.Sprintf("  - proxying from %s to %s", src, srv.Target))
}
