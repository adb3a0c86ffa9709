package main

// Builders for wss://, the web server, recording, daemon mode and syslog,
// from command-line values. serve.go wires them into gateway.Server.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/websockify-go/websockify/auth"
	"github.com/websockify-go/websockify/gateway"
	"github.com/websockify-go/websockify/internal/logging"
	"github.com/websockify-go/websockify/internal/record"
	"github.com/websockify-go/websockify/tlsconfig"
	"github.com/websockify-go/websockify/web"
)

// envKeyPassword may hold the key password, out of sight of ps.
const envKeyPassword = "WEBSOCKIFY_KEY_PASSWORD"

// tlsSettings are the TLS values of the command line. Paths are absolute.
type tlsSettings struct {
	Cert         string // --cert; "self.pem" made absolute by default
	CertExplicit bool   // --cert was given: a missing file is an error
	Key          string // --key
	KeyPassword  string // --key-password, or $WEBSOCKIFY_KEY_PASSWORD
	KeyPassFile  string // --key-password-file, preferred to KeyPassword
	SSLOnly      bool   // --ssl-only
	VerifyClient bool   // --verify-client
	CAFile       string // --cafile
	SSLVersion   string // --ssl-version
	SSLCiphers   string // --ssl-ciphers

	SSLTarget         bool   // --ssl-target
	SSLTargetCAFile   string // --ssl-target-cafile
	SSLTargetInsecure bool   // --ssl-target-insecure
}

// serverTLS loads the server certificate. It returns nil, nil when the
// default self.pem is missing and TLS is not required: the reference then
// serves plain connections only ("No SSL/TLS support (no cert file)").
func serverTLS(s tlsSettings, log *slog.Logger) (*tlsconfig.Reloader, error) {
	if _, err := os.Stat(s.Cert); errors.Is(err, fs.ErrNotExist) && !s.CertExplicit && !s.SSLOnly {
		return nil, nil
	}
	r, err := tlsconfig.Server(tlsconfig.ServerOptions{
		CertFile:        s.Cert,
		KeyFile:         s.Key,
		KeyPassword:     s.KeyPassword,
		KeyPasswordFile: s.KeyPassFile,
		MinVersion:      s.SSLVersion,
		Ciphers:         s.SSLCiphers,
		VerifyClient:    s.VerifyClient,
		CAFile:          s.CAFile,
		Logger:          log,
	})
	if errors.Is(err, tlsconfig.ErrKeyPassword) {
		return nil, fmt.Errorf("%w\nhint: give the password with --key-password-file FILE or $%s", err, envKeyPassword)
	}
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return r, nil
}

// reloadOnHangup reloads the certificate on SIGHUP until ctx ends. Open
// sessions are not touched; new handshakes get the new certificate.
func reloadOnHangup(ctx context.Context, r *tlsconfig.Reloader, log *slog.Logger) {
	onHangup(ctx, func() {
		if err := r.Reload(); err != nil {
			log.Error("SIGHUP: TLS certificate reload failed; keeping the previous one", "err", err)
		}
	})
}

// onHangup calls f for every SIGHUP until ctx ends: as a step of the
// hangups of ctx, when serve set them up, else on its own.
func onHangup(ctx context.Context, f func()) {
	if h, ok := ctx.Value(hangupsKey{}).(*hangups); ok {
		h.add(ctx, f)
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				f()
			}
		}
	}()
}

// targetTLS is the client configuration for --ssl-target, or nil.
func targetTLS(s tlsSettings, log *slog.Logger) (*tls.Config, error) {
	if !s.SSLTarget {
		return nil, nil
	}
	if s.SSLTargetInsecure {
		log.Warn("--ssl-target-insecure: the target's certificate is not verified")
	}
	cfg, err := tlsconfig.Client(tlsconfig.ClientOptions{CAFile: s.SSLTargetCAFile, Insecure: s.SSLTargetInsecure})
	if err != nil {
		return nil, fmt.Errorf("--ssl-target: %w", err)
	}
	return cfg, nil
}

// withTargetTLS returns ep speaking TLS with base, verified against and
// sending as SNI the endpoint's host. As in the reference, Unix socket
// targets stay plain.
func withTargetTLS(base *tls.Config, ep gateway.Endpoint) gateway.Endpoint {
	if base == nil || ep.Network == "unix" {
		return ep
	}
	ep.TLS = tlsconfig.ForTarget(base, ep.Address)
	return ep
}

// webHandler serves dir for non-upgrade requests. With authp (--web-auth)
// every GET and HEAD must pass the auth plugin first, as in the reference.
// The returned closer releases the directory.
func webHandler(dir string, fileOnly bool, hide []string, authp auth.Plugin, log *slog.Logger) (http.Handler, func() error, error) {
	h, err := web.New(dir, web.Options{FileOnly: fileOnly, Hide: hide, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	if authp == nil {
		return h, h.Close, nil
	}
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			hdr := r.Header.Clone()
			auth.SanitizeHeader(hdr)
			err := authp.Authenticate(&auth.Request{Header: hdr, TLS: r.TLS})
			if err != nil {
				var ae *auth.Error
				if !errors.As(err, &ae) {
					ae = &auth.Error{Status: http.StatusForbidden}
				}
				log.Info("web: authentication failed", "client", r.RemoteAddr, "err", ae.Error())
				for k, vs := range ae.Header {
					w.Header()[k] = vs
				}
				web.Error(w, r, ae.Status, ae.Reason)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
	return guarded, h.Close, nil
}

// hiddenInWebRoot returns the files of secrets (the TLS certificate, which
// may hold the key, the key and the key password file) that lie under the
// web root: they are never served nor listed (noVNC's launcher keeps
// self.pem in the directory it serves). One warning names them.
func hiddenInWebRoot(dir string, secrets map[string]string, log *slog.Logger) ([]string, error) {
	var hide, what []string
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		p := secrets[name]
		if p == "" {
			continue
		}
		inside, err := web.Contains(dir, p)
		if err != nil {
			return nil, err
		}
		if inside {
			hide = append(hide, p)
			what = append(what, name+" "+p)
		}
	}
	if len(hide) > 0 {
		log.Warn(fmt.Sprintf("the web root %s holds the %s: never served (404) nor listed", dir, strings.Join(what, " and the ")))
	}
	return hide, nil
}

// checkWebRoot refuses a web root that would serve a secret that cannot be
// hidden by identity because it is created later or is a directory: token
// files or the recordings. Empty paths are skipped.
func checkWebRoot(dir string, secrets map[string]string) error {
	for what, p := range secrets {
		if p == "" {
			continue
		}
		inside, err := web.Contains(dir, p)
		if err != nil {
			return err
		}
		if inside {
			return fmt.Errorf("refusing to serve %s with --web: it holds the %s %s", dir, what, p)
		}
	}
	return nil
}

// recorderFactory opens base.<connection id> for each session (--record).
func recorderFactory(base string, log *slog.Logger) (func(*gateway.ConnInfo) (gateway.Recorder, error), error) {
	abs, err := filepath.Abs(base)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	// A recording that fails midway (a full disk) is reported once, with a
	// count; the session goes on (see the README's security notes).
	var failed atomic.Uint64
	return func(info *gateway.ConnInfo) (gateway.Recorder, error) {
		client := info.RemoteAddr
		r, err := record.Open(abs, info.ID, record.Options{OnError: func(err error) {
			log.Error("recording failed; the session goes on unrecorded from here", "client", client,
				"err", err, "failed_recordings", failed.Add(1))
		}})
		if err != nil {
			return nil, err
		}
		log.Info("opening record file: "+r.Name(), "client", info.RemoteAddr)
		return r, nil
	}, nil
}

// syslogOptions are the logging options for --syslog and --legacy-syslog;
// nil without --syslog. A daemon logs with the daemon facility.
func syslogOptions(address string, legacy, daemonized bool) *logging.SyslogOptions {
	if address == "" {
		return nil
	}
	o := &logging.SyslogOptions{Address: address, Legacy: legacy}
	if daemonized {
		o.Facility = logging.FacilityDaemon
	}
	return o
}

// featureBanner logs the reference's startup lines for these features, in
// its order, between "Listen on" and "proxying from".
func featureBanner(log *slog.Logger, webDir string, fileOnly bool, tlsOn, sslOnly, daemonized bool, recordBase string) {
	switch {
	case webDir != "" && fileOnly:
		log.Info("  - Web server (no directory listings). Web root: " + webDir)
	case webDir != "":
		log.Info("  - Web server. Web root: " + webDir)
	}
	if tlsOn {
		log.Info("  - SSL/TLS support")
		if sslOnly {
			log.Info("  - Deny non-SSL/TLS connections")
		}
	} else {
		log.Info("  - No SSL/TLS support (no cert file)")
	}
	if daemonized {
		log.Info("  - Backgrounding (daemon)")
	}
	if recordBase != "" {
		if abs, err := filepath.Abs(recordBase); err == nil {
			recordBase = abs
		}
		log.Info(fmt.Sprintf("  - Recording to '%s.*'", recordBase))
		log.Warn(record.Warning)
	}
}
