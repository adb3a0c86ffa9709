package cmdline

import (
	"github.com/urfave/cli/v2"
	"github.com/websockify-go/websockify/gateway"
)

// appUsage is the one-line summary of --help and of the man page's NAME.
const appUsage = "WebSocket to TCP gateway, compatible with websockify"

// setVersionFlag makes urfave/cli's --version flag ours: no -v short
// form, which is --verbose as in the reference.
func setVersionFlag() {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version, commit and Go version", DisableDefaultText: true}
}

// Choices are the values some options take, for the man page and the
// shell completions. The plugin class names come from the tokens and auth
// registries, which this package does not import.
type Choices struct {
	TokenPlugins []string // --token-plugin classes
	AuthPlugins  []string // --auth-plugin classes
}

// valueChoices are the fixed values of options that take one of a list;
// build and checkFeatures accept exactly these (options_test checks it).
var valueChoices = map[string][]string{
	flagWrapMode:    {"exit", "ignore", "respawn"},
	flagSSLVersion:  {"default", "tlsv1_1", "tlsv1_2", "tlsv1_3"},
	flagLogFormat:   {"plain", "json"},
	flagRelay:       gateway.Relays(),
	flagTargetProxy: {"v1", "v2"},
}

// choices returns the values that option name takes, nil for free-form.
func (c Choices) choices(name string) []string {
	switch name {
	case flagTokenPlugin:
		return c.TokenPlugins
	case flagAuthPlugin:
		return c.AuthPlugins
	}
	return valueChoices[name]
}

// dirFlags take a directory rather than a file.
var dirFlags = map[string]bool{flagWeb: true}

// docFlags are the options as --help lists them: ours, then --help and
// --version.
func docFlags() []cli.Flag {
	setVersionFlag()
	return append(flags(), cli.HelpFlag, cli.VersionFlag)
}
