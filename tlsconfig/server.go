package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/websockify-go/websockify/internal/filestamp"
)

// DefaultCheckInterval is how often, at most, a Reloader looks at its files.
const DefaultCheckInterval = time.Second

// ServerOptions configures Server. The zero value of every field but
// CertFile means the default.
type ServerOptions struct {
	CertFile string // PEM: server certificate, then intermediates, maybe the key
	KeyFile  string // PEM key, if not in CertFile

	// KeyPassword decrypts an encrypted key. KeyPasswordFile, if set, is
	// read instead (at every load, so a rotated key may come with a new
	// password); one trailing newline is dropped.
	KeyPassword     string
	KeyPasswordFile string

	MinVersion string // --ssl-version: "", default, tlsv1_1, tlsv1_2, tlsv1_3
	Ciphers    string // --ssl-ciphers, OpenSSL syntax (see ParseCiphers)

	// VerifyClient requires clients to present a certificate signed by a CA
	// in CAFile, or by the system's CAs when CAFile is empty.
	VerifyClient bool
	CAFile       string

	// CheckInterval is the least time between two looks at the files'
	// size and modification time. Zero means DefaultCheckInterval; a
	// negative value turns file watching off (Reload still works).
	CheckInterval time.Duration

	Logger *slog.Logger // nil means slog.Default()
}

// Reloader holds a server certificate and replaces it when its files change.
// It is safe for concurrent use.
type Reloader struct {
	o      ServerOptions
	log    *slog.Logger
	config *tls.Config
	now    func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp // cert file, key file
	checked time.Time
}

// Server checks the options, loads the certificate and returns a Reloader
// whose Config serves it. Errors wrap fs.ErrNotExist when a file is missing
// and ErrKeyPassword when the key cannot be decrypted.
func Server(o ServerOptions) (*Reloader, error) {
	if o.CertFile == "" {
		return nil, errors.New("no certificate file")
	}
	minVersion, err := ParseVersion(o.MinVersion)
	if err != nil {
		return nil, err
	}
	r := &Reloader{o: o, log: o.Logger, now: time.Now}
	if r.log == nil {
		r.log = slog.Default()
	}
	cfg := &tls.Config{
		MinVersion:     minVersion,
		GetCertificate: r.getCertificate,
	}
	if o.Ciphers != "" {
		suites, err := ParseCiphers(o.Ciphers)
		if err != nil {
			return nil, err
		}
		cfg.CipherSuites = cipherIDs(suites)
		if len(cfg.CipherSuites) == 0 && minVersion < tls.VersionTLS13 {
			return nil, fmt.Errorf("cipher list %q leaves no TLS 1.2 cipher suite (TLS 1.3 suites are always on; for TLS 1.3 only use --ssl-version tlsv1_3)", o.Ciphers)
		}
		for _, cs := range suites {
			if cs.Insecure {
				r.log.Warn("insecure cipher suite enabled", "suite", cs.Name)
			}
		}
	}
	if o.VerifyClient {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if o.CAFile != "" {
			if cfg.ClientCAs, err = LoadCAs(o.CAFile); err != nil {
				return nil, err
			}
		} else if cfg.ClientCAs, err = x509.SystemCertPool(); err != nil {
			return nil, fmt.Errorf("system CA pool: %w", err)
		}
	}
	r.config = cfg
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadCAs reads a PEM file of CA certificates.
func LoadCAs(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate in CA file %s", file)
	}
	return pool, nil
}

// Config returns the server configuration. Its GetCertificate serves the
// current certificate; callers must not change it.
func (r *Reloader) Config() *tls.Config { return r.config }

// Certificate returns the certificate being served.
func (r *Reloader) Certificate() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert
}

// Reload reads the files again now. On error the current certificate stays.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(r.stamps())
}

// load reads the files; r.mu is held.
func (r *Reloader) load(stamp [2]fileStamp) error {
	r.stamp, r.checked = stamp, r.now()
	pw, err := r.password()
	if err != nil {
		return err
	}
	cert, err := LoadKeyPair(r.o.CertFile, r.o.KeyFile, pw)
	if err != nil {
		return err
	}
	if r.cert != nil {
		r.log.Info("reloaded TLS certificate", "file", r.o.CertFile, "subject", cert.Leaf.Subject.String(),
			"expires", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if r.now().After(cert.Leaf.NotAfter) {
		r.log.Warn("TLS certificate has expired", "file", r.o.CertFile, "expired", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	r.cert = &cert
	return nil
}

func (r *Reloader) password() (string, error) {
	if r.o.KeyPasswordFile == "" {
		return r.o.KeyPassword, nil
	}
	b, err := os.ReadFile(r.o.KeyPasswordFile)
	if err != nil {
		return "", fmt.Errorf("read key password file: %w", err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

func (r *Reloader) checkInterval() time.Duration {
	if r.o.CheckInterval != 0 {
		return r.o.CheckInterval
	}
	return DefaultCheckInterval
}

func (r *Reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if iv := r.checkInterval(); iv > 0 && r.now().Sub(r.checked) >= iv {
		r.checked = r.now()
		if s := r.stamps(); s != r.stamp {
			if err := r.load(s); err != nil {
				r.log.Error("TLS certificate reload failed; keeping the previous one", "err", err)
			}
		}
	}
	return r.cert, nil
}

// fileStamp identifies a version of a file without reading it; ok is
// false when it could not be read.
type fileStamp struct {
	ok bool
	filestamp.Stamp
}

func (r *Reloader) stamps() [2]fileStamp {
	s := [2]fileStamp{stat(r.o.CertFile), {}}
	if r.o.KeyFile != "" {
		s[1] = stat(r.o.KeyFile)
	}
	return s
}

func stat(name string) fileStamp {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{ok: true, Stamp: filestamp.Of(fi)}
}
