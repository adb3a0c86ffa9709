package cmdline

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"
)

// Probe is "websockify probe URL [--send DATA] [--expect DATA]
// [--timeout S] [--insecure]".
type Probe struct {
	URL      string
	Send     []byte // nil: send nothing
	Expect   []byte // nil: expect nothing
	Timeout  time.Duration
	Insecure bool
	CAFile   string
	Origin   string
	Quiet    bool
}

// ProbeUsage is the probe's synopsis.
const ProbeUsage = "websockify probe [--send DATA] [--expect DATA] [--timeout SECONDS] [--insecure] URL"

// ParseProbe reads the arguments after "probe". Help goes to out, and
// ErrHelp is returned after it.
func ParseProbe(args []string, out io.Writer) (*Probe, error) {
	var pr *Probe
	app := subcommandApp("probe", "open a WebSocket to URL, optionally send DATA and wait for an answer; exit 0 if all went well", ProbeUsage, out)
	app.Flags = []cli.Flag{
		&cli.StringFlag{Name: "send", Usage: "send `DATA` as one binary message after the handshake"},
		&cli.StringFlag{Name: "expect", Usage: "wait until `DATA` has arrived (anywhere in what the server sends)"},
		&cli.Float64Flag{Name: "timeout", Value: 10, Usage: "give up after `SECONDS` for the whole probe"},
		&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "wss://: do not verify the server's certificate (self-signed)"},
		&cli.StringFlag{Name: "cafile", Usage: "wss://: verify the server with the CA certificates in `FILE`", TakesFile: true},
		&cli.StringFlag{Name: "origin", Usage: "send `ORIGIN` as the Origin header"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on success"},
	}
	app.Action = func(c *cli.Context) error {
		if c.NArg() != 1 {
			return usageErrorf("probe needs exactly one URL (ws://HOST:PORT/PATH or wss://...)")
		}
		secs := c.Float64("timeout")
		if secs <= 0 {
			return usageErrorf("probe: --timeout must be positive (seconds), not %v", secs)
		}
		pr = &Probe{
			URL:      c.Args().First(),
			Timeout:  time.Duration(secs * float64(time.Second)),
			Insecure: c.Bool("insecure"),
			CAFile:   c.String("cafile"),
			Origin:   c.String("origin"),
			Quiet:    c.Bool("quiet"),
		}
		if c.IsSet("send") {
			pr.Send = []byte(c.String("send"))
		}
		if c.IsSet("expect") {
			pr.Expect = []byte(c.String("expect"))
			if len(pr.Expect) == 0 {
				return usageErrorf("probe: --expect needs non-empty DATA")
			}
		}
		return nil
	}
	if err := app.Run(append([]string{"websockify probe"}, reorderProbe(args)...)); err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &UsageError{fmt.Sprintf("probe: %v", err)}
	}
	if pr == nil {
		return nil, ErrHelp
	}
	return pr, nil
}

// subcommandApp is the cli.App of "websockify NAME": help and usage
// mistakes go to out, as *UsageError.
func subcommandApp(name, usage, usageText string, out io.Writer) *cli.App {
	return &cli.App{
		Name:            "websockify " + name,
		Usage:           usage,
		UsageText:       usageText,
		HideHelpCommand: true,
		HideVersion:     true,
		Writer:          out,
		ErrWriter:       out,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &UsageError{name + ": " + err.Error()}
		},
	}
}

// reorderProbe puts options before the URL, so that both orders work.
func reorderProbe(args []string) []string {
	valued := map[string]bool{"--send": true, "--expect": true, "--timeout": true, "--cafile": true, "--origin": true,
		"-send": true, "-expect": true, "-timeout": true, "-cafile": true, "-origin": true}
	var opts, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			opts = append(opts, a)
			if valued[a] && i+1 < len(args) {
				i++
				opts = append(opts, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(opts, "--"), pos...)
}
