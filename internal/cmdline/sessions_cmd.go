package cmdline

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"
)

// SessionsCmd is "websockify sessions [--admin ADDR] [--admin-token-file
// FILE] list|show|kill ...": the client of the admin listener's session
// API.
type SessionsCmd struct {
	Admin     string // HOST:PORT, unix:/path or http://HOST:PORT
	TokenFile string // bearer token for a TCP admin listener
	Action    string // "list", "show" or "kill"
	All       bool   // list, kill --token: across the fleet
	JSON      bool   // list, show: the API's JSON as it is
	IDs       []uint64
	Token     string // kill --token
	Reason    string // kill: the close reason; empty: the server's default
}

// SessionsUsage is the synopsis of "websockify sessions".
const SessionsUsage = `websockify sessions [--admin ADDR] [--admin-token-file FILE] list [--all] [--json]
websockify sessions [--admin ADDR] [--admin-token-file FILE] show ID
websockify sessions [--admin ADDR] [--admin-token-file FILE] kill [--reason TEXT] ID...
websockify sessions [--admin ADDR] [--admin-token-file FILE] kill [--reason TEXT] [--all] --token TOKEN`

// ParseSessions reads the arguments after "sessions". Help goes to out,
// and ErrHelp is returned after it.
func ParseSessions(args []string, out io.Writer) (*SessionsCmd, error) {
	var sc *SessionsCmd
	common := func(c *cli.Context, action string) (*SessionsCmd, error) {
		if c.String("admin") == "" {
			return nil, usageErrorf("sessions: --admin ADDR (or WEBSOCKIFY_ADMIN) names the admin listener: HOST:PORT or unix:/path")
		}
		return &SessionsCmd{Admin: c.String("admin"), TokenFile: c.String("admin-token-file"), Action: action}, nil
	}
	app := subcommandApp("sessions", "list and end the sessions of a running websockify through its admin listener (--admin-listen)", SessionsUsage, out)
	app.Flags = []cli.Flag{
		&cli.StringFlag{Name: "admin", EnvVars: []string{"WEBSOCKIFY_ADMIN"}, Usage: "the admin listener at `ADDR`: HOST:PORT or unix:/path (its --admin-listen)"},
		&cli.StringFlag{Name: "admin-token-file", EnvVars: []string{"WEBSOCKIFY_ADMIN_TOKEN_FILE"}, Usage: "bearer token `FILE` (its --admin-token-file) for a TCP admin listener", TakesFile: true},
	}
	app.Commands = []*cli.Command{
		{
			Name: "list", Usage: "list the open sessions",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "all", Usage: "the sessions of every instance sharing the session registry"},
				&cli.BoolFlag{Name: "json", Usage: "print the API's JSON"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return usageErrorf("sessions list takes no arguments")
				}
				var err error
				if sc, err = common(c, "list"); err != nil {
					return err
				}
				sc.All, sc.JSON = c.Bool("all"), c.Bool("json")
				return nil
			},
		},
		{
			Name: "show", Usage: "show one session", ArgsUsage: "ID",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageErrorf("sessions show needs exactly one session ID")
				}
				ids, err := parseIDs(c.Args().Slice())
				if err != nil {
					return err
				}
				if sc, err = common(c, "show"); err != nil {
					return err
				}
				sc.IDs, sc.JSON = ids, true
				return nil
			},
		},
		{
			Name: "kill", Usage: "end sessions (close 1008): by ID, or every session of a token", ArgsUsage: "ID...",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "token", Usage: "end every session of `TOKEN` (visible in ps: for scripts, prefer WEBSOCKIFY_KILL_TOKEN)", EnvVars: []string{"WEBSOCKIFY_KILL_TOKEN"}},
				&cli.BoolFlag{Name: "all", Usage: "with --token: on every instance sharing the session registry"},
				&cli.StringFlag{Name: "reason", Usage: "close reason `TEXT` sent to the client"},
			},
			Action: func(c *cli.Context) error {
				var err error
				if sc, err = common(c, "kill"); err != nil {
					return err
				}
				sc.Token, sc.All, sc.Reason = c.String("token"), c.Bool("all"), c.String("reason")
				switch {
				case sc.Token == "" && c.NArg() == 0:
					return usageErrorf("sessions kill needs session IDs or --token TOKEN")
				case sc.Token != "" && c.NArg() > 0:
					return usageErrorf("sessions kill takes either session IDs or --token, not both")
				case sc.All && sc.Token == "":
					return usageErrorf("sessions kill --all needs --token (IDs are per instance)")
				}
				sc.IDs, err = parseIDs(c.Args().Slice())
				return err
			},
		},
	}
	unknown := ""
	app.CommandNotFound = func(_ *cli.Context, cmd string) { unknown = cmd }
	if err := app.Run(append([]string{"websockify sessions"}, args...)); err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &UsageError{fmt.Sprintf("sessions: %v", err)}
	}
	if unknown != "" {
		return nil, usageErrorf("sessions: unknown command %q (list, show or kill)", unknown)
	}
	if sc == nil {
		return nil, ErrHelp
	}
	return sc, nil
}

func parseIDs(args []string) ([]uint64, error) {
	var ids []uint64
	for _, a := range args {
		id, err := strconv.ParseUint(a, 10, 64)
		if err != nil || id == 0 {
			return nil, usageErrorf("session ID %q is not a positive integer", a)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
