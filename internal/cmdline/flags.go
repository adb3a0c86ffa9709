package cmdline

import (
	"strings"

	"github.com/urfave/cli/v2"
)

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
	flagRelay         = "relay"
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
	flagTokenAPIRedirect = "token-api-redirect-anywhere"
	flagTokenSubproto    = "token-subprotocol"

	// Behind a load balancer.
	flagTrustedProxies  = "trusted-proxies"
	flagProxyProtocol   = "proxy-protocol"
	flagForwardedHeader = "forwarded-header"
	flagTargetProxy     = "target-proxy-protocol"

	// The admin listener (metrics, health).
	flagAdminListen    = "admin-listen"
	flagAdminTokenFile = "admin-token-file"

	// Drain and upgrade (issue 16 part B).
	flagDrainTimeout = "drain-timeout"
)

// unsupported lists options whose features have not landed yet. Using one
// is an error, never silently ignored. Every reference option is supported
// today.
var unsupported = []string{}

// Help categories, in the README's order (urfave/cli sorts them by name,
// hence the numbers' invisible order: the names start alike).
const (
	catGeneral = "General"
	catSockets = "Sockets"
	catTLS     = "TLS"
	catWeb     = "Web server, recording, daemon, logging"
	catTokens  = "Tokens and authentication"
	catWrap    = "Wrap mode (PORT -- PROGRAM ARGS)"
	catProxy   = "Sockets: behind a load balancer"
	catAdmin   = "Operating: the admin listener (metrics, health)"
	catDrain   = "Zero downtime: drain, upgrade, systemd" // sorts last
)

func flags() []cli.Flag {
	fl := []cli.Flag{
		&cli.BoolFlag{Category: catGeneral, Name: flagVerbose, Aliases: []string{"v"}, Usage: "verbose messages: per-request lines, session ends"},
		&cli.BoolFlag{Category: catGeneral, Name: flagTraffic, Usage: "print per-frame traffic characters to stdout"},
		&cli.BoolFlag{Category: catGeneral, Name: flagRunOnce, Usage: "handle a single WebSocket connection and exit"},
		&cli.IntFlag{Category: catGeneral, Name: flagTimeout, Usage: "stop listening after `SECONDS`; open sessions finish first"},
		&cli.IntFlag{Category: catGeneral, Name: flagIdleTimeout, Usage: "exit after `SECONDS` without an open session"},
		&cli.IntFlag{Category: catGeneral, Name: flagHeartbeat, Value: 30, Usage: "ping clients every `SECONDS` (0: off), which keeps idle sessions alive through proxies' idle timeouts; a client silent for two intervals is dropped with close 1001"},
		&cli.StringFlag{Category: catGeneral, Name: flagRelay, Value: "auto", EnvVars: []string{"WEBSOCKIFY_RELAY"}, Usage: "the driver that relays sessions, by `NAME`: auto (epoll on Linux), epoll (event loops; sessions to --ssl-target still use goroutines) or goroutines (two per session)"},
		&cli.BoolFlag{Category: catGeneral, Name: flagPreferIPv6, Aliases: []string{"6"}, Usage: "resolve a listen host name to its IPv6 address first"},
		&cli.BoolFlag{Category: catGeneral, Name: flagLibserver, Usage: "accepted for compatibility; this implementation has a single engine"},
		&cli.Int64Flag{Category: catGeneral, Name: flagMaxFrameSize, Value: 16 << 20, Usage: "largest client frame payload in `BYTES`; larger frames close with 1009"},
		&cli.IntFlag{Category: catGeneral, Name: flagMaxHeaderBytes, Value: 16 << 10, Usage: "largest HTTP request line and headers in `BYTES`"},
		&cli.IntFlag{Category: catGeneral, Name: flagHandshakeTimeout, Value: 10, Usage: "`SECONDS` a client has to complete its request before the upgrade"},
		&cli.BoolFlag{Category: catGeneral, Name: flagFlashPolicy, Value: true, Usage: "answer Flash <policy-file-request/> (--flash-policy=false: do not)"},

		&cli.StringFlag{Category: catSockets, Name: flagUnixListen, Usage: "listen on the Unix socket `FILE`", TakesFile: true},
		&cli.StringFlag{Category: catSockets, Name: flagUnixListenMod, Usage: "octal `MODE` of the --unix-listen socket (default 0600)"},
		&cli.StringFlag{Category: catSockets, Name: flagUnixTarget, Usage: "relay to the Unix socket `FILE` instead of ADDR:PORT", TakesFile: true},
		&cli.BoolFlag{Category: catSockets, Name: flagInetd, Usage: "the listening socket is standard input (inetd wait, systemd Accept=no)"},

		&cli.StringFlag{Category: catProxy, Name: flagTrustedProxies, Usage: "`CIDR[,CIDR...]` of the proxies (load balancers) trusted to name the client, in a PROXY header or a forwarded-for header"},
		&cli.BoolFlag{Category: catProxy, Name: flagProxyProtocol, Usage: "connections from --trusted-proxies start with a PROXY protocol header (v1 or v2) naming the client; others must not send one"},
		&cli.StringFlag{Category: catProxy, Name: flagForwardedHeader, Value: "X-Forwarded-For", Usage: "the request `HEADER` in which --trusted-proxies name the client: X-Forwarded-For, Forwarded (RFC 7239), X-Real-IP or none"},

		&cli.StringFlag{Category: catProxy, Name: flagTargetProxy, Usage: "send targets a PROXY protocol header of `VERSION` v1 or v2 naming the client (a token may choose its own: proxy_protocol=v1|v2|none)"},

		&cli.StringFlag{Category: catTLS, Name: flagCert, Value: "self.pem", Usage: "certificate `FILE`, may hold the key too (used when present)", TakesFile: true},
		&cli.StringFlag{Category: catTLS, Name: flagKey, Usage: "key `FILE`, if not in the certificate file", TakesFile: true},
		&cli.StringFlag{Category: catTLS, Name: flagKeyPassword, EnvVars: []string{"WEBSOCKIFY_KEY_PASSWORD"}, Usage: "key `PASSWORD` (visible in ps: prefer --key-password-file)"},
		&cli.StringFlag{Category: catTLS, Name: flagKeyPasswordFile, Usage: "read the key password from `FILE`", TakesFile: true},
		&cli.BoolFlag{Category: catTLS, Name: flagSSLOnly, Usage: "refuse plain (non-TLS) connections"},
		&cli.BoolFlag{Category: catTLS, Name: flagVerifyClient, Usage: "require client certificates"},
		&cli.StringFlag{Category: catTLS, Name: flagCAFile, Usage: "CA certificates `FILE` for --verify-client, instead of the system's", TakesFile: true},
		&cli.StringFlag{Category: catTLS, Name: flagSSLVersion, Value: "default", Usage: "minimum TLS `VERSION`: default, tlsv1_1, tlsv1_2, tlsv1_3"},
		&cli.StringFlag{Category: catTLS, Name: flagSSLCiphers, Usage: "OpenSSL cipher `LIST` allowed (TLS 1.2 and older)"},
		&cli.BoolFlag{Category: catTLS, Name: flagSSLTarget, Usage: "speak TLS to the target (verified, with SNI)"},
		&cli.StringFlag{Category: catTLS, Name: flagSSLTargetCAFile, Usage: "CA certificates `FILE` to verify the target with, instead of the system's", TakesFile: true},
		&cli.BoolFlag{Category: catTLS, Name: flagSSLTargetInsec, Usage: "do not verify the target's certificate (insecure)"},

		&cli.StringFlag{Category: catWeb, Name: flagWeb, Usage: "serve the files of `DIR` on the same port (the TLS certificate and key are never served)", TakesFile: true},
		&cli.BoolFlag{Category: catWeb, Name: flagWebBuiltin, Usage: "serve the built-in pages (wstelnet.html, echo.html, websock.js) instead of a --web DIR"},
		&cli.BoolFlag{Category: catWeb, Name: flagFileOnly, Usage: "no directory listings in the web server"},
		&cli.BoolFlag{Category: catWeb, Name: flagWebAuth, Usage: "the auth plugin also guards the web server"},
		&cli.StringFlag{Category: catWeb, Name: flagRecord, Usage: "record each session to `FILE`.N (keystrokes and passwords included)", TakesFile: true},
		&cli.BoolFlag{Category: catWeb, Name: flagDaemon, Aliases: []string{"D"}, Usage: "run in the background once listening (and the wrapped program listens)"},
		&cli.StringFlag{Category: catWeb, Name: flagPIDFile, Usage: "write the process id to `FILE` (removed on exit)", TakesFile: true},
		&cli.StringFlag{Category: catWeb, Name: flagLogFile, Usage: "also append the log to `FILE`", TakesFile: true},
		&cli.StringFlag{Category: catWeb, Name: flagLogFormat, Value: "plain", Usage: "log `FORMAT`: plain (the reference's lines) or json"},
		&cli.StringFlag{Category: catWeb, Name: flagSyslog, Usage: "also log to syslog `SERVER`: a local socket such as /dev/log, or UDP HOST:PORT"},
		&cli.BoolFlag{Category: catWeb, Name: flagLegacySyslog, Usage: "old BSD syslog format instead of RFC 5424"},

		&cli.StringFlag{Category: catTokens, Name: flagTokenPlugin, Usage: "choose the target per connection from a token with plugin `NAME`: " + strings.Join(tokenPlugins(), ", ")},
		&cli.StringFlag{Category: catTokens, Name: flagTokenSource, Usage: "the token plugin's `ARG` (a file, URL, redis address...)"},
		&cli.StringFlag{Category: catTokens, Name: flagTargetConfig, Usage: "deprecated: --token-plugin TokenFile --token-source `FILE`", TakesFile: true},
		&cli.BoolFlag{Category: catTokens, Name: flagHostToken, Usage: "the token is the Host header instead of ?token="},
		&cli.BoolFlag{Category: catTokens, Name: flagTokenCookie, Usage: "also take the token from a \"token\" cookie"},
		&cli.BoolFlag{Category: catTokens, Name: flagTokenPath, Usage: "also take the token from the last path segment (/websockify/TOKEN)"},
		&cli.StringFlag{Category: catTokens, Name: flagTokenSubproto, Usage: "also take the token from an offered WebSocket subprotocol `PREFIX`.<base64url token> (first; never echoed)"},
		&cli.BoolFlag{Category: catTokens, Name: flagJWTRequireExp, Usage: "JWTTokenApi: refuse tokens without an exp claim"},
		&cli.BoolFlag{Category: catTokens, Name: flagTokenAPIRedirect, Usage: "BaseTokenAPI, JSONTokenApi: follow redirects to any host (by default only to the --token-source URL's scheme, host and port)"},
		&cli.StringFlag{Category: catTokens, Name: flagAuthPlugin, Usage: "authenticate connections with plugin `NAME`: " + strings.Join(authPlugins(), ", ")},
		&cli.StringFlag{Category: catTokens, Name: flagAuthSource, Usage: "the auth plugin's `ARG` (user:password, origins, CNs)"},

		&cli.StringFlag{Category: catAdmin, Name: flagAdminListen, Usage: "serve /metrics, /healthz and /readyz on `ADDR`: HOST:PORT (loopback or a private network) or unix:/path (mode 0600); never the public port; off by default"},
		&cli.StringFlag{Category: catAdmin, Name: flagAdminTokenFile, Usage: "bearer token in `FILE` that the admin listener's private endpoints need on TCP (at least 16 characters)", TakesFile: true},

		&cli.StringFlag{Category: catWrap, Name: flagWrapMode, Value: "exit", Usage: "`MODE` when the program exits: exit, ignore (it daemonizes, as vncserver) or respawn"},
		&cli.IntFlag{Category: catWrap, Name: flagWrapGrace, Value: 10, Usage: "`SECONDS` the program has to exit after SIGTERM before SIGKILL"},
		&cli.IntFlag{Category: catWrap, Name: flagWrapStartLimit, Value: 10, Usage: "respawn gives up after `N` failed starts in a row (exited before listening, or failed within 10 s); 0: never"},
		&cli.IntFlag{Category: catDrain, Name: flagDrainTimeout, Usage: "on SIGTERM (or after a SIGUSR2 upgrade), stop accepting and let open sessions run up to `SECONDS` before closing them with 1001; a second SIGTERM or SIGINT closes them at once"},

		&cli.StringFlag{Category: catWrap, Name: flagRebindSO, EnvVars: []string{"WEBSOCKIFY_REBIND_SO"}, Usage: "use the rebind.so `FILE` instead of the embedded one", TakesFile: true},
	}
	fl = append(fl, sessionFlags()...)
	// A switch is off unless given, and "(default: false)" says nothing;
	// a zero interval is off.
	for _, f := range fl {
		switch f := f.(type) {
		case *cli.BoolFlag:
			f.DisableDefaultText = !f.Value
		case *cli.IntFlag:
			if f.Value == 0 {
				f.DefaultText = "off"
			}
		}
	}
	return fl
}

// tokenPlugins and authPlugins are the plugin names --help lists, as the
// reference spells its classes.
func tokenPlugins() []string {
	return []string{"TokenFile", "ReadOnlyTokenFile", "TokenFileName", "BaseTokenAPI", "JSONTokenApi", "JWTTokenApi", "TokenRedis", "UnixDomainSocketDirectory"}
}

func authPlugins() []string {
	return []string{"BasicHTTPAuth", "ExpectOrigin", "ClientCertCNAuth"}
}

// helpExamples end --help.
const helpExamples = `
EXAMPLES:
   websockify 6080 localhost:5900                      relay ws://HOST:6080/ to a VNC server
   websockify --web /usr/share/novnc 6080 localhost:5900
                                                       noVNC: open http://HOST:6080/vnc.html
   websockify --cert self.pem --ssl-only 6443 localhost:5900
                                                       wss:// only; a self-signed self.pem: openssl req -x509 -nodes
                                                       -newkey rsa:2048 -days 365 -subj /CN=HOST -keyout self.pem -out self.pem
   websockify --token-plugin TokenFile --token-source targets.txt 6080
                                                       one port, many targets: ws://HOST:6080/?token=NAME
   websockify -D --wrap-mode=ignore 5901 -- vncserver :1 -rfbport 5901
                                                       wrap a program: its bind of 5901 moves to loopback, websockify
                                                       serves 5901; -D returns once both listen
   websockify probe --send hi --expect hi ws://127.0.0.1:6080/
                                                       check a running websockify (exit 0 or 1 with the reason)
   websockify rebind 5900 5901 PROGRAM ARGS            run PROGRAM with its bind of port 5900 moved to 127.0.0.1:5901
`
