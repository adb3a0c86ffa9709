package main

import (
	"context"
	"fmt"
	"os"

	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/internal/probe"
)

// runProbe is "websockify probe URL ...": exit 0 when the WebSocket opened
// and the expected answer came, else 1 with the reason on stderr.
func runProbe(pr *cmdline.Probe) error {
	res, err := probe.Run(context.Background(), probe.Options{
		URL: pr.URL, Send: pr.Send, Expect: pr.Expect, Timeout: pr.Timeout,
		Insecure: pr.Insecure, CAFile: pr.CAFile, Origin: pr.Origin,
	})
	if err != nil {
		return fmt.Errorf("probe %s: %w", pr.URL, err)
	}
	if !pr.Quiet {
		msg := fmt.Sprintf("ok: %s (subprotocol %q) in %v", pr.URL, res.Protocol, res.Took.Round(1e6))
		if pr.Expect != nil {
			msg += fmt.Sprintf("; received %q", res.Received)
		}
		fmt.Fprintln(os.Stdout, msg)
	}
	return nil
}
