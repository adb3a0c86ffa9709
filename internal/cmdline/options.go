package cmdline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/websockify-go/websockify/clientaddr"
	"github.com/websockify-go/websockify/gateway"
)

// Config is a validated command line.
type Config struct {
	Listen     HostPort // when neither UnixListen nor Inetd
	UnixListen string   // path of a Unix socket to listen on
	UnixMode   os.FileMode
	Inetd      bool // listening socket on stdin
	PreferIPv6 bool

	Target     HostPort // when neither UnixTarget nor Wrap
	UnixTarget string

	Wrap      []string // PROGRAM ARGS after "--"
	WrapMode  string   // exit, ignore or respawn
	WrapGrace time.Duration
	// WrapStartLimit is how many failed starts in a row respawn mode
	// accepts before giving up; 0 means no limit.
	WrapStartLimit int
	RebindSO       string // override for the embedded shim

	// TLS. Paths are absolute.
	Cert              string // --cert, default self.pem
	CertExplicit      bool   // --cert given: a missing file is an error
	Key               string
	KeyPassword       string
	KeyPasswordFile   string
	SSLOnly           bool
	VerifyClient      bool
	CAFile            string
	SSLVersion        string
	SSLCiphers        string
	SSLTarget         bool
	SSLTargetCAFile   string
	SSLTargetInsecure bool

	TokenPlugin   string // plugin name; TokenFile for --target-config
	TokenSource   string
	HostToken     bool
	TokenCookie   bool
	TokenPath     bool
	JWTRequireExp bool
	// TokenSubprotocol is the prefix of subprotocols carrying a token.
	TokenSubprotocol string
	// TokenAPIRedirectAnywhere lets the token APIs follow redirects to
	// other hosts (--token-api-redirect-anywhere).
	TokenAPIRedirectAnywhere bool
	AuthPlugin               string
	AuthSource               string

	Web         string // web root, absolute
	WebAuth     bool
	WebBuiltin  bool // serve the embedded pages (package webui); not with Web
	FileOnly    bool
	Record      string // recording base path, absolute
	Daemon      bool
	PIDFile     string
	FlashPolicy bool

	Verbose      bool
	Traffic      bool
	LogFile      string
	LogFormat    string
	Syslog       string
	LegacySyslog bool
	RunOnce      bool
	Timeout      time.Duration
	IdleTimeout  time.Duration
	Heartbeat    time.Duration
	Relay        gateway.Relay
	// DrainTimeout is how long open sessions may run after SIGTERM or an
	// upgrade before they are closed with 1001; zero closes them at once.
	DrainTimeout time.Duration

	MaxFrameSize     int64
	MaxHeaderBytes   int
	HandshakeTimeout time.Duration

	// Behind a load balancer.
	TrustedProxies  *clientaddr.Trusted // nil: nobody
	ProxyProtocol   bool
	ForwardedHeader clientaddr.Header // empty: none read
	// TargetProxyProtocol is the PROXY protocol version sent to targets
	// (1 or 2; 0: none).
	TargetProxyProtocol int

	// AdminListen is the admin listener's address, "HOST:PORT" or
	// "unix:/absolute/path"; empty: none.
	AdminListen    string
	AdminTokenFile string // absolute

	// Sessions holds the session control options (sessions.go).
	Sessions SessionControl

	// Warnings are notes for the log about accepted but inert options.
	Warnings []string
}

// Rebind is the "websockify rebind OLD_PORT NEW_PORT COMMAND..." helper.
type Rebind struct {
	OldPort, NewPort int
	Argv             []string
	RebindSO         string
}

// ErrHelp is returned by Parse when help or the version was printed.
var ErrHelp = errors.New("help requested")

// UsageError is a command line mistake; main exits 2 for it, as the
// reference does.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &UsageError{fmt.Sprintf(format, a...)}
}

// UsageText is the synopsis shown by --help.
const UsageText = `websockify [options] [source_addr:]source_port target_addr:target_port
websockify [options] --unix-target=FILE [source_addr:]source_port
websockify [options] --unix-listen=FILE target_addr:target_port
websockify [options] --inetd target_addr:target_port
websockify [options] [source_addr:]source_port -- PROGRAM [ARGS...]
websockify probe [--send DATA] [--expect DATA] [--timeout SECONDS] [--insecure] URL
websockify sessions [--admin ADDR] [--admin-token-file FILE] list|show|kill ...
websockify rebind OLD_PORT NEW_PORT PROGRAM [ARGS...]`

// Parse reads argv (with the program name first). It returns either a
// *Config for the gateway or a *Rebind for the helper subcommand. Help and
// version output go to out; ErrHelp is returned after them.
func Parse(argv []string, version string, out io.Writer) (cfg *Config, rb *Rebind, err error) {
	if len(argv) > 1 && argv[1] == "rebind" {
		rb, err := parseRebind(argv[2:])
		return nil, rb, err
	}
	fl := flags()
	args, wrap, hasWrap := splitWrap(argv[1:])
	args = reorder(fl, args)

	setVersionFlag()
	app := &cli.App{
		Name:                  filepath.Base(argv[0]),
		Usage:                 appUsage,
		UsageText:             UsageText,
		Version:               version,
		Flags:                 fl,
		HideHelpCommand:       true,
		CustomAppHelpTemplate: strings.Replace(cli.AppHelpTemplate, "GLOBAL OPTIONS:", "OPTIONS:", 1) + helpExamples,
		Writer:                out,
		ErrWriter:             out,
		ExitErrHandler:        func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			msg := err.Error()
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "no such option: -" + strings.TrimLeft(name, "-")
				if len(name) > 2 {
					msg = "no such option: --" + strings.TrimLeft(name, "-")
				}
				if s := suggest(strings.TrimLeft(name, "-"), fl); s != "" {
					msg += " (did you mean " + s + "?)"
				}
			}
			return &UsageError{msg}
		},
		Action: func(c *cli.Context) error {
			var err error
			cfg, err = build(c, c.Args().Slice(), wrap, hasWrap)
			return err
		},
	}
	if err := app.Run(append([]string{argv[0]}, args...)); err != nil {
		return nil, nil, err
	}
	if cfg == nil {
		return nil, nil, ErrHelp
	}
	return cfg, nil, nil
}

// splitWrap separates "PROGRAM ARGS" after the first "--".
func splitWrap(args []string) (rest, wrap []string, ok bool) {
	i := slices.Index(args, "--")
	if i < 0 {
		return args, nil, false
	}
	return args[:i], args[i+1:], true
}

// reorder moves options ahead of positionals, so that options may follow
// positionals as the reference (optparse) allows: "5901 --wrap-mode=ignore".
func reorder(fl []cli.Flag, args []string) []string {
	takesValue := map[string]bool{}
	for _, f := range fl {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var opts, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		opts = append(opts, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && i+1 < len(args) {
			i++
			opts = append(opts, args[i])
		}
	}
	return append(opts, pos...)
}

func build(c *cli.Context, pos, wrap []string, hasWrap bool) (*Config, error) {
	for _, name := range unsupported {
		if c.IsSet(name) {
			return nil, fmt.Errorf("--%s is not supported yet", name)
		}
	}
	cfg := fromFlags(c, wrap)
	if err := cfg.parseValues(c); err != nil {
		return nil, err
	}
	var err error
	if cfg.Sessions, err = sessionControl(c); err != nil {
		return nil, err
	}
	if err := cfg.checkLimits(); err != nil {
		return nil, err
	}
	if cfg.Inetd && cfg.UnixListen != "" {
		return nil, usageErrorf("--inetd and --unix-listen cannot be used together")
	}
	if err := cfg.checkFeatures(); err != nil {
		return nil, err
	}
	if err := cfg.absolutePaths(); err != nil {
		return nil, err
	}
	if err := cfg.positionals(pos, hasWrap); err != nil {
		return nil, err
	}
	if err := cfg.checkEffect(c.IsSet); err != nil {
		return nil, err
	}
	if err := cfg.checkSessionControl(c.IsSet); err != nil {
		return nil, err
	}
	if err := cfg.checkAdmin(c.IsSet); err != nil {
		return nil, err
	}
	return cfg, nil
}

// fromFlags copies the options that need no parsing into a new Config.
func fromFlags(c *cli.Context, wrap []string) *Config {
	return &Config{
		Verbose:          c.Bool(flagVerbose),
		Traffic:          c.Bool(flagTraffic),
		LogFile:          c.String(flagLogFile),
		RunOnce:          c.Bool(flagRunOnce),
		PreferIPv6:       c.Bool(flagPreferIPv6),
		Inetd:            c.Bool(flagInetd),
		UnixListen:       c.String(flagUnixListen),
		UnixTarget:       c.String(flagUnixTarget),
		WrapMode:         c.String(flagWrapMode),
		RebindSO:         c.String(flagRebindSO),
		MaxFrameSize:     c.Int64(flagMaxFrameSize),
		MaxHeaderBytes:   c.Int(flagMaxHeaderBytes),
		UnixMode:         0o600,
		Wrap:             wrap,
		HandshakeTimeout: time.Duration(c.Int(flagHandshakeTimeout)) * time.Second,
		WrapGrace:        time.Duration(c.Int(flagWrapGrace)) * time.Second,
		WrapStartLimit:   c.Int(flagWrapStartLimit),

		Cert:                     c.String(flagCert),
		CertExplicit:             c.IsSet(flagCert),
		Key:                      c.String(flagKey),
		KeyPassword:              c.String(flagKeyPassword),
		KeyPasswordFile:          c.String(flagKeyPasswordFile),
		SSLOnly:                  c.Bool(flagSSLOnly),
		VerifyClient:             c.Bool(flagVerifyClient),
		CAFile:                   c.String(flagCAFile),
		SSLVersion:               c.String(flagSSLVersion),
		SSLCiphers:               c.String(flagSSLCiphers),
		SSLTarget:                c.Bool(flagSSLTarget),
		SSLTargetCAFile:          c.String(flagSSLTargetCAFile),
		SSLTargetInsecure:        c.Bool(flagSSLTargetInsec),
		Web:                      c.String(flagWeb),
		WebAuth:                  c.Bool(flagWebAuth),
		WebBuiltin:               c.Bool(flagWebBuiltin),
		FileOnly:                 c.Bool(flagFileOnly),
		Record:                   c.String(flagRecord),
		Daemon:                   c.Bool(flagDaemon),
		PIDFile:                  c.String(flagPIDFile),
		FlashPolicy:              c.Bool(flagFlashPolicy),
		LogFormat:                c.String(flagLogFormat),
		Syslog:                   c.String(flagSyslog),
		LegacySyslog:             c.Bool(flagLegacySyslog),
		TokenPlugin:              c.String(flagTokenPlugin),
		TokenSource:              c.String(flagTokenSource),
		HostToken:                c.Bool(flagHostToken),
		TokenCookie:              c.Bool(flagTokenCookie),
		TokenPath:                c.Bool(flagTokenPath),
		TokenSubprotocol:         c.String(flagTokenSubproto),
		JWTRequireExp:            c.Bool(flagJWTRequireExp),
		TokenAPIRedirectAnywhere: c.Bool(flagTokenAPIRedirect),
		AuthPlugin:               c.String(flagAuthPlugin),
		AuthSource:               c.String(flagAuthSource),
		AdminListen:              c.String(flagAdminListen),
		AdminTokenFile:           c.String(flagAdminTokenFile),
	}
}

// parseValues reads the options whose values are parsed or checked on their
// own: durations, the relay, the wrap mode, the socket mode, the deprecated
// --target-config.
func (cfg *Config) parseValues(c *cli.Context) error {
	if tc := c.String(flagTargetConfig); tc != "" {
		abs, err := filepath.Abs(tc)
		if err != nil {
			return fmt.Errorf("--target-config: %w", err)
		}
		cfg.TokenPlugin, cfg.TokenSource = "TokenFile", abs
		cfg.Warnings = append(cfg.Warnings, "--target-config is deprecated: use --token-plugin TokenFile --token-source FILE")
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{flagTimeout, &cfg.Timeout}, {flagIdleTimeout, &cfg.IdleTimeout}, {flagHeartbeat, &cfg.Heartbeat}, {flagDrainTimeout, &cfg.DrainTimeout}} {
		n := c.Int(d.name)
		if n < 0 {
			return usageErrorf("--%s must not be negative", d.name)
		}
		*d.dst = time.Duration(n) * time.Second
	}
	if v := c.String(flagTrustedProxies); c.IsSet(flagTrustedProxies) {
		t, err := clientaddr.ParseTrusted(v)
		if err != nil {
			return usageErrorf("option --%s: %v", flagTrustedProxies, err)
		}
		cfg.TrustedProxies = t
	}
	cfg.ProxyProtocol = c.Bool(flagProxyProtocol)
	if v := c.String(flagForwardedHeader); !strings.EqualFold(v, "none") {
		h, err := clientaddr.ParseHeader(v)
		if err != nil {
			return usageErrorf("option --%s: %v", flagForwardedHeader, err)
		}
		if cfg.TrustedProxies != nil {
			cfg.ForwardedHeader = h
		}
	}
	switch v := c.String(flagTargetProxy); v {
	case "":
	case "v1", "v2":
		cfg.TargetProxyProtocol = int(v[1] - '0')
	default:
		return usageErrorf("option --%s: invalid choice: %q (choose from 'v1', 'v2')", flagTargetProxy, v)
	}
	relay, err := gateway.ParseRelay(c.String(flagRelay))
	if err != nil {
		return usageErrorf("option --relay: %v", err)
	}
	cfg.Relay = relay
	if c.Bool(flagLibserver) {
		cfg.Warnings = append(cfg.Warnings, "--libserver ignored: this implementation has a single engine")
	}
	switch cfg.WrapMode {
	case "exit", "ignore", "respawn":
	default:
		return usageErrorf("option --wrap-mode: invalid choice: %q (choose from 'exit', 'ignore', 'respawn')", cfg.WrapMode)
	}
	if c.IsSet(flagUnixListenMod) {
		m, err := strconv.ParseUint(c.String(flagUnixListenMod), 8, 32)
		if err != nil || m > 0o777 {
			return usageErrorf("Error parsing listen unix socket mode")
		}
		cfg.UnixMode = os.FileMode(m)
	}
	return nil
}

// absolutePaths makes the paths of the options absolute: a daemon changes
// directory to /.
func (cfg *Config) absolutePaths() error {
	for _, p := range []*string{&cfg.LogFile, &cfg.Cert, &cfg.Key, &cfg.KeyPasswordFile, &cfg.CAFile,
		&cfg.SSLTargetCAFile, &cfg.Web, &cfg.Record, &cfg.PIDFile, &cfg.UnixListen, &cfg.UnixTarget, &cfg.AdminTokenFile} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("path %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

// checkFeatures applies the reference's rules between options (§1.2) and
// ours: a combination that cannot take effect is an error.
func (cfg *Config) checkFeatures() error {
	switch cfg.SSLVersion {
	case "default", "tlsv1_1", "tlsv1_2", "tlsv1_3":
	default:
		return usageErrorf("option --ssl-version: invalid choice: %q (choose from 'default', 'tlsv1_1', 'tlsv1_2', 'tlsv1_3')", cfg.SSLVersion)
	}
	switch cfg.LogFormat {
	case "plain", "json":
	default:
		return usageErrorf("option --log-format: invalid choice: %q (choose from 'plain', 'json')", cfg.LogFormat)
	}
	switch {
	case cfg.TokenSource != "" && cfg.TokenPlugin == "":
		return usageErrorf("You must use --token-plugin to use --token-source")
	case cfg.HostToken && cfg.TokenPlugin == "":
		return usageErrorf("You must use --token-plugin to use --host-token")
	case (cfg.TokenCookie || cfg.TokenPath) && cfg.TokenPlugin == "":
		return usageErrorf("You must use --token-plugin to use --token-cookie or --token-path")
	case cfg.TokenSubprotocol != "" && cfg.TokenPlugin == "":
		return usageErrorf("You must use --token-plugin to use --token-subprotocol")
	case cfg.TokenSubprotocol != "" && !validSubprotocolPrefix(cfg.TokenSubprotocol):
		return usageErrorf("--token-subprotocol %q: a prefix must be an HTTP token (letters, digits, !#$%%&'*+-.^_`|~) not ending in '.'", cfg.TokenSubprotocol)
	case cfg.HostToken && (cfg.TokenCookie || cfg.TokenPath):
		return usageErrorf("--host-token cannot be combined with --token-cookie or --token-path")
	case cfg.AuthSource != "" && cfg.AuthPlugin == "":
		return usageErrorf("You must use --auth-plugin to use --auth-source")
	case cfg.WebAuth && cfg.AuthPlugin == "":
		return usageErrorf("You must use --auth-plugin to use --web-auth")
	case cfg.TokenPlugin != "" && cfg.UnixTarget != "":
		return usageErrorf("--token-plugin cannot be combined with --unix-target")
	case cfg.WebAuth && cfg.Web == "":
		return usageErrorf("You must use --web to use --web-auth")
	case cfg.LegacySyslog && cfg.Syslog == "":
		return usageErrorf("You must use --syslog to use --legacy-syslog")
	case (cfg.SSLTargetCAFile != "" || cfg.SSLTargetInsecure) && !cfg.SSLTarget:
		return usageErrorf("You must use --ssl-target to use --ssl-target-cafile or --ssl-target-insecure")
	case cfg.CAFile != "" && !cfg.VerifyClient:
		return usageErrorf("You must use --verify-client to use --cafile")
	case cfg.WebBuiltin && cfg.Web != "":
		return usageErrorf("--web-builtin cannot be combined with --web")
	case cfg.FileOnly && cfg.Web == "":
		return usageErrorf("You must use --web to use --file-only")
	}
	if cfg.SSLOnly {
		if _, err := os.Stat(cfg.Cert); err != nil {
			return usageErrorf("SSL only and %s not found", cfg.Cert)
		}
	}
	if cfg.Syslog != "" && strings.Contains(cfg.Syslog, ":") {
		i := strings.LastIndexByte(cfg.Syslog, ':')
		if _, err := parsePort(cfg.Syslog[i+1:]); err != nil {
			return usageErrorf("Error parsing syslog port")
		}
	}
	return nil
}

func (cfg *Config) checkLimits() error {
	if cfg.MaxFrameSize < 126 {
		return usageErrorf("--%s must be at least 126 bytes", flagMaxFrameSize)
	}
	if cfg.MaxHeaderBytes < 1024 {
		return usageErrorf("--%s must be at least 1024 bytes", flagMaxHeaderBytes)
	}
	if cfg.HandshakeTimeout <= 0 {
		return usageErrorf("--%s must be positive", flagHandshakeTimeout)
	}
	if cfg.WrapStartLimit < 0 {
		return usageErrorf("--%s must not be negative (0: no limit)", flagWrapStartLimit)
	}
	if cfg.WrapGrace < 0 {
		return usageErrorf("--%s must not be negative", flagWrapGrace)
	}
	return nil
}

// positionals reads the listen address, then the target, as the
// reference does (§1.3), with the wrapped program after "--".
func (cfg *Config) positionals(pos []string, hasWrap bool) error {
	if hasWrap {
		if len(cfg.Wrap) == 0 {
			return usageErrorf("No program to wrap after '--'")
		}
		if cfg.Inetd || cfg.UnixListen != "" {
			return usageErrorf("Wrapping a program needs a listen port; it cannot be combined with --inetd or --unix-listen")
		}
		if cfg.UnixTarget != "" {
			return usageErrorf("--unix-target cannot be combined with a wrapped program")
		}
	}
	if !cfg.Inetd && cfg.UnixListen == "" {
		if len(pos) == 0 {
			return usageErrorf("Too few arguments")
		}
		l, err := parseListen(pos[0])
		if err != nil {
			return err
		}
		if hasWrap && l.Port == 0 {
			return usageErrorf("Wrapping a program needs a fixed listen port")
		}
		cfg.Listen = l
		pos = pos[1:]
	}
	if hasWrap && cfg.TokenPlugin != "" {
		return usageErrorf("--token-plugin cannot be combined with a wrapped program")
	}
	if !hasWrap && cfg.UnixTarget == "" && cfg.TokenPlugin == "" {
		if len(pos) == 0 {
			return usageErrorf("Too few arguments")
		}
		t, err := parseTarget(pos[0])
		if err != nil {
			return err
		}
		cfg.Target = t
		pos = pos[1:]
	}
	if len(pos) > 0 {
		return usageErrorf("Too many arguments")
	}
	return nil
}

func parseRebind(args []string) (*Rebind, error) {
	const usage = "Usage: websockify rebind OLD_PORT NEW_PORT PROGRAM [ARGS...]"
	rb := &Rebind{RebindSO: os.Getenv("WEBSOCKIFY_REBIND_SO")}
	if len(args) < 3 {
		return nil, usageErrorf("%s", usage)
	}
	var err error
	if rb.OldPort, err = parsePort(args[0]); err != nil {
		return nil, usageErrorf("OLD_PORT: %v\n%s", err, usage)
	}
	if rb.NewPort, err = parsePort(args[1]); err != nil {
		return nil, usageErrorf("NEW_PORT: %v\n%s", err, usage)
	}
	rb.Argv = args[2:]
	if rb.Argv[0] == "--" {
		rb.Argv = rb.Argv[1:]
	}
	if len(rb.Argv) == 0 {
		return nil, usageErrorf("%s", usage)
	}
	return rb, nil
}

// validSubprotocolPrefix reports whether p can start a subprotocol name
// (an RFC 9110 token) to which "." and a token are appended.
func validSubprotocolPrefix(p string) bool {
	if p == "" || strings.HasSuffix(p, ".") {
		return false
	}
	for _, c := range []byte(p) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
