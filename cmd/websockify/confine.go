package main

import (
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/websockify-go/websockify/internal/cgroup"
	"github.com/websockify-go/websockify/internal/cmdline"
)

// confineWrapped moves websockify into a cgroup of its own, named after
// its listen address, before it starts the wrapped program: the program
// and every daemon it starts are in it, and what an earlier websockify
// killed with SIGKILL left there is killed now. Under systemd the
// service's cgroup does this already (KillMode=control-group). Without
// cgroup v2 or the right to create a cgroup, it says so and goes on.
func confineWrapped(cfg *cmdline.Config, log *slog.Logger) *cgroup.Group {
	if os.Getenv("INVOCATION_ID") != "" {
		log.Debug("under systemd: the service's cgroup confines the wrapped program")
		return nil
	}
	host := strings.NewReplacer(":", "_", "/", "_", "%", "_").Replace(cfg.Listen.Host)
	name := "websockify-wrap-" + host + "-" + strconv.Itoa(cfg.Listen.Port)
	g, killed, err := cgroup.Enter(name)
	if killed > 0 {
		log.Warn("killed processes an earlier websockify on this address left behind", "processes", killed, "cgroup", name)
	}
	if err != nil {
		log.Info("wrapped program not confined to a cgroup: if websockify is killed with SIGKILL, daemons the program started may outlive it", "err", err)
		return nil
	}
	log.Debug("wrapped program confined", "cgroup", g.Dir())
	return g
}
