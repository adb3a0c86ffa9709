// Command websockify relays WebSocket connections to TCP or Unix sockets,
// and can wrap a program so that its listening port speaks WebSocket. It
// accepts the command lines of the reference Python websockify.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/websockify-go/websockify/internal/cmdline"
)

// version is set at build time with -ldflags "-X main.version=...", from
// git describe (packaging/version.sh).
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args))
}

// run maps the outcome of the command to an exit status: 0 on success, 2
// for command-line mistakes (as the reference), the wrapped program's status
// in --wrap-mode=exit, and 1 for every other failure.
func run(argv []string) int {
	if len(argv) > 1 && argv[1] == "probe" {
		return subcommand("probe", func() (func() error, error) {
			pr, err := cmdline.ParseProbe(argv[2:], os.Stdout)
			return func() error { return runProbe(pr) }, err
		})
	}
	if len(argv) > 1 && argv[1] == "sessions" {
		return subcommand("sessions", func() (func() error, error) {
			sc, err := cmdline.ParseSessions(argv[2:], os.Stdout)
			return func() error { return runSessions(sc, os.Stdout) }, err
		})
	}
	cfg, rb, err := cmdline.Parse(argv, versionString(), os.Stdout)
	if err == nil {
		if rb != nil {
			err = runRebind(rb)
		} else {
			err = serve(context.Background(), cfg)
		}
	}
	return exitCode(err)
}

// subcommand runs "websockify NAME ...": parse reads its arguments and
// returns what runs it; usage mistakes exit 2 with a pointer to its help.
func subcommand(name string, parse func() (run func() error, err error)) int {
	run, err := parse()
	var ue *cmdline.UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "websockify: error: %v\nTry 'websockify %s --help' for the usage.\n", err, name)
		return 2
	}
	if err == nil {
		err = run()
	}
	return exitCode(err)
}

func exitCode(err error) int {
	if err == nil || errors.Is(err, cmdline.ErrHelp) {
		return 0
	}
	var ue *cmdline.UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "websockify: error: %v\nTry 'websockify --help' for the usage.\n", err)
		return 2
	}
	var se interface{ ExitStatus() int }
	if errors.As(err, &se) {
		fmt.Fprintf(os.Stderr, "websockify: error: %v\n", err)
		return se.ExitStatus()
	}
	// --wrap-mode=exit: the wrapped program's status, already logged.
	var pe interface{ ExitCode() int }
	if errors.As(err, &pe) {
		return pe.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "websockify: error: %v\n", err)
	return 1
}
