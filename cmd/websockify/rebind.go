package main

import (
	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/rebind"
)

// runRebind is "websockify rebind OLD_PORT NEW_PORT PROGRAM...": it execs
// PROGRAM with its binds of OLD_PORT moved to loopback NEW_PORT.
func runRebind(rb *cmdline.Rebind) error {
	return rebind.Exec(rb.OldPort, rb.NewPort, rb.Argv, rb.RebindSO)
}
