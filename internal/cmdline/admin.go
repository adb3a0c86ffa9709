package cmdline

import (
	"net"
	"path/filepath"
	"strconv"

	"github.com/websockify-go/websockify/admin"
)

// checkAdmin validates --admin-listen and --admin-token-file: a well-formed
// address, never the public port or socket, and a token file only with a
// listener. The unix socket's path is made absolute (a daemon changes
// directory to /).
func (cfg *Config) checkAdmin(isSet func(name string) bool) error {
	if cfg.AdminListen == "" {
		if isSet(flagAdminListen) {
			return usageErrorf("--%s: empty address (want HOST:PORT or unix:/path)", flagAdminListen)
		}
		if cfg.AdminTokenFile != "" {
			return usageErrorf("--%s needs --%s", flagAdminTokenFile, flagAdminListen)
		}
		return nil
	}
	network, addr, err := admin.ParseAddr(cfg.AdminListen)
	if err != nil {
		return usageErrorf("--%s: %v", flagAdminListen, err)
	}
	if network == "unix" {
		abs, err := filepath.Abs(addr)
		if err != nil {
			return usageErrorf("--%s: %v", flagAdminListen, err)
		}
		if cfg.UnixListen != "" && abs == cfg.UnixListen {
			return usageErrorf("--%s: %s is the public socket (--%s); the admin listener needs its own", flagAdminListen, abs, flagUnixListen)
		}
		cfg.AdminListen = "unix:" + abs
		if cfg.AdminTokenFile != "" {
			cfg.Warnings = append(cfg.Warnings, "--"+flagAdminTokenFile+" has no effect on a unix: admin socket: its mode (0600) is the control")
		}
		return nil
	}
	_, port, _ := net.SplitHostPort(addr)
	p, _ := net.LookupPort("tcp", port)
	if !cfg.Inetd && cfg.UnixListen == "" && p != 0 && p == cfg.Listen.Port {
		return usageErrorf("--%s: port %s is the public port; the admin listener needs its own (e.g. 127.0.0.1:%d)", flagAdminListen, strconv.Itoa(p), adminPortHint(cfg.Listen.Port))
	}
	return nil
}

// adminPortHint suggests a port for the admin listener next to the public one.
func adminPortHint(public int) int {
	if public < 65535 {
		return public + 1
	}
	return public - 1
}
