package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/listen"
	"github.com/websockify-go/websockify/logging"
	"github.com/websockify-go/websockify/options"
)

// shutdownGrace is how long open sessions get to answer our 1001 close on
// SIGTERM/SIGINT before their connections are cut.
const shutdownGrace = 3 * time.Second

// serve runs the gateway for cfg until a signal, --timeout, --idle-timeout
// or --run-once ends it.
func serve(ctx context.Context, cfg *options.Config) error {
	log, logCloser, err := logging.New(logging.Options{Verbose: cfg.Verbose, File: cfg.LogFile})
	if err != nil {
		return err
	}
	defer logCloser.Close()
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}

	ln, err := openListener(ctx, cfg)
	if err != nil {
		return err
	}
	defer ln.Close()

	srv := &gateway.Server{
		Target:           target(cfg),
		HandshakeTimeout: cfg.HandshakeTimeout,
		MaxHeaderBytes:   cfg.MaxHeaderBytes,
		MaxFrameSize:     cfg.MaxFrameSize,
		Heartbeat:        cfg.Heartbeat,
		RunOnce:          cfg.RunOnce,
		IdleTimeout:      cfg.IdleTimeout,
		Logger:           log,
	}
	if cfg.Traffic {
		srv.Traffic = os.Stdout
	}
	banner(log, cfg, ln, srv.Target)

	if cfg.Timeout > 0 {
		t := time.AfterFunc(cfg.Timeout, func() {
			log.Info("listener exit due to --timeout " + strconv.Itoa(int(cfg.Timeout/time.Second)))
			srv.StopAccepting()
		})
		defer t.Stop()
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err
	case sig := <-sigs:
		log.Info("In exit", "signal", sig.String())
		sctx, cancel := context.WithTimeout(ctx, shutdownGrace)
		defer cancel()
		srv.Shutdown(sctx)
		return <-served
	}
}

func openListener(ctx context.Context, cfg *options.Config) (net.Listener, error) {
	switch {
	case cfg.Inetd:
		return listen.Inetd()
	case cfg.UnixListen != "":
		return listen.Unix(cfg.UnixListen, cfg.UnixMode)
	default:
		return listen.TCP(ctx, cfg.Listen.Host, cfg.Listen.Port, cfg.PreferIPv6)
	}
}

func target(cfg *options.Config) gateway.Endpoint {
	if cfg.UnixTarget != "" {
		return gateway.Endpoint{Network: "unix", Address: cfg.UnixTarget}
	}
	return gateway.Endpoint{Network: "tcp", Address: cfg.Target.String()}
}

// banner logs the reference's startup summary.
func banner(log *slog.Logger, cfg *options.Config, ln net.Listener, t gateway.Endpoint) {
	log.Info("WebSocket server settings:")
	src := ""
	switch {
	case cfg.Inetd:
		log.Info("  - Listen for inetd connections")
		src = "inetd"
	case cfg.UnixListen != "":
		log.Info("  - Listen on unix socket " + cfg.UnixListen)
		src = cfg.UnixListen
	default:
		src = ln.Addr().String()
		log.Info("  - Listen on " + src)
	}
	log.Info("  - No SSL/TLS support (no cert file)")
	log.Info(fmt.Sprintf("  - proxying from %s to %s", src, t))
}
