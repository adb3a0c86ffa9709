package options

import "github.com/urfave/cli/v2"

// Flag names, exactly as the reference spells them.
const (
	flagVerbose       = "verbose"
	flagTraffic       = "traffic"
	flagRecord        = "record"
	flagDaemon        = "daemon"
	flagRunOnce       = "run-once"
	flagTimeout       = "timeout"
	flagIdleTimeout   = "idle-timeout"
	flagCert          = "cert"
	flagKey           = "key"
	flagKeyPassword   = "key-password"
	flagSSLOnly       = "ssl-only"
	flagSSLTarget     = "ssl-target"
	flagVerifyClient  = "verify-client"
	flagCAFile        = "cafile"
	flagSSLVersion    = "ssl-version"
	flagSSLCiphers    = "ssl-ciphers"
	flagUnixListen    = "unix-listen"
	flagUnixListenMod = "unix-listen-mode"
	flagUnixTarget    = "unix-target"
	flagInetd         = "inetd"
	flagWeb           = "web"
	flagWebAuth       = "web-auth"
	flagWebBuiltin    = "web-builtin"
	flagWrapMode      = "wrap-mode"
	flagPreferIPv6    = "prefer-ipv6"
	flagLibserver     = "libserver"
	flagTargetConfig  = "target-config"
	flagTokenPlugin   = "token-plugin"
	flagTokenSource   = "token-source"
	flagHostToken     = "host-token"
	flagAuthPlugin    = "auth-plugin"
	flagAuthSource    = "auth-source"
	flagHeartbeat     = "heartbeat"
	flagLogFile       = "log-file"
	flagSyslog        = "syslog"
	flagLegacySyslog  = "legacy-syslog"
	flagFileOnly      = "file-only"

	// Ours.
	flagMaxFrameSize     = "max-frame-size"
	flagMaxHeaderBytes   = "max-header-bytes"
	flagHandshakeTimeout = "handshake-timeout"
	flagWrapGrace        = "wrap-grace"
	flagWrapStartLimit   = "wrap-start-limit"
	flagRebindSO         = "rebind-so"
	flagKeyPasswordFile  = "key-password-file"
	flagSSLTargetCAFile  = "ssl-target-cafile"
	flagSSLTargetInsec   = "ssl-target-insecure"
	flagPIDFile          = "pid-file"
	flagLogFormat        = "log-format"
	flagFlashPolicy      = "flash-policy"
	flagTokenCookie      = "token-cookie"
	flagTokenPath        = "token-path"
	flagJWTRequireExp    = "jwt-require-exp"
)

// unsupported lists options whose features have not landed yet. Using one
// is an error, never silently ignored. Every reference option is supported
// today.
var unsupported = []string{}

func flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"}, Usage: "verbose messages"},
		&cli.BoolFlag{Name: flagTraffic, Usage: "per frame traffic"},
		&cli.StringFlag{Name: flagRecord, Usage: "record sessions to FILE.[session_number]", TakesFile: true},
		&cli.BoolFlag{Name: flagDaemon, Aliases: []string{"D"}, Usage: "become a daemon (background process)"},
		&cli.BoolFlag{Name: flagRunOnce, Usage: "handle a single WebSocket connection and exit"},
		&cli.IntFlag{Name: flagTimeout, Usage: "stop listening after `TIMEOUT` seconds; open sessions finish first"},
		&cli.IntFlag{Name: flagIdleTimeout, Usage: "server exits after `TIMEOUT` seconds if there are no active connections"},
		&cli.StringFlag{Name: flagCert, Value: "self.pem", Usage: "SSL certificate file", TakesFile: true},
		&cli.StringFlag{Name: flagKey, Usage: "SSL key file (if separate from cert)", TakesFile: true},
		&cli.StringFlag{Name: flagKeyPassword, EnvVars: []string{"WEBSOCKIFY_KEY_PASSWORD"}, Usage: "SSL key password (visible in ps: prefer --key-password-file or $WEBSOCKIFY_KEY_PASSWORD)"},
		&cli.StringFlag{Name: flagKeyPasswordFile, Usage: "read the SSL key password from `FILE`", TakesFile: true},
		&cli.BoolFlag{Name: flagSSLOnly, Usage: "disallow non-encrypted client connections"},
		&cli.BoolFlag{Name: flagSSLTarget, Usage: "connect to SSL target as SSL client (verified, with SNI)"},
		&cli.StringFlag{Name: flagSSLTargetCAFile, Usage: "CA certificates `FILE` to verify the SSL target with, instead of the system's", TakesFile: true},
		&cli.BoolFlag{Name: flagSSLTargetInsec, Usage: "do not verify the SSL target's certificate (insecure)"},
		&cli.BoolFlag{Name: flagVerifyClient, Usage: "require encrypted client to present a valid certificate"},
		&cli.StringFlag{Name: flagCAFile, Usage: "file of concatenated certificates of authorities trusted for validating clients (only effective with --verify-client)", TakesFile: true},
		&cli.StringFlag{Name: flagSSLVersion, Value: "default", Usage: "minimum TLS version to use (default, tlsv1_1, tlsv1_2, tlsv1_3)"},
		&cli.StringFlag{Name: flagSSLCiphers, Usage: "list of ciphers allowed for connection"},
		&cli.StringFlag{Name: flagUnixListen, Usage: "listen to unix socket `FILE`", TakesFile: true},
		&cli.StringFlag{Name: flagUnixListenMod, Usage: "specify mode for unix socket (defaults to 0600)"},
		&cli.StringFlag{Name: flagUnixTarget, Usage: "connect to unix socket target `FILE`", TakesFile: true},
		&cli.BoolFlag{Name: flagInetd, Usage: "inetd mode, receive listening socket from stdin"},
		&cli.StringFlag{Name: flagWeb, Usage: "run webserver on same port. Serve files from `DIR`.", TakesFile: true},
		&cli.BoolFlag{Name: flagWebAuth, Usage: "require authentication to access webserver."},
		&cli.BoolFlag{Name: flagWebBuiltin, Usage: "serve the built-in pages (wstelnet.html, echo.html, websock.js) instead of a --web DIR"},
		&cli.StringFlag{Name: flagWrapMode, Value: "exit", Usage: "action to take when the wrapped program exits or daemonizes: exit (default), ignore, respawn"},
		&cli.BoolFlag{Name: flagPreferIPv6, Aliases: []string{"6"}, Usage: "prefer IPv6 when resolving source_addr"},
		&cli.BoolFlag{Name: flagLibserver, Usage: "accepted for compatibility; this implementation has a single engine"},
		&cli.StringFlag{Name: flagTargetConfig, Usage: "DEPRECATED: use --token-plugin TokenFile --token-source FILE", TakesFile: true},
		&cli.StringFlag{Name: flagTokenPlugin, Usage: "token plugin `CLASS`, such as TokenFile, to turn tokens into targets"},
		&cli.StringFlag{Name: flagTokenSource, Usage: "an argument to be passed to the token plugin on instantiation"},
		&cli.BoolFlag{Name: flagHostToken, Usage: "use the host HTTP header as token instead of the token URL query parameter"},
		&cli.BoolFlag{Name: flagTokenCookie, Usage: "also take the token from a \"token\" cookie"},
		&cli.BoolFlag{Name: flagTokenPath, Usage: "also take the token from the last path segment (/websockify/TOKEN)"},
		&cli.BoolFlag{Name: flagJWTRequireExp, Usage: "JWTTokenApi: refuse tokens without an exp claim"},
		&cli.StringFlag{Name: flagAuthPlugin, Usage: "auth plugin `CLASS`, such as BasicHTTPAuth, to determine if a connection is allowed"},
		&cli.StringFlag{Name: flagAuthSource, Usage: "an argument to be passed to the auth plugin on instantiation"},
		&cli.IntFlag{Name: flagHeartbeat, Usage: "send a ping to the client every `INTERVAL` seconds; drop it after two unanswered"},
		&cli.StringFlag{Name: flagLogFile, Usage: "File where logs will be saved", TakesFile: true},
		&cli.StringFlag{Name: flagSyslog, Usage: "Log to syslog server. SERVER can be local socket, such as /dev/log, or a UDP host:port pair."},
		&cli.BoolFlag{Name: flagLegacySyslog, Usage: "Use the old syslog protocol instead of RFC 5424."},
		&cli.BoolFlag{Name: flagFileOnly, Usage: "use this to disable directory listings in web server."},
		&cli.StringFlag{Name: flagPIDFile, Usage: "write the process id to `FILE` (removed on exit)", TakesFile: true},
		&cli.StringFlag{Name: flagLogFormat, Value: "plain", Usage: "log format: plain (the reference's lines) or json"},
		&cli.BoolFlag{Name: flagFlashPolicy, Value: true, Usage: "answer Flash <policy-file-request/> with a permissive cross-domain policy"},

		&cli.Int64Flag{Name: flagMaxFrameSize, Value: 16 << 20, Usage: "largest client frame payload in `BYTES`; larger frames close with 1009"},
		&cli.IntFlag{Name: flagMaxHeaderBytes, Value: 16 << 10, Usage: "largest HTTP request line and headers in `BYTES`"},
		&cli.IntFlag{Name: flagHandshakeTimeout, Value: 10, Usage: "`SECONDS` a client has to complete its request before the upgrade"},
		&cli.IntFlag{Name: flagWrapGrace, Value: 10, Usage: "`SECONDS` the wrapped program has to exit after SIGTERM before SIGKILL"},
		&cli.IntFlag{Name: flagWrapStartLimit, Value: 10, Usage: "respawn mode gives up after `N` failed starts in a row (exited before listening, or failed within 10 s); 0: never"},
		&cli.StringFlag{Name: flagRebindSO, EnvVars: []string{"WEBSOCKIFY_REBIND_SO"}, Usage: "use this rebind.so `FILE` instead of the embedded one", TakesFile: true},
	}
}
