package cmdline

import (
	"fmt"
	"os"
	"strings"
)

// checkEffect refuses or reports options that would silently do nothing
// in this combination: an operator who asks for something must either get
// it or be told. Options of the reference that the reference accepts in
// the combination get a warning at start (a command line that works with
// the reference keeps working); ours, and the combinations that would
// weaken security, are usage errors (exit 2).
//
// isSet reports whether an option was given (on the command line or, for
// those that have one, through its environment variable).
func (cfg *Config) checkEffect(isSet func(name string) bool) error {
	hasCert := cfg.CertExplicit || fileExists(cfg.Cert)
	warn := func(format string, a ...any) {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(format, a...))
	}

	// Client certificates: every session must have one, so there must be
	// TLS, and no plain connection may bypass it.
	if cfg.VerifyClient {
		if !hasCert {
			return usageErrorf("--verify-client needs a certificate (--cert; %s not found): without TLS no client certificate can be required", cfg.Cert)
		}
		if !cfg.SSLOnly {
			cfg.SSLOnly = true
			warn("--verify-client: plain ws:// connections are refused, as with --ssl-only")
		}
	}

	// TLS settings without a certificate: TLS is off.
	if !hasCert {
		if isSet(flagKeyPasswordFile) {
			return usageErrorf("--%s needs a certificate (--cert; %s not found): TLS is off", flagKeyPasswordFile, cfg.Cert)
		}
		for _, name := range []string{flagKey, flagKeyPassword, flagSSLVersion, flagSSLCiphers} {
			if isSet(name) {
				warn("--%s has no effect: no certificate (%s not found), TLS is off", name, cfg.Cert)
			}
		}
	}
	if isSet(flagKeyPassword) && isSet(flagKeyPasswordFile) {
		return usageErrorf("--%s and --%s (or $WEBSOCKIFY_KEY_PASSWORD) both give the key password: use one", flagKeyPassword, flagKeyPasswordFile)
	}
	if cfg.SSLTargetCAFile != "" && cfg.SSLTargetInsecure {
		return usageErrorf("--%s cannot be combined with --%s: an unverified target uses no CA", flagSSLTargetCAFile, flagSSLTargetInsec)
	}

	// Behind a load balancer: trust must be explicit.
	if cfg.TrustedProxies == nil {
		for _, name := range []string{flagProxyProtocol, flagForwardedHeader} {
			if isSet(name) {
				return usageErrorf("--%s needs --%s: only the proxies listed there may name the client", name, flagTrustedProxies)
			}
		}
	}
	if cfg.UnixListen != "" && cfg.TrustedProxies != nil {
		return usageErrorf("--%s needs a TCP listener, not --%s: a Unix socket's peers have no address to trust", flagTrustedProxies, flagUnixListen)
	}

	// Token options for another plugin.
	if cfg.JWTRequireExp && strings.TrimPrefix(cfg.TokenPlugin, "websockify.token_plugins.") != "JWTTokenApi" {
		return usageErrorf("--%s needs --token-plugin JWTTokenApi", flagJWTRequireExp)
	}
	switch strings.TrimPrefix(cfg.TokenPlugin, "websockify.token_plugins.") {
	case "BaseTokenAPI", "JSONTokenApi":
	default:
		if cfg.TokenAPIRedirectAnywhere {
			return usageErrorf("--%s needs --token-plugin BaseTokenAPI or JSONTokenApi", flagTokenAPIRedirect)
		}
	}

	// Wrap-mode options without a wrapped program.
	if len(cfg.Wrap) == 0 {
		if isSet(flagWrapGrace) {
			return usageErrorf("--%s needs a wrapped program (after --)", flagWrapGrace)
		}
		if isSet(flagWrapMode) {
			warn("--%s has no effect without a wrapped program (after --)", flagWrapMode)
		}
	}

	// Listener options for another kind of listener.
	if isSet(flagUnixListenMod) && cfg.UnixListen == "" {
		warn("--%s has no effect without --%s", flagUnixListenMod, flagUnixListen)
	}
	if cfg.PreferIPv6 && (cfg.UnixListen != "" || cfg.Inetd) {
		warn("--%s has no effect with --%s or --%s: no address is resolved", flagPreferIPv6, flagUnixListen, flagInetd)
	}

	// Output nobody sees.
	if cfg.Traffic && cfg.Daemon {
		warn("--%s has no effect with --%s: standard output is /dev/null", flagTraffic, flagDaemon)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
