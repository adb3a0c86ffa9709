package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/sessions"
)

// runSessions is "websockify sessions list|show|kill ...": the admin
// listener's session API from the command line.
func runSessions(sc *cmdline.SessionsCmd, out io.Writer) error {
	c, err := sessions.NewClient(sc.Admin, sc.TokenFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	switch sc.Action {
	case "list":
		l, raw, err := c.List(ctx, sc.All)
		if err != nil {
			return err
		}
		if sc.JSON {
			_, err = out.Write(raw)
			return err
		}
		printSessions(out, l)
		return nil
	case "show":
		raw, err := c.Show(ctx, sc.IDs[0])
		if err != nil {
			return err
		}
		_, err = out.Write(raw)
		return err
	}
	if sc.Token != "" {
		e, err := c.KillToken(ctx, sc.Token, sc.All, sc.Reason)
		if err != nil {
			return err
		}
		where := "on this instance"
		if e.Fleet {
			where = "here; the other instances were asked to end theirs"
		}
		fmt.Fprintf(out, "ended %d session(s) %s\n", e.Ended, where)
		return nil
	}
	var errs []error
	for _, id := range sc.IDs {
		if err := c.Kill(ctx, id, sc.Reason); err != nil {
			errs = append(errs, fmt.Errorf("session %d: %w", id, err))
			continue
		}
		fmt.Fprintf(out, "ended session %d\n", id)
	}
	return errors.Join(errs...)
}

func printSessions(out io.Writer, l *sessions.List) {
	if l.Partial != "" {
		fmt.Fprintln(os.Stderr, "warning: "+l.Partial)
	}
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tID\tCLIENT\tTARGET\tTOKEN\tPROTO\tDRIVER\tTLS\tSTARTED\tIN\tOUT\tIDLE")
	now := time.Now()
	for _, e := range l.Sessions {
		inst, tok, proto := dash(e.Instance), dash(e.Token), dash(e.Subprotocol)
		idle := "-"
		if !e.LastActivity.IsZero() {
			idle = now.Sub(e.LastActivity).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%v\t%s\t%d\t%d\t%s\n", inst, e.ID, e.Client, e.Target, tok, proto,
			dash(e.Driver), e.TLS, e.Started.Local().Format(time.DateTime), e.BytesFromClient, e.BytesToClient, idle)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
